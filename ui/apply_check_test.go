package ui

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rekwiz/rekwiz/flows"
)

func TestApplyFailureCanBeRetried(t *testing.T) {
	t.Parallel()
	deps, reg := testDeps(t, &fakePairer{results: passing})
	reg.err = errors.New("registry file is not readable: /x/registry.json")
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1", "key-arn": aliasARN})
	d := newDriver(t, flow, deps, 80, 24)
	d.key("enter") // script
	d.wantStep(flows.StepApply)
	d.wantScreen("✗ registry file is not readable: /x/registry.json", "r: try again")
	d.key("enter")
	d.wantStep(flows.StepApply)
	reg.err = nil
	d.key("r")
	d.wantScreen("✓ Registered")
}

func TestFailedCheckSendsToTheFix(t *testing.T) {
	t.Parallel()
	p := &fakePairer{results: []flows.Check{
		{ID: "aws.alias", Name: "Alias resolves to a key", Status: flows.StatusFail,
			Detail: "the key policy does not let arn:aws:iam::999988887777:root call kms:DescribeKey",
			Remedy: "run the setup script again", Fix: flows.StepScript},
		{ID: "aws.round-trip", Name: "Wrap and unwrap a data key", Status: flows.StatusSkipped, Detail: "needs the alias to resolve"},
	}}
	deps, _ := testDeps(t, p)
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1", "key-arn": aliasARN})
	d := newDriver(t, flow, deps, 80, 24)
	d.key("enter", "enter") // script, apply
	d.wantStep(flows.StepCheck)
	d.wantScreen("✗ FAIL  Alias resolves to a key", "call kms:DescribeKey", "→ run the setup script again",
		"✗ 1 check failed. f: go to Script to fix it")
	d.key("enter")
	d.wantStep(flows.StepCheck)
	d.key("r")
	if p.runs != 2 {
		t.Fatalf("runs = %d after r", p.runs)
	}
	d.key("f")
	d.wantStep(flows.StepScript)
}

// blockingPairer runs until its context is cancelled, as a check waiting
// on a slow network does.
type blockingPairer struct {
	started, stopped chan struct{}
}

func (b *blockingPairer) Plan(flows.Target) []flows.Check {
	return []flows.Check{{ID: "aws.alias", Name: "Alias resolves to a key"}}
}

func (b *blockingPairer) Run(ctx context.Context, _ flows.Target, report func(flows.Check)) []flows.Check {
	close(b.started)
	<-ctx.Done()
	close(b.stopped)
	return nil
}

func TestQuitCancelsRunningWork(t *testing.T) {
	t.Parallel()
	p := &blockingPairer{started: make(chan struct{}), stopped: make(chan struct{})}
	deps, _ := testDeps(t, nil)
	deps.Pairing[flows.AWSDelegated] = p
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1", "key-arn": aliasARN})
	d := newDriver(t, flow, deps, 80, 24)
	d.blocked = 200 * time.Millisecond // the check's listener waits on the blocked check
	d.key("enter", "enter")
	d.wantStep(flows.StepCheck)
	<-p.started
	d.wantScreen("Checking… s: stop waiting and show the results as they stand · esc: back to Apply.")
	d.key("ctrl+c")
	if !d.quit || d.m.Finished() {
		t.Fatal("ctrl+c did not quit, or counted as finishing")
	}
	select {
	case <-p.stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the running check was not cancelled")
	}
}

// countdownPairer reports a check waiting for a policy change to reach
// AWS, as awskms does after an AccessDenied, then waits.
type countdownPairer struct{ blockingPairer }

func (c *countdownPairer) Run(ctx context.Context, t flows.Target, report func(flows.Check)) []flows.Check {
	report(flows.Check{ID: "aws.alias", Name: "Alias resolves to a key", Status: flows.StatusRunning,
		Detail: "access denied; AWS may still be applying a policy change: retrying in 4s (86s left)"})
	return c.blockingPairer.Run(ctx, t, report)
}

func TestCheckShowsThePropagationCountdown(t *testing.T) {
	t.Parallel()
	p := &countdownPairer{blockingPairer{started: make(chan struct{}), stopped: make(chan struct{})}}
	deps, _ := testDeps(t, nil)
	deps.Pairing[flows.AWSDelegated] = p
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1", "key-arn": aliasARN})
	d := newDriver(t, flow, deps, 80, 24)
	d.blocked = 200 * time.Millisecond
	d.key("enter", "enter")
	<-p.started
	d.wantScreen("Alias resolves to a key", "access denied; AWS may still be applying a policy change: retrying in 4s (86s left)", "Checking… s: stop waiting and show the results as they stand · esc: back to Apply.")
	d.key("esc")
	select {
	case <-p.stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("esc did not stop the wait")
	}
}

// dupRegistry answers like a domain API that has the key already.
type dupRegistry struct{ retested []string }

type dupErr struct{}

func (dupErr) Error() string { return "the domain has this key registered already, as rek-42" }

func (dupErr) ExistingRekID() string { return "rek-42" }

func (d *dupRegistry) Register(context.Context, flows.Target) (flows.Receipt, error) {
	return flows.Receipt{}, dupErr{}
}

func (d *dupRegistry) Retest(_ context.Context, _ flows.Target, id string) (flows.Receipt, error) {
	d.retested = append(d.retested, id)
	return flows.Receipt{RekID: id, Where: "domain API https://api.example.com", Test: "ok: wrapped and unwrapped a data key (12 ms)"}, nil
}

func TestAlreadyRegisteredOffersATest(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	reg := &dupRegistry{}
	deps.Registry = reg
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1", "key-arn": aliasARN})
	d := newDriver(t, flow, deps, 80, 24)
	d.key("enter") // script
	d.wantStep(flows.StepApply)
	d.wantScreen("registered already, as rek-42", "t: test rek-42 instead")
	d.key("t")
	if len(reg.retested) != 1 || reg.retested[0] != "rek-42" {
		t.Fatalf("retested %v", reg.retested)
	}
	d.wantScreen("✓ Registered", "Tested", "ok: wrapped and unwrapped a data key (12 ms)")
	d.key("enter")
	d.wantStep(flows.StepCheck)
}
