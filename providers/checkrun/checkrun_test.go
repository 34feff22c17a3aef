package checkrun

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rekwiz/rekwiz/flows"
)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }
func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	return ctx.Err()
}

var plan = []flows.Check{{ID: "a", Name: "A"}, {ID: "b", Name: "B"}}

// attempts returns attempts that are denied on "a" the first n times.
func attempts(n int, calls *int, final bool) func() *Attempt {
	return func() *Attempt {
		*calls++
		at := NewAttempt(plan, nil)
		at.Set("b", flows.StatusPass, "fine", "", 0)
		if *calls <= n {
			at.Denied("a")
			if final {
				at.Final()
			}
			at.Set("a", flows.StatusFail, "denied", "grant it", 0)
			return at
		}
		at.Set("a", flows.StatusPass, "allowed", "", 0)
		return at
	}
}

func TestRetryUntilAllowed(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Unix(0, 0)}
	var calls int
	var said []string
	var waits []flows.Wait
	r := Retry{Wait: 90 * time.Second, Now: c.Now, Sleep: c.Sleep, Why: "a grant may be on its way", Until: "for the grant"}
	checks := r.Run(context.Background(), func(ch flows.Check) {
		if strings.Contains(ch.Detail, "retrying") {
			said = append(said, ch.Detail)
		}
		if ch.Wait != nil {
			waits = append(waits, *ch.Wait)
		}
	}, attempts(2, &calls, false))
	if !flows.Passed(checks) || calls != 3 {
		t.Fatalf("after %d attempts: %+v", calls, checks)
	}
	// Pauses of 2 s then 4 s, counted down a second at a time.
	want := []string{
		"access denied; a grant may be on its way: retrying in 2s (90s left)",
		"access denied; a grant may be on its way: retrying in 1s (89s left)",
		"access denied; a grant may be on its way: retrying in 4s (88s left)",
	}
	if len(said) != 6 || said[0] != want[0] || said[1] != want[1] || said[2] != want[2] {
		t.Fatalf("countdown %q", said)
	}
	if len(waits) != 6 || waits[0] != (flows.Wait{Why: "a grant may be on its way", In: 2 * time.Second, Left: 90 * time.Second}) {
		t.Fatalf("waits %+v", waits)
	}
	for _, c := range checks {
		if c.Wait != nil {
			t.Fatalf("a result still waits: %+v", c)
		}
	}
}

func TestRetryGivesUp(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Unix(0, 0)}
	var calls int
	r := Retry{Wait: 10 * time.Second, Now: c.Now, Sleep: c.Sleep, Why: "w", Until: "for the grant"}
	checks := r.Run(context.Background(), nil, attempts(100, &calls, false))
	if flows.Passed(checks) || checks[0].Detail != "denied (still denied after waiting 10s for the grant)" || c.now.Sub(time.Unix(0, 0)) != 10*time.Second {
		t.Fatalf("after %s: %+v", c.now.Sub(time.Unix(0, 0)), checks)
	}
}

func TestNoRetry(t *testing.T) {
	t.Parallel()
	for name, r := range map[string]Retry{
		"no wait": {Wait: 0},
		"final":   {Wait: time.Minute},
	} {
		c := &clock{now: time.Unix(0, 0)}
		r.Now, r.Sleep = c.Now, c.Sleep
		var calls int
		checks := r.Run(context.Background(), nil, attempts(1, &calls, name == "final"))
		if calls != 1 || flows.Passed(checks) || checks[0].Detail != "denied" && name == "no wait" {
			t.Errorf("%s: %d attempts, %+v", name, calls, checks)
		}
	}
}

func TestRetryStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var calls int
	r := Retry{Wait: time.Hour, Now: time.Now, Sleep: func(ctx context.Context, d time.Duration) error { cancel(); return Sleep(ctx, d) }}
	r.Run(ctx, nil, attempts(100, &calls, false))
	if calls != 1 {
		t.Fatalf("%d attempts after cancel", calls)
	}
}

func TestSkipRest(t *testing.T) {
	t.Parallel()
	at := NewAttempt(plan, nil)
	at.Set("a", flows.StatusFail, "no", "", 0)
	at.SkipRest("needs a")
	if got := at.Results(); got[1].Status != flows.StatusSkipped || got[1].Detail != "needs a" || got[0].Status != flows.StatusFail {
		t.Fatalf("%+v", got)
	}
}
