package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/ui"
)

// planningSetup can plan and replace, as awskms.Setup does.
type planningSetup struct{ replaced bool }

func (p *planningSetup) Run(context.Context, flows.SetupSpec, func(flows.SetupEvent)) (flows.SetupResult, error) {
	return flows.SetupResult{}, nil
}

func (p *planningSetup) Plan(context.Context, flows.SetupSpec) (flows.SetupPlan, error) {
	return flows.SetupPlan{Account: "111122223333", Caller: "arn:aws:iam::111122223333:user/x\x1b]0;title\x07",
		Changes: []string{"add\x1b[2J"}, Conflict: &flows.StatementConflict{Sid: "s", Existing: "{\x9b}", Losses: []string{"the Deny"}}}, nil
}

func (p *planningSetup) RunReplacing(context.Context, flows.SetupSpec, func(flows.SetupEvent)) (flows.SetupResult, error) {
	p.replaced = true
	return flows.SetupResult{}, nil
}

// plainSetup can do neither.
type plainSetup struct{}

func (plainSetup) Run(context.Context, flows.SetupSpec, func(flows.SetupEvent)) (flows.SetupResult, error) {
	return flows.SetupResult{}, nil
}

type replacingRegistry struct{}

func (replacingRegistry) Register(context.Context, flows.Target) (flows.Receipt, error) {
	return flows.Receipt{}, nil
}

func (replacingRegistry) Replaces(context.Context, flows.Target) (ui.Registration, bool, error) {
	return ui.Registration{RekID: "rek-1\x1b[31m", Key: "arn"}, true, nil
}

// TestSafeDepsKeepWhatTheyWrapCanDo: escaping the wizard's dependencies
// must not hide the plan read before set-up, the replacing of a
// statement, or the registry's "this replaces" question (the wizard finds
// them by interface).
func TestSafeDepsKeepWhatTheyWrapCanDo(t *testing.T) {
	t.Parallel()
	setup := &planningSetup{}
	d := safeDeps(ui.Deps{
		Setup:    map[flows.Provider]ui.Setuper{flows.AWSDelegated: setup, flows.AzureDelegated: plainSetup{}},
		Registry: replacingRegistry{},
	})
	ctx := context.Background()

	p, ok := d.Setup[flows.AWSDelegated].(ui.Planner)
	if !ok {
		t.Fatal("the wrapped set-up no longer plans")
	}
	plan, err := p.Plan(ctx, flows.SetupSpec{})
	if err != nil || plan.Conflict == nil || plan.Conflict.Losses[0] != "the Deny" {
		t.Fatalf("plan %+v, %v", plan, err)
	}
	all := plan.Caller + strings.Join(plan.Changes, "") + plan.Conflict.Existing
	if strings.ContainsAny(all, "\x1b\x07\u009b") {
		t.Fatalf("the plan reaches the wizard raw: %q", all)
	}
	r, ok := d.Setup[flows.AWSDelegated].(ui.StatementReplacer)
	if !ok {
		t.Fatal("the wrapped set-up no longer replaces")
	}
	if _, err := r.RunReplacing(ctx, flows.SetupSpec{}, func(flows.SetupEvent) {}); err != nil || !setup.replaced {
		t.Fatalf("RunReplacing did not reach the set-up: %v", err)
	}

	if _, err := d.Setup[flows.AzureDelegated].(ui.Planner).Plan(ctx, flows.SetupSpec{}); !errors.Is(err, ui.ErrNoPlan) {
		t.Fatalf("a set-up that cannot plan answers %v, not ErrNoPlan", err)
	}

	rp, ok := d.Registry.(ui.Replacer)
	if !ok {
		t.Fatal("the wrapped registry no longer says what it replaces")
	}
	old, found, err := rp.Replaces(ctx, flows.Target{})
	if !found || err != nil || strings.Contains(old.RekID, "\x1b") {
		t.Fatalf("replaces %+v %v %v", old, found, err)
	}
}
