package ui

import (
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/list"
	"charm.land/bubbles/v2/viewport"
)

// keyMap holds the bindings every step shares; each step's own key map
// (below) is built from it, with the words that fit that step.
type keyMap struct {
	Quit    key.Binding
	Back    key.Binding
	Next    key.Binding
	Up      key.Binding
	Down    key.Binding
	NextFld key.Binding
	PrevFld key.Binding
	Help    key.Binding

	Copy key.Binding
	Save key.Binding
	Run  key.Binding
	Yes  key.Binding
	No   key.Binding

	Retry key.Binding
	Fix   key.Binding
	Done  key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Quit:    key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
		Back:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Next:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next")),
		Up:      key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "up")),
		Down:    key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "down")),
		NextFld: key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next field")),
		PrevFld: key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous field")),
		Help:    key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "more keys")),

		Copy: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "copy")),
		Save: key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "save")),
		Run:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "set it up for me")),
		Yes:  key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
		No:   key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "no")),

		Retry: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "run again")),
		Fix:   key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "go fix it")),
		Done:  key.NewBinding(key.WithKeys("enter", "q"), key.WithHelp("enter/q", "finish")),
	}
}

// bind is b with other words in the help.
func bind(b key.Binding, k, desc string) key.Binding {
	return key.NewBinding(key.WithKeys(b.Keys()...), key.WithHelp(k, desc))
}

// choose is the short help's one entry for ↑ and ↓.
func choose() key.Binding {
	return key.NewBinding(key.WithKeys("up", "down", "k", "j"), key.WithHelp("↑/↓", "choose"))
}

// bindings is a step's help: the short line, and what the full help
// adds to it. The full help is every key the step reacts to as it is.
type bindings struct {
	short []key.Binding
	more  []key.Binding
	// inStep: esc goes back inside the step (from the set-up's result
	// to the script), not to the step before, so it is shown even where
	// the flow cannot go back.
	inStep bool
}

func (b bindings) ShortHelp() []key.Binding { return b.short }

// FullHelp is one column of every binding; the root lays it out in as
// many columns as the width takes.
func (b bindings) FullHelp() [][]key.Binding {
	all := append(append([]key.Binding{}, b.short...), b.more...)
	return [][]key.Binding{all}
}

// scrollKeys are the keys that scroll a viewport (the script, the
// checks), in a pager's way.
type scrollKeys struct {
	Up, Down, PageUp, PageDown, HalfUp, HalfDown key.Binding
}

func newScrollKeys(k keyMap) scrollKeys {
	return scrollKeys{
		Up:       bind(k.Up, "↑/k", "scroll up"),
		Down:     bind(k.Down, "↓/j", "scroll down"),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "b"), key.WithHelp("pgup/b", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "space"), key.WithHelp("pgdn/space", "page down")), // not f: f fixes a failed check
		HalfUp:   key.NewBinding(key.WithKeys("u", "ctrl+u"), key.WithHelp("u/ctrl+u", "half a page up")),
		HalfDown: key.NewBinding(key.WithKeys("d", "ctrl+d"), key.WithHelp("d/ctrl+d", "half a page down")),
	}
}

// viewport is the viewport's key map: these keys, and no sideways
// scrolling (its lines wrap).
func (s scrollKeys) viewport() viewport.KeyMap {
	return viewport.KeyMap{Up: s.Up, Down: s.Down, PageUp: s.PageUp, PageDown: s.PageDown, HalfPageUp: s.HalfUp, HalfPageDown: s.HalfDown}
}

// all is the scroll keys as the full help lists them: up and down
// together, a line, a page and half a page at a time.
func (s scrollKeys) all() []key.Binding {
	both := func(up, down key.Binding, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(append(up.Keys(), down.Keys()...)...), key.WithHelp(up.Help().Key+"/"+down.Help().Key, desc))
	}
	return []key.Binding{
		both(s.Up, s.Down, "scroll"),
		both(s.PageUp, s.PageDown, "page"),
		both(s.HalfUp, s.HalfDown, "half page"),
	}
}

// choiceKeys are the choice step's.
type choiceKeys struct {
	Choose, Up, Down, First, Last, PrevPage, NextPage, Next, Back, Quit key.Binding
}

func newChoiceKeys(k keyMap) choiceKeys {
	return choiceKeys{
		Choose: choose(), Up: k.Up, Down: k.Down,
		First:    key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("home/g", "first")),
		Last:     key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end/G", "last")),
		PrevPage: key.NewBinding(key.WithKeys("left", "h", "pgup"), key.WithHelp("←/h/pgup", "previous page")),
		NextPage: key.NewBinding(key.WithKeys("right", "l", "pgdown"), key.WithHelp("→/l/pgdn", "next page")),
		Next:     k.Next, Back: k.Back, Quit: k.Quit,
	}
}

// list is the list's key map: these keys only (no filter, no help of
// its own, no quitting).
func (k choiceKeys) list() list.KeyMap {
	return list.KeyMap{CursorUp: k.Up, CursorDown: k.Down, GoToStart: k.First, GoToEnd: k.Last, PrevPage: k.PrevPage, NextPage: k.NextPage}
}

// editKeys are the text input's own keys, as the full help lists them:
// the input matches them itself (its KeyMap).
func editKeys() []key.Binding {
	return []key.Binding{
		key.NewBinding(key.WithKeys("left", "right", "home", "end"), key.WithHelp("←/→/home/end", "move")),
		key.NewBinding(key.WithKeys("backspace", "delete", "ctrl+w", "ctrl+u", "ctrl+k"), key.WithHelp("backspace/delete/ctrl+w/ctrl+u/ctrl+k", "delete")),
	}
}

// formKeys are a form step's; the text is edited with editKeys.
type formKeys struct {
	Next, NextFld, DownFld, PrevFld, UpFld, Back, Quit key.Binding
}

func newFormKeys(k keyMap) formKeys {
	return formKeys{
		Next: k.Next, NextFld: k.NextFld, PrevFld: k.PrevFld,
		DownFld: key.NewBinding(key.WithKeys("down"), key.WithHelp("↓", "next field")),
		UpFld:   key.NewBinding(key.WithKeys("up"), key.WithHelp("↑", "previous field")),
		Back:    k.Back, Quit: k.Quit,
	}
}

// scriptKeys are the script step's, in each of its modes.
type scriptKeys struct {
	Next, Copy, Save, Run, Back, Quit key.Binding
	Scroll                            scrollKeys
	// Saving: the name is typed, enter saves, esc cancels; y/n answer
	// whether to replace a file.
	SaveAs, Cancel, Replace, Keep key.Binding
	// "Set it up for me": y/n answer the question, n/esc goes back when
	// there is nothing to say yes to, esc stops the set-up.
	Yes, No, NoBack, Stop key.Binding
}

func newScriptKeys(k keyMap) scriptKeys {
	return scriptKeys{
		Next: k.Next, Copy: k.Copy, Save: k.Save, Run: k.Run, Back: k.Back, Quit: k.Quit,
		Scroll:  newScrollKeys(k),
		SaveAs:  bind(k.Next, "enter", "save"),
		Cancel:  bind(k.Back, "esc", "cancel"),
		Replace: k.Yes, Keep: k.No,
		Yes: k.Yes, No: k.No,
		NoBack: bind(k.No, "n/esc", "back"),
		Stop:   bind(k.Back, "esc", "stop"),
	}
}

// applyKeys are the apply step's.
type applyKeys struct {
	Replace, Keep, Check, Retry, Retest, Back, Quit key.Binding
}

func newApplyKeys(k keyMap) applyKeys {
	return applyKeys{
		Replace: bind(k.Yes, "y", "replace"),
		Keep:    bind(k.No, "n/esc", "back"),
		Check:   bind(k.Next, "enter", "pairing check"),
		Retry:   k.Retry,
		Retest:  key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "test the registered key")),
		Back:    k.Back, Quit: k.Quit,
	}
}

// checkKeys are the pairing check's.
type checkKeys struct {
	Stop, Finish, Retry, Fix, Copy, Back, Quit key.Binding
	Scroll                                     scrollKeys
}

func newCheckKeys(k keyMap) checkKeys {
	return checkKeys{
		Stop:   key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "stop waiting")),
		Finish: bind(k.Next, "enter", "finish"),
		Retry:  k.Retry, Fix: k.Fix,
		Copy: bind(k.Copy, "c", "copy command"),
		Back: k.Back, Quit: k.Quit,
		Scroll: newScrollKeys(k),
	}
}

// doneKeys are the last step's.
type doneKeys struct {
	Done, Copy, Back key.Binding
}

func newDoneKeys(k keyMap) doneKeys {
	return doneKeys{Done: k.Done, Copy: bind(k.Copy, "c", "copy command"), Back: k.Back}
}

// resumeKeys are the resume screen's: the offer's and the question's.
type resumeKeys struct {
	Choose, Up, Down, Go, Quit key.Binding
	Discard, Resume, Keep      key.Binding
}

func newResumeKeys(k keyMap) resumeKeys {
	return resumeKeys{
		Choose: choose(), Up: k.Up, Down: k.Down,
		Go:      bind(k.Next, "enter", "go"),
		Quit:    k.Quit,
		Discard: k.Yes,
		Resume:  key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "resume it")),
		Keep:    k.No,
	}
}

// rootKeys are the root's own: they work on every step.
type rootKeys struct {
	Quit, Help key.Binding
	// PageUp and PageDown scroll a body taller than the screen; Up and
	// Down too, on a step that has no use for them then. Page and
	// Arrows are the two pairs as the full help lists them.
	PageUp, PageDown, Up, Down key.Binding
	Page, Arrows               key.Binding
}

func newRootKeys(k keyMap) rootKeys {
	return rootKeys{
		Quit: k.Quit, Help: k.Help,
		PageUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "screen up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "screen down")),
		Up:       bind(k.Up, "↑/k", "scroll up"),
		Down:     bind(k.Down, "↓/j", "scroll down"),
		Page:     key.NewBinding(key.WithKeys("pgup", "pgdown"), key.WithHelp("pgup/pgdn", "scroll the screen")),
		Arrows:   key.NewBinding(key.WithKeys("up", "down", "k", "j"), key.WithHelp("↑/↓/k/j", "scroll the screen")),
	}
}
