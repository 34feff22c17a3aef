package accessible

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/vendorprofile"
	"github.com/rekwiz/rekwiz/ui"
)

const (
	domain   = "dm-LCAJVnUE94B"
	aliasARN = "arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/sandbox"
)

// fakeSetup is "set it up for me" that plans and runs without a cloud.
type fakeSetup struct {
	plan    flows.SetupPlan
	planErr error
	ran     int
	replace int
	detail  string // said by its one call
}

func (f *fakeSetup) Plan(context.Context, flows.SetupSpec) (flows.SetupPlan, error) {
	return f.plan, f.planErr
}

func (f *fakeSetup) Run(_ context.Context, _ flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error) {
	f.ran++
	report(flows.SetupEvent{Call: "kms create-alias", Detail: f.detail})
	return flows.SetupResult{Paste: map[flows.Field]string{flows.FieldAliasARN: aliasARN}}, nil
}

func (f *fakeSetup) RunReplacing(ctx context.Context, sp flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error) {
	f.replace++
	return f.Run(ctx, sp, report)
}

// fakePairer reports what it is given, in turn, one run after another.
type fakePairer struct {
	runs    [][]flows.Check
	reports [][]flows.Check // what each run reports as it goes
	n       int
}

func (f *fakePairer) Plan(flows.Target) []flows.Check { return f.runs[min(f.n, len(f.runs)-1)] }

func (f *fakePairer) Run(_ context.Context, _ flows.Target, report func(flows.Check)) []flows.Check {
	i := min(f.n, len(f.runs)-1)
	f.n++
	if i < len(f.reports) {
		for _, c := range f.reports[i] {
			report(c)
		}
	}
	return f.runs[i]
}

type fakeRegistry struct{ registered int }

func (f *fakeRegistry) Register(context.Context, flows.Target) (flows.Receipt, error) {
	f.registered++
	return flows.Receipt{RekID: "rek-0123456789abcdef", Where: "local registry test"}, nil
}

var passed = []flows.Check{{ID: "aws.alias", Name: "Alias names this domain and vendor", Status: flows.StatusPass, Detail: "alias/dm-LCAJVnUE94B/sandbox"}}

func testDeps(setup ui.Setuper, pairer ui.Pairer, reg ui.Registrar) ui.Deps {
	return ui.Deps{
		Setup:    map[flows.Provider]ui.Setuper{flows.AWSDelegated: setup},
		Pairing:  map[flows.Provider]ui.Pairer{flows.AWSDelegated: pairer},
		Registry: reg,
		RenderScript: func(flows.SetupSpec) (string, error) {
			return "#!/usr/bin/env bash\necho 'Key alias (save this for next step): ARN'\n", nil
		},
		SaveDir: "/nonexistent",
		Demo:    true,
	}
}

func newFlow(t *testing.T, presets map[flows.Field]string) *flows.State {
	t.Helper()
	s, err := flows.New(vendorprofile.Default(), presets)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// walk runs the wizard on input and returns what it wrote and how it
// ended.
func walk(t *testing.T, flow *flows.State, deps ui.Deps, input string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	w := New(flow, deps, IO{In: strings.NewReader(input), Out: &out})
	err := w.Run(context.Background())
	if strings.ContainsRune(out.String(), '\x1b') {
		t.Errorf("an escape sequence reached the output:\n%q", out.String())
	}
	return out.String(), err
}

// TestAccessibleFields: the questions of each kind, answered right and
// wrong, as huh's own accessible tests do: from the input typed to what
// is said.
func TestAccessibleFields(t *testing.T) {
	tests := []struct {
		name    string
		presets map[flows.Field]string
		set     map[flows.Field]string // answers offered, as the demo offers its domain
		input   string
		want    []string
		wantErr error
	}{
		{"text: enter keeps the offered value", nil, map[flows.Field]string{flows.FieldDomain: domain}, "\n", []string{"Domain ID [" + domain + "]: \n\nStep 2 of 8: Provider"}, ErrEndOfInput},
		{"text: wrong, said on its own line, asked again", nil, nil, "dm-x\n\n" + domain + "\n",
			[]string{"Domain ID: \n✗ Domain ID: expected dm- followed by 11 letters or digits, e.g. dm-LCAJVnUE94B\nDomain ID: \n✗ Domain ID: required\nDomain ID: \n\nStep 2"}, ErrEndOfInput},
		{"choice: numbered, enter takes the one in brackets", map[flows.Field]string{flows.FieldDomain: domain}, nil, "\n",
			[]string{"  1. AWS KMS, delegated key: your key; its key policy lets the vendor use it\n", "Enter a number from 1 to 4 [1]: \n\nStep 3 of 8: Key"}, ErrEndOfInput},
		{"choice: not a number, out of range, unavailable", map[flows.Field]string{flows.FieldDomain: domain}, nil, "x\n0\n3\n1\n",
			[]string{
				"Enter a number from 1 to 4 [1]: \n✗ that is not one of the choices: enter a number from 1 to 4.\n",
				"✗ that is not one of the choices",
				"  3. Azure Managed HSM, delegated key: an oct-HSM key the vendor's app may wrap with (not available yet)\n",
				"✗ Not in this version of rekwiz yet; choose another provider.\n",
				"Step 3 of 8: Key",
			}, ErrEndOfInput},
		{"back: < goes to the step before", map[flows.Field]string{flows.FieldDomain: domain}, nil, "1\n<\n<\n",
			[]string{"Step 3 of 8: Key\n", "Which key?", "Step 2 of 8: Provider\nWhere will the key live?\n  1.", "This is the first step; there is nothing to go back to."}, ErrEndOfInput},
		{"cross-field: a key ARN in another region than the region", map[flows.Field]string{flows.FieldDomain: domain, flows.FieldProvider: "aws-delegated", flows.FieldKey: "existing"}, nil,
			"eu-west-1\narn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\n",
			[]string{"✗ Key ID or key ARN: "}, ErrEndOfInput},
		{"a secret typed where it would be shown is refused and not echoed", map[flows.Field]string{flows.FieldDomain: domain, flows.FieldProvider: "aws-delegated", flows.FieldKey: "new"}, nil,
			"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
			[]string{"✗ AWS region: "}, ErrEndOfInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deps := testDeps(&fakeSetup{}, &fakePairer{runs: [][]flows.Check{passed}}, &fakeRegistry{})
			flow := newFlow(t, tt.presets)
			for f, v := range tt.set {
				if err := flow.Set(f, v); err != nil {
					t.Fatal(err)
				}
			}
			out, err := walk(t, flow, deps, tt.input)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Run: %v, want %v", err, tt.wantErr)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("the output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out, "wJalrXUtnFEMI") {
				t.Errorf("a secret was printed:\n%s", out)
			}
		})
	}
}

// TestToPaired walks the whole flow on fakes: the script between its
// markers, the plan and the consent, the set-up's calls, the paste step
// filled in, registered, checked line by line, Done.
func TestToPaired(t *testing.T) {
	setup := &fakeSetup{plan: flows.SetupPlan{Account: "111122223333", Caller: "arn:aws:iam::111122223333:user/admin", Changes: []string{"create the alias"}}, detail: "created it"}
	reg := &fakeRegistry{}
	deps := testDeps(setup, &fakePairer{runs: [][]flows.Check{passed}}, reg)
	out, err := walk(t, newFlow(t, map[flows.Field]string{flows.FieldDomain: domain, flows.FieldProvider: "aws-delegated", flows.FieldKey: "new", flows.FieldRegion: "us-east-1"}), deps,
		"3\nmaybe\ny\n1\n\n")
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	for _, w := range []string{
		"----- BEGIN SCRIPT rekwiz-dm-LCAJVnUE94B-aws-delegated-new.sh (2 lines) -----\n#!/usr/bin/env bash\necho 'Key alias (save this for next step): ARN'\n----- END SCRIPT rekwiz-dm-LCAJVnUE94B-aws-delegated-new.sh -----\n",
		"Signed in: account 111122223333 as arn:aws:iam::111122223333:user/admin\nIt will:\n  - Create the alias\n",
		"Go ahead? [y/n]: \n✗ answer y or n.\nGo ahead? [y/n]: \n",
		"✓ kms create-alias: created it\n✓ Done. The paste step is filled in with:\n  Key alias ARN: " + aliasARN + "\n",
		"Key alias ARN [" + aliasARN + "]: \n",
		"✓ Registered\n  Key ID     rek-0123456789abcdef\n",
		"✓ PASS    Alias names this domain and vendor: alias/dm-LCAJVnUE94B/sandbox\nResult: paired.\n",
		"✓ Paired. Sandbox Vendor can use your key",
		"\nDone.\n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("the output lacks %q:\n%s", w, out)
		}
	}
	if setup.ran != 1 || reg.registered != 1 {
		t.Errorf("set up %d times, registered %d times", setup.ran, reg.registered)
	}
}

// TestInterrupted: a cancelled context ends a question at once.
func TestInterrupted(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	w := New(newFlow(t, nil), testDeps(&fakeSetup{}, &fakePairer{runs: [][]flows.Check{passed}}, &fakeRegistry{}), IO{In: pr, Out: &out})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "Domain ID: ") {
		if time.Now().After(deadline) {
			t.Fatalf("the domain was never asked:\n%s", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not end")
	}
	if got := w.QuitNote(); got != "Nothing was set up yet. It was all in the demo's sandbox, which ends now." {
		t.Errorf("QuitNote %q", got)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
