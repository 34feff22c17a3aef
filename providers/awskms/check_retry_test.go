package awskms_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
)

// fakeClock is a clock that moves only when slept on.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	onSleep func(total time.Duration)
	slept   time.Duration
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.slept += d
	total := c.slept
	c.mu.Unlock()
	if c.onSleep != nil {
		c.onSleep(total)
	}
	return ctx.Err()
}

// TestAccessDeniedIsRetriedWhilePoliciesPropagate: the vendor is denied
// until its statement "arrives" 5 s into the wait; the check counts down
// in the denied check's detail, retries, and passes.
func TestAccessDeniedIsRetriedWhilePoliciesPropagate(t *testing.T) {
	t.Parallel()
	p := sandboxPeer(t)
	k, a := p.key(t, types.KeySpecSymmetricDefault)
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	var once sync.Once
	clock.onSleep = func(total time.Duration) {
		if total >= 5*time.Second {
			once.Do(func() {
				p.addStatement(t, k, awspolicy.VendorStatement("rekwiz-acme", "arn:aws:iam::999988887777:root"))
			})
		}
	}
	var mu sync.Mutex
	var countdown []string
	res := awskms.NewPairing(p.vendor, awskms.WithClock(clock.Now, clock.Sleep)).Run(context.Background(), delegated(t, a), func(c flows.Check) {
		if strings.Contains(c.Detail, "retrying in") {
			mu.Lock()
			countdown = append(countdown, c.Detail)
			mu.Unlock()
		}
	})
	if !flows.Passed(res) {
		t.Fatalf("after the policy arrived the check failed: %+v", res)
	}
	if len(countdown) < 3 || countdown[0] != "access denied; AWS may still be applying a policy change: retrying in 2s (90s left)" {
		t.Fatalf("countdown: %q", countdown)
	}
}

// TestAccessDeniedGivesUpAfterTheWait: never granted, the check waits
// exactly --wait, then fails with the advice; with --wait 0 it does not
// wait at all; cancelling stops the wait.
func TestAccessDeniedGivesUpAfterTheWait(t *testing.T) {
	t.Parallel()
	p := sandboxPeer(t)
	_, a := p.key(t, types.KeySpecSymmetricDefault)
	for _, wait := range []time.Duration{0, 20 * time.Second} {
		clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
		res := check(t, p.vendor, delegated(t, a), awskms.WithWait(wait), awskms.WithClock(clock.Now, clock.Sleep))
		c := res[awskms.CheckAlias]
		if c.Status != flows.StatusFail || !strings.Contains(c.Remedy, "statement rekwiz-acme") || clock.slept != wait {
			t.Fatalf("wait %v: slept %v, %+v", wait, clock.slept, c)
		}
		if want := fmt.Sprintf("(still denied after waiting %s", wait); (wait > 0) != strings.Contains(c.Detail, want) {
			t.Fatalf("wait %v: %q", wait, c.Detail)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0), onSleep: func(time.Duration) { cancel() }}
	awskms.NewPairing(p.vendor, awskms.WithClock(clock.Now, clock.Sleep)).Run(ctx, delegated(t, a), nil)
	if clock.slept > time.Second {
		t.Fatalf("kept waiting %v after cancellation", clock.slept)
	}
}
