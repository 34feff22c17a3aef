package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"github.com/charmbracelet/x/ansi"
)

// The footer is the current screen's keys: the short help on one line,
// or, after ?, the full help: every key the screen reacts to as it is.

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

// shortHelp is the current screen's short help and the key to the full
// help, without "back" where there is nowhere to go back to.
func (m *Model) shortHelp() []key.Binding {
	return append(m.screenKeys(m.current().Bindings().ShortHelp()), m.keys.Help)
}

// screenKeys drops "back" from a step's keys where the flow cannot go
// back (the first step): esc does nothing there.
func (m *Model) screenKeys(keys []key.Binding) []key.Binding {
	if b, ok := m.current().Bindings().(bindings); m.front != nil || ok && b.inStep {
		return keys
	}
	var out []key.Binding
	for _, b := range keys {
		if !m.flow.CanGoBack() && b.Help() == m.c.Keys.Back.Help() {
			continue
		}
		out = append(out, b)
	}
	return out
}

// fullKeys is every key the current screen reacts to: its own, the
// body's scrolling (when it is taller than the screen), quitting, and ?
// to close the full help.
func (m *Model) fullKeys() []key.Binding {
	var all []key.Binding
	for _, g := range m.current().Bindings().FullHelp() {
		all = append(all, m.screenKeys(g)...)
	}
	if m.overflow {
		all = append(all, m.keys.Page)
		if m.arrowsScroll() {
			all = append(all, m.keys.Arrows)
		}
	}
	quit := false
	for _, b := range all {
		quit = quit || b.Help().Key == m.keys.Quit.Help().Key
	}
	if !quit {
		all = append(all, m.keys.Quit)
	}
	return append(all, bind(m.keys.Help, "?", "fewer keys"))
}

// fullHelp lays the full help out in columns, as few rows as the width
// allows.
func (m *Model) fullHelp() string {
	all := m.fullKeys()
	measure := m.help
	measure.SetWidth(0) // measured whole; m.help cuts at the width
	var groups [][]key.Binding
	for rows := 1; rows <= len(all); rows++ {
		groups = groups[:0]
		for i := 0; i < len(all); i += rows {
			groups = append(groups, all[i:min(i+rows, len(all))])
		}
		if blockWidth(measure.FullHelpView(groups)) <= m.c.Width {
			return m.help.FullHelpView(groups)
		}
	}
	// Even one column is wider than the screen (a long list of keys
	// beside a word, at 50 columns): a key and what it does to a row,
	// unaligned, cut at the width if still too long. The help's own cut
	// would drop the column, the whole help, and the body, sized for a
	// help of one line, would push the screen past the terminal's bottom.
	st := m.help.Styles
	lines := make([]string, len(all))
	for i, b := range all {
		lines[i] = ansi.Truncate(st.FullKey.Render(b.Help().Key)+" "+st.FullDesc.Render(b.Help().Desc), m.c.Width, "…")
	}
	return strings.Join(lines, "\n")
}

// fitHelp is the short help, shortened to the width by dropping ?, then
// quit and back (ctrl+c and esc work on every step), and then the words,
// never the step's own keys.
func (m *Model) fitHelp(keys []key.Binding) string {
	w := m.c.Width
	full := m.help
	full.SetWidth(0) // measured whole; m.help cuts at the width
	if out := full.ShortHelpView(keys); blockWidth(out) <= w {
		return out
	}
	var step, own []key.Binding
	for _, b := range keys {
		if b.Help().Key == m.keys.Help.Help().Key {
			continue
		}
		step = append(step, b)
		if d := b.Help().Desc; b.Help().Key == m.c.Keys.Quit.Help().Key || d == m.c.Keys.Back.Help().Desc {
			continue
		}
		own = append(own, b)
	}
	if out := full.ShortHelpView(step); blockWidth(out) <= w {
		return out
	}
	if out := full.ShortHelpView(own); blockWidth(out) <= w {
		return out
	}
	short := make([]key.Binding, len(own))
	for i, b := range own {
		d := b.Help().Desc
		if s, ok := shortDesc[d]; ok {
			d = s
		}
		short[i] = bind(b, b.Help().Key, d)
	}
	return m.help.ShortHelpView(short)
}
