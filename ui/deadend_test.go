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
