package ui

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/sandbox"
	"github.com/rekwiz/rekwiz/providers/sandbox/sandboxtest"
	"github.com/rekwiz/rekwiz/scripts"
)

// TestScriptOutputFillsThePasteStep renders every provider's setup
// script, runs the AWS ones with the AWS CLI v2 against the sandbox (the
// Azure ones cannot reach a real az here: their labelled echo lines are
// taken from the rendered script with the values put in), and pastes
// what they printed into the paste step, with LF, CR and CRLF line
// breaks: every field is filled and the step passes. Rewording a label
// in a script without the paste step knowing breaks this test.
func TestScriptOutputFillsThePasteStep(t *testing.T) {
	v := sandboxtest.Vendor
	var env *sandboxtest.Env
	n := 0
	for _, p := range flows.Providers() {
		for _, k := range flows.KeyChoices() {
			n++
			domain := "dm-PASTE" + strings.Repeat("0", 5) + string(rune('0'+n))
			sp := flows.SetupSpec{Provider: p, Key: k, Domain: domain, Vendor: v}
			var out string
			switch p {
			case flows.AWSDelegated, flows.AWSServiceAccount:
				sandboxtest.AWSCLI(t)
				sandboxtest.Tool(t, "jq", "jq")
				if env == nil {
					env = sandboxtest.Start(t, sandbox.Options{Seed: 1, Vendor: v})
				}
				sp.Region = sandboxtest.Region
				if p == flows.AWSServiceAccount {
					sp.Company = "Example"
				}
				if k == flows.KeyExisting {
					sp.KeyID = customerKey(t, env)
				}
				out = runScript(t, env, sp)
			case flows.AzureDelegated:
				sp.HSMName, sp.KeyName = "contoso-hsm", "customer-rek"
				if k == flows.KeyNew {
					sp.KeyName = "rek-" + domain
				}
				out = azureOutput(t, sp)
			}
			presets := map[flows.Field]string{"domain": domain, "provider": string(p), "key": string(k),
				"region": sp.Region, "key-id": sp.KeyID, "company": sp.Company, "hsm-name": sp.HSMName, "key-name": sp.KeyName}
			for f, val := range presets {
				if val == "" {
					delete(presets, f)
				}
			}
			for name, sep := range map[string]string{"LF": "\n", "CR": "\r", "CRLF": "\r\n"} {
				t.Run(string(p)+"/"+string(k)+"/"+name, func(t *testing.T) {
					deps, _ := testDeps(t, &fakePairer{results: passing})
					deps.Pairing[p] = deps.Pairing[flows.AWSDelegated]
					flow, err := flows.New(v, presets)
					if err != nil {
						t.Fatal(err)
					}
					d := newDriver(t, flow, deps, 80, 24)
					d.key("enter") // the script step
					d.wantStep(flows.StepPaste)
					d.paste(strings.ReplaceAll(out, "\n", sep))
					for _, f := range flows.PasteFields(p) {
						if d.fieldValue(f) == "" {
							t.Fatalf("%s is empty after pasting:\n%q", f, out)
						}
					}
					d.key("enter")
					d.wantStep(flows.StepApply)
				})
			}
		}
	}
}

// customerKey is a key the customer has already, made through the SDK.
func customerKey(t *testing.T, e *sandboxtest.Env) string {
	t.Helper()
	c := kms.NewFromConfig(e.Server.AWSConfig(e.Customer(), sandboxtest.Region))
	k, err := c.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: types.KeySpecSymmetricDefault, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
	if err != nil {
		t.Fatal(err)
	}
	return *k.KeyMetadata.Arn
}

// runScript renders a setup script and runs it as the customer.
func runScript(t *testing.T, e *sandboxtest.Env, sp flows.SetupSpec) string {
	t.Helper()
	s, err := scripts.Render(sp, scripts.Options{Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "setup.sh")
	if err := os.WriteFile(path, []byte(s), 0o700); err != nil {
		t.Fatal(err)
	}
	out, errOut, err := sandboxtest.Run(e.CLIEnv(e.Customer()), dir, "bash", path)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, out, errOut)
	}
	return out
}

// azureOutput is what an Azure script prints last: its labelled echo
// lines, with the values az would have given put in.
func azureOutput(t *testing.T, sp flows.SetupSpec) string {
	t.Helper()
	s, err := scripts.Render(sp, scripts.Options{Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"KEY_URL":   "https://" + sp.HSMName + ".managedhsm.azure.net/keys/" + sp.KeyName + "/0123456789abcdef0123456789abcdef",
		"TENANT_ID": "72f988bf-86f1-41af-91ab-2d7cd011db47",
	}
	echo := regexp.MustCompile(`^\s*echo "(.*)"$`)
	out := "Tagged the key.\n\n"
	for _, l := range strings.Split(s, "\n") {
		m := echo.FindStringSubmatch(l)
		if m == nil || !strings.Contains(m[1], "(save this for next step)") {
			continue
		}
		out += os.Expand(m[1], func(name string) string {
			v, ok := vars[name]
			if !ok {
				t.Fatalf("the line %q prints $%s, which this test does not know", l, name)
			}
			return v
		}) + "\n"
	}
	return out
}
