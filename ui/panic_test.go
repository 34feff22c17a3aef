package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// TestPanicInBackgroundWorkReachesBubbletea: work that panics on its own
// goroutine (a check, a set-up, a registration) does not crash the
// process past bubbletea with the terminal raw; the panic comes out of
// the stream's tea.Cmd, where bubbletea recovers it and restores the
// terminal.
func TestPanicInBackgroundWorkReachesBubbletea(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd, _ := stream(ctx, func(func(tea.Msg)) { panic("boom: a field was nil") })
	got := func() (r any) {
		defer func() { r = recover() }()
		cmd()
		return nil
	}()
	if got == nil || !strings.Contains(fmt.Sprint(got), "background work: boom: a field was nil") {
		t.Fatalf("recovered %v", got)
	}
}
