package accessible

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/rekwiz/rekwiz/flows"
)

// TestConsent: no runs nothing; a statement under the vendor's Sid that
// differs is replaced only after two yeses, the second naming what is
// lost.
func TestConsent(t *testing.T) {
	presets := map[flows.Field]string{flows.FieldDomain: domain, flows.FieldProvider: "aws-delegated", flows.FieldKey: "new", flows.FieldRegion: "us-east-1"}
	conflict := flows.SetupPlan{Changes: []string{"replace the statement"}, Conflict: &flows.StatementConflict{Sid: "rekwiz-sandbox", Existing: "{\"Effect\":\"Deny\"}", Ours: "{\"Effect\":\"Allow\"}", Losses: []string{"a Deny"}}}
	tests := []struct {
		name          string
		plan          flows.SetupPlan
		input         string
		ran, replaced int
		want          string
	}{
		{"no", flows.SetupPlan{}, "3\nn\n", 0, 0, "Go ahead? [y/n]: \nNothing was changed.\n"},
		{"conflict: no at the first question", conflict, "3\nn\n", 0, 0, "Go ahead, replacing it? [y/n]: \nNothing was changed.\n"},
		{"conflict: no at the second", conflict, "3\ny\nn\n", 0, 0, "Replacing it loses what the statement in the key policy says and rekwiz's does not:\n  - A Deny\nReplace statement rekwiz-sandbox and go ahead? [y/n]: \nNothing was changed.\n"},
		{"conflict: yes twice", conflict, "3\ny\ny\n", 1, 1, "✓ Done."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup := &fakeSetup{plan: tt.plan}
			out, err := walk(t, newFlow(t, presets), testDeps(setup, &fakePairer{runs: [][]flows.Check{passed}}, &fakeRegistry{}), tt.input)
			if !errors.Is(err, ErrEndOfInput) {
				t.Fatalf("Run: %v", err)
			}
			if !strings.Contains(out, tt.want) || setup.ran != tt.ran || setup.replace != tt.replaced {
				t.Errorf("ran %d, replaced %d; the output should hold %q:\n%s", setup.ran, setup.replace, tt.want, out)
			}
		})
	}
}

// TestCheckFailsAndWaits: a check waiting for access says so now and
// then, not every second; a failed check is reported as verify reports
// it, with the remedy, and offers the step that fixes it.
func TestCheckFailsAndWaits(t *testing.T) {
	waiting := func(in, left int) flows.Check {
		return flows.Check{ID: "aws.grant", Name: "Key policy grants the vendor", Status: flows.StatusRunning,
			Wait: &flows.Wait{Why: "AWS may still be applying a policy change", In: time.Duration(in) * time.Second, Left: time.Duration(left) * time.Second}}
	}
	failed := []flows.Check{passed[0], {ID: "aws.grant", Name: "Key policy grants the vendor", Status: flows.StatusFail, Detail: "access denied \x1b]52;c;aGk=\x07", Remedy: "run the script again", Fix: flows.StepScript}}
	p := &fakePairer{
		runs:    [][]flows.Check{failed, passed},
		reports: [][]flows.Check{{passed[0], waiting(2, 90), waiting(1, 89), waiting(4, 88), waiting(3, 87), waiting(2, 86), waiting(1, 85)}},
	}
	presets := map[flows.Field]string{flows.FieldDomain: domain, flows.FieldProvider: "aws-delegated", flows.FieldKey: "new", flows.FieldRegion: "us-east-1", flows.FieldAliasARN: aliasARN}
	out, err := walk(t, newFlow(t, presets), testDeps(&fakeSetup{}, p, &fakeRegistry{}), "1\n2\n")
	if !errors.Is(err, ErrEndOfInput) {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	for _, w := range []string{
		"… Key policy grants the vendor: access denied; AWS may still be applying a policy change. Waiting 90s more at most, trying again in 2s…\n",
		"… Key policy grants the vendor: access denied; AWS may still be applying a policy change. Waiting 88s more at most, trying again in 4s…\n",
		"✗ FAIL    Key policy grants the vendor: access denied \\x1b]52;c;aGk=\\x07\n",
		"What to do:\n  aws.grant: run the script again\nResult: 1 check failed.\n",
		"  2. Go to Script: the step that fixes it\n",
		"Step 4 of 8: Script",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("the output lacks %q:\n%s", w, out)
		}
	}
	if n := strings.Count(out, "… Key policy grants the vendor"); n != 2 {
		t.Errorf("%d waiting lines, want one per pause (2):\n%s", n, out)
	}
	if n := strings.Count(out, "✓ PASS    Alias names this domain"); n != 1 {
		t.Errorf("the passing check was said %d times, want once", n)
	}
}

// TestBackFromTheCheck: back from a failed check is the registered key,
// with the choice of the check again or the step before; nothing is
// registered twice.
func TestBackFromTheCheck(t *testing.T) {
	failed := []flows.Check{{ID: "aws.grant", Name: "Key policy grants the vendor", Status: flows.StatusFail, Detail: "denied"}}
	reg := &fakeRegistry{}
	p := &fakePairer{runs: [][]flows.Check{failed}}
	presets := map[flows.Field]string{flows.FieldDomain: domain, flows.FieldProvider: "aws-delegated", flows.FieldKey: "new", flows.FieldRegion: "us-east-1"}
	flow := newFlow(t, presets)
	if err := flow.Set(flows.FieldAliasARN, aliasARN); err != nil {
		t.Fatal(err)
	}
	// script: I ran it; paste: enter; check fails: go back; apply: go
	// on (the check fails again), go back, then back to the paste step.
	out, err := walk(t, flow, testDeps(&fakeSetup{}, p, reg), "1\n\n2\n1\n2\n2\n")
	if !errors.Is(err, ErrEndOfInput) {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	if want := "✓ Registered with dm-LCAJVnUE94B as rek-0123456789abcdef.\nWhat now?\n  1. Go on to the pairing check\n  2. Go back: to Paste\n"; strings.Count(out, want) != 2 {
		t.Errorf("the output should hold %q twice:\n%s", want, out)
	}
	if reg.registered != 1 || p.n != 2 || flow.Step() != flows.StepPaste {
		t.Errorf("registered %d times, checked %d times, at %v", reg.registered, p.n, flow.Step())
	}
}

// TestSecret: at a terminal, every answer of a step that asks for a
// secret is read through ReadSecret (no echo), not from the line input,
// and only the secret's masked form is ever printed; a labelled line
// pasted at an earlier question fills it.
func TestSecret(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	presets := map[flows.Field]string{flows.FieldDomain: domain, flows.FieldProvider: "aws-service-account", flows.FieldKey: "new", flows.FieldRegion: "us-east-1", flows.FieldCompany: "Example"}
	deps := testDeps(&fakeSetup{}, &fakePairer{runs: [][]flows.Check{passed}}, &fakeRegistry{})
	deps.Pairing[flows.AWSServiceAccount] = deps.Pairing[flows.AWSDelegated]
	var out bytes.Buffer
	// The line input answers the script step; the hidden reads, the
	// paste step: the alias's line, then the secret's line (taken for
	// later), the access key ID, and enter to keep the pasted secret.
	hidden := []string{
		"Key alias (save this for next step): arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/sandbox/Example",
		"Secret access key (save this for next step): " + secret,
		"AKIAIOSFODNN7EXAMPLE",
		"",
	}
	asked := 0
	w := New(newFlow(t, presets), deps, IO{In: strings.NewReader("1\n"), Out: &out, Terminal: true,
		ReadSecret: func(context.Context) ([]byte, error) {
			if asked >= len(hidden) {
				return nil, io.EOF
			}
			asked++
			return []byte(hidden[asked-1]), nil
		}})
	if err := w.Run(context.Background()); err != nil || !w.Finished() {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if got := w.Flow().Secret(flows.FieldSecretAccessKey); got != secret {
		t.Errorf("the secret is %q", got)
	}
	if strings.Contains(out.String(), secret) || !strings.Contains(out.String(), "Secret access key [****EKEY]: ") || asked != len(hidden) {
		t.Errorf("asked %d times:\n%s", asked, out.String())
	}
	if !strings.Contains(out.String(), "✓ Access key ID: AKIAIOSFODNN7EXAMPLE\n") {
		t.Errorf("a value read without echo is not said after:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "✓ Secret access key taken from the pasted line; it is offered when asked for.") {
		t.Errorf("the pasted line was not taken:\n%s", out.String())
	}
}
