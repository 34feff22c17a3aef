package accessible

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/rekwiz/rekwiz/flows"
)

// form asks a step's fields one at a time, each checked as it is given
// (against the answers before it, as the full-screen form checks), then
// the step as a whole through flows.State.Next: what Next refuses is
// said field by field and those fields are asked again.
func (w *Wizard) form(ctx context.Context) error {
	specs := w.flow.Fields()
	w.intro()
	// pasted holds values picked out of the script's labelled lines for
	// fields not asked yet: they become those fields' answers offered.
	pasted := map[flows.Field]string{}
	typed := map[flows.Field]string{}
	ask := specs
	for {
		for _, spec := range ask {
			if w.flow.Locked(spec.Field) {
				w.out.line(spec.Label + ": " + w.shown(spec, w.flow.Value(spec.Field)) + " (from the command line)")
				continue
			}
			v, err := w.field(ctx, spec, typed, pasted)
			if errors.Is(err, errBack) {
				w.record(typed)
				return errBack
			}
			if err != nil {
				return err
			}
			typed[spec.Field] = v
		}
		if err := w.record(typed); err != nil {
			return nil // said; the step is asked again
		}
		if w.flow.Step() == flows.StepDomain {
			resumed, err := w.askDiscard(ctx, typed[flows.FieldDomain])
			if err != nil || resumed {
				return err
			}
		}
		err := w.next()
		if err == nil {
			return nil
		}
		var fe flows.FieldErrors
		if !errors.As(err, &fe) {
			w.sayErrors(err)
			return nil
		}
		w.sayErrors(fe)
		ask = nil
		for _, spec := range specs {
			if fe.For(spec.Field) != nil {
				ask = append(ask, spec)
			}
		}
	}
}

// record gives the flow what was typed; a value the flow will not keep
// (a secret in a field that is shown) is said and forgotten.
func (w *Wizard) record(typed map[flows.Field]string) error {
	var failed error
	for _, spec := range w.flow.Fields() {
		v, ok := typed[spec.Field]
		if !ok {
			continue
		}
		if err := w.flow.Set(spec.Field, v); err != nil {
			var fe *flows.FieldError
			if errors.As(err, &fe) {
				err = fe.Err
			}
			w.out.line("✗ " + spec.Label + ": " + err.Error())
			delete(typed, spec.Field)
			failed = err
		}
	}
	return failed
}

// field asks for one field until its answer passes the field's checks.
func (w *Wizard) field(ctx context.Context, spec flows.FieldSpec, typed, pasted map[flows.Field]string) (string, error) {
	secret := spec.Kind == flows.SecretField
	// At a terminal, a step that asks for a secret reads every answer
	// without echo: the script's lines pasted as a block hold the secret,
	// and the terminal would show them whatever field is asked.
	hidden := secret || w.hidesInput()
	def := w.offered(spec)
	if v, ok := pasted[spec.Field]; ok {
		def = v
	}
	w.out.line(spec.Label + about(spec))
	for {
		q := spec.Label
		if def != "" {
			q += " [" + w.shown(spec, def) + "]"
		}
		q += ": "
		var (
			raw string
			err error
		)
		if hidden {
			raw, err = w.askSecret(ctx, q)
		} else {
			raw, err = w.ask(ctx, q)
		}
		if err != nil {
			return "", err
		}
		// A line the script printed, label and all: its value goes to
		// the field it names, this one or a later one of the step.
		if f, v, ok := flows.LabelledValue(raw); ok && v != "" {
			if f != spec.Field {
				w.takePasted(f, v, typed, pasted)
				continue
			}
			raw = v
		}
		if raw == "" {
			raw = def
		}
		form := make(map[flows.Field]string, len(typed)+1)
		for f, v := range typed {
			form[f] = v
		}
		form[spec.Field] = raw
		res := w.flow.ValidateForm(form)[spec.Field]
		if res.Err != nil {
			w.out.line("✗ " + spec.Label + ": " + res.Err.Error())
			continue
		}
		if res.Value.Note != "" {
			w.out.line("✓ " + res.Value.Note)
		}
		if hidden && !secret {
			w.out.line("✓ " + spec.Label + ": " + raw)
		}
		return raw, nil
	}
}

// offered is what a field starts with: its answer so far, or what the
// flow suggests.
func (w *Wizard) offered(spec flows.FieldSpec) string {
	if spec.Kind == flows.SecretField {
		return w.flow.Secret(spec.Field)
	}
	if v := w.flow.Value(spec.Field); v != "" {
		return v
	}
	return w.flow.Suggestion(spec.Field)
}

// shown is a value as it may be printed: a secret only masked.
func (w *Wizard) shown(spec flows.FieldSpec, v string) string {
	if spec.Kind == flows.SecretField {
		return flows.Secret(v).Masked()
	}
	return v
}

// takePasted keeps a pasted line's value for the field it names, when
// that is another field of this step: a later field is offered it when
// asked; an earlier one, answered already, has its answer replaced if
// the value passes its checks.
func (w *Wizard) takePasted(f flows.Field, v string, typed, pasted map[flows.Field]string) {
	other := w.fieldOfStep(f)
	if other == nil || w.flow.Locked(f) {
		w.out.line("✗ that line is the script's " + flows.Spec(f).Label + ", which this step does not ask for.")
		return
	}
	if _, answered := typed[f]; !answered {
		pasted[f] = v
		w.out.line("✓ " + other.Label + " taken from the pasted line; it is offered when asked for.")
		return
	}
	form := maps.Clone(typed)
	form[f] = v
	if res := w.flow.ValidateForm(form)[f]; res.Err != nil {
		w.out.line("✗ " + other.Label + " (pasted line): " + res.Err.Error() + "; the answer given before is kept.")
		return
	}
	typed[f] = v
	w.out.line("✓ " + other.Label + " replaced by the pasted line's value: " + w.shown(*other, v) + ".")
}

// hidesInput reports whether the step's answers are read without echo:
// at a terminal, on a step that asks for a secret.
func (w *Wizard) hidesInput() bool {
	return w.io.ReadSecret != nil && slices.ContainsFunc(w.flow.Fields(), func(s flows.FieldSpec) bool { return s.Kind == flows.SecretField })
}

func (w *Wizard) fieldOfStep(f flows.Field) *flows.FieldSpec {
	specs := w.flow.Fields()
	if i := slices.IndexFunc(specs, func(s flows.FieldSpec) bool { return s.Field == f }); i >= 0 {
		return &specs[i]
	}
	return nil
}

// about is what is said of a field before it is asked: where to find
// it, and an example.
func about(spec flows.FieldSpec) string {
	var s string
	if spec.Help != "" {
		s = ": " + spec.Help
	}
	if spec.Example != "" {
		s += fmt.Sprintf(" (e.g. %s)", spec.Example)
	}
	if spec.Kind == flows.SecretField {
		s += ". What you type is not shown."
	}
	return s
}

// intro says what a step is for, before its questions.
func (w *Wizard) intro() {
	switch w.flow.Step() {
	case flows.StepDomain:
		w.out.line("rekwiz sets up your domain's Root Encryption Key in your own cloud account and lets " +
			w.flow.Vendor().Name + " use it to wrap and unwrap its keys, nothing more. Start with the domain ID.")
	case flows.StepKeyDetails:
		w.out.line("About the key, in " + w.flow.Provider().Title() + ":")
	case flows.StepPaste:
		w.out.line("Paste what the script printed. Its last lines end in \"(save this for next step)\": give the value, or the whole line and rekwiz picks the value out.")
		if w.hidesInput() {
			w.out.line("What you type or paste at this step is not shown, since the script's lines hold a secret; each value taken is said after.")
		}
		if w.deps.Demo && w.deps.Setup[w.flow.Provider()] != nil && !w.pasteFilled() {
			w.out.line("Nothing to paste yet: in the demo the values come from the set-up. Enter " + backKey + " to go back to the script step and choose \"Set it up for me\".")
		}
	}
}

func (w *Wizard) pasteFilled() bool {
	for _, f := range flows.PasteFields(w.flow.Provider()) {
		if w.flow.Value(f) != "" || w.flow.Secret(f) != "" {
			return true
		}
	}
	return false
}

// offerResume offers the progress saved for unfinished domains, as the
// full-screen wizard does before its first step: one to resume, or
// start over.
func (w *Wizard) offerResume(ctx context.Context) error {
	saved := w.deps.Saved
	if len(saved) == 0 {
		return nil
	}
	w.out.line("")
	w.out.line("Pick up where you left off?")
	var opts []option
	for _, s := range saved {
		detail := "saved " + s.Saved.Local().Format("2006-01-02 15:04")
		if p, err := flows.ParseProvider(s.Values[flows.FieldProvider]); err == nil {
			detail = p.Title() + ", " + detail
			if s.Step >= flows.StepPaste && hasSecret(p) {
				detail += "; secrets are never saved, so the paste step asks for them again"
			}
		}
		opts = append(opts, option{title: s.Domain + ": resume at " + s.Step.Title(), detail: detail})
	}
	opts = append(opts, option{title: "Start over", detail: "a new domain, or one of these from the beginning (its saved progress is replaced once you pass the domain step)"})
	for {
		i, err := w.choose(ctx, "Choose one:", opts, 0)
		if errors.Is(err, errBack) {
			w.out.line("This is the first question; there is nothing to go back to.")
			continue
		}
		if err != nil {
			return err
		}
		if i == len(saved) {
			return nil
		}
		w.deps.Saved = slices.Delete(slices.Clone(saved), i, i+1)
		if _, err := w.flow.Resume(saved[i]); err != nil {
			w.out.line("✗ " + err.Error())
		}
		return nil
	}
}

// hasSecret reports whether the provider's paste step takes a secret.
func hasSecret(p flows.Provider) bool {
	for _, f := range flows.PasteFields(p) {
		if flows.Spec(f).Kind == flows.SecretField {
			return true
		}
	}
	return false
}

// askDiscard asks, before a domain whose progress was saved is started
// over, whether to resume it instead: going on would replace it. It
// reports whether the flow resumed.
func (w *Wizard) askDiscard(ctx context.Context, domain string) (bool, error) {
	i := slices.IndexFunc(w.deps.Saved, func(s flows.Snapshot) bool { return s.Domain == domain })
	if i < 0 {
		return false, nil
	}
	snap := w.deps.Saved[i]
	w.out.line(fmt.Sprintf("Progress for %s was saved %s, at %s. Starting over discards it.", snap.Domain, snap.Saved.Local().Format("2006-01-02 15:04"), snap.Step.Title()))
	c, err := w.choose(ctx, "Resume it?", []option{{title: "Resume it", detail: "at " + snap.Step.Title()}, {title: "Discard it and start over"}}, 0)
	if err != nil {
		return false, err
	}
	w.deps.Saved = slices.Delete(slices.Clone(w.deps.Saved), i, i+1)
	if c == 1 {
		if w.deps.Progress != nil {
			_ = w.deps.Progress.Delete(domain)
		}
		return false, nil
	}
	if _, err := w.flow.Resume(snap); err != nil {
		w.out.line("✗ " + err.Error())
		return false, nil
	}
	return true, nil
}
