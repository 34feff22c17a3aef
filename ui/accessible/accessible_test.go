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
			[]string{"  1. AWS KMS, delegated key: your key; its key policy lets the vendor use it\n", "Enter a number from 1 to 3 [1]: \n\nStep 3 of 8: Key"}, ErrEndOfInput},
		{"choice: not a number, out of range, unavailable", map[flows.Field]string{flows.FieldDomain: domain}, nil, "x\n0\n3\n1\n",
			[]string{
				"Enter a number from 1 to 3 [1]: \n✗ \"x\" is not one of the choices: enter a number from 1 to 3.\n",
				"✗ \"0\" is not one of the choices",
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

// TestConsent: no runs nothing; a statement under the vendor's Sid that
// differs is replaced only after two yeses, the second naming what is
// lost.
func TestConsent(t *testing.T) {
	presets := map[flows.Field]string{flows.FieldDomain: domain, flows.FieldProvider: "aws-delegated", flows.FieldKey: "new", flows.FieldRegion: "us-east-1"}
	conflict := flows.SetupPlan{Changes: []string{"replace the statement"}, Conflict: &flows.StatementConflict{Sid: "rekwiz-sandbox", Existing: "{\"Effect\":\"Deny\"}", Ours: "{\"Effect\":\"Allow\"}", Losses: []string{"a Deny"}}}
	tests := []struct {
		name          string
		plan          flows.SetupPlan
		input         string
		ran, replaced int
		want          string
	}{
		{"no", flows.SetupPlan{}, "3\nn\n", 0, 0, "Go ahead? [y/n]: \nNothing was changed.\n"},
		{"conflict: no at the first question", conflict, "3\nn\n", 0, 0, "Go ahead, replacing it? [y/n]: \nNothing was changed.\n"},
		{"conflict: no at the second", conflict, "3\ny\nn\n", 0, 0, "Replacing it loses what the statement in the key policy says and rekwiz's does not:\n  - A Deny\nReplace statement rekwiz-sandbox and go ahead? [y/n]: \nNothing was changed.\n"},
		{"conflict: yes twice", conflict, "3\ny\ny\n", 1, 1, "✓ Done."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setup := &fakeSetup{plan: tt.plan}
			out, err := walk(t, newFlow(t, presets), testDeps(setup, &fakePairer{runs: [][]flows.Check{passed}}, &fakeRegistry{}), tt.input)
			if !errors.Is(err, ErrEndOfInput) {
				t.Fatalf("Run: %v", err)
			}
			if !strings.Contains(out, tt.want) || setup.ran != tt.ran || setup.replace != tt.replaced {
				t.Errorf("ran %d, replaced %d; the output should hold %q:\n%s", setup.ran, setup.replace, tt.want, out)
			}
		})
	}
}

// TestCheckFailsAndWaits: a check waiting for access says so now and
// then, not every second; a failed check is reported as verify reports
// it, with the remedy, and offers the step that fixes it.
func TestCheckFailsAndWaits(t *testing.T) {
	waiting := func(in, left int) flows.Check {
		return flows.Check{ID: "aws.grant", Name: "Key policy grants the vendor", Status: flows.StatusRunning,
			Wait: &flows.Wait{Why: "AWS may still be applying a policy change", In: time.Duration(in) * time.Second, Left: time.Duration(left) * time.Second}}
	}
	failed := []flows.Check{passed[0], {ID: "aws.grant", Name: "Key policy grants the vendor", Status: flows.StatusFail, Detail: "access denied \x1b]52;c;aGk=\x07", Remedy: "run the script again", Fix: flows.StepScript}}
	p := &fakePairer{
		runs:    [][]flows.Check{failed, passed},
		reports: [][]flows.Check{{passed[0], waiting(2, 90), waiting(1, 89), waiting(4, 88), waiting(3, 87), waiting(2, 86), waiting(1, 85)}},
	}
	presets := map[flows.Field]string{flows.FieldDomain: domain, flows.FieldProvider: "aws-delegated", flows.FieldKey: "new", flows.FieldRegion: "us-east-1", flows.FieldAliasARN: aliasARN}
	out, err := walk(t, newFlow(t, presets), testDeps(&fakeSetup{}, p, &fakeRegistry{}), "1\n2\n")
	if !errors.Is(err, ErrEndOfInput) {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	for _, w := range []string{
		"… Key policy grants the vendor: access denied; AWS may still be applying a policy change. Waiting 90s more at most, trying again in 2s…\n",
		"… Key policy grants the vendor: access denied; AWS may still be applying a policy change. Waiting 88s more at most, trying again in 4s…\n",
		"✗ FAIL    Key policy grants the vendor: access denied \\x1b]52;c;aGk=\\x07\n",
		"What to do:\n  aws.grant: run the script again\nResult: 1 check failed.\n",
		"  2. Go to Script: the step that fixes it\n",
		"Step 4 of 8: Script",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("the output lacks %q:\n%s", w, out)
		}
	}
	if n := strings.Count(out, "… Key policy grants the vendor"); n != 2 {
		t.Errorf("%d waiting lines, want one per pause (2):\n%s", n, out)
	}
	if n := strings.Count(out, "✓ PASS    Alias names this domain"); n != 1 {
		t.Errorf("the passing check was said %d times, want once", n)
	}
}

// TestBackFromTheCheck: back from a failed check is the registered key,
// with the choice of the check again or the step before; nothing is
// registered twice.
func TestBackFromTheCheck(t *testing.T) {
	failed := []flows.Check{{ID: "aws.grant", Name: "Key policy grants the vendor", Status: flows.StatusFail, Detail: "denied"}}
	reg := &fakeRegistry{}
	p := &fakePairer{runs: [][]flows.Check{failed}}
	presets := map[flows.Field]string{flows.FieldDomain: domain, flows.FieldProvider: "aws-delegated", flows.FieldKey: "new", flows.FieldRegion: "us-east-1"}
	flow := newFlow(t, presets)
	if err := flow.Set(flows.FieldAliasARN, aliasARN); err != nil {
		t.Fatal(err)
	}
	// script: I ran it; paste: enter; check fails: go back; apply: go
	// on (the check fails again), go back, then back to the paste step.
	out, err := walk(t, flow, testDeps(&fakeSetup{}, p, reg), "1\n\n2\n1\n2\n2\n")
	if !errors.Is(err, ErrEndOfInput) {
		t.Fatalf("Run: %v\n%s", err, out)
	}
	if want := "✓ Registered with dm-LCAJVnUE94B as rek-0123456789abcdef.\nWhat now?\n  1. Go on to the pairing check\n  2. Go back: to Paste\n"; strings.Count(out, want) != 2 {
		t.Errorf("the output should hold %q twice:\n%s", want, out)
	}
	if reg.registered != 1 || p.n != 2 || flow.Step() != flows.StepPaste {
		t.Errorf("registered %d times, checked %d times, at %v", reg.registered, p.n, flow.Step())
	}
}

// TestSecret: a secret is read through ReadSecret at a terminal, not from
// the line input, and only its masked form is ever printed; a labelled
// line pasted at an earlier question fills it.
func TestSecret(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	presets := map[flows.Field]string{flows.FieldDomain: domain, flows.FieldProvider: "aws-service-account", flows.FieldKey: "new", flows.FieldRegion: "us-east-1", flows.FieldCompany: "Example"}
	deps := testDeps(&fakeSetup{}, &fakePairer{runs: [][]flows.Check{passed}}, &fakeRegistry{})
	deps.Pairing[flows.AWSServiceAccount] = deps.Pairing[flows.AWSDelegated]
	var asked int
	var out bytes.Buffer
	input := "1\nKey alias (save this for next step): arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/sandbox/Example\n" +
		"Secret access key (save this for next step): " + secret + "\nAKIAIOSFODNN7EXAMPLE\n"
	w := New(newFlow(t, presets), deps, IO{In: strings.NewReader(input), Out: &out, Terminal: true,
		ReadSecret: func(context.Context) ([]byte, error) {
			asked++
			if asked > 1 {
				return nil, io.EOF
			}
			return []byte("\n"), nil // enter keeps the pasted one
		}})
	if err := w.Run(context.Background()); err != nil || !w.Finished() {
		t.Fatalf("Run: %v\n%s", err, out.String())
	}
	if got := w.Flow().Secret(flows.FieldSecretAccessKey); got != secret {
		t.Errorf("the secret is %q", got)
	}
	if strings.Contains(out.String(), secret) || !strings.Contains(out.String(), "Secret access key [****EKEY]: ") || asked != 1 {
		t.Errorf("asked %d times:\n%s", asked, out.String())
	}
	if !strings.Contains(out.String(), "✓ Secret access key taken from the pasted line; it is asked for next.") {
		t.Errorf("the pasted line was not taken:\n%s", out.String())
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
