package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rekwiz/rekwiz/flows"
)

// TestDemoPasteSaysWhereTheValuesComeFrom: in the demo, enter at the
// script step without r reaches a paste step with nothing to paste; it
// says how to get the values, and the way it names works. A paste by
// hand (the script run elsewhere) takes the hint away at once, and
// clearing the field brings it back.
func TestDemoPasteSaysWhereTheValuesComeFrom(t *testing.T) {
	t.Parallel()
	const hint = "Nothing to paste yet: in the demo the values come from the set-up. Press esc to go back to the script step, then r to set it up"
	deps := walkDeps(t, walks[0])
	d := toScript(t, deps)
	d.key("enter")
	d.wantStep(flows.StepPaste)
	d.wantScreen(hint)
	d.paste("Key alias (save this for next step): arn:aws:kms:us-east-1:111122223333:alias/x\r")
	if strings.Contains(d.screen(), "Nothing to paste yet") {
		t.Fatalf("the hint stays after a paste:\n%s", d.screen())
	}
	d.key("ctrl+u")
	d.wantScreen(hint)
	d.key("esc")
	d.wantStep(flows.StepScript)
	d.key("r", "y", "enter")
	d.wantStep(flows.StepPaste)
	if strings.Contains(d.screen(), "Nothing to paste yet") {
		t.Fatalf("the hint stays once the values are filled in:\n%s", d.screen())
	}
}

// TestQuitSaysWhatIsTrue: ctrl+c at each point says what was done, and
// "stays set up" only where something was set up.
func TestQuitSaysWhatIsTrue(t *testing.T) {
	t.Parallel()
	failing := &fakePairer{results: []flows.Check{{ID: "aws.alias", Name: "Alias resolves to a key", Status: flows.StatusFail, Detail: "no such alias"}}}
	cases := []struct {
		name string
		walk func(d *driver)
		want string
	}{
		{"domain", func(d *driver) {}, "Nothing was set up yet."},
		{"script shown", func(d *driver) { d.typ(domain); d.key("enter", "enter", "down", "enter") }, "The script was shown but rekwiz did not run it, so rekwiz changed nothing in your account"},
		{"set up", func(d *driver) { d.typ(domain); d.key("enter", "enter", "down", "enter", "r", "y") }, "The key is set up but not registered; what is set up stays set up."},
		{"registered", func(d *driver) {
			d.typ(domain)
			d.key("enter", "enter", "down", "enter", "r", "y", "enter", "enter")
		}, "The key is registered with dm-LCAJVnUE94B as rek-0123456789abcdef but not checked yet"},
		{"check failed", func(d *driver) {
			d.typ(domain)
			d.key("enter", "enter", "down", "enter", "r", "y", "enter", "enter", "enter")
		}, "but the pairing check did not pass"},
		{"paired", func(d *driver) {
			d.typ(domain)
			d.key("enter", "enter", "down", "enter", "r", "y", "enter", "enter", "enter", "enter")
		}, "The key is paired: Acme Security can use it."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			deps := walkDeps(t, walks[0])
			deps.Demo = false
			if c.name == "check failed" {
				deps.Pairing[flows.AWSDelegated] = failing
			}
			d := newDriver(t, newFlow(t, map[flows.Field]string{"region": "us-east-1"}), deps, 80, 24)
			c.walk(d)
			d.key("ctrl+c")
			got := d.m.QuitNote()
			if !d.quit || !strings.Contains(got, c.want) {
				t.Fatalf("at %s: quit=%v, note %q; want %q", d.m.Flow().Step(), d.quit, got, c.want)
			}
			if c.name == "domain" && strings.Contains(got, "stays") {
				t.Fatalf("note %q says something stays set up when nothing was", got)
			}
		})
	}
}

// replacingRegistry has another key registered for the domain.
type replacingRegistry struct {
	fakeRegistry
	old Registration
}

func (r *replacingRegistry) Replaces(context.Context, flows.Target) (Registration, bool, error) {
	return r.old, r.old.RekID != "", nil
}

// TestReplacingARegistrationAsksFirst: registering a different key for a
// domain that has one shows the old entry and registers nothing until
// the customer says yes; no goes back.
func TestReplacingARegistrationAsksFirst(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	reg := &replacingRegistry{old: Registration{RekID: "rek-00000000000000aa", Provider: "aws_am",
		Key: "arn:aws:kms:eu-west-1:111122223333:alias/dm-LCAJVnUE94B/acme", At: time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC)}}
	deps.Registry = reg
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1", "key-arn": aliasARN})
	for _, size := range [][2]int{{50, 16}, {80, 24}} {
		d := newDriver(t, flow, deps, size[0], size[1])
		d.key("enter") // script → apply
		d.wantStep(flows.StepApply)
		d.wantScreen("2026-11-30 09:15 UTC", "Replace it with this key?", "y: replace it")
		screenFits(t, d, size[0], size[1])
		d.key("up", "up", "up", "up", "up", "up")
		d.wantScreen("dm-LCAJVnUE94B has another key registered already", "rek-00000000000000aa", "AWS KMS, delegated key")
		if size[0] == 80 {
			d.wantScreen("arn:aws:kms:eu-west-1:111122223333:alias/dm-LCAJVnUE94B/acme")
		}
		if len(reg.targets) != 0 {
			t.Fatal("registered before the customer answered")
		}
		d.key("n")
		d.wantStep(flows.StepScript)
		if len(reg.targets) != 0 {
			t.Fatal("registered after no")
		}
	}
	d := newDriver(t, newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1", "key-arn": aliasARN}), deps, 80, 24)
	d.key("enter", "y")
	d.wantScreen("✓ Registered")
	if len(reg.targets) != 1 {
		t.Fatalf("registered %d times after yes", len(reg.targets))
	}
	// A domain with nothing else registered is registered at once.
	reg.old, reg.targets = Registration{}, nil
	d = newDriver(t, newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1", "key-arn": aliasARN}), deps, 80, 24)
	d.key("enter")
	d.wantScreen("✓ Registered")
}

// TestQuitInTheDemo: the demo never says anything stays set up.
func TestQuitInTheDemo(t *testing.T) {
	t.Parallel()
	deps := walkDeps(t, walks[0])
	d := newDriver(t, newFlow(t, map[flows.Field]string{"region": "us-east-1"}), deps, 80, 24)
	d.typ(domain)
	d.key("enter", "enter", "down", "enter", "r", "y", "ctrl+c")
	if got := d.m.QuitNote(); got != "The key is set up but not registered. It was all in the demo's sandbox, which ends now." {
		t.Fatalf("note %q", got)
	}
}
