package accessible

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/ui"
)

// apply registers the key with its domain, asking first when that
// replaces another key's registration, and goes on to the check.
func (w *Wizard) apply(ctx context.Context) error {
	t, err := w.flow.Target()
	if err != nil {
		w.sayErrors(err)
		return errBack
	}
	if r := w.flow.Receipt(); r != nil {
		// Registered already, and nothing changed since: back here from
		// the check.
		w.out.line("✓ Registered with " + t.Domain + " as " + r.RekID + ".")
		i, err := w.choose(ctx, "What now?", []option{{title: "Go on to the pairing check"}, {title: "Go back", detail: "to " + flows.StepPaste.Title()}}, 0)
		if err != nil {
			return err
		}
		if i == 1 {
			return errBack
		}
		return w.next()
	}
	reg := w.deps.Registry
	if reg == nil {
		w.out.line("✗ There is nowhere to register the key in this run of rekwiz.")
		return errBack
	}
	w.out.line("Register the key with " + t.Domain)
	if rp, ok := reg.(ui.Replacer); ok {
		old, found, err := rp.Replaces(ctx, t)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return w.applyFailed(ctx, err)
		}
		if found {
			w.printPrior(t, old)
			yes, err := w.confirm(ctx, "Replace it with this key? The old entry is removed from the registry; the old key itself stays as it is.")
			if err != nil {
				return err
			}
			if !yes {
				w.out.line("Nothing was changed.")
				return errBack
			}
		}
	}
	w.out.line("Registering…")
	r, err := reg.Register(ctx, t)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return w.applyFailed(ctx, err)
	}
	return w.registered(r)
}

func (w *Wizard) registered(r flows.Receipt) error {
	w.flow.SetReceipt(r)
	w.out.line("✓ Registered")
	w.out.line("  Key ID     " + r.RekID)
	w.out.line("  Where      " + r.Where)
	if r.Test != "" {
		w.out.line("  Tested     " + r.Test)
	}
	if err := w.next(); err != nil {
		w.sayErrors(err)
	}
	return nil
}

func (w *Wizard) printPrior(t flows.Target, p ui.Registration) {
	w.out.line(t.Domain + " has another key registered already:")
	w.out.line("  Key ID     " + p.RekID)
	for _, pr := range flows.Providers() {
		if pr.APIName() == p.Provider {
			w.out.line("  Provider   " + pr.Title())
		}
	}
	w.out.line("  Key        " + p.Key)
	if !p.At.IsZero() {
		w.out.line("  Registered " + p.At.UTC().Format("2006-01-02 15:04 UTC"))
	}
}

// applyFailed says why registering failed and asks what to do: try
// again, test the key the domain has registered already (when the
// registry can), or go back.
func (w *Wizard) applyFailed(ctx context.Context, err error) error {
	w.out.line("✗ " + err.Error())
	var dup interface{ ExistingRekID() string }
	rt, canRetest := w.deps.Registry.(ui.Retester)
	existing := ""
	if canRetest && errors.As(err, &dup) {
		existing = dup.ExistingRekID()
	}
	opts := []option{{title: "Try again"}}
	if existing != "" {
		opts = append(opts, option{title: "Test " + existing + " instead", detail: "the key the domain has registered already"})
	}
	opts = append(opts, option{title: "Go back"})
	i, err := w.choose(ctx, "What now?", opts, 0)
	if err != nil {
		return err
	}
	switch {
	case i == 0:
		return nil // the step is entered again
	case existing != "" && i == 1:
		t, _ := w.flow.Target()
		w.out.line("Testing " + existing + "…")
		r, err := rt.Retest(ctx, t, existing)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return w.applyFailed(ctx, err)
		}
		return w.registered(r)
	}
	return errBack
}

// check runs the pairing check, a line per check as verify prints it,
// and on a failure offers to run it again or go to the step that fixes
// it.
func (w *Wizard) check(ctx context.Context) error {
	t, err := w.flow.Target()
	if err != nil {
		w.sayErrors(err)
		return errBack
	}
	if w.flow.Paired() {
		return w.next()
	}
	p := w.deps.Pairing[t.Provider]
	if p == nil {
		w.out.line("✗ The pairing check for " + t.Provider.Title() + " is not available in this version.")
		return errBack
	}
	for {
		checks := w.runCheck(ctx, p, t)
		if err := ctx.Err(); err != nil {
			return err
		}
		w.flow.SetPairing(checks)
		if flows.Passed(checks) {
			if err := w.next(); err != nil {
				w.sayErrors(err)
			}
			return nil
		}
		fix := firstFix(checks)
		opts := []option{{title: "Run the check again"}}
		if fix != 0 {
			opts = append(opts, option{title: "Go to " + fix.Title(), detail: "the step that fixes it"})
		}
		opts = append(opts, option{title: "Go back", detail: "to " + flows.StepApply.Title()})
		i, err := w.choose(ctx, "What now?", opts, 0)
		if err != nil {
			return err
		}
		switch {
		case i == 0:
			continue
		case fix != 0 && i == 1:
			w.flow.GoBackTo(fix)
			return nil
		}
		return errBack
	}
}

// runCheck runs the check and reports it as rekwiz verify does: a line
// per check once it has a result, a line when it starts waiting for
// access to take effect (not a countdown), then what to do and the
// result.
func (w *Wizard) runCheck(ctx context.Context, p ui.Pairer, t flows.Target) []flows.Check {
	plan := p.Plan(t)
	w.out.line("Pairing check: can " + t.Vendor.Name + " use the key? " + count(len(plan), "check") + ".")
	var mu sync.Mutex
	said := map[string]string{}          // the line last said for each check
	waited := map[string]time.Duration{} // the pause each waiting check is in
	say := func(c flows.Check) {
		if l := checkLine(c); said[c.ID] != l {
			said[c.ID] = l
			w.out.line(l)
		}
	}
	checks := p.Run(ctx, t, func(c flows.Check) {
		mu.Lock()
		defer mu.Unlock()
		if c.Wait != nil {
			if prev, ok := waited[c.ID]; !ok || c.Wait.In > prev {
				w.out.linef("… %s: access denied; %s. Waiting %ds more at most, trying again in %ds…",
					c.Name, c.Wait.Why, int(c.Wait.Left/time.Second), int(c.Wait.In/time.Second))
			}
			waited[c.ID] = c.Wait.In
			return
		}
		delete(waited, c.ID)
		if c.Status.Done() {
			say(c)
		}
	})
	mu.Lock()
	defer mu.Unlock()
	if ctx.Err() != nil {
		return checks
	}
	for _, c := range checks {
		say(c)
	}
	var remedies []string
	failed := 0
	for _, c := range checks {
		if c.Status == flows.StatusFail {
			failed++
		}
		if c.Remedy != "" && c.Status != flows.StatusPass {
			remedies = append(remedies, "  "+c.ID+": "+c.Remedy)
		}
	}
	if len(remedies) > 0 {
		w.out.line("What to do:\n" + strings.Join(remedies, "\n"))
	}
	switch {
	case failed > 0:
		w.out.line("Result: " + count(failed, "check") + " failed.")
	case !flows.Passed(checks):
		w.out.line("Result: not finished.")
	default:
		w.out.line("Result: paired.")
	}
	return checks
}

// checkLine is one check as rekwiz verify prints it: symbol, status
// word, name and detail.
func checkLine(c flows.Check) string {
	l := fmt.Sprintf("%s %-7s %s", c.Status.Symbol(), strings.ToUpper(c.Status.String()), c.Name)
	if c.Detail != "" {
		l += ": " + c.Detail
	}
	return l
}

// firstFix is the earliest step that fixes a failed check, 0 if none.
func firstFix(checks []flows.Check) flows.Step {
	var fix flows.Step
	for _, c := range checks {
		if c.Status == flows.StatusFail && c.Fix != 0 && (fix == 0 || c.Fix < fix) {
			fix = c.Fix
		}
	}
	return fix
}

func count(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
