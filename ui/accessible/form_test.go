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

// TestPastedLineForAnEarlierField: a script line pasted at a later
// question, for a field of the step answered already, replaces that
// answer when it passes the field's checks, and is refused (the earlier
// answer kept) when it does not: it is never said to be taken and then
// dropped.
func TestPastedLineForAnEarlierField(t *testing.T) {
	const (
		first  = "https://contoso-hsm.managedhsm.azure.net/keys/rek/0123456789abcdef0123456789abcdef"
		second = "https://contoso-hsm.managedhsm.azure.net/keys/rek/fedcba9876543210fedcba9876543210"
		other  = "https://evil.managedhsm.azure.net/keys/other/fedcba9876543210fedcba9876543210"
	)
	presets := map[flows.Field]string{flows.FieldDomain: domain, flows.FieldProvider: "azure-delegated", flows.FieldKey: "existing",
		flows.FieldHSMName: "contoso-hsm", flows.FieldKeyName: "rek"}
	for _, tt := range []struct {
		name, pasted, want, said string
	}{
		{"replaced", second, second, "✓ Key URL replaced by the pasted line's value: " + second + "."},
		{"refused", other, first, "✗ Key URL (pasted line): "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			deps := testDeps(&fakeSetup{}, &fakePairer{runs: [][]flows.Check{passed}}, &fakeRegistry{})
			var out bytes.Buffer
			input := "1\n" + first + "\nKey URL (save this for next step): " + tt.pasted + "\n00000000-0000-0000-0000-000000000001\n"
			w := New(newFlow(t, presets), deps, IO{In: strings.NewReader(input), Out: &out})
			_ = w.Run(context.Background()) // ends at the end of input, past the paste step
			if !strings.Contains(out.String(), tt.said) {
				t.Errorf("want %q in:\n%s", tt.said, out.String())
			}
			if got := w.Flow().Value(flows.FieldKeyURL); got != tt.want {
				t.Errorf("key URL = %q, want %q\n%s", got, tt.want, out.String())
			}
		})
	}
}

// TestLineEndings: a line ends at LF, CRLF or a lone CR (a web
// terminal's paste), and what is kept of a very long line is bounded.
func TestLineEndings(t *testing.T) {
	long := strings.Repeat("x", 3*maxLine)
	r := newLineReader(strings.NewReader("a\rb\r\nc\n\rd\r" + long + "\ne"))
	var got []string
	for {
		s, err := r.read(context.Background())
		if errors.Is(err, ErrEndOfInput) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	want := []string{"a", "b", "c", "", "d", long[:maxLine], "e"}
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("line %d: %d bytes %.20q, want %d bytes %.20q", i, len(got[i]), got[i], len(want[i]), want[i])
		}
	}
}
