package ui

import (
	"context"
	"errors"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/rekwiz/rekwiz/flows"
)

// TestLaterHoldsKeysUntilDone: the start-up work the first screen does
// without (Deps.Later) runs after Init; the keys typed meanwhile wait
// for it and are then taken in order, and its defaults fill the answers
// of the steps after the first.
func TestLaterHoldsKeysUntilDone(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	ran := make(chan struct{})
	deps.Later = func(context.Context) (map[flows.Field]string, error) {
		close(ran)
		return map[flows.Field]string{flows.FieldRegion: "eu-west-3", flows.FieldDomain: "dm-BBBBBBBBBBB"}, nil
	}
	m := New(newFlow(t, nil), deps)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if m.Init() == nil {
		t.Fatal("Init starts nothing")
	}
	for _, k := range append(splitKeys(domain), "enter", "enter", "enter") {
		m.Update(keyPress(k))
	}
	if got := m.Flow().Step(); got != flows.StepDomain {
		t.Fatalf("keys taken before the start-up work was done: at %s", got)
	}
	select {
	case <-ran:
		t.Fatal("Later ran before its command did")
	default:
	}
	_, cmd := m.Update(m.later()())
	d := &driver{t: t, m: m}
	d.run(cmd)
	if got := m.Flow().Step(); got != flows.StepKeyDetails {
		t.Fatalf("after the held keys: at %s, want key details", got)
	}
	if got := m.Flow().Value(flows.FieldDomain); got != domain {
		t.Errorf("domain %q: the default replaced what was typed", got)
	}
	if got := m.Flow().Value(flows.FieldRegion); got != "eu-west-3" {
		t.Errorf("region %q, want Later's default", got)
	}
	if m.Err() != nil {
		t.Errorf("Err: %v", m.Err())
	}
}

// TestLaterErrorEndsTheWizard: start-up work that fails ends the wizard
// with its error, and ctrl+c quits while it runs.
func TestLaterErrorEndsTheWizard(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	deps.Later = func(context.Context) (map[flows.Field]string, error) {
		return nil, errors.New("reading your AWS configuration: no such profile")
	}
	d := newDriver(t, newFlow(t, nil), deps, 80, 24)
	if !d.quit || d.m.Err() == nil || d.m.Err().Error() != "reading your AWS configuration: no such profile" {
		t.Fatalf("quit %v, err %v", d.quit, d.m.Err())
	}

	deps.Later = func(ctx context.Context) (map[flows.Field]string, error) { <-ctx.Done(); return nil, ctx.Err() }
	m := New(newFlow(t, nil), deps)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	_, cmd := m.Update(keyPress("ctrl+c"))
	if msg, ok := within(cmd, 5e9); !ok || !isQuit(msg) {
		t.Fatalf("ctrl+c while waiting: %v", msg)
	}
}

func splitKeys(s string) []string {
	var out []string
	for _, r := range s {
		out = append(out, string(r))
	}
	return out
}

// isQuit reports whether msg is, or a sequence ends with, tea.Quit's.
func isQuit(msg tea.Msg) bool {
	switch m := msg.(type) {
	case tea.QuitMsg:
		return true
	case tea.BatchMsg:
		for _, c := range m {
			if c != nil && isQuit(c()) {
				return true
			}
		}
	}
	return false
}
