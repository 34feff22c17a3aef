// Package checkrun is what the providers' pairing checks share: the
// results of one attempt, which concurrent calls set as they finish, and
// the retries while a grant that was just made is still on its way; and
// Sleep, which the domain API's retries use too.
package checkrun

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rekwiz/rekwiz/flows"
)

// Attempt holds the checks of one run through them. Its methods may be
// called from several goroutines at once.
type Attempt struct {
	mu     sync.Mutex
	checks []flows.Check
	report func(flows.Check)
	denial []string // checks that failed because access was denied
	final  bool     // a denial that waiting cannot cure
}

// NewAttempt starts an attempt at the checks of plan; report hears of
// every change (nil: nobody does).
func NewAttempt(plan []flows.Check, report func(flows.Check)) *Attempt {
	if report == nil {
		report = func(flows.Check) {}
	}
	return &Attempt{checks: slices.Clone(plan), report: report}
}

// Set records a check's state and reports it.
func (a *Attempt) Set(id string, st flows.Status, detail, remedy string, fix flows.Step) {
	a.mu.Lock()
	var c flows.Check
	for i := range a.checks {
		if a.checks[i].ID == id {
			a.checks[i].Status, a.checks[i].Detail, a.checks[i].Remedy, a.checks[i].Fix = st, detail, remedy, fix
			c = a.checks[i]
		}
	}
	a.mu.Unlock()
	a.report(c)
}

// Denied marks a check as failed because access was denied: a grant
// may still be on its way, so the attempt is worth another.
func (a *Attempt) Denied(id string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.denial = append(a.denial, id)
}

// Final says the denials have a cause waiting cannot cure (the policy
// read lacks the grant): the attempt is not tried again.
func (a *Attempt) Final() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.final = true
}

// DeniedChecks lists the checks worth another attempt.
func (a *Attempt) DeniedChecks() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.final {
		return nil
	}
	return slices.Clone(a.denial)
}

// SkipRest marks every check without a result as skipped, for why.
func (a *Attempt) SkipRest(why string) {
	for _, c := range a.Results() {
		if !c.Status.Done() {
			a.Set(c.ID, flows.StatusSkipped, why, "", 0)
		}
	}
}

// Results are the checks as they stand.
func (a *Attempt) Results() []flows.Check {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.checks)
}

// DefaultWait is how long a pairing check keeps retrying after an
// access denial by default, AWS and Azure alike: a key policy, IAM
// policy or role assignment change takes time to reach the service
// (Azure says a role assignment can take minutes).
const DefaultWait = 90 * time.Second

// Retry makes attempts until none is denied or the wait is over, with
// pauses that grow from 2 s to 15 s, reporting the countdown in the
// denied checks' detail.
type Retry struct {
	Wait  time.Duration
	Now   func() time.Time
	Sleep func(context.Context, time.Duration) error
	// Why is said while waiting: "access denied; WHY: retrying in 2s
	// (88s left)". Until finishes the detail of a check still denied at
	// the end: "(still denied after waiting 90s UNTIL)".
	Why, Until string
}

// Run makes the attempts and returns the last one's results. Cancelling
// ctx ends the wait at once.
func (r Retry) Run(ctx context.Context, report func(flows.Check), attempt func() *Attempt) []flows.Check {
	if report == nil {
		report = func(flows.Check) {}
	}
	deadline := r.Now().Add(r.Wait)
	for n := 0; ; n++ {
		a := attempt()
		checks := a.Results()
		denied := a.DeniedChecks()
		left := deadline.Sub(r.Now())
		if len(denied) == 0 || r.Wait <= 0 || left <= 0 || ctx.Err() != nil {
			if len(denied) > 0 && r.Wait > 0 && ctx.Err() == nil {
				for i := range checks {
					if slices.Contains(denied, checks[i].ID) {
						checks[i].Detail += fmt.Sprintf(" (still denied after waiting %s %s)", r.Wait.Round(time.Second), r.Until)
						report(checks[i])
					}
				}
			}
			return checks
		}
		pause := min(time.Duration(2<<n)*time.Second, 15*time.Second, left)
		for wait := pause; wait > 0; wait -= time.Second {
			for _, c := range checks {
				if slices.Contains(denied, c.ID) {
					w := &flows.Wait{Why: r.Why, In: wait.Round(time.Second), Left: deadline.Sub(r.Now()).Round(time.Second)}
					c.Status, c.Wait = flows.StatusRunning, w
					c.Detail = fmt.Sprintf("access denied; %s: retrying in %ds (%ds left)", w.Why, int(w.In/time.Second), int(w.Left/time.Second))
					report(c)
				}
			}
			if err := r.Sleep(ctx, min(wait, time.Second)); err != nil {
				return checks
			}
		}
	}
}

// Sleep waits for d or until ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
