package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rekwiz/rekwiz/flows"
)

// lineOf is the index of the first screen line holding text, -1 if none.
func lineOf(d *driver, text string) int {
	for i, l := range strings.Split(d.screen(), "\n") {
		if strings.Contains(l, text) {
			return i
		}
	}
	return -1
}

// TestSetupResultScrolls: the service account's set-up result is taller
// than 80x24 and 50x16; "Press enter to continue" is in view at every
// size, and the calls above it can be scrolled back to.
func TestSetupResultScrolls(t *testing.T) {
	t.Parallel()
	w := walks[1]
	for _, size := range sizes {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-service-account", "key": "new", "region": "us-east-1", "company": "Example"})
			d := newDriver(t, flow, walkDeps(t, w), size[0], size[1])
			d.key("r", "y")
			d.wantScreen("Secret access key: "+flows.Secret(secret).Masked(), "Press enter to continue.")
			screenFits(t, d, size[0], size[1])
			if size[1] > 24 {
				d.wantScreen("sts get-caller-identity")
				return
			}
			d.wantScreen("more: lines")
			if lineOf(d, "sts get-caller-identity") >= 0 {
				t.Fatalf("the result fits at %v? it was not meant to:\n%s", size, d.screen())
			}
			for range 40 {
				d.key("up")
			}
			d.wantScreen("✓ sts get-caller-identity")
			d.key("enter")
			d.wantStep(flows.StepPaste)
		})
	}
}

// TestTabNeverLeavesTheScreen: at 50x16 the service account's paste step
// is taller than the screen; each field tab moves to is on it.
func TestTabNeverLeavesTheScreen(t *testing.T) {
	t.Parallel()
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-service-account", "key": "new", "region": "us-east-1", "company": "Example"})
	deps, _ := testDeps(t, &fakePairer{results: passing})
	deps.Pairing[flows.AWSServiceAccount] = deps.Pairing[flows.AWSDelegated]
	d := newDriver(t, flow, deps, 50, 16)
	d.key("enter")
	d.wantStep(flows.StepPaste)
	for _, label := range []string{"Access key ID", "Secret access key"} {
		d.key("tab")
		d.typ("x")
		i := lineOf(d, label)
		lines := strings.Split(d.screen(), "\n")
		if i < 0 || i+2 >= len(lines) || !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "› ") || !strings.Contains(lines[i+2], "✗ expected") {
			t.Fatalf("after tab, %s and its input are not on screen:\n%s", label, d.screen())
		}
		screenFits(t, d, 50, 16)
	}
}

// TestProviderListShowsEveryOption: every provider is on screen, at each
// size the wizard draws in.
func TestProviderListShowsEveryOption(t *testing.T) {
	t.Parallel()
	for _, size := range sizes {
		deps, _ := testDeps(t, &fakePairer{results: passing})
		d := newDriver(t, newFlow(t, map[flows.Field]string{"domain": domain}), deps, size[0], size[1])
		d.wantStep(flows.StepProvider)
		for _, p := range flows.Providers() {
			if lineOf(d, p.Title()) < 0 {
				t.Fatalf("%v: %s is not shown:\n%s", size, p.Title(), d.screen())
			}
		}
	}
}

// manyChecks reports several long checks done and the last one waiting
// for a grant to propagate, then waits.
type manyChecks struct{ blockingPairer }

func (m *manyChecks) plan() []flows.Check {
	var out []flows.Check
	for i := range 6 {
		out = append(out, flows.Check{ID: fmt.Sprint("c", i), Name: fmt.Sprintf("Check number %d of the pairing", i)})
	}
	return out
}

func (m *manyChecks) Plan(flows.Target) []flows.Check { return m.plan() }

func (m *manyChecks) Run(ctx context.Context, t flows.Target, report func(flows.Check)) []flows.Check {
	for i, c := range m.plan() {
		if i < 5 {
			c.Status, c.Detail = flows.StatusPass, "a detail long enough that it takes a line of its own under the check's name, or two"
		} else {
			c.Status, c.Detail = flows.StatusRunning, "access denied; AWS may still be applying a policy change: retrying in 4s (86s left)"
			c.Wait = &flows.Wait{Why: "AWS may still be applying a policy change", In: 4 * time.Second, Left: 86 * time.Second}
		}
		report(c)
	}
	return m.blockingPairer.Run(ctx, t, report)
}

func toCheck(t *testing.T, p Pairer, w, h int) *driver {
	t.Helper()
	deps, _ := testDeps(t, nil)
	deps.Pairing[flows.AWSDelegated] = p
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1", "key-arn": aliasARN})
	d := newDriver(t, flow, deps, w, h)
	d.blocked = 200 * time.Millisecond
	d.key("enter", "enter")
	d.wantStep(flows.StepCheck)
	return d
}

// TestCheckCountdownAndResultStayInView: at 50x16 the waiting check's
// countdown and the line saying what to do are on screen; stopping shows
// the results as they stand and offers to run again, never "paired".
func TestCheckCountdownAndResultStayInView(t *testing.T) {
	t.Parallel()
	p := &manyChecks{blockingPairer{started: make(chan struct{}), stopped: make(chan struct{})}}
	d := toCheck(t, p, 50, 16)
	<-p.started
	d.wantScreen("Check number 5", "(86s left)", "s: stop waiting", "esc: back to Apply")
	screenFits(t, d, 50, 16)
	if !strings.Contains(d.screen(), "s stop") {
		t.Fatalf("the footer lacks the stop key:\n%s", d.screen())
	}
	d.key("s")
	select {
	case <-p.stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("s did not stop the wait")
	}
	d.wantStep(flows.StepCheck)
	d.wantScreen("✗ FAIL", "stopped waiting (AWS may still be applying a policy change)", "✗ Stopped: 1 check failed, 0 not finished.", "r: run again")
	d.key("enter")
	d.wantStep(flows.StepCheck) // not paired: enter does not finish
	if d.m.Flow().Paired() {
		t.Fatal("a stopped check counts as paired")
	}
}

// TestCheckResultFollowsTheChecks: on a tall screen the summary comes
// right after the checks, not at the bottom.
func TestCheckResultFollowsTheChecks(t *testing.T) {
	t.Parallel()
	d := toCheck(t, &fakePairer{results: passing}, 160, 50)
	last, paired := lineOf(d, "Wrap and unwrap a data key"), lineOf(d, "✓ Paired.")
	if last < 0 || paired != last+2 {
		t.Fatalf("the result is on line %d, the last check on %d:\n%s", paired, last, d.screen())
	}
}

// TestEscGoesBackFromTheCheck: esc on a running check goes back to Apply
// and says so in the help.
func TestEscGoesBackFromTheCheck(t *testing.T) {
	t.Parallel()
	p := &blockingPairer{started: make(chan struct{}), stopped: make(chan struct{})}
	d := toCheck(t, p, 80, 24)
	<-p.started
	d.wantScreen("esc back")
	d.key("esc")
	d.wantStep(flows.StepApply)
}

// TestFooterKeepsTheScriptKeys: at 50 columns the script step's footer
// still names enter, c, s and r.
func TestFooterKeepsTheScriptKeys(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	deps.Setup[flows.AWSDelegated] = &fakeSetup{}
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1"})
	d := newDriver(t, flow, deps, 50, 16)
	lines := strings.Split(d.screen(), "\n")
	footer := lines[len(lines)-1]
	for _, k := range []string{"enter ", "c ", "s ", "r "} {
		if !strings.Contains(footer, k) {
			t.Fatalf("footer %q lacks %q", footer, k)
		}
	}
	if strings.Contains(footer, "…") {
		t.Fatalf("footer %q is cut", footer)
	}
}

// TestFinishedCheckShowsTheFailure: at 50x16, a check list taller than
// the screen opens at the first failed check when the check ends.
func TestFinishedCheckShowsTheFailure(t *testing.T) {
	t.Parallel()
	var results []flows.Check
	for i := range 6 {
		c := flows.Check{ID: fmt.Sprint("c", i), Name: fmt.Sprintf("Check number %d", i), Status: flows.StatusPass,
			Detail: "a detail long enough that it takes a line of its own under the check's name"}
		if i == 3 {
			c.Status, c.Detail = flows.StatusFail, "the key is disabled"
		}
		results = append(results, c)
	}
	d := toCheck(t, &fakePairer{results: results}, 50, 16)
	d.wantScreen("✗ FAIL  Check number 3", "the key is disabled", "✗ 1 check failed.")
	screenFits(t, d, 50, 16)
}

// TestSetupPlanOpensAtItsTop: at 50x16 and 80x24 the plan of "set it up
// for me" is taller than the screen. It opens at its top, where it says
// what it does and (at 80x24, in view) who is signed in and what it will
// change, every time it is opened: the first opened at its bottom, where
// a yes could be given with none of that in view. The footer offers y
// and n, and the question is below.
func TestSetupPlanOpensAtItsTop(t *testing.T) {
	t.Parallel()
	for _, size := range [][2]int{{50, 16}, {80, 24}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			deps, _ := testDeps(t, &fakePairer{results: passing})
			var diff strings.Builder
			diff.WriteString("--- key policy now\n+++ key policy after\n@@ -1,20 +1,30 @@\n")
			for i := range 30 {
				fmt.Fprintf(&diff, "+      \"line %d\": true,\n", i)
			}
			deps.Setup[flows.AWSDelegated] = &planSetup{
				fakeSetup: fakeSetup{res: flows.SetupResult{Paste: map[flows.Field]string{flows.FieldAliasARN: aliasARN}}},
				plan: flows.SetupPlan{Account: "111122223333", Caller: "arn:aws:iam::111122223333:user/admin",
					Changes: []string{"create the alias alias/dm-LCAJVnUE94B/acme", "add the vendor's statement to the key policy"}, PolicyDiff: diff.String()},
			}
			flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1"})
			d := newDriver(t, flow, deps, size[0], size[1])
			d.wantStep(flows.StepScript)
			for range 2 {
				d.key("r")
				d.wantScreen("Set it up for me", "Signed in", "↓ more", "y yes", "n/esc no")
				if size[1] >= 24 {
					d.wantScreen("account 111122223333 as", "It will", "• Create the alias")
				}
				if strings.Contains(d.screen(), "Go ahead?") {
					t.Fatalf("the plan fits the screen; the test needs one taller:\n%s", d.screen())
				}
				screenFits(t, d, size[0], size[1])
				for range 60 {
					d.key("down")
				}
				d.wantScreen("Go ahead? y / n")
				d.key("n")
				d.wantScreen("Run this script")
			}
		})
	}
}

// TestSetupResultKeepsItsLastLineWhenLinesWrap: lines the set-up view
// leaves longer than the screen wrap to more rows; "Press enter to
// continue." must still be the row kept in view (it was counted in the
// view's own lines, and so fell below the screen: Azure at 80x24).
func TestSetupResultKeepsItsLastLineWhenLinesWrap(t *testing.T) {
	t.Parallel()
	for _, size := range sizes {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			w := walks[2]
			flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "azure-delegated", "key": "existing", "hsm-name": "sandbox-hsm", "key-name": "customer-rek"})
			d := newDriver(t, flow, walkDeps(t, w), size[0], size[1])
			d.key("r", "y")
			d.wantScreen("Press enter to continue.")
		})
	}
}

func TestShownRow(t *testing.T) {
	t.Parallel()
	view := "a\n" + strings.Repeat("x", 25) + "\nb"
	for n, want := range []int{0, 3, 4} {
		if got := shownRow(view, 10, n); got != want {
			t.Errorf("shownRow(line %d) = %d, want %d", n, got, want)
		}
	}
	if got := shownRow(view, 10, -1); got != -1 {
		t.Errorf("no anchor became %d", got)
	}
}
