package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

// panicky panics in a command, as a check or a set-up could.
type panicky struct{}

func (panicky) Init() tea.Cmd {
	return func() tea.Msg { panic("boom: a field was nil") }
}
func (p panicky) Update(tea.Msg) (tea.Model, tea.Cmd) { return p, nil }
func (panicky) View() tea.View                        { return tea.NewView("working") }

// TestPanicInTheWizardExitsOne: bubbletea recovers the panic and
// restores the terminal; rekwiz says so and exits 1 (not 2, not a crash).
func TestPanicInTheWizardExitsOne(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := tea.NewProgram(panicky{}, tea.WithInput(strings.NewReader("")), tea.WithOutput(&out), tea.WithContext(context.Background())).Run()
	if !errors.Is(err, tea.ErrProgramPanic) {
		t.Fatalf("Run: %v", err)
	}
	var errOut bytes.Buffer
	code := func() int {
		var ee *exitError
		if errors.As(programError(err), &ee) {
			errOut.WriteString(ee.msg)
			return ee.code
		}
		return -1
	}()
	if code != exitCheckFailed || !strings.Contains(errOut.String(), "internal error") {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	// A panic in a command's own code, outside bubbletea, is caught by run.
	var e bytes.Buffer
	ios := &IOStreams{Out: &bytes.Buffer{}, Err: &e, Getenv: func(string) string { panic("boom\x1b]0;t\x07") }}
	if code := run(context.Background(), ios, realDeps(), []string{"script", "--provider", "aws-delegated", "--key", "new", "--domain", "dm-LCAJVnUE94B", "--region", "us-east-1"}); code != exitCheckFailed ||
		!strings.Contains(e.String(), "internal error: boom") || strings.Contains(e.String(), "\x1b") {
		t.Fatalf("exit %d: %q", code, e.String())
	}
}
