package ui

import (
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// textWidth is the cells a line takes, as ansi.StringWidth counts them,
// without its grapheme segmentation when the line is plain ASCII text
// with escape sequences (most of what the wizard draws): one cell per
// printable byte, none for CSI, OSC and two-byte escapes. Anything else
// (a byte outside ASCII, a control character) is measured by
// ansi.StringWidth.
func textWidth(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 0x20 && c < 0x7f:
			n++
		case c == 0x1b && i+1 < len(s):
			switch s[i+1] {
			case '[': // CSI: parameters and intermediates, then a final byte
				j := i + 2
				for j < len(s) && s[j] >= 0x20 && s[j] < 0x40 {
					j++
				}
				if j >= len(s) || s[j] < 0x40 || s[j] > 0x7e {
					return ansi.StringWidth(s)
				}
				i = j
			case ']': // OSC: up to BEL or ST
				end := strings.IndexAny(s[i+2:], "\x07\x1b")
				if end < 0 {
					return ansi.StringWidth(s)
				}
				j := i + 2 + end
				if s[j] == 0x1b {
					if j+1 >= len(s) || s[j+1] != '\\' {
						return ansi.StringWidth(s)
					}
					j++
				}
				i = j
			default:
				return ansi.StringWidth(s)
			}
		default:
			return ansi.StringWidth(s)
		}
	}
	return n
}

// blockWidth is the width of the widest line, as lipgloss.Width.
func blockWidth(s string) int {
	w := 0
	for line := range strings.SplitSeq(s, "\n") {
		w = max(w, textWidth(line))
	}
	return w
}
