package ui

import (
	"context"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// TestJobEndsWithTheCommandsContext: a step's background work (set-up,
// apply, the check) is cancelled when the command's context is, as on
// ctrl+c or SIGTERM, not only when the step stops it.
func TestJobEndsWithTheCommandsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	j := newJob(&Common{Deps: Deps{Context: ctx}})
	ended := make(chan error, 1)
	j.start(func(ctx context.Context, _ func(tea.Msg)) {
		<-ctx.Done()
		ended <- ctx.Err()
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
