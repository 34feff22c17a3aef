package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
	"github.com/rekwiz/rekwiz/scripts"
)

// TestScriptOutputFillsThePasteStep renders every provider's setup
// script, runs the AWS ones with the AWS CLI v2 against the sandbox (the
// Azure and Google Cloud ones are run with their CLIs in the scripts
// package's tests: here their labelled echo lines are taken from the
// rendered script with the values put in), and pastes
// what they printed into the paste step, with LF, CR and CRLF line
// breaks: every field is filled and the step passes. Rewording a label
// in a script without the paste step knowing breaks this test.
func TestScriptOutputFillsThePasteStep(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the AWS CLI several times")
	}
	fakecloudtest.AWSCLI(t)
	fakecloudtest.Tool(t, "jq", "jq")
	v := fakecloudtest.Vendor
	env := fakecloudtest.Start(t, fakecloud.Options{Seed: 1, Vendor: v})
	type variant struct {
		sp  flows.SetupSpec
		out string
		err error
	}
	var variants []*variant
	var wg sync.WaitGroup
	for _, p := range flows.Providers() {
		for _, k := range flows.KeyChoices() {
			domain := "dm-PASTE" + strings.Repeat("0", 5) + string(rune('0'+len(variants)))
			vr := &variant{sp: flows.SetupSpec{Provider: p, Key: k, Domain: domain, Vendor: v}}
			variants = append(variants, vr)
			switch p {
			case flows.AWSDelegated, flows.AWSServiceAccount:
				vr.sp.Region = fakecloudtest.Region
				if p == flows.AWSServiceAccount {
					vr.sp.Company = "Example"
				}
				if k == flows.KeyExisting {
					vr.sp.KeyID = customerKey(t, env)
				}
				// The AWS CLI is slow to start: the scripts run side by side.
				wg.Add(1)
				go func() { defer wg.Done(); vr.out, vr.err = runScript(env, vr.sp) }()
			case flows.AzureDelegated:
				vr.sp.HSMName, vr.sp.KeyName = "contoso-hsm", "customer-rek"
				if k == flows.KeyNew {
					vr.sp.KeyName = "rek-" + domain
				}
				vr.out = echoedOutput(t, vr.sp)
			case flows.GCPDelegated:
				vr.sp.Project, vr.sp.Location, vr.sp.KeyRing, vr.sp.KeyName = "my-project-123", "us-east1", "rekwiz", "customer-rek"
				if k == flows.KeyNew {
					vr.sp.ProtectionLevel = flows.ProtectionHSM
				}
				vr.out = echoedOutput(t, vr.sp)
			}
		}
	}
	wg.Wait()
	for _, vr := range variants {
		sp, out, p, k := vr.sp, vr.out, vr.sp.Provider, vr.sp.Key
		if vr.err != nil {
			t.Fatalf("%s/%s: %v", p, k, vr.err)
		}
		{
			presets := map[flows.Field]string{"domain": sp.Domain, "provider": string(p), "key": string(k),
				"region": sp.Region, "key-id": sp.KeyID, "company": sp.Company, "hsm-name": sp.HSMName, "key-name": sp.KeyName,
				"project": sp.Project, "location": sp.Location, "keyring": sp.KeyRing, "protection-level": sp.ProtectionLevel}
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
func customerKey(t *testing.T, e *fakecloudtest.Env) string {
	t.Helper()
	c := kms.NewFromConfig(e.Server.AWSConfig(e.Customer(), fakecloudtest.Region))
	k, err := c.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: types.KeySpecSymmetricDefault, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
	if err != nil {
		t.Fatal(err)
	}
	return *k.KeyMetadata.Arn
}

// runScript renders a setup script and runs it as the customer.
func runScript(e *fakecloudtest.Env, sp flows.SetupSpec) (string, error) {
	s, err := scripts.Render(sp, scripts.Options{Demo: true})
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "rekwiz-paste-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "setup.sh")
	if err := os.WriteFile(path, []byte(s), 0o700); err != nil {
		return "", err
	}
	out, errOut, err := fakecloudtest.Run(e.CLIEnv(e.Customer()), dir, "bash", path)
	if err != nil {
		return "", fmt.Errorf("%v\n%s\n%s", err, out, errOut)
	}
	return out, nil
}

// echoedOutput is what an Azure or Google Cloud script prints last: its
// labelled echo lines, with the values az or gcloud would have given put
// in.
func echoedOutput(t *testing.T, sp flows.SetupSpec) string {
	t.Helper()
	s, err := scripts.Render(sp, scripts.Options{Demo: true})
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{
		"KEY_URL":   "https://" + sp.HSMName + ".managedhsm.azure.net/keys/" + sp.KeyName + "/0123456789abcdef0123456789abcdef",
		"TENANT_ID": "72f988bf-86f1-41af-91ab-2d7cd011db47",
		"KEY":       sp.KeyResource().String(),
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
