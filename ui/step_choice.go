package ui

import (
	"fmt"
	"io"
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/list"
	tea "charm.land/bubbletea/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// choiceStep is a step that picks one answer from a list: the provider,
// or whether the key exists.
type choiceStep struct {
	c     *Common
	keys  choiceKeys
	field flows.Field
	title string
	items func(c *Common, s *flows.State) []choiceItem

	list list.Model
	err  string
}

type choiceItem struct {
	value       string
	title       string
	description string
	unavailable string // why it cannot be chosen yet; "" when it can
}

func (i choiceItem) FilterValue() string { return i.title }

func newChoiceStep(c *Common, field flows.Field, title string, items func(*Common, *flows.State) []choiceItem) *choiceStep {
	l := list.New(nil, choiceDelegate{c: c, height: 2, spacing: 1}, c.Width, c.Height)
	l.SetShowTitle(false)
	l.SetShowStatusBar(false)
	l.SetShowFilter(false)
	l.SetFilteringEnabled(false)
	l.SetShowHelp(false)
	l.SetShowPagination(false)
	keys := newChoiceKeys(c.Keys)
	l.KeyMap = keys.list()
	return &choiceStep{c: c, keys: keys, field: field, title: title, items: items, list: l}
}

func (s *choiceStep) Enter(st *flows.State) tea.Cmd {
	s.err = ""
	items := s.items(s.c, st)
	li := make([]list.Item, len(items))
	sel := 0
	for i, it := range items {
		li[i] = it
		if it.value == st.Value(s.field) {
			sel = i
		}
	}
	cmd := s.list.SetItems(li)
	s.SetSize(s.c.Width, s.c.Height)
	s.list.Select(sel)
	return cmd
}

func (s *choiceStep) Leave() {}

// SetSize fits the list to the body: every option with its description
// and a blank line between, or without the blank lines, or titles only;
// when even those do not fit, the list pages and says there is more.
func (s *choiceStep) SetSize(w, h int) {
	lh := max(h-3, 3)
	n := len(s.list.Items())
	d := choiceDelegate{c: s.c, height: 2, spacing: 1}
	switch {
	case n*3 <= lh: // the list pages by height+spacing, the last gap too
	case n*2 <= lh:
		d.spacing = 0
	default:
		d.height, d.spacing = 1, 0
	}
	s.list.SetDelegate(d)
	s.list.SetSize(w, lh)
}

func (s *choiceStep) Update(msg tea.Msg) (component, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, s.keys.Back):
			return s, send(backMsg{})
		case key.Matches(k, s.keys.Next):
			it, ok := s.list.SelectedItem().(choiceItem)
			if !ok {
				return s, nil
			}
			if it.unavailable != "" {
				s.err = it.unavailable
				return s, nil
			}
			return s, send(submitMsg{values: map[flows.Field]string{s.field: it.value}})
		}
		s.err = ""
	}
	var cmd tea.Cmd
	s.list, cmd = s.list.Update(msg)
	return s, cmd
}

func (s *choiceStep) View() string {
	st := s.c.Styles
	out := st.Heading.Render(s.title) + "\n\n" + strings.TrimRight(s.list.View(), "\n ")
	if p := s.list.Paginator; p.TotalPages > 1 {
		var more []string
		if p.Page > 0 {
			more = append(more, "↑ more above")
		}
		if p.Page < p.TotalPages-1 {
			more = append(more, "↓ more below")
		}
		out += "\n" + st.Muted.Render(fmt.Sprintf("%s (%d options; ↑/↓ choose)", strings.Join(more, ", "), len(s.list.Items())))
	}
	if s.err != "" {
		out += "\n" + s.c.wrapIndented("✗ "+s.err, 0, st.Error)
	}
	return out
}

func (s *choiceStep) Bindings() help.KeyMap {
	k := s.keys
	return bindings{
		short: []key.Binding{k.Choose, k.Next, k.Back, k.Quit},
		more:  []key.Binding{k.Up, k.Down, k.First, k.Last, k.PrevPage, k.NextPage},
	}
}

// choiceDelegate draws an item as a marker and title, its description
// under it; the selected item is marked with › as well as colour.
// On a short screen it drops the blank line between items, then the
// descriptions.
type choiceDelegate struct {
	c               *Common
	height, spacing int
}

func (d choiceDelegate) Height() int                         { return d.height }
func (d choiceDelegate) Spacing() int                        { return d.spacing }
func (d choiceDelegate) Update(tea.Msg, *list.Model) tea.Cmd { return nil }

func (d choiceDelegate) Render(w io.Writer, m list.Model, index int, item list.Item) {
	it, ok := item.(choiceItem)
	if !ok {
		return
	}
	st := d.c.Styles
	width := max(m.Width()-4, 10)
	title, desc := it.title, it.description
	if it.unavailable != "" {
		desc = "not available yet"
		if d.height == 1 {
			title += " (not available yet)"
		}
	}
	titleStyle := st.Unselected
	marker := "  "
	if index == m.Index() {
		titleStyle, marker = st.Selected, st.Selected.Render("› ")
	}
	if it.unavailable != "" {
		titleStyle = st.Disabled
	}
	fmt.Fprintf(w, "%s%s", marker, titleStyle.Render(truncate(title, width)))
	if d.height > 1 {
		fmt.Fprintf(w, "\n    %s", st.Description.Render(truncate(desc, width)))
	}
}

func truncate(s string, w int) string {
	if blockWidth(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && blockWidth(string(r))+1 > w {
		r = r[:len(r)-1]
	}
	return strings.TrimRight(string(r), " ") + "…"
}

// providerItems offers every provider, marking those this build cannot
// take to the end yet.
func providerItems(c *Common, _ *flows.State) []choiceItem {
	var items []choiceItem
	for _, p := range flows.Providers() {
		it := choiceItem{value: string(p), title: p.Title(), description: p.Description()}
		if !c.Deps.supported(p) {
			it.unavailable = "Not in this version of rekwiz yet; choose " + c.Deps.firstSupported().Title() + "."
		}
		items = append(items, it)
	}
	return items
}

func keyItems(_ *Common, s *flows.State) []choiceItem {
	where := s.Provider().Cloud().KeyStore()
	return []choiceItem{
		{value: string(flows.KeyExisting), title: flows.KeyExisting.Title(), description: "a key you already have in " + where},
		{value: string(flows.KeyNew), title: flows.KeyNew.Title(), description: "the script creates a new key in " + where},
	}
}
