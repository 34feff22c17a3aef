package ui

import (
	"context"
	"testing"
	"time"
)

// TestJobEndsWithTheCommandsContext: a step's background work (set-up,
// apply, the check) is cancelled when the command's context is, as on
// ctrl+c or SIGTERM, not only when the step stops it.
func TestJobEndsWithTheCommandsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	j := newJob[none, none](&Common{Deps: Deps{Context: ctx}})
	ended := make(chan error, 1)
	j.start(func(ctx context.Context, _ func(none)) none {
		<-ctx.Done()
		ended <- ctx.Err()
		return none{}
	})
	cancel()
	select {
	case err := <-ended:
		if err == nil {
			t.Fatal("the work ended without its context being done")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the work ran on after the command's context was cancelled")
	}
	j.stop()
}
