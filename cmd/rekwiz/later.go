package main

import (
	"context"
	"errors"
	"sync"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/ui"
)

// The wizard's first screen needs neither the clouds' kits nor the
// answers they suggest, and building them is most of rekwiz's start-up:
// the demo starts its sandbox, and the AWS configuration parses a whole
// CA bundle when AWS_CA_BUNDLE is set. So the terminal wizard builds
// them after its first frame (ui.Deps.Later); the steps hold stand-ins
// until then, of the same shape (the providers with a set-up and a
// check), which the wizard takes no key past the first screen without.

// buildKits builds the kits, the answers they suggest (the region of
// the AWS configuration; the demo's existing key) and what to close
// when the wizard ends (the demo's sandbox).
type buildKits func(ctx context.Context) (k kits, defaults map[flows.Field]string, closeFn func(), err error)

// errWizardEnded is the stand-ins' answer when the wizard ended before
// the kits were built.
var errWizardEnded = errors.New("the wizard ended before its clouds were reached")

// lateKits are kits built once, later; until then, stand-ins wait for
// them.
type lateKits struct {
	mu      sync.Mutex
	started bool
	closed  bool
	done    chan struct{} // closed once k and err are set
	k       kits
	err     error
	closeFn func()
}

func newLateKits() *lateKits { return &lateKits{done: make(chan struct{})} }

// build runs b, once, unless the wizard has ended.
func (l *lateKits) build(ctx context.Context, b buildKits) (map[flows.Field]string, error) {
	l.mu.Lock()
	if l.started || l.closed {
		l.mu.Unlock()
		return nil, errWizardEnded
	}
	l.started = true
	l.mu.Unlock()
	k, defaults, closeFn, err := b(ctx)
	l.mu.Lock()
	l.k, l.err, l.closeFn = k, err, closeFn
	l.mu.Unlock()
	close(l.done)
	return defaults, err
}

// close ends the kits: it waits for a build under way and closes what
// it started; a build not started yet never will be.
func (l *lateKits) close() {
	l.mu.Lock()
	started, closed := l.started, l.closed
	l.closed = true
	if !started && !closed {
		l.err = errWizardEnded
		close(l.done)
	}
	l.mu.Unlock()
	if closed {
		return
	}
	<-l.done
	l.mu.Lock()
	closeFn := l.closeFn
	l.mu.Unlock()
	if closeFn != nil {
		closeFn()
	}
}

// wait waits for the kits, or for ctx.
func (l *lateKits) wait(ctx context.Context) (kits, error) {
	select {
	case <-l.done:
	case <-ctx.Done():
		return kits{}, ctx.Err()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.k, l.err
}

// standIns are stand-ins for the kits shape says there will be.
func (l *lateKits) standIns(shape kits) (map[flows.Provider]ui.Setuper, map[flows.Provider]ui.Pairer) {
	setup, pairing := map[flows.Provider]ui.Setuper{}, map[flows.Provider]ui.Pairer{}
	for p, s := range shape.setup {
		if s != nil {
			setup[p] = lateSetuper{l, p}
		}
	}
	for p, c := range shape.pairing {
		if c != nil {
			pairing[p] = latePairer{l, p}
		}
	}
	return setup, pairing
}

// lateSetuper is a provider's set-up once built; it keeps what the
// set-up can do (plan first, replace a statement).
type lateSetuper struct {
	l *lateKits
	p flows.Provider
}

func (s lateSetuper) setuper(ctx context.Context) (ui.Setuper, error) {
	k, err := s.l.wait(ctx)
	if err != nil {
		return nil, err
	}
	if su := k.setup[s.p]; su != nil {
		return su, nil
	}
	return nil, errors.New(s.p.Title() + ": no set-up in this version of rekwiz")
}

func (s lateSetuper) Run(ctx context.Context, spec flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error) {
	su, err := s.setuper(ctx)
	if err != nil {
		return flows.SetupResult{}, err
	}
	return su.Run(ctx, spec, report)
}

func (s lateSetuper) Plan(ctx context.Context, spec flows.SetupSpec) (flows.SetupPlan, error) {
	su, err := s.setuper(ctx)
	if err != nil {
		return flows.SetupPlan{}, err
	}
	p, ok := su.(ui.Planner)
	if !ok {
		return flows.SetupPlan{}, ui.ErrNoPlan
	}
	return p.Plan(ctx, spec)
}

func (s lateSetuper) RunReplacing(ctx context.Context, spec flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error) {
	su, err := s.setuper(ctx)
	if err != nil {
		return flows.SetupResult{}, err
	}
	r, ok := su.(ui.StatementReplacer)
	if !ok {
		return flows.SetupResult{}, errCannotReplace
	}
	return r.RunReplacing(ctx, spec, report)
}

// latePairer is a provider's pairing check once built.
type latePairer struct {
	l *lateKits
	p flows.Provider
}

func (c latePairer) pairer(ctx context.Context) ui.Pairer {
	k, err := c.l.wait(ctx)
	if err != nil {
		return nil
	}
	return k.pairing[c.p]
}

// Plan waits for the kits: the wizard reaches no check before they are
// built (ui.Deps.Later), and a wizard that ended has none to plan.
func (c latePairer) Plan(t flows.Target) []flows.Check {
	if p := c.pairer(context.Background()); p != nil {
		return p.Plan(t)
	}
	return nil
}

func (c latePairer) Run(ctx context.Context, t flows.Target, report func(flows.Check)) []flows.Check {
	p := c.pairer(ctx)
	if p == nil {
		return nil
	}
	return p.Run(ctx, t, report)
}
