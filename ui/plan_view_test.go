package ui

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/rekwiz/rekwiz/flows"
)

// failPlanSetup is a planner whose read-only calls fail.
type failPlanSetup struct{ planSetup }

func (p *failPlanSetup) Plan(context.Context, flows.SetupSpec) (flows.SetupPlan, error) {
	return flows.SetupPlan{}, errors.New("operation error KMS: DescribeKey, NotFoundException: Key does not exist")
}

// TestFailedPlanOffersNoYes: when the plan could not be read, the footer
// offers only the way back, and y runs nothing.
func TestFailedPlanOffersNoYes(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	ps := &failPlanSetup{}
	deps.Setup[flows.AWSDelegated] = ps
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1"})
	d := newDriver(t, flow, deps, 80, 40)
	d.wantStep(flows.StepScript)
	d.key("r")
	d.wantScreen("Could not read what is there", "n/esc back")
	if strings.Contains(d.screen(), "y yes") {
		t.Fatalf("the footer offers yes after a failed plan:\n%s", d.screen())
	}
	d.key("y")
	if len(ps.ran) != 0 {
		t.Fatal("y ran the set-up")
	}
	d.key("n")
	d.wantScreen("Run this script")
}

// TestPlanWrapsMarked: a diff line too long for the screen keeps its
// marker on every continuation, and plan bullets are capitalised and
// wrap under their text.
func TestPlanWrapsMarked(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	long := `+      "Condition": {"StringEquals": {"kms:EncryptionContext:domain": "dm-LCAJVnUE94B", "aws:PrincipalArn": "arn:aws:iam::111122223333:role/vendor"}}`
	ps := &planSetup{
		fakeSetup: fakeSetup{res: flows.SetupResult{Paste: map[flows.Field]string{flows.FieldAliasARN: aliasARN}}},
		plan: flows.SetupPlan{Account: "111122223333", Caller: "arn:aws:iam::111122223333:user/admin",
			Changes:    []string{"create the alias alias/dm-LCAJVnUE94B/acme for the key, and add the vendor's statement to the key policy keeping every other statement"},
			PolicyDiff: "--- key policy now\n+++ key policy after\n@@ -1,1 +1,2 @@\n" + long + "\n"},
	}
	deps.Setup[flows.AWSDelegated] = ps
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1"})
	d := newDriver(t, flow, deps, 60, 60)
	d.wantStep(flows.StepScript)
	d.key("r")
	d.wantScreen("Go ahead? y / n", "• Create the alias")
	lines := strings.Split(d.screen(), "\n")
	for i, l := range lines {
		if strings.Contains(l, "• Create the alias") {
			if next := lines[i+1]; !strings.HasPrefix(next, "    ") || strings.TrimSpace(next) == "" {
				t.Errorf("the bullet's second line %q does not hang under its text", next)
			}
		}
		if strings.Contains(l, `"Condition"`) {
			rest := lines[i+1]
			if !strings.HasPrefix(strings.TrimSpace(rest), "+↪") {
				t.Errorf("the diff line's continuation %q lost its +", rest)
			}
		}
	}
	checkWidth(t, d, 60)
}

// TestConflictOutsideTheKeyPolicyIsNamed: a conflict in the service
// account's inline policy is named as such on both questions, not as a
// statement of the key policy.
func TestConflictOutsideTheKeyPolicyIsNamed(t *testing.T) {
	t.Parallel()
	s := newScriptStep(&Common{Width: 80, Height: 40, Styles: newStyles(true), Keys: newKeyMap()})
	cf := &flows.StatementConflict{Where: "the inline policy of IAM user acme-rek-dm-LCAJVnUE94B", Existing: `{"a":1}`, Ours: `{"b":2}`, Losses: []string{"its Condition"}}
	got := ansi.Strip(s.conflictView(cf))
	for _, want := range []string{"The inline policy of IAM user acme-rek-dm-LCAJVnUE94B is already there", "The policy rekwiz writes"} {
		if !strings.Contains(got, want) {
			t.Fatalf("missing %q in\n%s", want, got)
		}
	}
	if strings.Contains(got, "key policy") {
		t.Fatalf("a user-policy conflict is called a key-policy one:\n%s", got)
	}
}
