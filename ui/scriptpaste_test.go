package ui

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
	"github.com/rekwiz/rekwiz/scripts"
)

// TestScriptOutputFillsThePasteStep renders every provider's setup
// script, takes the lines it prints for the next step (its labelled echo
// lines, with the values its CLI would give put in), and pastes them
// into the paste step with LF, CR and CRLF line breaks: every field is
// filled and the step passes. Rewording a label in a script without the
// paste step knowing breaks this test. That the real output reads the
// same is the scripts package's to prove: its end-to-end tests run each
// setup script with the real AWS CLI and gcloud and read what it printed
// as the paste step does (flows.LabelledValues).
func TestScriptOutputFillsThePasteStep(t *testing.T) {
	t.Parallel()
	v := fakecloudtest.Vendor
	type variant struct {
		sp  flows.SetupSpec
		out string
	}
	var variants []*variant
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
					vr.sp.KeyID = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
				}
			case flows.AzureDelegated:
				vr.sp.HSMName, vr.sp.KeyName = "contoso-hsm", "customer-rek"
				if k == flows.KeyNew {
					vr.sp.KeyName = "rek-" + domain
				}
			case flows.GCPDelegated:
				vr.sp.Project, vr.sp.Location, vr.sp.KeyRing, vr.sp.KeyName = "my-project-123", "us-east1", "rekwiz", "customer-rek"
				if k == flows.KeyNew {
					vr.sp.ProtectionLevel = flows.ProtectionHSM
				}
			}
			vr.out = echoedOutput(t, vr.sp)
		}
	}
	for _, vr := range variants {
		sp, out, p, k := vr.sp, vr.out, vr.sp.Provider, vr.sp.Key
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

// echoedOutput is what a setup script prints last: its labelled echo
// lines, with the values its CLI would have given put in.
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
		// AWS: what the CLI v2 prints, in AWS's forms.
		"ALIAS_ARN":     "arn:aws:kms:" + sp.Region + ":111122223333:" + sp.AliasName(),
		"ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
		"SECRET":        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
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
