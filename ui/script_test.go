package ui

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rekwiz/rekwiz/flows"
)

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

// TestCopySaysTheScriptsLines: at 50 columns a long line wraps to
// several rows; the copy counts the script's lines, not the rows.
func TestCopySaysTheScriptsLines(t *testing.T) {
	t.Parallel()
	deps, _ := testDeps(t, &fakePairer{results: passing})
	deps.RenderScript = func(flows.SetupSpec) (string, error) {
		return "#!/usr/bin/env bash\necho " + strings.Repeat("a long line ", 20) + "\necho done\n", nil
	}
	flow := newFlow(t, map[flows.Field]string{"domain": domain, "provider": "aws-delegated", "key": "new", "region": "us-east-1"})
	d := newDriver(t, flow, deps, 50, 16)
	d.wantStep(flows.StepScript)
	d.key("c")
	d.wantScreen("Copied 3 lines")
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
