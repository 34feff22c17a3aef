package termtext_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rekwiz/rekwiz/ui/termtext"
)

// Hostile are strings a server, a cloud or a profile could send to take
// over a terminal.
var Hostile = map[string]string{
	"clear screen":     "before\x1b[2Jafter",
	"OSC 52 clipboard": "x\x1b]52;c;ZWNobyBwd25lZA==\x07y",
	"OSC 0 title":      "x\x1b]0;owned\x1b\\y",
	"DCS":              "x\x1bP1$r0m\x1b\\y",
	"BEL":              "ding\x07",
	"C1 CSI raw byte":  "x\x9b2Jy",
	"C1 CSI as UTF-8":  "x\u009b2Jy",
	"C1 OSC as UTF-8":  "x\u009d52;c;AAAA\u009cy",
	"RLO":              "abc\u202Egpj.exe",
	"isolates":         "\u2066a\u2069\u2067b\u2068",
	"CR overwrite":     "ok\rFAIL",
	"backspace":        "ok\b\bno",
}

// raw reports the first byte or rune of s a terminal could act on.
func raw(s string, multiline bool) (string, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0x1b || c == 0x07 || c == 0x9b || (c < 0x20 && !(multiline && (c == '\n' || c == '\t'))) || c == 0x7f {
			return s[i:], true
		}
	}
	if !utf8.ValidString(s) {
		return s, true
	}
	for _, r := range s {
		if (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return string(r), true
		}
	}
	return "", false
}

func TestHostileStringsComeOutEscaped(t *testing.T) {
	for name, s := range Hostile {
		for _, f := range []struct {
			name      string
			fn        func(string) string
			multiline bool
		}{{"Text", termtext.Text, true}, {"Line", termtext.Line, false}} {
			got := f.fn(s)
			if r, bad := raw(got, f.multiline); bad {
				t.Errorf("%s %s(%q) = %q: raw %q left", name, f.name, s, got, r)
			}
			if got == s {
				t.Errorf("%s %s(%q): unchanged", name, f.name, s)
			}
		}
	}
	if got := termtext.Line("a\x1b[31mb"); got != `a\x1b[31mb` {
		t.Errorf("Line: %q", got)
	}
	if got := termtext.Text("x\u202ey\u009bz\xffw"); got != `x\u202ey\u009bz\xffw` {
		t.Errorf("Text: %q", got)
	}
}

func TestOrdinaryTextIsUnchanged(t *testing.T) {
	for _, s := range []string{"", "plain", "café — naïve 日本語 ✓", "two\nlines\tand a tab", "arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/acme"} {
		if got := termtext.Text(s); got != s {
			t.Errorf("Text(%q) = %q", s, got)
		}
	}
	if got := termtext.Line("two\nlines"); got != `two\nlines` {
		t.Errorf("Line keeps a newline: %q", got)
	}
	if !strings.Contains(termtext.Error(errorString("bad\x1b]0;t\x07")), `\x1b]0;t\x07`) || termtext.Error(nil) != "" {
		t.Error("Error")
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }
