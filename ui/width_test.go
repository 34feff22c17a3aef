package ui

import (
	"testing"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

func TestTextWidthAgreesWithAnsi(t *testing.T) {
	st := lipgloss.NewStyle().Foreground(lipgloss.Color("#5A3FC0")).Bold(true).Underline(true)
	cases := []string{
		"", "plain", "  two  spaces ", st.Render("styled"), "a" + st.Render("b") + "c",
		"\x1b]8;;https://example.com\x07link\x1b]8;;\x07", "\x1b]8;;https://e.x\x1b\\l\x1b]8;;\x1b\\",
		"─── rule", "↑/↓ choose", "é", "日本語", "tab\there", "bell\x07", "\x1b", "\x1b[", "\x1b[31", "\x1b]unterminated",
		"\x1bM reverse index", "emoji 👍🏽 ok", "\x1b[38;2;1;2;3mrgb\x1b[m",
	}
	for _, s := range cases {
		if got, want := textWidth(s), ansi.StringWidth(s); got != want {
			t.Errorf("textWidth(%q) = %d, ansi.StringWidth says %d", s, got, want)
		}
	}
}

func FuzzTextWidth(f *testing.F) {
	f.Add("plain \x1b[1mbold\x1b[m")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := textWidth(s), ansi.StringWidth(s); got != want {
			t.Errorf("textWidth(%q) = %d, ansi.StringWidth says %d", s, got, want)
		}
	})
}
