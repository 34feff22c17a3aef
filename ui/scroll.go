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

// place keeps the body's scroll position right for view, the current
// screen's view: a view that fits starts at its top; for a taller one,
// its anchor is brought into view when it moved, the view is a new one
// or the body's height changed (the full help opened), and the position
// is kept inside the view.
func (m *Model) place(view string) {
	if m.fits(view) {
		m.overflow, m.scroll = false, 0
		return
	}
	lines := m.bodyLines(view)
	m.overflow = len(lines) > m.c.Height
	if !m.overflow {
		m.scroll = 0
		return
	}
	rows := max(m.c.Height-1, 1)
	view = strings.TrimRight(view, "\n")
	if at := min(anchorOf(m.current(), view, m.c.Width, lines), len(lines)-1); at >= 0 && (at != m.anchor || view != m.anchored || rows != m.anchorRows) {
		m.anchor, m.anchored, m.anchorRows = at, view, rows
		if at < m.scroll {
			m.scroll = at
		} else if at >= m.scroll+rows {
			m.scroll = at - rows + 1
		}
	}
	m.scroll = max(min(m.scroll, len(lines)-rows), 0)
}

// fits reports, without wrapping it, that a view fits the body as it is:
// no wider than the body, and no taller.
func (m *Model) fits(view string) bool {
	view = strings.TrimRight(view, "\n")
	return strings.Count(view, "\n") < m.c.Height && blockWidth(view) <= m.c.Width
}

// bodyLines are a view's lines as the body shows them, wrapped to its
// width.
func (m *Model) bodyLines(view string) []string {
	view = strings.TrimRight(view, "\n")
	return strings.Split(lipgloss.NewStyle().Width(m.c.Width).Render(view), "\n")
}

// window fits a view to the body's height. A view that fits is shown as
// it is; a taller one is shown from the scroll position place kept, and
// its last row says what is above and below.
func (m *Model) window(view string) string {
	if m.fits(view) {
		return strings.TrimRight(view, "\n")
	}
	lines := m.bodyLines(view)
	if len(lines) <= m.c.Height {
		return strings.TrimRight(view, "\n")
	}
	rows := max(m.c.Height-1, 1)
	scroll := max(min(m.scroll, len(lines)-rows), 0)
	shown := lines[scroll : scroll+rows]
	where := ""
	if scroll > 0 {
		where += "↑"
	}
	if scroll+rows < len(lines) {
		where += "↓"
	}
	how := "pgup/pgdn"
	if m.arrowsScroll() {
		how = "↑/↓"
	}
	marker := fmt.Sprintf("%s more: lines %d–%d of %d (%s)", where, scroll+1, scroll+rows, len(lines), how)
	return strings.Join(shown, "\n") + "\n" + m.c.Styles.Muted.Render(truncate(marker, m.c.Width))
}

// arrowsScroll reports whether ↑/↓ scroll the body (when it is taller
// than the screen): the current screen has no use for them.
func (m *Model) arrowsScroll() bool {
	a, ok := m.current().(arrowScrolled)
	return ok && a.arrowsScroll()
}

// scrollKey scrolls an overflowing body; it reports whether the key was
// used.
func (m *Model) scrollKey(k tea.KeyPressMsg) bool {
	if !m.overflow {
		return false
	}
	arrows := m.arrowsScroll()
	page := max(m.c.Height-2, 1)
	switch {
	case key.Matches(k, m.keys.PageUp):
		m.scroll = max(m.scroll-page, 0)
	case key.Matches(k, m.keys.PageDown):
		m.scroll += page // place clamps it
	case arrows && key.Matches(k, m.keys.Up):
		m.scroll = max(m.scroll-1, 0)
	case arrows && key.Matches(k, m.keys.Down):
		m.scroll++
	default:
		return false
	}
	return true
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
