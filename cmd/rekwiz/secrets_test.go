package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
	"github.com/rekwiz/rekwiz/providers/store/registry"
	"github.com/rekwiz/rekwiz/providers/vendorprofile"
	"github.com/rekwiz/rekwiz/ui"
)

// assertNowhere fails if secret, or its base64 form, is in any file under
// dirs or in any of outputs.
func assertNowhere(t *testing.T, secret string, dirs []string, outputs ...[]byte) {
	t.Helper()
	forms := [][]byte{[]byte(secret), []byte(base64.StdEncoding.EncodeToString([]byte(secret))), []byte(base64.RawURLEncoding.EncodeToString([]byte(secret)))}
	files := 0
	for _, dir := range dirs {
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			files++
			b, _ := os.ReadFile(p)
			for _, f := range forms {
				if bytes.Contains(b, f) {
					t.Errorf("the secret is in %s", p)
				}
			}
			return nil
		})
	}
	for i, out := range outputs {
		for _, f := range forms {
			if j := bytes.Index(out, f); j >= 0 {
				t.Errorf("the secret is in output %d: %q", i, out[max(j-200, 0):min(j+len(f)+40, len(out))])
			}
		}
	}
	if len(dirs) > 0 && files == 0 {
		t.Errorf("no file was written under %v: nothing was searched", dirs)
	}
}

// realWizard runs `rekwiz` (not the demo) in a real program at 80x24,
// against the sandbox through the AWS environment, as a customer would.
func realWizard(t *testing.T) *demoRun {
	ios := &IOStreams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Terminal: true, Getenv: os.Getenv}
	w, err := newWizard(context.Background(), &wizardOptions{IO: ios, Global: &globalOptions{}, Deps: realDeps()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.close)
	d := &demoRun{t: t, w: w}
	d.tm = teatest.NewTestModel(t, observed{Model: ui.New(w.flow, w.deps), mu: &d.mu, last: &d.screen},
		teatest.WithInitialTermSize(80, 24),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.Ascii)))
	return d
}

// TestResumeAndSecrets walks a service account to the paste step, quits
// (as a timed-out cloud shell would), starts again, resumes, pastes the
// secret again and finishes. Then it searches every file rekwiz wrote
// and everything it drew for the service account's secret: none.
func TestResumeAndSecrets(t *testing.T) {
	home := demoHome(t)
	e := fakecloudtest.Start(t, fakecloud.Options{Seed: 1, Vendor: vendorprofile.Default()})
	awsEnv(t, e, e.Customer())
	t.Setenv("HOME", home) // awsEnv points HOME at the sandbox's empty one
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "no-credentials"))

	// First run: up to the paste step, then ctrl+c.
	d := realWizard(t)
	d.waitFor("Which domain is the key for?")
	d.typeText("dm-LCAJVnUE94B")
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
	d.press(char('r'))
	d.waitFor("y yes • n/esc no") // the plan, read: it opens at its top, the footer asks
	d.press(char('y'))
	d.waitFor("✓ iam create-access-key")
	d.waitFor("✓ Done.") // enter before the set-up ends is not a step on
	d.press(enter)
	d.waitFor("Step 5 of 8 · Paste")
	d.waitFor("Secret access key")
	d.press(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	out1, _ := io.ReadAll(d.tm.FinalOutput(t, teatest.WithFinalTimeout(10*time.Second)))

	user, ok := e.User("sandbox-rek-dm-LCAJVnUE94B")
	if !ok || len(user.AccessKeys) != 1 {
		t.Fatalf("the service account: %+v", user)
	}
	sa, _ := e.AccessKey(user.AccessKeys[0])
	secret := sa.SecretAccessKey
	saved := filepath.Join(home, ".config", "rekwiz", "sessions", "dm-LCAJVnUE94B.json")
	if b, err := os.ReadFile(saved); err != nil || !strings.Contains(string(b), `"step": "paste"`) || !strings.Contains(string(b), sa.AccessKeyID) {
		t.Fatalf("saved progress: %v\n%s", err, b)
	}

	// Second run: the wizard offers to resume at the paste step.
	d2 := realWizard(t)
	d2.waitFor("Pick up where you left off?")
	d2.waitFor("You were setting up dm-LCAJVnUE94B (AWS KMS, service account) and reached Paste")
	d2.waitFor("› dm-LCAJVnUE94B: resume at Paste")
	d2.waitFor("The secret access key is never saved: you paste it again.")
	d2.press(enter)
	d2.waitFor("Step 5 of 8 · Paste")
	d2.waitFor("› arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/sandbox/Example")
	d2.waitFor("Access key ID " + sa.AccessKeyID)
	d2.press(enter) // the secret is missing: the form says so
	d2.waitFor("Secret access key")
	d2.press(tab, tab)
	d2.typeText(secret)
	d2.press(enter)
	d2.waitFor("✓ Registered")
	d2.press(enter)
	d2.waitFor("✓ Paired. Press enter to finish.")
	d2.press(enter)
	d2.waitFor("Step 8 of 8 · Done")
	final := d2.finish("demo/resumed-service-account-80x24.golden")
	out2, _ := io.ReadAll(d2.tm.FinalOutput(t))
	if !flows.Passed(final.Flow().Checks()) {
		t.Fatalf("checks %+v", final.Flow().Checks())
	}
	if _, err := os.Stat(saved); !os.IsNotExist(err) {
		t.Fatal("the finished wizard's progress is still saved")
	}
	reg, _, _ := registry.Open(filepath.Join(home, ".config", "rekwiz", "registry.json")).Lookup("dm-LCAJVnUE94B")
	if reg.AccessKeyID != sa.AccessKeyID {
		t.Fatalf("registry: %+v", reg)
	}
	assertNowhere(t, secret, []string{filepath.Join(home, ".config")}, out1, out2)
}
