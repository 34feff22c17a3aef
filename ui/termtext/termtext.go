// Package termtext makes text that rekwiz did not write safe to show on
// a terminal: server answers, cloud error messages, vendor profile
// values, environment variables echoed back.
//
// Every control character (C0, DEL and the C1 range U+0080–U+009F, in
// its UTF-8 form or as a raw byte), and so every escape sequence (CSI,
// OSC including clipboard writes and window titles, DCS, APC…), and every
// bidirectional override or isolate is shown escaped, as Go writes it in
// a string literal (\x1b, \u009b, \u202e), never passed to the terminal.
// Invalid UTF-8 bytes are shown as \xNN. The package is pure: it imports
// nothing that knows about terminals.
package termtext

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Text escapes s for the terminal, keeping newlines and tabs (for
// multi-line text such as a remedy or an error body).
func Text(s string) string { return escape(s, true) }

// Line escapes s for one line of the terminal: newlines and tabs are
// escaped too.
func Line(s string) string { return escape(s, false) }

// Error is err's text escaped for the terminal; "" for nil.
func Error(err error) string {
	if err == nil {
		return ""
	}
	return Text(err.Error())
}

// Safe reports whether s would be shown as it is.
func Safe(s string) bool { return Text(s) == s }

func escape(s string, multiline bool) string {
	if !needsEscape(s, multiline) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case multiline && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func needsEscape(s string, multiline bool) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return true
		}
		if (r < 0x20 || r == 0x7f || unsafeRune(r)) && !(multiline && (r == '\n' || r == '\t')) {
			return true
		}
		i += size
	}
	return false
}

// unsafeRune reports a rune above ASCII that a terminal may act on or
// that reorders what is shown: C1 controls, bidirectional embeddings,
// overrides, isolates and marks, and the line and paragraph separators.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls, including CSI (U+009B) and OSC (U+009D)
		return true
	case r >= 0x202a && r <= 0x202e: // LRE, RLE, PDF, LRO, RLO
		return true
	case r >= 0x2066 && r <= 0x2069: // LRI, RLI, FSI, PDI
		return true
	case r == 0x200e || r == 0x200f || r == 0x061c: // LRM, RLM, ALM
		return true
	case r == 0x2028 || r == 0x2029: // line and paragraph separators
		return true
	}
	return false
}
