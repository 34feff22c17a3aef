package ui

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
)

// renderWithLipgloss is the frame as lipgloss draws it, the way render
// did before it padded the lines itself.
func renderWithLipgloss(m *Model) string {
	st := m.c.Styles
	w := m.c.Width
	body := lipgloss.NewStyle().Width(w).Height(m.c.Height).MaxHeight(m.c.Height).Render(m.window(m.body))
	footer := m.fitHelp(m.shortHelp())
	if m.help.ShowAll {
		footer = m.fullHelp()
	}
	out := strings.Join([]string{m.header(), st.Rule.Render(strings.Repeat("─", w)), body, st.Rule.Render(strings.Repeat("─", w)), footer}, "\n")
	return st.App.Render(out)
}

// TestFrameIsLipglossFrame: on every stop of the tour, at three sizes,
// with the short and the full help, the frame render draws is byte for
// byte the one lipgloss draws.
func TestFrameIsLipglossFrame(t *testing.T) {
	t.Parallel()
	for _, s := range tour() {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			d := s.reach(t)
			for _, size := range [][2]int{{d.m.width, d.m.height}, {120, 40}, {50, 16}, {200, 20}} {
				d.send(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
				for range 2 {
					if got, want := d.m.render(), renderWithLipgloss(d.m); got != want {
						t.Fatalf("%dx%d, full help %v: the frame differs from lipgloss's:\n%q\n---\n%q", size[0], size[1], d.m.help.ShowAll, got, want)
					}
					d.key("?")
				}
			}
		})
	}
}
