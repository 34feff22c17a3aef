package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/help"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// Common is what every component shares: size, styles, keys, and the
// dependencies steps do their work with. Components hold a pointer, so a
// resize or a theme change reaches all of them at once.
type Common struct {
	Width, Height int // the body's size, inside the root's frame
	Styles        Styles
	Keys          keyMap
	Deps          Deps
}

// component is one step's screen.
type component interface {
	// Enter is called when the step becomes the current one, with the
	// flow as it is then. Components read the flow; they never change it.
	Enter(s *flows.State) tea.Cmd
	// Leave is called when the step stops being the current one; work it
	// started is cancelled.
	Leave()
	Update(msg tea.Msg) (component, tea.Cmd)
	View() string
	// SetSize is called when the body's size changes.
	SetSize(width, height int)
	Bindings() help.KeyMap
}

// count is "1 check", "2 checks": a number and its noun, in the form
// the number takes (English: s for every number but one).
func count(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// wrap fits text to the body's width, breaking at spaces only (so an
// ARN is never split at its hyphens), and styles each line.
func (c *Common) wrap(s string, st lipgloss.Style) string { return c.wrapIndented(s, 0, st) }

// fieldLine renders "label  value" on one line, wrapping the value under
// the label when the two don't fit.
func (c *Common) fieldLine(label, value string) string {
	l := c.Styles.Label.Render(label)
	if blockWidth(label)+1+blockWidth(value) <= c.Width {
		return l + " " + c.Styles.Value.Render(value)
	}
	return l + "\n" + c.wrapIndented(value, 2, c.Styles.Value)
}

// wrapIndented wraps s to the width less indent, indenting every line.
func (c *Common) wrapIndented(s string, indent int, st lipgloss.Style) string {
	w := max(c.Width-indent, 10)
	var lines []string
	for _, l := range strings.Split(breakLong(s, w), "\n") {
		lines = append(lines, strings.Repeat(" ", indent)+st.Render(l))
	}
	return strings.Join(lines, "\n")
}

// breakLong wraps words to width and cuts any word longer than width
// (an ARN) into pieces, so nothing is lost off the right edge.
func breakLong(s string, width int) string {
	var out []string
	for _, para := range strings.Split(s, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			for blockWidth(word) > width {
				if line != "" {
					out = append(out, line)
					line = ""
				}
				r := []rune(word)
				out = append(out, string(r[:width]))
				word = string(r[width:])
			}
			switch {
			case line == "":
				line = word
			case blockWidth(line)+1+blockWidth(word) <= width:
				line += " " + word
			default:
				out = append(out, line)
				line = word
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
