package ui

import (
	"strings"
	"testing"

	"github.com/rekwiz/rekwiz/flows"
)

// TestDemoPasteSaysWhereTheValuesComeFrom: in the demo, enter at the
// script step without r reaches a paste step with nothing to paste; it
// says how to get the values, and the way it names works.
func TestDemoPasteSaysWhereTheValuesComeFrom(t *testing.T) {
	deps := walkDeps(t, walks[0])
	d := toScript(t, deps)
	d.key("enter")
	d.wantStep(flows.StepPaste)
	d.wantScreen("Nothing to paste yet: in the demo the values come from the set-up. Press esc to go back to the script step, then r to set it up")
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
