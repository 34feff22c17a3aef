// Package accessible is rekwiz's wizard as plain lines: the same flow as
// the full-screen wizard (flows.State, the same validators, the same
// set-up, registration and pairing check, over ui.Deps), asked one
// question at a time on an input and an output that need not be a
// terminal.
//
// It is for screen readers, braille displays, dumb terminals and pipes:
// no alternate screen, no cursor movement, no colour, no spinner. Each
// question is a line of text; choices are numbered; a wrong answer is
// said on a line of its own and the question is asked again; work is
// reported a line per call or check as it happens.
package accessible

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/ui"
)

// IO is where the wizard asks and answers.
type IO struct {
	In  io.Reader
	Out io.Writer
	// Terminal is whether In is a terminal, which echoes what is typed.
	Terminal bool
	// ReadSecret reads a line from the terminal without echo; nil reads
	// secrets as plain lines from In (a pipe echoes nothing anyway). It
	// returns io.EOF at the end of input and ctx's error when
	// interrupted.
	ReadSecret func(ctx context.Context) ([]byte, error)
}

// Wizard is one run of the line-by-line wizard.
type Wizard struct {
	flow *flows.State
	deps ui.Deps
	io   IO
	in   *lineReader
	out  *printer

	// What has happened, for the note on leaving early.
	sawScript bool
	setUp     bool
	finished  bool
	// setup is the last "set it up for me" result, for the spec it ran
	// with: the script step offers to go on with it.
	setup     *flows.SetupResult
	setupSpec flows.SetupSpec
}

// New makes the wizard for a flow.
func New(flow *flows.State, deps ui.Deps, o IO) *Wizard {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &Wizard{flow: flow, deps: deps, io: o, in: newLineReader(o.In), out: &printer{w: o.Out}}
}

// Flow is the flow as the wizard left it.
func (w *Wizard) Flow() *flows.State { return w.flow }

// Finished reports whether the wizard reached the end.
func (w *Wizard) Finished() bool { return w.finished }

// Run asks until the flow is done. It returns ErrEndOfInput when the
// input ends first, and ctx's error when interrupted: every question and
// every wait ends with ctx.
func (w *Wizard) Run(ctx context.Context) error {
	w.header()
	if err := w.offerResume(ctx); err != nil {
		return err
	}
	last := flows.Step(0)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		st := w.flow.Step()
		if st != last {
			w.out.line("")
			w.out.linef("Step %d of %d: %s", st.Stage(), flows.Stages, st.Title())
			last = st
		}
		var err error
		switch st {
		case flows.StepDomain, flows.StepKeyDetails, flows.StepPaste:
			err = w.form(ctx)
		case flows.StepProvider:
			err = w.chooseProvider(ctx)
		case flows.StepKey:
			err = w.chooseKey(ctx)
		case flows.StepScript:
			err = w.script(ctx)
		case flows.StepApply:
			err = w.apply(ctx)
		case flows.StepCheck:
			err = w.check(ctx)
		case flows.StepDone:
			w.done()
			return nil
		default:
			return fmt.Errorf("the flow is at an unknown step %d", st)
		}
		if errors.Is(err, errBack) {
			w.back()
			continue
		}
		if err != nil {
			return err
		}
	}
}

func (w *Wizard) header() {
	title := "rekwiz: Root Encryption Key for " + w.flow.Vendor().Name
	switch {
	case w.deps.Demo:
		title += " (demo: everything runs against a built-in sandbox)"
	case w.flow.Vendor().Placeholder:
		title += " (no vendor profile)"
	}
	w.out.line(title)
	w.out.line("Answer each question and press enter. Enter alone keeps the value in brackets; " + backKey + " goes back a step; ctrl+c quits.")
}

// back goes to the step before, saying so when there is none.
func (w *Wizard) back() {
	if !w.flow.Back() {
		w.out.line("This is the first step; there is nothing to go back to.")
	}
}

// next moves the flow on after a step's answers were recorded, and
// keeps the progress.
func (w *Wizard) next() error {
	if err := w.flow.Next(); err != nil {
		return err
	}
	w.save()
	return nil
}

// save keeps the flow's progress, when the command keeps any.
func (w *Wizard) save() {
	if w.deps.Progress == nil {
		return
	}
	if snap, ok := w.flow.Snapshot(w.deps.Now()); ok {
		_ = w.deps.Progress.Save(snap)
	}
}

// chooseProvider asks where the key lives.
func (w *Wizard) chooseProvider(ctx context.Context) error {
	var opts []option
	def := 0
	for i, p := range flows.Providers() {
		o := option{title: p.Title(), detail: p.Description()}
		if w.deps.Pairing[p] == nil {
			o.unavailable = "Not in this version of rekwiz yet; choose another provider."
		}
		if string(p) == w.flow.Value(flows.FieldProvider) {
			def = i
		}
		opts = append(opts, o)
	}
	i, err := w.choose(ctx, "Where will the key live?", opts, def)
	if err != nil {
		return err
	}
	return w.answerChoice(flows.FieldProvider, string(flows.Providers()[i]))
}

// chooseKey asks whether the key exists.
func (w *Wizard) chooseKey(ctx context.Context) error {
	var opts []option
	def := 0
	for i, k := range flows.KeyChoices() {
		opts = append(opts, option{title: k.Title()})
		if string(k) == w.flow.Value(flows.FieldKey) {
			def = i
		}
	}
	i, err := w.choose(ctx, "Which key?", opts, def)
	if err != nil {
		return err
	}
	return w.answerChoice(flows.FieldKey, string(flows.KeyChoices()[i]))
}

func (w *Wizard) answerChoice(f flows.Field, v string) error {
	if err := w.flow.Set(f, v); err != nil {
		w.out.line("✗ " + err.Error())
		return nil
	}
	if err := w.next(); err != nil {
		w.sayErrors(err)
	}
	return nil
}

// sayErrors says why the flow did not move on, one line per answer.
func (w *Wizard) sayErrors(err error) {
	var fe flows.FieldErrors
	if errors.As(err, &fe) {
		for _, e := range fe {
			w.out.line("✗ " + flows.Spec(e.Field).Label + ": " + e.Err.Error())
		}
		return
	}
	w.out.line("✗ " + err.Error())
}

// done says what was configured and ends the flow.
func (w *Wizard) done() {
	// The summary is the full-screen wizard's own, so the two say the
	// same.
	s := ui.Summarize(w.flow, w.deps)
	w.out.line("✓ Paired. " + s.Vendor + " can use your key, and only for wrapping keys.")
	for _, l := range s.Lines() {
		w.out.line("  " + l)
	}
	if s.Verify != "" {
		later := "To check it again later, or on a support call:"
		if w.deps.Demo {
			later = "In a real account, you would check it again later with:"
		}
		w.out.line(later)
		w.out.line("  " + s.Verify)
	}
	if p, domain := w.deps.Progress, w.flow.Value(flows.FieldDomain); p != nil && domain != "" {
		_ = p.Delete(domain)
	}
	w.finished = true
	w.out.line("Done.")
}

// QuitNote says, in a sentence or two, what is true when the wizard is
// left before the end: what was set up, registered and checked, and what
// stays as it is. It says what the full-screen wizard says on quitting.
func (w *Wizard) QuitNote() string {
	again, stays := " Run rekwiz again to finish.", func(what string) string { return "; " + what + "." }
	if w.deps.Demo {
		again, stays = " It was all in the demo's sandbox, which ends now.", func(string) string { return "." }
	}
	domain := w.flow.Value(flows.FieldDomain)
	pasted := false
	for _, f := range flows.PasteFields(w.flow.Provider()) {
		if w.flow.Value(f) != "" {
			pasted = true
		}
	}
	switch r := w.flow.Receipt(); {
	case w.flow.Paired():
		if w.deps.Demo {
			return "The key was paired." + again
		}
		return "The key is paired: " + w.flow.Vendor().Name + " can use it. Nothing is left to do."
	case r != nil && len(w.flow.Checks()) > 0:
		return "The key is registered with " + domain + " as " + r.RekID + ", but the pairing check did not pass" + stays("it stays registered and set up") + again
	case r != nil:
		return "The key is registered with " + domain + " as " + r.RekID + " but not checked yet" + stays("what is set up and registered stays so") + again
	case w.setUp || pasted:
		return "The key is set up but not registered" + stays("what is set up stays set up") + again
	case w.sawScript && w.deps.Demo:
		return "The script was shown but not run: nothing was set up." + again
	case w.sawScript:
		return "The script was shown but rekwiz did not run it, so rekwiz changed nothing in your account (if you ran the script yourself, what it set up stays set up)." + again
	}
	return "Nothing was set up yet." + again
}
