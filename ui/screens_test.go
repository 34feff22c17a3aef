package ui

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rekwiz/rekwiz/flows"
)

// The sizes the wizard is walked at: the documented minimum, two common
// ones, and a tall one.
var sizes = [][2]int{{50, 16}, {60, 20}, {80, 24}, {160, 50}}

const (
	saAlias  = aliasARN + "/Example"
	azureURL = "https://sandbox-hsm.managedhsm.azure.net/keys/customer-rek/0123456789abcdef0123456789abcdef"
	tenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	secret   = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// walkProvider is one provider's walk through every step, as a new user
// types it, with "set it up for me" at the script step.
type walkProvider struct {
	provider flows.Provider
	downs    int // presses of ↓ to reach it in the provider list
	keyDowns int // 0 existing key, 1 new key
	details  []string
	setup    *fakeSetup
}

var walks = []walkProvider{
	{provider: flows.AWSDelegated, keyDowns: 1, details: []string{"us-east-1"},
		setup: &fakeSetup{
			events: []flows.SetupEvent{
				{Call: "sts get-caller-identity", Detail: "signed in as arn:aws:iam::111122223333:user/admin"},
				{Call: "kms create-key", Detail: "created key 1234abcd-12ab-34cd-56ef-1234567890ab"},
				{Call: "kms create-alias", Detail: "created alias/dm-LCAJVnUE94B/acme"},
				{Call: "kms put-key-policy", Detail: "added statement rekwiz-acme for arn:aws:iam::999988887777:root; other statements kept"},
			},
			res: flows.SetupResult{Paste: map[flows.Field]string{flows.FieldAliasARN: aliasARN}},
		}},
	{provider: flows.AWSServiceAccount, downs: 1, keyDowns: 1, details: []string{"us-east-1", "Example"},
		setup: &fakeSetup{
			events: []flows.SetupEvent{
				{Call: "sts get-caller-identity", Detail: "signed in as arn:aws:iam::111122223333:user/admin"},
				{Call: "kms create-key", Detail: "created key 1234abcd-12ab-34cd-56ef-1234567890ab"},
				{Call: "kms describe-key", Detail: "key 1234abcd-12ab-34cd-56ef-1234567890ab is Enabled"},
				{Call: "kms create-alias", Detail: "created alias/dm-LCAJVnUE94B/acme/Example"},
				{Call: "iam create-user", Detail: "created IAM user rekwiz-dm-LCAJVnUE94B-acme"},
				{Call: "iam put-user-policy", Detail: "policy rekwiz-dm-LCAJVnUE94B-acme: alias/dm-LCAJVnUE94B/acme/Example's key only"},
				{Call: "iam create-access-key", Detail: "created access key AKIAIOSFODNN7EXAMPLE (its secret goes straight to the next step)"},
			},
			res: flows.SetupResult{Paste: map[flows.Field]string{flows.FieldAliasARN: saAlias,
				flows.FieldAccessKeyID: "AKIAIOSFODNN7EXAMPLE", flows.FieldSecretAccessKey: secret}},
		}},
	{provider: flows.AzureDelegated, downs: 2, keyDowns: 0, details: []string{"sandbox-hsm", "customer-rek"},
		setup: &fakeSetup{
			events: []flows.SetupEvent{
				{Call: "az ad sp show", Detail: "the vendor's service principal is 0a1b2c3d-0000-4000-8000-000000000001"},
				{Call: "az keyvault key show", Detail: "key customer-rek exists"},
				{Call: "az keyvault role assignment create", Detail: "gave the vendor Managed HSM Crypto Service Encryption User at /keys/customer-rek"},
				{Call: "az keyvault key set-attributes", Detail: "tagged the key dm-LCAJVnUE94B=allow; its other tags kept"},
			},
			res: flows.SetupResult{Paste: map[flows.Field]string{flows.FieldKeyURL: azureURL, flows.FieldTenantID: tenantID}},
		}},
	{provider: flows.GCPDelegated, downs: 3, keyDowns: 1, details: []string{"my-project-123", "us-east1", "rekwiz", "rek-dm-LCAJVnUE94B", "hsm"},
		setup: &fakeSetup{
			events: []flows.SetupEvent{
				{Call: "gcloud auth application-default print-access-token", Detail: "signed in as admin@example.com"},
				{Call: "gcloud kms keyrings create", Detail: "created the key ring rekwiz in us-east1"},
				{Call: "gcloud kms keys create", Detail: "created the hsm key rek-dm-LCAJVnUE94B, labelled dm-lcajvnue94b=allow, rotated every 90 days"},
				{Call: "gcloud kms keys add-iam-policy-binding", Detail: "gave serviceAccount:acme-rek@acme-prod.iam.gserviceaccount.com the role roles/cloudkms.cryptoKeyEncrypterDecrypter on the key"},
			},
			res: flows.SetupResult{Paste: map[flows.Field]string{flows.FieldKeyResource: "projects/my-project-123/locations/us-east1/keyRings/rekwiz/cryptoKeys/rek-dm-LCAJVnUE94B"}},
		}},
}

func walkDeps(t *testing.T, w walkProvider) Deps {
	deps, _ := testDeps(t, &fakePairer{results: passing})
	deps.Demo = true
	for _, p := range flows.Providers() {
		deps.Pairing[p] = deps.Pairing[flows.AWSDelegated]
	}
	deps.Setup[w.provider] = w.setup
	deps.VerifyCommand = verifyLike
	return deps
}

// screenFits fails when the screen is not exactly the terminal's size,
// or a line is wider than it.
func screenFits(t *testing.T, d *driver, w, h int) {
	t.Helper()
	checkWidth(t, d, w)
	if n := strings.Count(d.screen(), "\n") + 1; n > h {
		t.Fatalf("%s: %d lines on a %d-line terminal:\n%s", d.m.Flow().Step(), n, h, d.screen())
	}
}

// TestStepScreens walks every provider through every step at 50x16 and
// 80x24 and compares each screen with a golden file. The screens are
// compared without colour or style, so they hold under any colour
// profile (the program itself is given colorprofile.Ascii under
// NO_COLOR); at 60x20 and 160x50 the same walk must fit the terminal.
func TestStepScreens(t *testing.T) {
	t.Parallel()
	for _, w := range walks {
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s/%dx%d", w.provider, size[0], size[1]), func(t *testing.T) {
				d := newDriver(t, newFlow(t, nil), walkDeps(t, w), size[0], size[1])
				n := 0
				shot := func(name string) {
					t.Helper()
					screenFits(t, d, size[0], size[1])
					n++
					if size != [2]int{50, 16} && size != [2]int{80, 24} {
						return
					}
					d.golden(fmt.Sprintf("steps/%s/%02d-%s-%dx%d", w.provider, n, name, size[0], size[1]))
				}
				shot("domain")
				d.typ(domain)
				d.key("enter")
				for range w.downs {
					d.key("down")
				}
				shot("provider")
				d.key("enter")
				for range w.keyDowns {
					d.key("down")
				}
				shot("key")
				d.key("enter")
				for i, v := range w.details {
					if i > 0 {
						d.key("tab")
					}
					d.key("ctrl+u")
					d.typ(v)
				}
				shot("key-details")
				d.key("enter")
				d.wantStep(flows.StepScript)
				shot("script")
				d.key("r", "y")
				d.wantScreen("Press enter to continue.")
				shot("setup-result")
				d.key("enter")
				d.wantStep(flows.StepPaste)
				shot("paste")
				d.key("enter")
				d.wantStep(flows.StepApply)
				shot("apply")
				d.key("enter")
				d.wantStep(flows.StepCheck)
				shot("check")
				d.key("enter")
				d.wantStep(flows.StepDone)
				shot("done")
			})
		}
	}
}

// verifyLike is the command cmd/rekwiz suggests, as long as the real one.
func verifyLike(t flows.Target) string {
	cmd := "rekwiz verify --provider " + string(t.Provider) + " --domain " + t.Domain
	if t.Provider.Cloud() == flows.CloudAWS {
		cmd += " --key-arn " + t.AliasARN.String()
	} else {
		cmd += " --key-url " + t.KeyURL.String() + " --tenant-id " + t.TenantID
	}
	if t.Provider == flows.AWSServiceAccount {
		cmd += " --access-key-id " + t.AccessKeyID
	}
	return cmd
}
