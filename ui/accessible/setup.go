package accessible

import (
	"context"
	"errors"
	"strings"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/ui"
)

// setUpForMe does what the script does through the SDK, with the same
// consent as the full-screen wizard: the plan read first (read-only) and
// shown, then y/n; a different statement under the vendor's Sid is
// replaced only after a second question that names what is lost.
func (w *Wizard) setUpForMe(ctx context.Context, spec flows.SetupSpec) error {
	setup := w.deps.Setup[spec.Provider]
	run := setup.Run
	w.out.line("")
	w.out.line("Set it up for me: rekwiz will make the calls the script makes, " + w.who() + ". Nothing is deleted.")
	if p, ok := setup.(ui.Planner); ok {
		w.out.line("Reading what is there (read-only calls)…")
		plan, err := p.Plan(ctx, spec)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, ui.ErrNoPlan):
		case err != nil:
			w.out.line("✗ Could not read what is there: " + err.Error())
			w.out.line("Nothing was changed.")
			return nil
		default:
			w.printPlan(plan)
			if c := plan.Conflict; c != nil {
				r, ok := setup.(ui.StatementReplacer)
				if !ok {
					w.out.line("rekwiz cannot replace it here; change it yourself, then choose \"Set it up for me\" again.")
					return nil
				}
				yes, err := w.confirm(ctx, "Go ahead, replacing it?")
				if err != nil || !yes {
					return w.declined(err)
				}
				w.printLosses(c)
				yes, err = w.confirm(ctx, "Replace "+replaced(c)+" and go ahead?")
				if err != nil || !yes {
					return w.declined(err)
				}
				run = r.RunReplacing
				return w.runSetup(ctx, spec, run)
			}
		}
	}
	yes, err := w.confirm(ctx, "Go ahead?")
	if err != nil || !yes {
		return w.declined(err)
	}
	return w.runSetup(ctx, spec, run)
}

// declined is a no (or back) to a consent question: nothing runs.
func (w *Wizard) declined(err error) error {
	if err != nil && !errors.Is(err, errBack) {
		return err
	}
	w.out.line("Nothing was changed.")
	return nil
}

func (w *Wizard) who() string {
	if w.deps.Demo {
		return "as the sandbox's customer admin"
	}
	return "with your own cloud sign-in"
}

// printPlan says what the set-up found and will do.
func (w *Wizard) printPlan(p flows.SetupPlan) {
	home := "account"
	if p.Home != "" {
		home = p.Home
	}
	w.out.line("Signed in: " + home + " " + p.Account + " as " + p.Caller)
	list := func(title string, items []string) {
		if len(items) == 0 {
			return
		}
		w.out.line(title + ":")
		for _, it := range items {
			w.out.line("  - " + capitalise(it))
		}
	}
	list("It will", p.Changes)
	list("Already in place, kept as it is", p.Kept)
	if p.PolicyDiff != "" {
		w.out.line("The key policy, before (lines starting -) and after (lines starting +):")
		w.out.line(indent(p.PolicyDiff))
	}
	if p.UserPolicy != "" {
		w.out.line("The user's inline policy:")
		w.out.line(indent(p.UserPolicy))
	}
	if len(p.Changes) == 0 {
		w.out.line("✓ Everything is in place; nothing will change.")
	}
	if c := p.Conflict; c != nil {
		what, in, ours, fix := "The key policy already has a statement "+c.Sid, "The statement in the key policy", "The statement rekwiz writes", "remove it or give it another Sid yourself"
		if c.Where != "" {
			what, in, ours, fix = capitalise(c.Where)+" is already there", capitalise(c.Where), "The policy rekwiz writes", "change it yourself"
		}
		w.out.line("✗ " + what + ", and it is not the one rekwiz writes. rekwiz changes it only if you confirm, twice; or say n, then " + fix + ".")
		w.out.line(in + ":")
		w.out.line(indent(c.Existing))
		w.out.line(ours + ":")
		w.out.line(indent(c.Ours))
	}
}

func (w *Wizard) printLosses(c *flows.StatementConflict) {
	in := "the statement in the key policy"
	if c.Where != "" {
		in = c.Where
	}
	w.out.line("Replacing it loses what " + in + " says and rekwiz's does not:")
	for _, l := range c.Losses {
		w.out.line("  - " + capitalise(l))
	}
}

func replaced(c *flows.StatementConflict) string {
	if c.Where != "" {
		return c.Where
	}
	return "statement " + c.Sid
}

// runSetup makes the calls, a line per call as it is made, and keeps
// the values it printed for the paste step.
func (w *Wizard) runSetup(ctx context.Context, spec flows.SetupSpec,
	run func(context.Context, flows.SetupSpec, func(flows.SetupEvent)) (flows.SetupResult, error)) error {
	w.out.line("Setting it up…")
	res, err := run(ctx, spec, func(ev flows.SetupEvent) {
		if ev.Err != nil {
			w.out.line("✗ " + ev.Call + ": " + ev.Err.Error())
			return
		}
		l := "✓ " + ev.Call
		if ev.Detail != "" {
			l += ": " + ev.Detail
		}
		w.out.line(l)
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		w.out.line("✗ Stopped: " + err.Error())
		w.out.line("Calls already made are kept; running it again picks up from there.")
		return nil
	}
	w.setUp = true
	w.setup, w.setupSpec = &res, spec
	for f, v := range res.Paste {
		_ = w.flow.Set(f, v)
	}
	w.out.line("✓ Done. The paste step is filled in with:")
	for _, f := range flows.PasteFields(spec.Provider) {
		if v, ok := res.Paste[f]; ok {
			w.out.line("  " + flows.Spec(f).Label + ": " + w.shown(flows.Spec(f), v))
		}
	}
	return nil
}

func capitalise(t string) string {
	if r := []rune(t); len(r) > 0 {
		return strings.ToUpper(string(r[0])) + string(r[1:])
	}
	return t
}

// indent indents every line of preformatted text by two spaces.
func indent(text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n")
}
