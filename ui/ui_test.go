package ui

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/flows/goldenfile"
)

var testVendor = flows.Vendor{
	Name: "Acme Security", Slug: "acme", AWSAccountID: "999988887777",
	AzureAppID:        "11111111-2222-3333-4444-555555555555",
	GCPServiceAccount: "acme-rek@acme-prod.iam.gserviceaccount.com",
}

const (
	domain   = "dm-LCAJVnUE94B"
	aliasARN = "arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/acme"
)

// fakePairer answers with the checks it was given; with none, the check
// cannot pass.
type fakePairer struct {
	mu      sync.Mutex
	results []flows.Check
	runs    int
	ctx     context.Context
}

func (f *fakePairer) Plan(flows.Target) []flows.Check {
	plan := make([]flows.Check, len(f.results))
	for i, c := range f.results {
		plan[i] = flows.Check{ID: c.ID, Name: c.Name}
	}
	return plan
}

func (f *fakePairer) Run(ctx context.Context, _ flows.Target, report func(flows.Check)) []flows.Check {
	f.mu.Lock()
	f.runs++
	f.ctx = ctx
	f.mu.Unlock()
	for _, c := range f.results {
		report(c)
	}
	return f.results
}

type fakeRegistry struct {
	err     error
	targets []flows.Target
}

func (f *fakeRegistry) Register(_ context.Context, t flows.Target) (flows.Receipt, error) {
	f.targets = append(f.targets, t)
	if f.err != nil {
		return flows.Receipt{}, f.err
	}
	return flows.Receipt{RekID: "rek-0123456789abcdef", Where: "local registry ~/.config/rekwiz/registry.json"}, nil
}

type fakeSetup struct {
	events []flows.SetupEvent
	res    flows.SetupResult
	err    error
}

func (f *fakeSetup) Run(_ context.Context, _ flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error) {
	for _, ev := range f.events {
		report(ev)
	}
	return f.res, f.err
}

var passing = []flows.Check{
	{ID: "aws.alias", Name: "Alias resolves to a key", Status: flows.StatusPass, Detail: "key 1234"},
	{ID: "aws.key-policy", Name: "Key policy grants the vendor", Status: flows.StatusSkipped, Detail: "checked by the round trip"},
	{ID: "aws.round-trip", Name: "Wrap and unwrap a data key", Status: flows.StatusPass, Detail: "same data key"},
}

func testDeps(t testing.TB, p *fakePairer) (Deps, *fakeRegistry) {
	reg := &fakeRegistry{}
	return Deps{
		Setup:    map[flows.Provider]Setuper{},
		Pairing:  map[flows.Provider]Pairer{flows.AWSDelegated: p},
		Registry: reg,
		RenderScript: func(sp flows.SetupSpec) (string, error) {
			return "#!/usr/bin/env bash\n# script for " + sp.Domain + " in " + sp.Region + "\necho done\n", nil
		},
		SaveDir:       t.TempDir(),
		VerifyCommand: func(t flows.Target) string { return "rekwiz verify --domain " + t.Domain },
	}, reg
}

func newFlow(t testing.TB, presets map[flows.Field]string) *flows.State {
	t.Helper()
	s, err := flows.New(testVendor, presets)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkWidth fails when a screen line is wider than the terminal.
func checkWidth(t *testing.T, d *driver, w int) {
	t.Helper()
	for i, l := range strings.Split(d.screen(), "\n") {
		if lipgloss.Width(l) > w {
			t.Fatalf("%s: line %d is %d wide at %d columns: %q", d.m.Flow().Step(), i+1, lipgloss.Width(l), w, l)
		}
	}
}

func TestWalkToDone(t *testing.T) {
	t.Parallel()
	for _, size := range [][2]int{{80, 24}, {60, 24}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			p := &fakePairer{results: passing}
			deps, reg := testDeps(t, p)
			d := newDriver(t, newFlow(t, nil), deps, size[0], size[1])
			at := func(st flows.Step) { t.Helper(); d.wantStep(st); checkWidth(t, d, size[0]) }

			at(flows.StepDomain)
			d.wantScreen("Step 1 of 8 · Domain", "Which domain is the key for?", "Acme Security")
			if strings.Contains(d.screen(), "esc back") {
				t.Fatal("the first step offers to go back")
			}
			d.typ(domain)
			d.key("enter")
			at(flows.StepProvider)
			d.key("enter") // AWS KMS, delegated key
			at(flows.StepKey)
			d.key("down", "enter") // new key
			at(flows.StepKeyDetails)
			d.typ("us-east-1")
			d.key("enter")
			at(flows.StepScript)
			d.wantScreen("# script for dm-LCAJVnUE94B in us-east-1")
			d.key("enter")
			at(flows.StepPaste)
			d.paste(aliasARN)
			d.key("enter")
			at(flows.StepApply)
			d.wantScreen("✓ Registered", "rek-0123456789abcdef")
			if len(reg.targets) != 1 || reg.targets[0].AliasARN.String() != aliasARN {
				t.Fatalf("registered %+v", reg.targets)
			}
			d.key("enter")
			at(flows.StepCheck)
			d.wantScreen("✓ PASS", "Alias resolves to a key", "– SKIP", "✓ Paired.")
			d.key("enter")
			at(flows.StepDone)
			d.wantScreen("✓ Paired.", "rek-0123456789abcdef", "rekwiz verify --domain dm-LCAJVnUE94B")
			d.key("enter")
			if !d.quit || !d.m.Finished() {
				t.Fatal("finishing did not quit")
			}
			if s := d.m.Summary(); s.Passed != 2 || s.Skipped != 1 || s.Key != aliasARN {
				t.Fatalf("summary %+v", s)
			}
		})
	}
}

func TestUnavailableProviderCannotBeChosen(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	d := newDriver(t, newFlow(t, map[flows.Field]string{"domain": domain}), deps, 80, 24)
	d.wantStep(flows.StepProvider)
	d.wantScreen("Azure Managed HSM, delegated key", "not available yet")
	d.key("down", "down", "enter")
	d.wantStep(flows.StepProvider)
	d.wantScreen("✗ Not in this version of rekwiz yet; choose AWS KMS, delegated key.")
}

func TestTooSmallThenResized(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	d := newDriver(t, newFlow(t, nil), deps, 40, 10)
	d.wantScreen("The terminal is 40×10; rekwiz needs at least 50×16.", "rekwiz script, rekwiz verify")
	d.typ("x") // typing goes nowhere while the screen is too small
	d.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	d.wantScreen("Which domain is the key for?")
	if strings.Contains(d.screen(), "› x") {
		t.Fatal("a key typed while too small reached the form")
	}
	checkWidth(t, d, 80)
}

func TestStartsWithoutWaitingForTheTerminal(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	m := New(newFlow(t, nil), deps)
	// No size, no background colour has arrived: the first screen is
	// already there, at the default size, in the dark theme.
	if s := m.render(); !strings.Contains(s, "Which domain is the key for?") {
		t.Fatalf("first screen: %s", s)
	}
	if !m.c.Styles.isDark {
		t.Fatal("default theme is not dark")
	}
	m.Update(tea.BackgroundColorMsg{Color: lipgloss.Color("#ffffff")})
	if m.c.Styles.isDark {
		t.Fatal("a light background did not switch the theme")
	}
}

// golden compares the screen, without style and trailing spaces, with
// testdata/ui/NAME.
func (d *driver) golden(name string) {
	d.t.Helper()
	lines := strings.Split(d.screen(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	goldenfile.Golden(d.t, "ui/"+name+".golden", strings.Join(lines, "\n")+"\n")
}

func TestGoldenScreens(t *testing.T) {
	t.Parallel()
	failing := &fakePairer{results: []flows.Check{
		{ID: "aws.alias-name", Name: "Alias names this domain and vendor", Status: flows.StatusPass, Detail: "alias/dm-LCAJVnUE94B/acme"},
		{ID: "aws.alias", Name: "Alias resolves to a key", Status: flows.StatusFail,
			Detail: "the key policy does not let arn:aws:iam::999988887777:root call kms:DescribeKey",
			Remedy: "run the setup script again: it puts statement rekwiz-acme into the key policy", Fix: flows.StepScript},
		{ID: "aws.round-trip", Name: "Wrap and unwrap a data key", Status: flows.StatusSkipped, Detail: "needs the alias to resolve"},
	}}
	deps, _ := testDeps(t, failing)
	d := newDriver(t, newFlow(t, nil), deps, 80, 24)
	d.golden("domain-80x24")

	pasted := map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1", "key-arn": aliasARN}
	d = newDriver(t, newFlow(t, pasted), deps, 80, 24)
	d.key("enter", "enter")
	d.wantStep(flows.StepCheck)
	d.golden("check-failed-80x24")

	deps, _ = testDeps(t, &fakePairer{results: passing})
	d = newDriver(t, newFlow(t, pasted), deps, 80, 24)
	d.key("enter", "enter", "enter")
	d.wantStep(flows.StepDone)
	d.golden("done-80x24")
}

func TestPlaceholderVendorIsFlagged(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	v := testVendor
	v.Placeholder = true
	flow, err := flows.New(v, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, flow, deps, 80, 24)
	d.wantScreen("NO VENDOR PROFILE")
	deps.Demo = true
	d = newDriver(t, flow, deps, 80, 24)
	d.wantScreen("DEMO")
	if strings.Contains(d.screen(), "NO VENDOR PROFILE") {
		t.Fatal("the demo flags its own vendor")
	}
	d = newDriver(t, newFlow(t, nil), Deps{Pairing: deps.Pairing, RenderScript: deps.RenderScript}, 80, 24)
	if s := d.screen(); strings.Contains(s, "NO VENDOR PROFILE") || strings.Contains(s, "DEMO") {
		t.Fatal("a real vendor profile is flagged")
	}
}
