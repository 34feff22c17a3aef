package ui

import (
	"testing"

	"github.com/rekwiz/rekwiz/flows"
)

func TestInlineValidation(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	d := newDriver(t, newFlow(t, nil), deps, 80, 24)
	d.typ("dm-LCAJ")
	d.wantScreen("✗ expected dm- followed by 11 letters or digits, e.g. dm-LCAJVnUE94B")
	d.key("enter")
	d.wantStep(flows.StepDomain)
	d.typ("VnUE94B")
	d.wantScreen("✓ ok")
	d.key("enter")
	d.wantStep(flows.StepProvider)
}

func toPaste(t *testing.T, w int) *driver {
	t.Helper()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1"})
	d := newDriver(t, flow, deps, w, 24)
	d.wantStep(flows.StepScript)
	d.key("enter")
	d.wantStep(flows.StepPaste)
	return d
}

func TestPasteIsTrimmedAndNeverCut(t *testing.T) {
	t.Parallel()
	d := toPaste(t, 60)
	d.paste("  \t" + aliasARN + "  \r\n")
	if got := d.m.steps[flows.StepPaste].(*formStep).fields[0].input.Value(); got != aliasARN {
		t.Fatalf("pasted value %q", got)
	}
	// The input is narrower than the ARN: the whole value is shown below it.
	d.wantScreen("✓ ok", "    arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94", "B/acme")
	checkWidth(t, d, 60)
	d.key("enter")
	d.wantStep(flows.StepApply)
	if d.m.Flow().Value(flows.FieldAliasARN) != aliasARN {
		t.Fatal("the flow holds another value")
	}
}

func TestPasteOfAnotherDomainsAlias(t *testing.T) {
	t.Parallel()
	d := toPaste(t, 80)
	d.paste("arn:aws:kms:us-east-1:111122223333:alias/dm-XXXXXXXXXXX/acme")
	d.wantScreen("✗ this alias is for domain dm-XXXXXXXXXXX, not dm-LCAJVnUE94B")
	d.key("enter")
	d.wantStep(flows.StepPaste)
}

func TestPasteOfTheScriptsLastLines(t *testing.T) {
	t.Parallel()
	d := toPaste(t, 80)
	d.paste("Added statement rekwiz-acme to the key policy; other statements kept.\n\n" +
		"Key alias (save this for next step): arn:aws:kms:us-east-1:111122223333:key/alias/dm-LCAJVnUE94B/acme\n")
	d.wantScreen("    "+aliasARN, "✓ ok — rewrote …:key/alias/… to the alias ARN AWS uses")
	d.key("enter")
	d.wantStep(flows.StepApply)
	if d.m.Flow().Value(flows.FieldAliasARN) != aliasARN {
		t.Fatalf("flow has %q", d.m.Flow().Value(flows.FieldAliasARN))
	}
}

// TestTypedLabelledLine: a terminal without bracketed paste types the
// script's line key by key; the label is dropped as it completes.
func TestTypedLabelledLine(t *testing.T) {
	t.Parallel()
	d := toPaste(t, 80)
	d.typ("  Key alias (save this for next step): " + aliasARN)
	if got := d.m.steps[flows.StepPaste].(*formStep).fields[0].input.Value(); got != aliasARN {
		t.Fatalf("typed value %q", got)
	}
	d.key("enter")
	d.wantStep(flows.StepApply)
}

func TestBackKeepsWhatWasTyped(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	d := newDriver(t, newFlow(t, nil), deps, 80, 24)
	d.typ(domain)
	d.key("enter", "enter", "enter") // domain, provider, existing key
	d.wantStep(flows.StepKeyDetails)
	d.typ("eu-west-2")
	d.key("tab")
	d.typ("abcdef01-2345-6789-abcd-ef0123456789")
	d.key("esc") // back to the key choice, with the details kept
	d.wantStep(flows.StepKey)
	d.key("esc", "esc")
	d.wantStep(flows.StepDomain)
	d.wantScreen("› " + domain)
	d.key("enter", "enter", "enter")
	d.wantStep(flows.StepKeyDetails)
	d.wantScreen("› AWS region › eu-west-2", "Key ID or key ARN abcdef01-2345-6789-abcd-ef0123456789")
}
