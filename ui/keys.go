package ui

import "charm.land/bubbles/v2/key"

// keyMap holds every binding; steps show the ones that apply to them.
type keyMap struct {
	Quit    key.Binding
	Back    key.Binding
	Next    key.Binding
	Up      key.Binding
	Down    key.Binding
	NextFld key.Binding
	PrevFld key.Binding
	Help    key.Binding

	Scroll key.Binding
	Copy   key.Binding
	Save   key.Binding
	Run    key.Binding
	Yes    key.Binding
	No     key.Binding

	Retry key.Binding
	Fix   key.Binding
	Done  key.Binding
}

func newKeyMap() keyMap {
	return keyMap{
		Quit:    key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),
		Back:    key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Next:    key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "next")),
		Up:      key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/↓", "choose")),
		Down:    key.NewBinding(key.WithKeys("down", "j")),
		NextFld: key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab", "next field")),
		PrevFld: key.NewBinding(key.WithKeys("shift+tab", "up")),
		Help:    key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "more keys")),

		Scroll: key.NewBinding(key.WithKeys("up", "down", "pgup", "pgdown"), key.WithHelp("↑/↓/pgup/pgdn", "scroll")),
		Copy:   key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "copy")),
		Save:   key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "save")),
		Run:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "set it up for me")),
		Yes:    key.NewBinding(key.WithKeys("y"), key.WithHelp("y", "yes")),
		No:     key.NewBinding(key.WithKeys("n", "esc"), key.WithHelp("n/esc", "no")),

		Retry: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "run again")),
		Fix:   key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "go fix it")),
		Done:  key.NewBinding(key.WithKeys("enter", "q"), key.WithHelp("enter/q", "finish")),
	}
}

// bindings is a step's help: the short line and the full sheet.
type bindings struct {
	short []key.Binding
	full  [][]key.Binding
}

func (b bindings) ShortHelp() []key.Binding  { return b.short }
func (b bindings) FullHelp() [][]key.Binding { return b.full }
