package ui

import (
	"strings"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// formStep is a step that asks for typed or pasted values: the domain,
// the key's details, and what the script printed. Every value is checked
// as it is typed, with flows' validators.
type formStep struct {
	c     *Common
	keys  formKeys
	title string
	// intro is the text under the title; typed is what a field holds now,
	// before the form is submitted.
	intro func(s *flows.State, typed func(flows.Field) string) string

	state     *flows.State
	fields    []*formField
	focus     int
	submitted bool // after a submit, empty fields show "required" too
}

type formField struct {
	spec   flows.FieldSpec
	input  textinput.Model
	locked bool // given on the command line; shown, not asked
	value  flows.Value
	err    error
	// refused: a secret was pasted or typed here, in a field that is
	// not secret, and not kept; the error stays until the field is
	// edited or the form submitted.
	refused bool
}

func newFormStep(c *Common, title string, intro func(s *flows.State, typed func(flows.Field) string) string) *formStep {
	return &formStep{c: c, keys: newFormKeys(c.Keys), title: title, intro: intro}
}

func (f *formStep) Enter(s *flows.State) tea.Cmd {
	f.state, f.submitted, f.fields, f.focus = s, false, nil, -1
	for _, spec := range s.Fields() {
		ff := &formField{spec: spec, locked: s.Locked(spec.Field)}
		ff.input = textinput.New()
		ff.input.Prompt = focusMarker
		ff.input.Placeholder = spec.Example
		ff.input.KeyMap.Paste = key.NewBinding(key.WithDisabled()) // terminals paste by bracketed paste
		ff.input.SetStyles(inputStyles(f.c.Styles.isDark))
		if spec.Kind == flows.SecretField {
			ff.input.EchoMode = textinput.EchoPassword
			ff.input.EchoCharacter = '•'
			ff.input.SetValue(s.Secret(spec.Field))
		} else if v := s.Value(spec.Field); v != "" {
			ff.input.SetValue(v)
		} else {
			ff.input.SetValue(s.Suggestion(spec.Field))
		}
		ff.input.CursorEnd()
		f.fields = append(f.fields, ff)
	}
	f.validate()
	f.SetSize(f.c.Width, f.c.Height)
	// Start on the first field, whatever is in it: only one given on the
	// command line is passed over.
	for i, ff := range f.fields {
		if !ff.locked {
			return f.focusOn(i)
		}
	}
	return nil
}

func (f *formStep) Leave() {}

func (f *formStep) SetSize(w, _ int) {
	for _, ff := range f.fields {
		ff.input.SetWidth(max(w-4, 8))
		// SetWidth leaves the visible window as it was; setting the
		// value again scrolls it so the input keeps to its width.
		ff.input.SetValue(ff.input.Value())
	}
}

func (f *formStep) focusOn(i int) tea.Cmd {
	if f.focus >= 0 && f.focus < len(f.fields) {
		f.fields[f.focus].input.Blur()
	}
	f.focus = i
	return f.fields[i].input.Focus()
}

// move focuses the next (or previous) field that can be edited.
func (f *formStep) move(delta int) tea.Cmd {
	for i := f.focus + delta; i >= 0 && i < len(f.fields); i += delta {
		if !f.fields[i].locked {
			return f.focusOn(i)
		}
	}
	return nil
}

// validate checks every field again, each against the others as they
// are typed now: a cross-field error (the key ARN's region against the
// region) goes as soon as either side is put right.
func (f *formStep) validate() {
	res := f.state.ValidateForm(f.values())
	for _, ff := range f.fields {
		if ff.locked {
			ff.value, ff.err = flows.Value{Text: ff.input.Value()}, nil
			continue
		}
		r := res[ff.spec.Field]
		ff.value, ff.err = r.Value, r.Err
		if ff.refused {
			ff.err = flows.ErrSecretInField
		}
	}
}

func (f *formStep) Update(msg tea.Msg) (component, tea.Cmd) {
	if f.focus < 0 || f.focus >= len(f.fields) {
		if k, ok := msg.(tea.KeyPressMsg); ok && key.Matches(k, f.keys.Back) {
			return f, send(backMsg{})
		}
		return f, nil
	}
	cur := f.fields[f.focus]
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		switch {
		case key.Matches(msg, f.keys.Back):
			return f, send(backMsg{values: f.values()})
		case key.Matches(msg, f.keys.Next):
			return f, f.submit()
		case key.Matches(msg, f.keys.NextFld, f.keys.DownFld):
			return f, f.move(1)
		case key.Matches(msg, f.keys.PrevFld, f.keys.UpFld):
			return f, f.move(-1)
		}
	case tea.PasteMsg:
		f.paste(msg.Content)
		return f, nil
	case flows.FieldErrors:
		// The flow refused the answers: show why, on the first bad field.
		f.submitted = true
		for i, ff := range f.fields {
			if err := msg.For(ff.spec.Field); err != nil {
				ff.err = err
				if i != f.focus {
					return f, f.focusOn(i)
				}
			}
		}
		return f, nil
	}
	var cmd tea.Cmd
	before := cur.input.Value()
	cur.input, cmd = cur.input.Update(msg)
	if v := cur.input.Value(); v != before {
		cur.refused = false
		// A secret typed (or completed) in a field that is shown and
		// saved goes at once.
		if cur.spec.Kind != flows.SecretField && flows.ContainsSecretFor(cur.spec.Field, v) {
			cur.input.SetValue("")
			cur.refused = true
		}
	}
	// A terminal without bracketed paste types a pasted line key by key:
	// once "Key URL (save this for next step): h" is in, the label goes
	// and the value typed so far stays, so the rest lands after it.
	if fl, v, ok := flows.LabelledValue(cur.input.Value()); ok && v != "" && fl == cur.spec.Field {
		cur.input.SetValue(v)
		cur.input.CursorEnd()
	}
	f.validate()
	return f, cmd
}

// submit sends the answers up, or points at the first one that is wrong.
func (f *formStep) submit() tea.Cmd {
	f.submitted = true
	for _, ff := range f.fields {
		ff.refused = false
	}
	f.validate()
	for i, ff := range f.fields {
		if ff.err != nil {
			if i != f.focus {
				return f.focusOn(i)
			}
			return nil
		}
	}
	return send(submitMsg{values: f.values()})
}

// values is what is typed in the fields that can be edited.
func (f *formStep) values() map[flows.Field]string {
	values := map[flows.Field]string{}
	for _, ff := range f.fields {
		if !ff.locked {
			values[ff.spec.Field] = ff.input.Value()
		}
	}
	return values
}

// typed is what the form's field for fl holds now ("" for a field it
// does not ask for).
func (f *formStep) typed(fl flows.Field) string {
	for _, ff := range f.fields {
		if ff.spec.Field == fl {
			return ff.input.Value()
		}
	}
	return ""
}

// paste puts pasted text in the form. The script's labelled lines fill the
// fields they name, all at once, whether the lines end in LF, CRLF or the
// lone CR web terminals paste; anything else goes into the focused field
// at the cursor, trimmed, and never cut short. A secret access key is
// never put in a field that is not secret: its labelled line goes to the
// secret field when the form has one; otherwise the field keeps what it
// had and says why.
func (f *formStep) paste(text string) {
	filled := false
	for field, v := range flows.LabelledValues(text) {
		for _, ff := range f.fields {
			if ff.spec.Field == field && !ff.locked {
				ff.input.SetValue(v)
				ff.input.CursorEnd()
				filled = true
			}
		}
	}
	cur := f.fields[f.focus]
	cur.refused = false
	if !filled && cur.spec.Kind != flows.SecretField && flows.ContainsSecretFor(cur.spec.Field, text) {
		cur.refused = true
	} else if !filled {
		text = strings.TrimSpace(text)
		v, pos := []rune(cur.input.Value()), cur.input.Position()
		cur.input.SetValue(string(v[:pos]) + text + string(v[pos:]))
		cur.input.SetCursor(pos + len([]rune(text)))
	}
	f.validate()
}

func (f *formStep) View() string {
	st := f.c.Styles
	var b strings.Builder
	b.WriteString(st.Heading.Render(f.title) + "\n")
	if f.intro != nil {
		b.WriteString(f.c.wrap(f.intro(f.state, f.typed), st.Text) + "\n")
	}
	for i, ff := range f.fields {
		b.WriteString("\n")
		if ff.locked {
			b.WriteString(f.c.fieldLine(ff.spec.Label, ff.input.Value()) + st.Muted.Render("  (from the command line)") + "\n")
			continue
		}
		// The focused field is marked by more than colour: a marker on
		// its label and its input, and an underlined label.
		var label, input string
		if i == f.focus {
			label = focusMarker + st.FocusLabel.Render(ff.spec.Label)
			input = ff.input.View()
		} else {
			label = noMarker + st.Label.Render(ff.spec.Label)
			input = f.blurredInput(ff)
		}
		b.WriteString(label + "\n" + input + "\n")
		b.WriteString(f.status(ff, i == f.focus) + "\n")
	}
	return b.String()
}

// focusMarker marks the focused field's label and input; noMarker keeps
// the others aligned with it.
const (
	focusMarker = "› "
	noMarker    = "  "
)

// blurredInput is a field without focus: the start of its value, cut
// with an ellipsis where it is longer than the input (the whole value is
// on the status lines below), not the scrolled-to tail a text input keeps.
func (f *formStep) blurredInput(ff *formField) string {
	st := f.c.Styles
	v := ff.input.Value()
	if v == "" {
		return noMarker + st.Muted.Render(truncate(ff.input.Placeholder, ff.input.Width()))
	}
	if ff.spec.Kind == flows.SecretField {
		v = strings.Repeat(string(ff.input.EchoCharacter), len([]rune(v)))
	}
	return noMarker + st.Text.Render(truncate(v, ff.input.Width()))
}

// shown is the field's checked value as it may appear on screen.
func (f *formField) shown() string {
	if f.spec.Kind == flows.SecretField {
		return flows.Secret(f.value.Text).Masked()
	}
	return f.value.Text
}

// status is the line under a field: what is wrong with it, or that it is
// right, what checking changed, and the whole value when the input is too
// narrow to show it.
func (f *formStep) status(ff *formField, focused bool) string {
	st := f.c.Styles
	switch {
	case ff.refused:
		return f.c.wrapIndented("✗ "+flows.ErrSecretInField.Error(), 2, st.Error)
	case ff.input.Value() == "" && !f.submitted:
		if focused && ff.spec.Help != "" {
			return f.c.wrapIndented(ff.spec.Help, 2, st.Muted)
		}
		return ""
	case ff.err != nil:
		return f.c.wrapIndented("✗ "+ff.err.Error(), 2, st.Error)
	}
	// "✓ ok" and any note on a line of their own (never a bare "✓"
	// over a value cut onto the next line); the whole value under it,
	// indented, only where the input cannot show all of it or checking
	// changed it from what is typed. A secret says which one is in by
	// its masked form, short enough to share the ✓'s line.
	if ff.spec.Kind == flows.SecretField {
		return f.c.wrapIndented("✓ "+ff.shown(), 2, st.OK)
	}
	ok := "  " + st.OK.Render("✓ ok")
	if ff.value.Note != "" {
		ok = f.c.wrapIndented("✓ ok — "+ff.value.Note, 2, st.Note)
	}
	if ff.value.Text != strings.TrimSpace(ff.input.Value()) || blockWidth(ff.input.Value()) > ff.input.Width() {
		ok += "\n" + f.c.wrapIndented(ff.shown(), 4, st.OK)
	}
	return ok
}

func (f *formStep) Bindings() help.KeyMap {
	k := f.keys
	short := []key.Binding{k.Next}
	more := editKeys()
	if len(f.fields) > 1 {
		short = append(short, k.NextFld)
		more = append([]key.Binding{k.DownFld, k.PrevFld, k.UpFld}, more...)
	}
	return bindings{short: append(short, k.Back, k.Quit), more: more}
}
