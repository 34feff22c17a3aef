package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/flows/goldenfile"
	"github.com/rekwiz/rekwiz/providers/store/registry"
	"github.com/rekwiz/rekwiz/scripts"
	"github.com/rekwiz/rekwiz/ui"
)

// observed wraps the wizard to keep the last screen it drew, so the test
// waits on what the screen says rather than on the renderer's bytes.
type observed struct {
	tea.Model
	mu   *sync.Mutex
	last *string
}

func (o observed) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	m, cmd := o.Model.Update(msg)
	return observed{Model: m, mu: o.mu, last: o.last}, cmd
}

func (o observed) View() tea.View {
	v := o.Model.View()
	o.mu.Lock()
	*o.last = ansi.Strip(v.Content)
	o.mu.Unlock()
	return v
}

// demoHome points the config directory at a fresh one, so the demo's
// registry lands there and the screen shows the same path every run.
func demoHome(t *testing.T) string {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	return home
}

// isolatedDeps keep the wizard's files (the registry, saved scripts) in
// a fresh directory, so a test needs no HOME of its own and can run
// beside others.
func isolatedDeps(t *testing.T) *deps {
	d := realDeps()
	dir := t.TempDir()
	d.RegistryPath = func() (string, error) { return filepath.Join(dir, "rekwiz", registry.FileName), nil }
	d.WorkDir = func() (string, error) { return dir, nil }
	return d
}

// newDemo is the demo's wizard with the config directory under HOME
// (see demoHome), as the screens show it.
func newDemo(t *testing.T) *wizard {
	t.Helper()
	return newDemoWith(t, realDeps())
}

func newDemoWith(t *testing.T, d *deps) *wizard {
	t.Helper()
	return newDemoOpts(t, d, false)
}

// newDemoOpts is the demo's wizard; with deferKits, as `rekwiz demo`
// makes it: the sandbox starts after the first frame (ui.Deps.Later).
func newDemoOpts(t *testing.T, d *deps, deferKits bool) *wizard {
	t.Helper()
	ios := &IOStreams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Terminal: true, Getenv: func(string) string { return "" }}
	w, err := newWizard(context.Background(), &wizardOptions{IO: ios, Global: &globalOptions{}, Deps: d, Demo: true, Seed: demoSeed, deferKits: deferKits})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.close)
	return w
}

// demoRun is `rekwiz demo`, wired as the command wires it (sandbox, SDK
// clients, registry), in a real program at 80x24 with no colour, driven
// by keyboard only.
type demoRun struct {
	t      *testing.T
	w      *wizard
	tm     *teatest.TestModel
	mu     sync.Mutex
	screen string
}

func startDemo(t *testing.T) *demoRun {
	d := &demoRun{t: t, w: newDemoOpts(t, realDeps(), true)}
	if d.w.deps.Later == nil {
		t.Fatal("the demo's sandbox is started before the first frame")
	}
	d.tm = teatest.NewTestModel(t, observed{Model: ui.New(d.w.flow, d.w.deps), mu: &d.mu, last: &d.screen},
		teatest.WithInitialTermSize(80, 24),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	return d
}

// waitFor waits until the screen shows text (spaces folded).
func (d *demoRun) waitFor(text string) {
	d.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		d.mu.Lock()
		s := d.screen
		d.mu.Unlock()
		if strings.Contains(strings.Join(strings.Fields(s), " "), text) {
			return
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("the screen never showed %q; last screen:\n%s", text, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (d *demoRun) press(keys ...tea.KeyPressMsg) {
	for _, k := range keys {
		d.tm.Send(k)
	}
}

func (d *demoRun) typeText(s string) {
	for _, r := range s {
		d.press(char(r))
	}
}

var (
	enter = tea.KeyPressMsg{Code: tea.KeyEnter}
	down  = tea.KeyPressMsg{Code: tea.KeyDown}
	tab   = tea.KeyPressMsg{Code: tea.KeyTab}
)

func char(r rune) tea.KeyPressMsg { return tea.KeyPressMsg{Code: r, Text: string(r)} }

// finish ends the walk on the Done screen and compares it with a golden.
func (d *demoRun) finish(golden string) *ui.Model {
	d.t.Helper()
	d.press(enter)
	final := d.tm.FinalModel(d.t, teatest.WithFinalTimeout(10*time.Second)).(observed).Model.(*ui.Model)
	if !final.Finished() {
		d.t.Fatal("the wizard did not finish")
	}
	lines := strings.Split(ansi.Strip(final.View().Content), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	goldenfile.Golden(d.t, golden, strings.Join(lines, "\n")+"\n")
	return final
}

// TestDemoFromFirstScreenToDone walks the delegated-key demo from the
// first screen to Done and compares the final screen with
// testdata/demo/done-80x24.golden.
func TestDemoFromFirstScreenToDone(t *testing.T) {
	home := demoHome(t)
	d := startDemo(t)
	d.waitFor("Step 1 of 8 · Domain")
	d.waitFor("› dm-LCAJVnUE94B") // the demo fills in an example domain
	d.press(enter)
	d.waitFor("Where will the key live?")
	d.press(enter)
	d.waitFor("Guide me through creating a new key")
	d.press(down, enter)
	d.waitFor("› us-east-1")
	d.press(enter)
	d.waitFor("Run this script where the AWS CLI is signed in")
	d.press(char('r'))
	d.waitFor("y yes • n/esc no") // the plan, read: it opens at its top, the footer asks
	d.press(char('y'))
	d.waitFor("✓ Done. The next step is filled in with:")
	d.press(enter)
	d.waitFor("› arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/sandbox")
	d.press(enter)
	d.waitFor("✓ Registered")
	d.press(enter)
	d.waitFor("✓ Paired. Press enter to finish.")
	d.press(enter)
	d.waitFor("Step 8 of 8 · Done")
	final := d.finish("demo/done-80x24.golden")

	// The demo registered the key in its own registry, not the real one.
	reg := registry.Open(filepath.Join(home, ".config", "rekwiz", "demo-registry.json"))
	e, ok, err := reg.Lookup("dm-LCAJVnUE94B")
	if err != nil || !ok || e.KeyARN != "arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/sandbox" {
		t.Fatalf("demo registry: %+v %v %v", e, ok, err)
	}
	if p, _ := registry.DefaultPath(); fileExists(p) {
		t.Fatal("the demo wrote the real registry")
	}
	if got := final.Flow().Checks(); !flows.Passed(got) {
		t.Fatalf("checks %+v", got)
	}
}

// TestDemoServiceAccount walks the service-account path of the demo:
// the script step shows the script rekwiz script prints, "set it up for
// me" fills in the alias, access key ID and (masked) secret, and the
// check, run with that access key, passes every check.
func TestDemoServiceAccount(t *testing.T) {
	home := demoHome(t)
	d := startDemo(t)
	d.waitFor("› dm-LCAJVnUE94B")
	d.press(enter)
	d.waitFor("Where will the key live?")
	d.press(down, enter)
	d.waitFor("Guide me through creating a new key")
	d.press(down, enter)
	d.waitFor("Company name")
	d.press(tab)
	d.typeText("Example")
	d.press(enter)
	d.waitFor("Run this script where the AWS CLI is signed in")
	spec := flows.SetupSpec{Provider: flows.AWSServiceAccount, Key: flows.KeyNew, Domain: demoDomain, Vendor: d.w.flow.Vendor(), Region: demoRegion, Company: "Example"}
	want, err := scripts.Render(spec, scripts.Options{Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(want, "\n")[:12] {
		d.waitFor(strings.Join(strings.Fields(line), " "))
	}
	d.press(char('r'))
	d.waitFor("y yes • n/esc no") // the plan, read: it opens at its top, the footer asks
	d.press(char('y'))
	d.waitFor("✓ iam create-access-key")
	d.waitFor("✓ Done.") // enter before the set-up ends is not a step on
	d.press(enter)
	d.waitFor("Step 5 of 8 · Paste")
	d.waitFor("Secret access key")
	d.mu.Lock()
	paste := d.screen
	d.mu.Unlock()
	if !strings.Contains(paste, "••••") || !strings.Contains(paste, "✓ ****") {
		t.Fatalf("the secret is not masked:\n%s", paste)
	}
	d.press(enter)
	d.waitFor("✓ Registered")
	d.press(enter)
	d.waitFor("✓ Paired. Press enter to finish.")
	d.press(enter)
	d.waitFor("Step 8 of 8 · Done")
	final := d.finish("demo/done-service-account-80x24.golden")
	if got := final.Flow().Checks(); !flows.Passed(got) || len(got) != 9 {
		t.Fatalf("checks %+v", got)
	}
	// The secret "set it up for me" made is nowhere rekwiz wrote or drew.
	secret := final.Flow().Secret(flows.FieldSecretAccessKey)
	if len(secret) != 40 {
		t.Fatalf("the flow's secret is %d characters", len(secret))
	}
	out, _ := io.ReadAll(d.tm.FinalOutput(t))
	assertNowhere(t, secret, []string{filepath.Join(home, ".config")}, out)
}

// TestDemoIsDeterministic runs the demo's setup twice on fresh sandboxes
// with the same seed: same key, same alias, same registration.
func TestDemoIsDeterministic(t *testing.T) {
	t.Parallel()
	var aliases []string
	for range 2 {
		w := newDemoWith(t, isolatedDeps(t))
		spec := flows.SetupSpec{Provider: flows.AWSDelegated, Key: flows.KeyNew, Domain: demoDomain, Vendor: w.flow.Vendor(), Region: demoRegion}
		var events []string
		res, err := w.deps.Setup[flows.AWSDelegated].Run(context.Background(), spec, func(ev flows.SetupEvent) { events = append(events, ev.Detail) })
		if err != nil {
			t.Fatal(err)
		}
		aliases = append(aliases, res.Paste[flows.FieldAliasARN]+" "+strings.Join(events, "; "))
	}
	if aliases[0] != aliases[1] {
		t.Fatalf("two demo runs differ:\n%s\n%s", aliases[0], aliases[1])
	}
}

func TestNoColor(t *testing.T) {
	t.Parallel()
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	tests := []struct {
		flag bool
		env  map[string]string
		want bool
	}{
		{false, nil, false},
		{true, nil, true},
		{false, map[string]string{"NO_COLOR": "1"}, true},
		{false, map[string]string{"CLICOLOR": "0"}, true},
		{false, map[string]string{"CLICOLOR": "1"}, false},
		{false, map[string]string{"CLICOLOR": "0", "CLICOLOR_FORCE": "1"}, false},
	}
	for _, tt := range tests {
		if got := noColor(tt.flag, env(tt.env)); got != tt.want {
			t.Errorf("noColor(%v, %v) = %v", tt.flag, tt.env, got)
		}
	}

	// What --no-color asks of the program: no colour in what it draws,
	// while with colour the same screen has some.
	draw := func(p colorprofile.Profile) string {
		w := newDemoWith(t, isolatedDeps(t))
		tm := teatest.NewTestModel(t, ui.New(w.flow, w.deps), teatest.WithInitialTermSize(80, 24),
			teatest.WithProgramOptions(tea.WithColorProfile(p)))
		var out bytes.Buffer
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
			out.Write(b)
			return bytes.Contains(out.Bytes(), []byte("Which domain is the key for?"))
		}, teatest.WithDuration(10*time.Second))
		_ = tm.Quit()
		tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
		return out.String()
	}
	colourSGR := func(s string) bool { return strings.Contains(s, "\x1b[38;") || strings.Contains(s, "\x1b[48;") }
	if plain := draw(colorprofile.Ascii); colourSGR(plain) {
		t.Errorf("colour drawn without colour:\n%q", plain)
	}
	if coloured := draw(colorprofile.TrueColor); !colourSGR(coloured) {
		t.Error("no colour drawn with colour on: the test cannot tell the two apart")
	}
}

// TestDemoExistingKey: the demo's sandbox has an existing key, filled in,
// so the existing-key path can be walked too.
func TestDemoExistingKey(t *testing.T) {
	t.Parallel()
	w := newDemoWith(t, isolatedDeps(t))
	keyARN := w.flow.Value(flows.FieldKeyID)
	if _, err := flows.ParseKeyRef(keyARN); err != nil {
		t.Fatalf("demo key %q: %v", keyARN, err)
	}
	spec := flows.SetupSpec{Provider: flows.AWSDelegated, Key: flows.KeyExisting, Domain: demoDomain, Vendor: w.flow.Vendor(), Region: demoRegion, KeyID: keyARN}
	res, err := w.deps.Setup[flows.AWSDelegated].Run(context.Background(), spec, func(flows.SetupEvent) {})
	if err != nil {
		t.Fatal(err)
	}
	a, _, _ := flows.ParseAliasARN(res.Paste[flows.FieldAliasARN])
	checks := w.deps.Pairing[flows.AWSDelegated].Run(context.Background(), flows.Target{Provider: flows.AWSDelegated, Domain: demoDomain, Vendor: w.flow.Vendor(), AliasARN: a}, nil)
	if !flows.Passed(checks) {
		t.Fatalf("checks %+v", checks)
	}
}

// TestDemoGCP walks the demo's Google Cloud path with a new key: the
// script names the Google Cloud CLI, "set it up for me" creates the key
// ring's key, binds the vendor's service account and labels the key
// through Cloud KMS's API against the sandbox, and the check passes,
// with the round trip made as the vendor's service account. The final
// screen is testdata/demo/done-gcp-80x24.golden.
func TestDemoGCP(t *testing.T) {
	demoHome(t)
	d := startDemo(t)
	d.waitFor("› dm-LCAJVnUE94B")
	d.press(enter)
	d.waitFor("Where will the key live?")
	d.press(down, down, down, enter)
	d.waitFor("Guide me through creating a new key")
	d.press(down, enter)
	d.waitFor("Project ID › rekwiz-demo")
	d.waitFor("Name for the new key rek-dm-LCAJVnUE94B")
	d.press(enter)
	d.waitFor("Run this script where the Google Cloud CLI is signed in")
	d.press(char('r'))
	d.waitFor("the hsm key rek-dm-LCAJVnUE94B")
	d.waitFor("y yes • n/esc no") // the plan is read first (it opens at its top; the footer asks)
	d.press(char('y'))
	d.waitFor("✓ gcloud kms keys create")
	d.waitFor("✓ gcloud kms keys add-iam-policy-binding")
	d.waitFor("✓ Done.")
	d.press(enter)
	d.waitFor("Key resource name › ")
	d.press(enter)
	d.waitFor("✓ Registered")
	d.press(enter)
	d.waitFor("✓ Paired. Press enter to finish.")
	d.press(enter)
	d.waitFor("Step 8 of 8 · Done")
	final := d.finish("demo/done-gcp-80x24.golden")
	if got := final.Flow().Checks(); !flows.Passed(got) {
		t.Fatalf("checks %+v", got)
	}
	if k := final.Flow().Value(flows.FieldKeyResource); k != "projects/rekwiz-demo/locations/us-east1/keyRings/rekwiz-demo-ring/cryptoKeys/rek-dm-LCAJVnUE94B" {
		t.Fatalf("key %q", k)
	}
}

// TestDemoAzure walks the demo's Azure path with a new key: the script
// names the Azure CLI, "set it up for me" creates the key, assigns the
// vendor's role and tags it through the SDK against the sandbox HSM, and
// the vendor's check passes. The final screen is
// testdata/demo/done-azure-80x24.golden.
func TestDemoAzure(t *testing.T) {
	demoHome(t)
	d := startDemo(t)
	d.waitFor("› dm-LCAJVnUE94B")
	d.press(enter)
	d.waitFor("Where will the key live?")
	d.press(down, down, enter)
	d.waitFor("Guide me through creating a new key")
	d.press(down, enter)
	d.waitFor("Name for the new key rek-dm-LCAJVnUE94B")
	d.waitFor("Managed HSM name › sandbox-hsm")
	d.press(enter)
	d.waitFor("Run this script where the Azure CLI is signed in")
	spec := flows.SetupSpec{Provider: flows.AzureDelegated, Key: flows.KeyNew, Domain: demoDomain, Vendor: d.w.flow.Vendor(), HSMName: demoHSM, KeyName: "rek-" + demoDomain}
	want, err := scripts.Render(spec, scripts.Options{Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(want, "\n")[:12] {
		d.waitFor(strings.Join(strings.Fields(line), " "))
	}
	d.press(char('r'))
	d.waitFor("find or create the key rek-dm-LCAJVnUE94B")
	d.waitFor("y yes • n/esc no") // the plan is read first (it opens at its top; the footer asks)
	d.press(char('y'))
	d.waitFor("✓ az keyvault key create")
	d.waitFor("✓ az keyvault role assignment create")
	d.waitFor("✓ Done.")
	d.press(enter)
	d.waitFor("Key URL › ")
	d.waitFor("Tenant ID")
	d.press(enter)
	d.waitFor("✓ Registered")
	d.press(enter)
	d.waitFor("✓ PASS Wrap and unwrap 32 random bytes")
	d.waitFor("✓ Paired. Press enter to finish.")
	d.press(enter)
	d.waitFor("Step 8 of 8 · Done")
	final := d.finish("demo/done-azure-80x24.golden")
	if got := final.Flow().Checks(); !flows.Passed(got) || len(got) != 6 {
		t.Fatalf("checks %+v", got)
	}
	if u := final.Flow().Value(flows.FieldKeyURL); !strings.HasPrefix(u, "https://sandbox-hsm.managedhsm.azure.net/keys/rek-dm-LCAJVnUE94B/") {
		t.Fatalf("key URL %q", u)
	}
	if _, err := flows.ParseTenantID(final.Flow().Value(flows.FieldTenantID)); err != nil {
		t.Fatalf("tenant: %v", err)
	}
}
