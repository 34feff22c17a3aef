package main

import (
	"context"
	"errors"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/ui"
	"github.com/rekwiz/rekwiz/ui/termtext"
)

// The wizard's dependencies bring text from outside into the TUI: check
// details and remedies read from the cloud, set-up output, the domain
// API's answers and errors. safeDeps escapes all of it on its way in, so
// no step can draw it raw, whatever it does with it.
func safeDeps(d ui.Deps) ui.Deps {
	setup := map[flows.Provider]ui.Setuper{}
	for p, s := range d.Setup {
		if s != nil {
			setup[p] = safeSetuper{s}
		}
	}
	pairing := map[flows.Provider]ui.Pairer{}
	for p, s := range d.Pairing {
		if s != nil {
			pairing[p] = safePairer{s}
		}
	}
	d.Setup, d.Pairing = setup, pairing
	if d.Registry != nil {
		if rt, ok := d.Registry.(ui.Retester); ok {
			d.Registry = safeRetester{safeRegistrar{d.Registry}, rt}
		} else {
			d.Registry = safeRegistrar{d.Registry}
		}
	}
	return d
}

// safeError shows an error's text escaped; errors.As and errors.Is still
// see what it wraps.
type safeError struct{ err error }

func (e safeError) Error() string { return termtext.Text(e.err.Error()) }
func (e safeError) Unwrap() error { return e.err }

func safeErr(err error) error {
	if err == nil {
		return nil
	}
	return safeError{err}
}

func safeCheck(c flows.Check) flows.Check {
	c.ID, c.Name, c.Detail, c.Remedy = termtext.Line(c.ID), termtext.Line(c.Name), termtext.Text(c.Detail), termtext.Text(c.Remedy)
	if c.Wait != nil {
		w := *c.Wait
		w.Why = termtext.Line(w.Why)
		c.Wait = &w
	}
	return c
}

func safeChecks(cs []flows.Check) []flows.Check {
	out := make([]flows.Check, len(cs))
	for i, c := range cs {
		out[i] = safeCheck(c)
	}
	return out
}

type safePairer struct{ p ui.Pairer }

func (s safePairer) Plan(t flows.Target) []flows.Check { return safeChecks(s.p.Plan(t)) }

func (s safePairer) Run(ctx context.Context, t flows.Target, report func(flows.Check)) []flows.Check {
	var r func(flows.Check)
	if report != nil {
		r = func(c flows.Check) { report(safeCheck(c)) }
	}
	return safeChecks(s.p.Run(ctx, t, r))
}

// errCannotReplace is the answer of a set-up that cannot replace a
// statement.
var errCannotReplace = errors.New("this set-up cannot replace a statement; change it yourself, then run set-up again")

// safeSetuper keeps what the set-up it wraps can do: the plan it reads
// first (escaped too) and replacing a different statement. A set-up that
// cannot plan answers ui.ErrNoPlan; one that cannot replace says so.
type safeSetuper struct{ s ui.Setuper }

func (s safeSetuper) Plan(ctx context.Context, spec flows.SetupSpec) (flows.SetupPlan, error) {
	p, ok := s.s.(ui.Planner)
	if !ok {
		return flows.SetupPlan{}, ui.ErrNoPlan
	}
	plan, err := p.Plan(ctx, spec)
	return safePlan(plan), safeErr(err)
}

func (s safeSetuper) RunReplacing(ctx context.Context, spec flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error) {
	r, ok := s.s.(ui.StatementReplacer)
	if !ok {
		return flows.SetupResult{}, errCannotReplace
	}
	return s.run(ctx, spec, report, r.RunReplacing)
}

func (s safeSetuper) Run(ctx context.Context, spec flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error) {
	return s.run(ctx, spec, report, s.s.Run)
}

func (s safeSetuper) run(ctx context.Context, spec flows.SetupSpec, report func(flows.SetupEvent),
	run func(context.Context, flows.SetupSpec, func(flows.SetupEvent)) (flows.SetupResult, error)) (flows.SetupResult, error) {
	res, err := run(ctx, spec, func(ev flows.SetupEvent) {
		ev.Call, ev.Detail, ev.Err = termtext.Line(ev.Call), termtext.Text(ev.Detail), safeErr(ev.Err)
		report(ev)
	})
	if res.Paste != nil {
		paste := map[flows.Field]string{}
		for f, v := range res.Paste {
			if flows.Spec(f).Kind == flows.SecretField {
				paste[f] = v // never shown, and escaping would change it
			} else {
				paste[f] = termtext.Line(v)
			}
		}
		res.Paste = paste
	}
	return res, safeErr(err)
}

func safeReceipt(r flows.Receipt) flows.Receipt {
	r.RekID, r.Where, r.Test = termtext.Line(r.RekID), termtext.Line(r.Where), termtext.Text(r.Test)
	return r
}

// safeRegistrar keeps what the registry it wraps can do: say which
// registration a new one would replace (one that cannot says none).
type safeRegistrar struct{ r ui.Registrar }

func (s safeRegistrar) Replaces(ctx context.Context, t flows.Target) (ui.Registration, bool, error) {
	rp, ok := s.r.(ui.Replacer)
	if !ok {
		return ui.Registration{}, false, nil
	}
	old, found, err := rp.Replaces(ctx, t)
	old.RekID, old.Provider, old.Key = termtext.Line(old.RekID), termtext.Line(old.Provider), termtext.Line(old.Key)
	return old, found, safeErr(err)
}

func (s safeRegistrar) Register(ctx context.Context, t flows.Target) (flows.Receipt, error) {
	r, err := s.r.Register(ctx, t)
	return safeReceipt(r), safeErr(err)
}

type safeRetester struct {
	safeRegistrar
	rt ui.Retester
}

func (s safeRetester) Retest(ctx context.Context, t flows.Target, rekID string) (flows.Receipt, error) {
	r, err := s.rt.Retest(ctx, t, rekID)
	return safeReceipt(r), safeErr(err)
}

// safePlan escapes what the plan read from the cloud.
func safePlan(p flows.SetupPlan) flows.SetupPlan {
	p.Account, p.Caller, p.Home = termtext.Line(p.Account), termtext.Line(p.Caller), termtext.Line(p.Home)
	p.PolicyDiff, p.UserPolicy = termtext.Text(p.PolicyDiff), termtext.Text(p.UserPolicy)
	lines := func(in []string) []string {
		out := make([]string, len(in))
		for i, l := range in {
			out[i] = termtext.Text(l)
		}
		return out
	}
	p.Changes, p.Kept = lines(p.Changes), lines(p.Kept)
	if c := p.Conflict; c != nil {
		safe := flows.StatementConflict{Sid: termtext.Line(c.Sid), Where: termtext.Line(c.Where), Existing: termtext.Text(c.Existing), Ours: termtext.Text(c.Ours), Losses: lines(c.Losses)}
		p.Conflict = &safe
	}
	return p
}
