package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// A step's view may be taller than the body (a long set-up result on a
// small terminal). The root then shows a window of it, with a line that
// says there is more and how to scroll, so nothing is ever cut off
// without a sign.

// anchored is a step with a line that must stay in view: the line that
// says what to do next. It is kept in view each time it moves.
type anchored interface {
	// anchor is the index of that line in View's lines; -1 for none.
	anchor() int
}

// arrowScrolled is a step that has no use for ↑/↓ at the moment, so
// they scroll the body too.
type arrowScrolled interface{ arrowsScroll() bool }

var (
	pageUp   = key.NewBinding(key.WithKeys("pgup"))
	pageDown = key.NewBinding(key.WithKeys("pgdown"))
)

// window fits a view to the body's height. A view that fits is shown as
// it is; a taller one is shown from m.scroll, its anchor kept in view,
// and its last row says what is above and below.
func (m *Model) window(view string) string {
	h := m.c.Height
	view = strings.TrimRight(view, "\n")
	lines := strings.Split(lipgloss.NewStyle().Width(m.c.Width).Render(view), "\n")
	m.overflow = len(lines) > h
	if !m.overflow {
		m.scroll = 0
		return view
	}
	rows := max(h-1, 1)
	var comp any = m.steps[m.active]
	if m.offer != nil {
		comp = m.offer
	}
	{
		if at := min(anchorOf(comp, view, m.c.Width, lines), len(lines)-1); at >= 0 && (at != m.anchor || view != m.anchored) {
			m.anchor, m.anchored = at, view
			if at < m.scroll {
				m.scroll = at
			} else if at >= m.scroll+rows {
				m.scroll = at - rows + 1
			}
		}
	}
	m.scroll = max(min(m.scroll, len(lines)-rows), 0)
	shown := lines[m.scroll : m.scroll+rows]
	where := ""
	if m.scroll > 0 {
		where += "↑"
	}
	if m.scroll+rows < len(lines) {
		where += "↓"
	}
	how := "pgup/pgdn"
	if a, ok := comp.(arrowScrolled); ok && a.arrowsScroll() {
		how = "↑/↓"
	}
	marker := fmt.Sprintf("%s more: lines %d–%d of %d (%s)", where, m.scroll+1, m.scroll+rows, len(lines), how)
	return strings.Join(shown, "\n") + "\n" + m.c.Styles.Muted.Render(truncate(marker, m.c.Width))
}

// scrollKey scrolls an overflowing body; it reports whether the key was
// used.
func (m *Model) scrollKey(k tea.KeyPressMsg) bool {
	if !m.overflow {
		return false
	}
	var comp any = m.steps[m.active]
	if m.offer != nil {
		comp = m.offer
	}
	arrows := false
	if a, ok := comp.(arrowScrolled); ok {
		arrows = a.arrowsScroll()
	}
	page := max(m.c.Height-2, 1)
	switch {
	case key.Matches(k, pageUp):
		m.scroll = max(m.scroll-page, 0)
	case key.Matches(k, pageDown):
		m.scroll += page // window clamps it
	case arrows && key.Matches(k, m.c.Keys.Up):
		m.scroll = max(m.scroll-1, 0)
	case arrows && key.Matches(k, m.c.Keys.Down):
		m.scroll++
	default:
		return false
	}
	return true
}

// shortDesc is a key's help said in fewer words, for a narrow footer.
var shortDesc = map[string]string{
	"set it up for me":        "set up",
	"next field":              "field",
	"go fix it":               "fix",
	"pairing check":           "check",
	"test the registered key": "test",
	"stop waiting":            "stop",
	"copy command":            "copy",
}

// fitHelp is the footer: the step's keys, shortened to the width by
// dropping quit and back first (ctrl+c and esc work on every step) and
// then the words, never the step's own keys.
func (m *Model) fitHelp(keys []key.Binding) string {
	w := m.c.Width
	full := m.help
	full.SetWidth(0) // measured whole; m.help cuts at the width
	if out := full.ShortHelpView(keys); lipgloss.Width(out) <= w {
		return out
	}
	var own []key.Binding
	for _, b := range keys {
		if d := b.Help().Desc; b.Help().Key == m.c.Keys.Quit.Help().Key || d == m.c.Keys.Back.Help().Desc {
			continue
		}
		own = append(own, b)
	}
	if out := full.ShortHelpView(own); lipgloss.Width(out) <= w {
		return out
	}
	short := make([]key.Binding, len(own))
	for i, b := range own {
		d := b.Help().Desc
		if s, ok := shortDesc[d]; ok {
			d = s
		}
		short[i] = key.NewBinding(key.WithKeys(b.Keys()...), key.WithHelp(b.Help().Key, d))
	}
	return m.help.ShortHelpView(short)
}

// anchorOf is the line of a step's view to keep in view: the step's own
// anchor, or a form's focused field (its input and the line under it,
// where its error shows), so tab never moves the focus off screen.
//
// A step's own anchor counts the lines of its view as written; lines the
// view leaves too long for the width wrap to more rows on screen, so the
// anchor is moved to the last row of its line as shown.
func anchorOf(comp any, view string, width int, lines []string) int {
	switch c := comp.(type) {
	case anchored:
		return shownRow(view, width, c.anchor())
	case *formStep:
		if c.focus < 0 || c.focus >= len(c.fields) {
			return -1
		}
		in := strings.TrimSpace(ansi.Strip(c.fields[c.focus].input.View()))
		if in == "" {
			return -1
		}
		for i, l := range lines {
			if strings.Contains(ansi.Strip(l), in) {
				return min(i+2, len(lines)-1) // and two lines of its error
			}
		}
	}
	return -1
}

// shownRow is the last screen row of line n of view once every line is
// wrapped to width, as window renders it; -1 stays -1.
func shownRow(view string, width, n int) int {
	if n < 0 {
		return n
	}
	row := -1
	wrap := lipgloss.NewStyle().Width(width)
	for i, l := range strings.Split(view, "\n") {
		if i > n {
			break
		}
		row += lipgloss.Height(wrap.Render(l))
	}
	return row
}
