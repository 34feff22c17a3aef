package ui

import (
	"context"
	"strings"
	"testing"

	"github.com/rekwiz/rekwiz/flows"
)

// planSetup is a Setuper that plans and can replace: it records which run
// was made.
type planSetup struct {
	fakeSetup
	plan    flows.SetupPlan
	ran     []string
	planned int
}

func (p *planSetup) Plan(context.Context, flows.SetupSpec) (flows.SetupPlan, error) {
	p.planned++
	return p.plan, nil
}

func (p *planSetup) Run(ctx context.Context, sp flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error) {
	p.ran = append(p.ran, "run")
	return p.fakeSetup.Run(ctx, sp, report)
}

func (p *planSetup) RunReplacing(ctx context.Context, sp flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error) {
	p.ran = append(p.ran, "replacing")
	return p.fakeSetup.Run(ctx, sp, report)
}

const planDiff = `--- key policy now
+++ key policy after
@@ -9,6 +9,10 @@
       "Resource": "*"
+    },
+    {
+      "Sid": "rekwiz-acme",
+      "Effect": "Allow",
     }
`

// TestSetItUpForMeShowsThePlan: before asking, the consent screen shows
// who is signed in, what will change and what is kept, and the key
// policy diff, from the plan's read-only calls; a server's control
// characters in it are shown escaped.
func TestSetItUpForMeShowsThePlan(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	ps := &planSetup{
		fakeSetup: fakeSetup{res: flows.SetupResult{Paste: map[flows.Field]string{flows.FieldAliasARN: aliasARN}}},
		plan: flows.SetupPlan{Account: "111122223333", Caller: "arn:aws:iam::111122223333:user/admin\x1b]52;c;aGk=\x07",
			Changes: []string{"Create the alias alias/dm-LCAJVnUE94B/acme for the key."},
			Kept:    []string{"Key 1234 (Enabled) in us-east-1."}, PolicyDiff: planDiff},
	}
	deps.Setup[flows.AWSDelegated] = ps
	// Tall enough to show the whole plan: the root model scrolls it on
	// smaller screens.
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1"})
	d := newDriver(t, flow, deps, 80, 60)
	d.wantStep(flows.StepScript)
	d.key("r")
	d.wantScreen("Signed in", "account 111122223333 as arn:aws:iam::111122223333:user/admin\\x1b]52;c;aGk=\\x07",
		"It will", "• Create the alias alias/dm-LCAJVnUE94B/acme for the key.",
		"Already in place, kept as it is", "• Key 1234 (Enabled) in us-east-1.",
		"The key policy, before (-) and after (+)", `+      "Sid": "rekwiz-acme",`, "Go ahead? y / n")
	if ps.planned != 1 || len(ps.ran) != 0 {
		t.Fatalf("planned %d times, ran %v before the yes", ps.planned, ps.ran)
	}
	if strings.Contains(d.screen(), "\x1b]52") {
		t.Fatal("a server's escape sequence reached the screen")
	}
	d.key("n")
	d.wantScreen("Run this script")
	if len(ps.ran) != 0 {
		t.Fatal("no ran the setup")
	}
	d.key("r", "y")
	d.wantScreen("✓ Done.")
	if strings.Join(ps.ran, ",") != "run" {
		t.Fatalf("ran %v", ps.ran)
	}
}

// TestSetItUpForMeAsksTwiceToReplace: a different statement under the
// vendor's Sid is shown beside rekwiz's; the first yes asks again, naming
// what is lost, and only the second replaces; n at either keeps it.
func TestSetItUpForMeAsksTwiceToReplace(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	ps := &planSetup{
		fakeSetup: fakeSetup{res: flows.SetupResult{Paste: map[flows.Field]string{flows.FieldAliasARN: aliasARN}}},
		plan: flows.SetupPlan{Account: "111122223333", Caller: "arn:aws:iam::111122223333:user/admin",
			Changes:    []string{"Replace statement rekwiz-acme in the key policy (only if you confirm), keeping every other statement."},
			PolicyDiff: planDiff,
			Conflict: &flows.StatementConflict{Sid: "rekwiz-acme",
				Existing: "{\n  \"Sid\": \"rekwiz-acme\",\n  \"Effect\": \"Deny\"\n}\n",
				Ours:     "{\n  \"Sid\": \"rekwiz-acme\",\n  \"Effect\": \"Allow\"\n}\n",
				Losses:   []string{"its Effect Deny becomes Allow"}},
		},
	}
	deps.Setup[flows.AWSDelegated] = ps
	// Tall enough to show the whole plan: the root model scrolls it on
	// smaller screens.
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1"})
	d := newDriver(t, flow, deps, 80, 60)
	d.wantStep(flows.StepScript)
	d.key("r")
	d.wantScreen("✗ The key policy already has a statement rekwiz-acme, and it is not the one rekwiz writes",
		"The statement in the key policy", `"Effect": "Deny"`, "The statement rekwiz writes", `"Effect": "Allow"`,
		"Go ahead, replacing it? y / n")
	d.key("y")
	d.wantScreen("Replacing it loses", "• Its Effect Deny becomes Allow", "Replace statement rekwiz-acme and go ahead? y / n")
	if len(ps.ran) != 0 {
		t.Fatal("the first yes ran the setup")
	}
	d.key("n")
	d.wantScreen("Run this script")
	d.key("r", "y", "y")
	d.wantScreen("✓ Done.")
	if strings.Join(ps.ran, ",") != "replacing" {
		t.Fatalf("ran %v", ps.ran)
	}
}
