package accessible

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rekwiz/rekwiz/flows"
)

// TestResumeOffer: saved progress is offered as numbered choices.
func TestResumeOffer(t *testing.T) {
	snap := flows.Snapshot{Domain: domain, Step: flows.StepScript, Saved: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		Values: map[flows.Field]string{flows.FieldDomain: domain, flows.FieldProvider: "aws-delegated", flows.FieldKey: "new", flows.FieldRegion: "us-east-1"}}
	for _, tt := range []struct {
		input string
		step  flows.Step
	}{{"1\n", flows.StepScript}, {"2\n", flows.StepDomain}} {
		deps := testDeps(&fakeSetup{}, &fakePairer{runs: [][]flows.Check{passed}}, &fakeRegistry{})
		deps.Saved = []flows.Snapshot{snap}
		var out bytes.Buffer
		w := New(newFlow(t, nil), deps, IO{In: strings.NewReader(tt.input), Out: &out})
		if err := w.Run(context.Background()); !errors.Is(err, ErrEndOfInput) {
			t.Fatalf("Run: %v", err)
		}
		if !strings.Contains(out.String(), "Pick up where you left off?\nChoose one:\n  1. dm-LCAJVnUE94B: resume at Script: AWS KMS, delegated key, saved ") ||
			!strings.Contains(out.String(), "  2. Start over") {
			t.Errorf("the offer:\n%s", out.String())
		}
		if w.Flow().Step() != tt.step {
			t.Errorf("%q: at %v, want %v", tt.input, w.Flow().Step(), tt.step)
		}
	}
}

// memProgress keeps progress in memory.
type memProgress struct{ deleted []string }

func (m *memProgress) Save(flows.Snapshot) error { return nil }
func (m *memProgress) Delete(d string) error {
	m.deleted = append(m.deleted, d)
	return nil
}

// TestStartOverAsksFirst: starting over on a domain whose progress was
// saved asks first: resume it, or discard it.
func TestStartOverAsksFirst(t *testing.T) {
	snap := flows.Snapshot{Domain: domain, Step: flows.StepScript, Saved: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC),
		Values: map[flows.Field]string{flows.FieldDomain: domain, flows.FieldProvider: "aws-delegated", flows.FieldKey: "new", flows.FieldRegion: "us-east-1"}}
	for _, tt := range []struct {
		input   string
		step    flows.Step
		deleted int
	}{{"2\n" + domain + "\n1\n", flows.StepScript, 0}, {"2\n" + domain + "\n2\n", flows.StepProvider, 1}} {
		deps := testDeps(&fakeSetup{}, &fakePairer{runs: [][]flows.Check{passed}}, &fakeRegistry{})
		p := &memProgress{}
		deps.Saved, deps.Progress = []flows.Snapshot{snap}, p
		var out bytes.Buffer
		w := New(newFlow(t, nil), deps, IO{In: strings.NewReader(tt.input), Out: &out})
		if err := w.Run(context.Background()); !errors.Is(err, ErrEndOfInput) {
			t.Fatalf("Run: %v", err)
		}
		if !strings.Contains(out.String(), "Progress for dm-LCAJVnUE94B was saved ") || !strings.Contains(out.String(), "  2. Discard it and start over") {
			t.Errorf("not asked:\n%s", out.String())
		}
		if w.Flow().Step() != tt.step || len(p.deleted) != tt.deleted {
			t.Errorf("%q: at %v, deleted %v", tt.input, w.Flow().Step(), p.deleted)
		}
	}
}
