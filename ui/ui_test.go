package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/flows/goldenfile"
)

var testVendor = flows.Vendor{
	Name: "Acme Security", Slug: "acme", AWSAccountID: "999988887777",
	AzureAppID: "11111111-2222-3333-4444-555555555555",
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

func testDeps(t *testing.T, p *fakePairer) (Deps, *fakeRegistry) {
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

func newFlow(t *testing.T, presets map[flows.Field]string) *flows.State {
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

func TestInlineValidation(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	d := newDriver(t, newFlow(t, nil), deps, 80, 24)
	d.typ("dm-LCAJ")
	d.wantScreen("✗ expected dm- followed by 11 letters or digits, e.g. dm-LCAJVnUE94B")
	d.key("enter")
	d.wantStep(flows.StepDomain)
	d.typ("VnUE94B")
	d.wantScreen("✓ ok")
	d.key("enter")
	d.wantStep(flows.StepProvider)
}

func toPaste(t *testing.T, w int) *driver {
	t.Helper()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1"})
	d := newDriver(t, flow, deps, w, 24)
	d.wantStep(flows.StepScript)
	d.key("enter")
	d.wantStep(flows.StepPaste)
	return d
}

func TestPasteIsTrimmedAndNeverCut(t *testing.T) {
	t.Parallel()
	d := toPaste(t, 60)
	d.paste("  \t" + aliasARN + "  \r\n")
	if got := d.m.steps[flows.StepPaste].(*formStep).fields[0].input.Value(); got != aliasARN {
		t.Fatalf("pasted value %q", got)
	}
	// The input is narrower than the ARN: the whole value is shown below it.
	d.wantScreen("✓ ok", "    arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94", "B/acme")
	checkWidth(t, d, 60)
	d.key("enter")
	d.wantStep(flows.StepApply)
	if d.m.Flow().Value(flows.FieldAliasARN) != aliasARN {
		t.Fatal("the flow holds another value")
	}
}

func TestPasteOfAnotherDomainsAlias(t *testing.T) {
	t.Parallel()
	d := toPaste(t, 80)
	d.paste("arn:aws:kms:us-east-1:111122223333:alias/dm-XXXXXXXXXXX/acme")
	d.wantScreen("✗ this alias is for domain dm-XXXXXXXXXXX, not dm-LCAJVnUE94B")
	d.key("enter")
	d.wantStep(flows.StepPaste)
}

func TestPasteOfTheScriptsLastLines(t *testing.T) {
	t.Parallel()
	d := toPaste(t, 80)
	d.paste("Added statement rekwiz-acme to the key policy; other statements kept.\n\n" +
		"Key alias (save this for next step): arn:aws:kms:us-east-1:111122223333:key/alias/dm-LCAJVnUE94B/acme\n")
	d.wantScreen("    "+aliasARN, "✓ ok — rewrote …:key/alias/… to the alias ARN AWS uses")
	d.key("enter")
	d.wantStep(flows.StepApply)
	if d.m.Flow().Value(flows.FieldAliasARN) != aliasARN {
		t.Fatalf("flow has %q", d.m.Flow().Value(flows.FieldAliasARN))
	}
}

// TestTypedLabelledLine: a terminal without bracketed paste types the
// script's line key by key; the label is dropped as it completes.
func TestTypedLabelledLine(t *testing.T) {
	t.Parallel()
	d := toPaste(t, 80)
	d.typ("  Key alias (save this for next step): " + aliasARN)
	if got := d.m.steps[flows.StepPaste].(*formStep).fields[0].input.Value(); got != aliasARN {
		t.Fatalf("typed value %q", got)
	}
	d.key("enter")
	d.wantStep(flows.StepApply)
}

func TestBackKeepsWhatWasTyped(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	d := newDriver(t, newFlow(t, nil), deps, 80, 24)
	d.typ(domain)
	d.key("enter", "enter", "enter") // domain, provider, existing key
	d.wantStep(flows.StepKeyDetails)
	d.typ("eu-west-2")
	d.key("tab")
	d.typ("abcdef01-2345-6789-abcd-ef0123456789")
	d.key("esc") // back to the key choice, with the details kept
	d.wantStep(flows.StepKey)
	d.key("esc", "esc")
	d.wantStep(flows.StepDomain)
	d.wantScreen("› " + domain)
	d.key("enter", "enter", "enter")
	d.wantStep(flows.StepKeyDetails)
	d.wantScreen("› AWS region › eu-west-2", "Key ID or key ARN abcdef01-2345-6789-abcd-ef0123456789")
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

func toScript(t *testing.T, deps Deps) *driver {
	t.Helper()
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1"})
	d := newDriver(t, flow, deps, 80, 24)
	d.wantStep(flows.StepScript)
	return d
}

func TestSaveNeverOverwritesWithoutAsking(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	d := toScript(t, deps)
	path := filepath.Join(deps.SaveDir, "setup.sh")
	if err := os.WriteFile(path, []byte("mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.key("s")
	d.wantScreen("save as › rekwiz-dm-LCAJVnUE94B-aws-delegated-new.sh")
	d.key("ctrl+u")
	d.typ("setup.sh")
	d.key("enter")
	d.wantScreen(path + " exists. Replace it? (y/n)")
	d.key("n")
	if b, _ := os.ReadFile(path); string(b) != "mine\n" {
		t.Fatalf("overwritten after no: %q", b)
	}
	d.key("enter")
	d.wantScreen("exists. Replace it?")
	d.key("y")
	d.wantScreen("✓ Saved to setup.sh. Run it with: bash setup.sh")
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), "#!/usr/bin/env bash\n# script for dm-LCAJVnUE94B") {
		t.Fatalf("saved %q", b)
	}
	leftovers, _ := filepath.Glob(filepath.Join(deps.SaveDir, ".rekwiz-script-*"))
	if len(leftovers) > 0 {
		t.Fatalf("temp files left: %v", leftovers)
	}

	// A new name is written at once, executable by its owner only.
	d.key("s", "enter")
	fresh := filepath.Join(deps.SaveDir, "rekwiz-dm-LCAJVnUE94B-aws-delegated-new.sh")
	d.wantScreen("✓ Saved to rekwiz-dm-LCAJVnUE94B-aws-delegated-new.sh")
	if st, err := os.Stat(fresh); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("saved file: %v %v", st, err)
	}
}

func TestCopyGoesThroughTheTerminal(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	d := toScript(t, deps)
	d.key("c")
	d.wantScreen("Copied 3 lines to the clipboard through your terminal (OSC 52)")
	found := false
	for _, m := range d.received {
		if fmt.Sprintf("%T", m) == "tea.setClipboardMsg" && fmt.Sprint(m) == "#!/usr/bin/env bash\n# script for dm-LCAJVnUE94B in us-east-1\necho done\n" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no OSC 52 request for the script among %d messages", len(d.received))
	}
}

func TestSetItUpForMe(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	deps.Setup[flows.AWSDelegated] = &fakeSetup{
		events: []flows.SetupEvent{{Call: "kms create-key", Detail: "created key 1234"}, {Call: "kms create-alias", Detail: "created alias/dm-LCAJVnUE94B/acme"}},
		res:    flows.SetupResult{Paste: map[flows.Field]string{flows.FieldAliasARN: aliasARN}},
	}
	d := toScript(t, deps)
	d.wantScreen("Ran it? Press enter to paste what it printed.")
	deps.Demo = true
	d = toScript(t, deps)
	d.wantScreen("This is the demo: press r and rekwiz makes the script's calls against the sandbox.")
	d.key("r")
	d.wantScreen("Set it up for me", "Go ahead? y / n")
	d.key("n")
	d.wantScreen("Run this script")
	d.key("r", "y")
	d.wantScreen("✓ kms create-key", "created key 1234", "✓ kms create-alias", "✓ Done.", aliasARN)
	d.key("enter")
	d.wantStep(flows.StepPaste)
	d.wantScreen("› " + aliasARN)
	d.key("enter")
	d.wantStep(flows.StepApply)
}

func TestSetItUpForMeOnAzure(t *testing.T) {
	t.Parallel()
	const keyURL = "https://contoso-hsm.managedhsm.azure.net/keys/customer-rek/0123456789abcdef0123456789abcdef"
	const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	deps, _ := testDeps(t, &fakePairer{results: passing})
	deps.Demo = true
	deps.Pairing[flows.AzureDelegated] = deps.Pairing[flows.AWSDelegated]
	deps.Setup[flows.AzureDelegated] = &fakeSetup{
		events: []flows.SetupEvent{{Call: "az keyvault key show", Detail: "key customer-rek exists"}},
		res:    flows.SetupResult{Paste: map[flows.Field]string{flows.FieldKeyURL: keyURL, flows.FieldTenantID: tenant}},
	}
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "azure-delegated", "key": "existing",
		"hsm-name": "contoso-hsm", "key-name": "customer-rek"})
	d := newDriver(t, flow, deps, 80, 24)
	d.wantStep(flows.StepScript)
	d.wantScreen("Run this script where the Azure CLI is signed in", "Azure Cloud Shell works.")
	d.key("r")
	d.wantScreen("in the Managed HSM contoso-hsm: find the key customer-rek",
		"Service Encryption User on that key only", "tag dm-LCAJVnUE94B=allow")
	d.key("y")
	d.wantScreen("✓ Done.")
	d.key("enter")
	d.wantStep(flows.StepPaste)
	// The URL is wider than its input: the input scrolls to its end and
	// keeps to one line; the whole URL is shown under it.
	var input string
	for _, l := range strings.Split(d.screen(), "\n") {
		if strings.Contains(l, "› ") && strings.Contains(l, "/keys/") {
			input = l
		}
	}
	if !strings.Contains(input, "0123456789abcdef") || strings.Contains(input, "https://") {
		t.Fatalf("the key URL's input line is %q; want its end, scrolled", input)
	}
	d.wantScreen("Tenant ID "+tenant, "✓ ok", "    https://contoso-hsm.managedhsm.azure.net/keys/customer-rek/")
	checkWidth(t, d, 80)
	d.key("enter")
	d.wantStep(flows.StepApply)
	if got := d.m.Flow().Value(flows.FieldKeyURL); got != keyURL {
		t.Fatalf("flow has key URL %q", got)
	}
}

// TestSetItUpForMeMasksTheSecret: the values carried to the next step
// are listed in its order, labelled, and the secret access key masked.
func TestSetItUpForMeMasksTheSecret(t *testing.T) {
	t.Parallel()
	const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	deps, _ := testDeps(t, &fakePairer{results: passing})
	deps.Pairing[flows.AWSServiceAccount] = deps.Pairing[flows.AWSDelegated]
	deps.Setup[flows.AWSServiceAccount] = &fakeSetup{res: flows.SetupResult{Paste: map[flows.Field]string{
		flows.FieldSecretAccessKey: secret, flows.FieldAccessKeyID: "AKIAIOSFODNN7EXAMPLE", flows.FieldAliasARN: aliasARN + "/Example"}}}
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-service-account", "key": "new", "region": "us-east-1", "company": "Example"})
	d := newDriver(t, flow, deps, 80, 24)
	d.wantStep(flows.StepScript)
	d.key("r", "y")
	d.wantScreen("✓ Done.", "Key alias ARN:", "Access key ID: AKIAIOSFODNN7EXAMPLE Secret access key: "+flows.Secret(secret).Masked())
	if scr := d.screen(); strings.Index(scr, "Key alias ARN:") > strings.Index(scr, "Access key ID:") {
		t.Fatalf("not in the paste step's order:\n%s", scr)
	}
	if strings.Contains(d.screen(), secret) {
		t.Fatal("the secret is on screen")
	}
}

func TestSetItUpForMeFailure(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	deps.Setup[flows.AWSDelegated] = &fakeSetup{
		events: []flows.SetupEvent{{Call: "kms create-key", Err: errors.New("AccessDeniedException: not allowed")}},
		err:    errors.New("kms create-key: AccessDeniedException: not allowed"),
	}
	d := toScript(t, deps)
	d.key("r", "y")
	d.wantScreen("✗ kms create-key: AccessDeniedException: not allowed", "✗ Stopped:")
	d.key("enter")
	d.wantStep(flows.StepScript) // nothing to carry forward
	d.key("esc")
	d.wantScreen("Run this script")
}

func TestApplyFailureCanBeRetried(t *testing.T) {
	t.Parallel()
	deps, reg := testDeps(t, &fakePairer{results: passing})
	reg.err = errors.New("registry file is not readable: /x/registry.json")
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1", "key-arn": aliasARN})
	d := newDriver(t, flow, deps, 80, 24)
	d.key("enter") // script
	d.wantStep(flows.StepApply)
	d.wantScreen("✗ registry file is not readable: /x/registry.json", "r: try again")
	d.key("enter")
	d.wantStep(flows.StepApply)
	reg.err = nil
	d.key("r")
	d.wantScreen("✓ Registered")
}

func TestFailedCheckSendsToTheFix(t *testing.T) {
	t.Parallel()
	p := &fakePairer{results: []flows.Check{
		{ID: "aws.alias", Name: "Alias resolves to a key", Status: flows.StatusFail,
			Detail: "the key policy does not let arn:aws:iam::999988887777:root call kms:DescribeKey",
			Remedy: "run the setup script again", Fix: flows.StepScript},
		{ID: "aws.round-trip", Name: "Wrap and unwrap a data key", Status: flows.StatusSkipped, Detail: "needs the alias to resolve"},
	}}
	deps, _ := testDeps(t, p)
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1", "key-arn": aliasARN})
	d := newDriver(t, flow, deps, 80, 24)
	d.key("enter", "enter") // script, apply
	d.wantStep(flows.StepCheck)
	d.wantScreen("✗ FAIL  Alias resolves to a key", "call kms:DescribeKey", "→ run the setup script again",
		"✗ 1 check failed. f: go to Script to fix it")
	d.key("enter")
	d.wantStep(flows.StepCheck)
	d.key("r")
	if p.runs != 2 {
		t.Fatalf("runs = %d after r", p.runs)
	}
	d.key("f")
	d.wantStep(flows.StepScript)
}

// blockingPairer runs until its context is cancelled, as a check waiting
// on a slow network does.
type blockingPairer struct {
	started, stopped chan struct{}
}

func (b *blockingPairer) Plan(flows.Target) []flows.Check {
	return []flows.Check{{ID: "aws.alias", Name: "Alias resolves to a key"}}
}

func (b *blockingPairer) Run(ctx context.Context, _ flows.Target, report func(flows.Check)) []flows.Check {
	close(b.started)
	<-ctx.Done()
	close(b.stopped)
	return nil
}

func TestQuitCancelsRunningWork(t *testing.T) {
	t.Parallel()
	p := &blockingPairer{started: make(chan struct{}), stopped: make(chan struct{})}
	deps, _ := testDeps(t, nil)
	deps.Pairing[flows.AWSDelegated] = p
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1", "key-arn": aliasARN})
	d := newDriver(t, flow, deps, 80, 24)
	d.blocked = 200 * time.Millisecond // the check's listener waits on the blocked check
	d.key("enter", "enter")
	d.wantStep(flows.StepCheck)
	<-p.started
	d.wantScreen("Checking… s: stop waiting and show the results as they stand · esc: back to Apply.")
	d.key("ctrl+c")
	if !d.quit || d.m.Finished() {
		t.Fatal("ctrl+c did not quit, or counted as finishing")
	}
	select {
	case <-p.stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the running check was not cancelled")
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

// countdownPairer reports a check waiting for a policy change to reach
// AWS, as awskms does after an AccessDenied, then waits.
type countdownPairer struct{ blockingPairer }

func (c *countdownPairer) Run(ctx context.Context, t flows.Target, report func(flows.Check)) []flows.Check {
	report(flows.Check{ID: "aws.alias", Name: "Alias resolves to a key", Status: flows.StatusRunning,
		Detail: "access denied; AWS may still be applying a policy change: retrying in 4s (86s left)"})
	return c.blockingPairer.Run(ctx, t, report)
}

func TestCheckShowsThePropagationCountdown(t *testing.T) {
	t.Parallel()
	p := &countdownPairer{blockingPairer{started: make(chan struct{}), stopped: make(chan struct{})}}
	deps, _ := testDeps(t, nil)
	deps.Pairing[flows.AWSDelegated] = p
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1", "key-arn": aliasARN})
	d := newDriver(t, flow, deps, 80, 24)
	d.blocked = 200 * time.Millisecond
	d.key("enter", "enter")
	<-p.started
	d.wantScreen("Alias resolves to a key", "access denied; AWS may still be applying a policy change: retrying in 4s (86s left)", "Checking… s: stop waiting and show the results as they stand · esc: back to Apply.")
	d.key("esc")
	select {
	case <-p.stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("esc did not stop the wait")
	}
}

// dupRegistry answers like a domain API that has the key already.
type dupRegistry struct{ retested []string }

type dupErr struct{}

func (dupErr) Error() string         { return "the domain has this key registered already, as rek-42" }
func (dupErr) ExistingRekID() string { return "rek-42" }

func (d *dupRegistry) Register(context.Context, flows.Target) (flows.Receipt, error) {
	return flows.Receipt{}, dupErr{}
}

func (d *dupRegistry) Retest(_ context.Context, _ flows.Target, id string) (flows.Receipt, error) {
	d.retested = append(d.retested, id)
	return flows.Receipt{RekID: id, Where: "domain API https://api.example.com", Test: "ok: wrapped and unwrapped a data key (12 ms)"}, nil
}

func TestAlreadyRegisteredOffersATest(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	reg := &dupRegistry{}
	deps.Registry = reg
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1", "key-arn": aliasARN})
	d := newDriver(t, flow, deps, 80, 24)
	d.key("enter") // script
	d.wantStep(flows.StepApply)
	d.wantScreen("registered already, as rek-42", "t: test rek-42 instead")
	d.key("t")
	if len(reg.retested) != 1 || reg.retested[0] != "rek-42" {
		t.Fatalf("retested %v", reg.retested)
	}
	d.wantScreen("✓ Registered", "Tested", "ok: wrapped and unwrapped a data key (12 ms)")
	d.key("enter")
	d.wantStep(flows.StepCheck)
}
