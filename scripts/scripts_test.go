package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/flows/goldenfile"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

func golden(t *testing.T, name, got string) {
	goldenfile.Golden(t, filepath.Join("scripts", name), got)
}

var vendor = withGCP(fakecloudtest.Vendor)

// withGCP gives a test vendor a Google service account, which a
// gcp-delegated script needs, when its profile has none.
func withGCP(v flows.Vendor) flows.Vendor {
	if v.GCPServiceAccount == "" {
		v.GCPServiceAccount = "acme-rek@acme-prod.iam.gserviceaccount.com"
	}
	return v
}

const (
	testDomain = "dm-LCAJVnUE94B"
	testKeyARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

// specOf is a valid spec for a provider and key choice.
func specOf(p flows.Provider, k flows.KeyChoice) flows.SetupSpec {
	sp := flows.SetupSpec{Provider: p, Key: k, Domain: testDomain, Vendor: vendor}
	switch p {
	case flows.AWSDelegated, flows.AWSServiceAccount:
		sp.Region = "us-east-1"
		if k == flows.KeyExisting {
			sp.KeyID = testKeyARN
		}
		if p == flows.AWSServiceAccount {
			sp.Company = "Example"
		}
	case flows.AzureDelegated:
		sp.HSMName = "contoso-hsm"
		sp.KeyName = "customer-rek"
		if k == flows.KeyNew {
			sp.KeyName = "rek-" + testDomain
		}
	case flows.GCPDelegated:
		sp.Project, sp.Location, sp.KeyRing, sp.KeyName = "my-project-123", "us-east1", "rekwiz", "customer-rek"
		if k == flows.KeyNew {
			sp.KeyName, sp.ProtectionLevel = "rek-"+testDomain, flows.ProtectionHSM
		}
	}
	return sp
}

// specFor is an aws-delegated spec, which most tests use.
func specFor(k flows.KeyChoice) flows.SetupSpec { return specOf(flows.AWSDelegated, k) }

type variant struct {
	name string
	spec flows.SetupSpec
	opts Options
}

// variants are every script rekwiz renders, one golden file each.
func variants() []variant {
	placeholder := specFor(flows.KeyNew)
	placeholder.Vendor.Placeholder = true
	var vs []variant
	for _, p := range flows.Providers() {
		for _, k := range flows.KeyChoices() {
			vs = append(vs, variant{string(p) + "-" + string(k) + ".sh", specOf(p, k), Options{}})
		}
	}
	return append(vs,
		variant{"aws-delegated-teardown-existing.sh", specOf(flows.AWSDelegated, flows.KeyExisting), Options{Teardown: true}},
		variant{"aws-delegated-teardown-new.sh", specOf(flows.AWSDelegated, flows.KeyNew), Options{Teardown: true}},
		variant{"aws-service-account-teardown.sh", specOf(flows.AWSServiceAccount, flows.KeyExisting), Options{Teardown: true}},
		variant{"azure-delegated-teardown.sh", specOf(flows.AzureDelegated, flows.KeyExisting), Options{Teardown: true}},
		variant{"gcp-delegated-teardown.sh", specOf(flows.GCPDelegated, flows.KeyExisting), Options{Teardown: true}},
		variant{"aws-delegated-new-placeholder-vendor.sh", placeholder, Options{}},
	)
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			got, err := Render(v.spec, v.opts)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, v.name, got)
		})
	}
}

func TestPlaceholderWarning(t *testing.T) {
	t.Parallel()
	sp := specFor(flows.KeyNew)
	sp.Vendor.Placeholder = true
	warned, _ := Render(sp, Options{})
	demo, _ := Render(sp, Options{Demo: true})
	real, _ := Render(specFor(flows.KeyNew), Options{})
	if !strings.Contains(warned, "WARNING: this script uses rekwiz's built-in sandbox vendor") {
		t.Fatal("no warning for the placeholder vendor outside the demo")
	}
	if strings.Contains(demo, "WARNING") || strings.Contains(real, "WARNING") {
		t.Fatal("warning in the demo or for a real vendor")
	}
}

// TestVendorValuesComeFromTheProfile renders every variant for two
// vendors: each vendor identifier in the script is the profile's, and
// none of the other vendor's appears.
func TestVendorValuesComeFromTheProfile(t *testing.T) {
	t.Parallel()
	other := flows.Vendor{Name: "Globex Vault", Slug: "globex", AWSAccountID: "444455556666",
		AWSPrincipalARN: "arn:aws:iam::444455556666:role/rek-access", AzureAppID: "99999999-8888-7777-6666-555555555555",
		GCPServiceAccount: "globex-rek@globex-prod.iam.gserviceaccount.com"}
	for _, v := range variants() {
		sp := v.spec
		sp.Vendor = other
		s, err := Render(sp, v.opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, old := range []string{vendor.Name, vendor.AWSAccountID, vendor.AzureAppID, "/" + vendor.Slug, vendor.GCPServiceAccount} {
			if strings.Contains(s, old) {
				t.Errorf("%s: still carries %q from the first vendor", v.name, old)
			}
		}
		want := map[flows.Provider][]string{
			flows.AWSDelegated:      {"/globex'", "rekwiz-globex", "arn:aws:iam::444455556666:role/rek-access"},
			flows.AWSServiceAccount: {"/globex/Example'", "globex-rek-" + testDomain},
			flows.AzureDelegated:    {"'99999999-8888-7777-6666-555555555555'"},
			flows.GCPDelegated:      {"'globex-rek@globex-prod.iam.gserviceaccount.com'", "'serviceAccount:globex-rek@globex-prod.iam.gserviceaccount.com'"},
		}[sp.Provider]
		if v.opts.Teardown && sp.Provider == flows.AWSDelegated {
			want = want[:2] // removed by its Sid; the principal is not named
		}
		for _, w := range want {
			if !strings.Contains(s, w) {
				t.Errorf("%s: missing %q", v.name, w)
			}
		}
	}
}

// lastLines are the labelled values each kind of script ends with.
func lastLines(v variant) []string {
	switch {
	case v.opts.Teardown:
		return nil
	case v.spec.Provider == flows.AWSDelegated:
		return []string{`echo "Key alias (save this for next step): ${ALIAS_ARN}"`}
	case v.spec.Provider == flows.AWSServiceAccount:
		return []string{
			`echo "Key alias (save this for next step): ${ALIAS_ARN}"`,
			`echo "Access key ID (save this for next step): ${ACCESS_KEY_ID}"`,
			`if [ -n "$SECRET" ]; then`,
			`  echo "Secret access key (save this for next step): ${SECRET}"`,
			`fi`,
		}
	case v.spec.Provider == flows.GCPDelegated:
		return []string{`echo "Key resource name (save this for next step): ${KEY}"`}
	}
	return []string{
		`echo "Key URL (save this for next step): ${KEY_URL}"`,
		`echo "Tenant ID (save this for next step): ${TENANT_ID}"`,
	}
}

func TestScriptsAreStrictAndShellcheckClean(t *testing.T) {
	t.Parallel()
	shellcheck := fakecloudtest.Tool(t, "shellcheck", "shellcheck")
	dir := t.TempDir()
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			s, err := Render(v.spec, v.opts)
			if err != nil {
				t.Fatal(err)
			}
			for _, must := range []string{"\nset -euo pipefail\n", "\ntrap on_error ERR\n", "command -v \"$tool\""} {
				if !strings.Contains(s, must) {
					t.Fatalf("script lacks %q", must)
				}
			}
			signin := map[flows.Cloud]string{flows.CloudAWS: "aws sts get-caller-identity", flows.CloudAzure: "az account show",
				flows.CloudGCP: "gcloud config config-helper"}[v.spec.Provider.Cloud()]
			if !strings.Contains(s, signin) {
				t.Fatalf("no sign-in preflight (%s)", signin)
			}
			for _, never := range []string{"schedule-key-deletion", "disable-key", "bypass-policy-lockout-safety-check", "az keyvault key delete", "az keyvault key purge",
				"versions destroy", "versions disable", "keys delete", "--remove-rotation-schedule"} {
				if strings.Contains(s, never) {
					t.Fatalf("script runs %s", never)
				}
			}
			lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
			if want := lastLines(v); len(want) > 0 {
				if got := lines[len(lines)-len(want):]; strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Fatalf("last lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
			for i, l := range lines {
				// A value's assignment cannot be split; everything else fits.
				if len([]rune(l)) > 80 && !strings.HasPrefix(l, "readonly ") {
					t.Errorf("line %d is %d columns: %s", i+1, len([]rune(l)), l)
				}
			}
			p := filepath.Join(dir, v.name)
			if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command("bash", "-n", p).CombinedOutput(); err != nil {
				t.Fatalf("bash -n: %v\n%s", err, out)
			}
			if out, err := exec.Command(shellcheck, "--severity=style", p).CombinedOutput(); err != nil {
				t.Fatalf("shellcheck: %v\n%s", err, out)
			}
		})
	}
}

func BenchmarkRender(b *testing.B) {
	sp := specFor(flows.KeyExisting)
	for b.Loop() {
		if _, err := Render(sp, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
