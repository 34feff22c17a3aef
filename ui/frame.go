package ui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// The smallest terminal the wizard draws in; below it, it says so.
const (
	MinWidth  = 50
	MinHeight = 16
)

// frame is what the root draws around a step: two header lines and a
// rule above, a rule and the help line below, one column of padding.
const (
	headerLines = 3
	footerLines = 2
	padX        = 1
)

// resize takes the terminal's new size.
func (m *Model) resize(w, h int) {
	m.width, m.height = w, h
	m.c.Width = max(w-2*padX, 1)
	m.help.SetWidth(m.c.Width)
	m.fitBody(true)
}

// fitBody gives the body the height the frame leaves (the full help,
// when shown, takes more than the one line of the short), and tells the
// steps when it changed, or always when force is set.
func (m *Model) fitBody(force bool) {
	footer := footerLines
	if m.help.ShowAll && !m.tooSmall() {
		footer = 1 + lipgloss.Height(m.fullHelp())
	}
	h := max(m.height-headerLines-footer, 1)
	if h == m.c.Height && !force {
		return
	}
	m.c.Height = h
	m.sized = true
	for _, s := range m.steps {
		s.SetSize(m.c.Width, m.c.Height)
	}
	if m.front != nil {
		m.front.SetSize(m.c.Width, m.c.Height)
	}
}

// settle brings what the screen shows up to date with a change, so that
// View only draws: the body's height (the full help may have grown or
// shrunk), and its scroll position.
func (m *Model) settle() {
	if m.tooSmall() {
		return
	}
	// The full help lists the screen's scrolling only when the body
	// overflows, which depends on the room the full help leaves: a
	// second pass settles it (a longer help only makes the body
	// shorter).
	for range 2 {
		overflow := m.overflow
		m.fitBody(false)
		m.body = m.current().View()
		m.place(m.body)
		if m.overflow == overflow {
			break
		}
	}
	m.frame.settle(m)
}

// frameParts are the header and the footer as last drawn, and what they
// were drawn from: they change with the step, the keys it offers, the
// size or the colours, not with each key, so they are drawn again only
// when what they are drawn from has changed.
type frameParts struct {
	headerKey, header string
	footerKey, footer string
}

func (f *frameParts) settle(m *Model) {
	st := m.c.Styles
	var k strings.Builder
	fmt.Fprintf(&k, "%d %d %v %v %q", m.active, m.c.Width, st.isDark, m.c.Deps.Demo, m.flow.Vendor().Name)
	if k.String() != f.headerKey {
		f.headerKey, f.header = k.String(), m.header()
	}
	k.Reset()
	keys := m.shortHelp()
	if m.help.ShowAll {
		keys = m.fullKeys()
	}
	fmt.Fprintf(&k, "%d %v %v", m.c.Width, st.isDark, m.help.ShowAll)
	for _, b := range keys {
		fmt.Fprintf(&k, "\x00%s\x01%s\x01%v", b.Help().Key, b.Help().Desc, b.Enabled())
	}
	if k.String() != f.footerKey {
		f.footerKey = k.String()
		if m.help.ShowAll {
			f.footer = m.fullHelp()
		} else {
			f.footer = m.fitHelp(keys)
		}
	}
}

func (m *Model) tooSmall() bool { return m.width < MinWidth || m.height < MinHeight }

func (m *Model) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "rekwiz"
	return v
}

func (m *Model) render() string {
	st := m.c.Styles
	if m.tooSmall() {
		msg := fmt.Sprintf("The terminal is %d×%d; rekwiz needs at least %d×%d.\n\nMake the window larger, or use the commands that need no screen: rekwiz script, rekwiz verify.\n\nctrl+c quits.",
			m.width, m.height, MinWidth, MinHeight)
		return lipgloss.NewStyle().Width(max(m.width, 10)).Render(msg)
	}
	w := m.c.Width
	header, footer := m.frame.header, m.frame.footer // drawn by settle
	rule := st.Rule.Render(strings.Repeat("─", w))
	var b strings.Builder
	b.Grow(m.height * (w + 24))
	if frameLines(&b, header, w, 0) && frameLines(&b, rule, w, 0) && frameLines(&b, m.window(m.body), w, m.c.Height) &&
		frameLines(&b, rule, w, 0) && frameLines(&b, footer, w, 0) {
		return strings.TrimSuffix(b.String(), "\n")
	}
	// Something is wider than the body or holds a tab: lipgloss wraps
	// and expands it.
	body := lipgloss.NewStyle().Width(w).Height(m.c.Height).MaxHeight(m.c.Height).Render(m.window(m.body))
	out := strings.Join([]string{header, rule, body, rule, footer}, "\n")
	return st.App.Render(out)
}

// frameLines writes s's lines as the frame draws them: each padded to the
// width w with spaces and given one column of padding on either side
// (the App style's), and, when rows is set, exactly rows lines (the
// body's height). It reports false, having written part, when a line is
// wider than w or holds what lipgloss rewrites (a tab, a carriage
// return): the caller then draws the frame with lipgloss.
func frameLines(b *strings.Builder, s string, w, rows int) bool {
	if strings.ContainsAny(s, "\t\r") {
		return false
	}
	n := 0
	for line := range strings.SplitSeq(s, "\n") {
		if rows > 0 && n == rows {
			break
		}
		lw := textWidth(line)
		if lw > w {
			return false
		}
		b.WriteByte(' ')
		b.WriteString(line)
		writeSpaces(b, w-lw+1)
		b.WriteByte('\n')
		n++
	}
	for ; n < rows; n++ {
		writeSpaces(b, w+2)
		b.WriteByte('\n')
	}
	return true
}

const spaces = "                                                                "

func writeSpaces(b *strings.Builder, n int) {
	for n > len(spaces) {
		b.WriteString(spaces)
		n -= len(spaces)
	}
	b.WriteString(spaces[:n])
}

func (m *Model) header() string {
	st := m.c.Styles
	w := m.c.Width
	title := st.Title.Render("rekwiz") + st.Muted.Render(" · Root Encryption Key for "+m.flow.Vendor().Name)
	badge := ""
	switch {
	case m.c.Deps.Demo:
		badge = "DEMO"
	case m.flow.Vendor().Placeholder:
		badge = "NO VENDOR PROFILE" // the sandbox's vendor, outside the demo
	}
	if badge != "" {
		badge := st.Badge.Render(badge)
		gap := w - blockWidth(title) - blockWidth(badge)
		if gap >= 1 {
			title += strings.Repeat(" ", gap) + badge
		} else {
			title = truncate(title, w-blockWidth(badge)-1) + " " + badge
		}
	}
	stage := m.active.Stage()
	dots := strings.Repeat("●", stage) + strings.Repeat("○", flows.Stages-stage)
	progress := st.Progress.Render(fmt.Sprintf("Step %d of %d · ", stage, flows.Stages)) + st.StepName.Render(m.active.Title())
	if gap := w - blockWidth(progress) - blockWidth(dots); gap >= 2 {
		progress += strings.Repeat(" ", gap) + st.Progress.Render(dots)
	}
	if badge == "" {
		title = truncate(title, w)
	}
	return title + "\n" + progress
}
