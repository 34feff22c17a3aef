package scripts

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/cloudkms/v1"
	"google.golang.org/api/option"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

// gcpCloud is the sandbox's Google Cloud as the scripts see it: the real
// gcloud signed in as the customer (an owner of the project), and the Go
// SDK (google.golang.org/api cloudkms/v1) as the customer and as the
// vendor's service account, to set the scene and check the end state.
type gcpCloud struct {
	sb     *fakecloudtest.Env
	env    []string
	kms    *cloudkms.ProjectsLocationsKeyRingsService
	vendor *cloudkms.ProjectsLocationsKeyRingsService
}

func gcpSandbox(t *testing.T) *gcpCloud {
	t.Helper()
	fakecloudtest.Tool(t, "jq", "jq")
	fakecloudtest.Gcloud(t)
	e := fakecloudtest.Start(t, fakecloud.Options{Seed: 1, Vendor: vendor, GCPServiceAccount: vendor.GCPServiceAccount})
	customer := e.GCPCustomer()
	env := append(e.GcloudEnv(t, customer),
		"CLOUDSDK_CORE_ACCOUNT="+customer.Email, // what the preflight says it is signed in as
		"CLOUDSDK_SURVEY_DISABLE_PROMPTS=1", "CLOUDSDK_CORE_DISABLE_COLOR=true")
	return &gcpCloud{sb: e, env: env, kms: gcpKMS(t, e, customer), vendor: gcpKMS(t, e, e.GCPVendor())}
}

func gcpKMS(t *testing.T, e *fakecloudtest.Env, id fakecloud.GCPIdentity) *cloudkms.ProjectsLocationsKeyRingsService {
	t.Helper()
	svc, err := cloudkms.NewService(context.Background(), option.WithEndpoint(e.Server.GCPKMSEndpoint()),
		option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: id.AccessToken})))
	if err != nil {
		t.Fatal(err)
	}
	return svc.Projects.Locations.KeyRings
}

// gcpSpec is a gcp-delegated spec for a key in the sandbox's project.
func gcpSpec(k flows.KeyChoice, domain, ring, key string) flows.SetupSpec {
	sp := specOf(flows.GCPDelegated, k)
	sp.Domain, sp.Project, sp.Location, sp.KeyRing, sp.KeyName = domain, fakecloud.GCPProject, fakecloud.GCPLocation, ring, key
	return sp
}

// run renders a script and runs it with bash and the real gcloud.
func (c *gcpCloud) run(t *testing.T, sp flows.SetupSpec, opts Options, extra ...string) (string, string, error) {
	t.Helper()
	s, err := Render(sp, opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, FileName(sp, opts))
	if err := os.WriteFile(p, []byte(s), 0o700); err != nil {
		t.Fatal(err)
	}
	return fakecloudtest.Run(append(slices.Clone(c.env), extra...), dir, "bash", p)
}

func (c *gcpCloud) mustRun(t *testing.T, sp flows.SetupSpec, opts Options, extra ...string) string {
	t.Helper()
	out, errOut, err := c.run(t, sp, opts, extra...)
	if err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", FileName(sp, opts), err, out, errOut)
	}
	return out
}

// policy is the key's IAM policy, as the API returns it (version 3, so
// conditional bindings come back whole).
func (c *gcpCloud) policy(t *testing.T, key string) *cloudkms.Policy {
	t.Helper()
	p, err := c.kms.CryptoKeys.GetIamPolicy(key).OptionsRequestedPolicyVersion(3).Do()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// bindingJSON is each binding of a policy in its JSON form, by role and
// condition title.
func bindingJSON(t *testing.T, p *cloudkms.Policy) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, b := range p.Bindings {
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		id := b.Role
		if b.Condition != nil {
			id += " if " + b.Condition.Title
		}
		out[id] = string(j)
	}
	return out
}

// snapshot is everything a script could change, read through the SDK:
// every key ring, and every key's purpose, labels, rotation, versions and
// IAM policy.
func (c *gcpCloud) snapshot(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	rings, err := c.kms.List("projects/" + fakecloud.GCPProject + "/locations/" + fakecloud.GCPLocation).Do()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rings.KeyRings {
		fmt.Fprintf(&b, "ring %s\n", r.Name)
		keys, err := c.kms.CryptoKeys.List(r.Name).Do()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys.CryptoKeys {
			j, _ := json.Marshal(k)
			vs, err := c.kms.CryptoKeys.CryptoKeyVersions.List(k.Name).Do()
			if err != nil {
				t.Fatal(err)
			}
			vj, _ := json.Marshal(vs.CryptoKeyVersions)
			pj, _ := json.Marshal(c.policy(t, k.Name))
			fmt.Fprintf(&b, "key %s\nversions %s\npolicy %s\n", j, vj, pj)
		}
	}
	return b.String()
}

// dryRun runs a script with REKWIZ_DRY_RUN=1 and checks it changed
// nothing, said who is signed in and each line of want, and printed no
// value to paste.
func (c *gcpCloud) dryRun(t *testing.T, sp flows.SetupSpec, opts Options, want ...string) {
	t.Helper()
	before := c.snapshot(t)
	out, errOut, err := c.run(t, sp, opts, "REKWIZ_DRY_RUN=1")
	if err != nil {
		t.Fatalf("dry run (teardown %v): %v\n%s\n%s", opts.Teardown, err, out, errOut)
	}
	if after := c.snapshot(t); after != before {
		t.Fatalf("the dry run (teardown %v) changed the project:\nbefore:\n%s\nafter:\n%s\noutput:\n%s", opts.Teardown, before, after, out)
	}
	want = append(want, "Signed in to Google Cloud as "+c.sb.GCPCustomer().Email+".", "Dry run: nothing was changed.")
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("the dry run (teardown %v) does not say %q:\n%s", opts.Teardown, w, out)
		}
	}
	if strings.Contains(out, "(save this for next step)") {
		t.Fatalf("the dry run printed a value to paste:\n%s", out)
	}
}

// vendorUses reports whether the vendor's service account may encrypt
// and decrypt with the key (with additional authenticated data), and the
// error when it may not.
func (c *gcpCloud) vendorUses(key string) error {
	aad := base64.StdEncoding.EncodeToString([]byte("rekwiz scripts test"))
	plain := base64.StdEncoding.EncodeToString([]byte("a data key"))
	enc, err := c.vendor.CryptoKeys.Encrypt(key, &cloudkms.EncryptRequest{Plaintext: plain, AdditionalAuthenticatedData: aad}).Do()
	if err != nil {
		return err
	}
	dec, err := c.vendor.CryptoKeys.Decrypt(key, &cloudkms.DecryptRequest{Ciphertext: enc.Ciphertext, AdditionalAuthenticatedData: aad}).Do()
	if err != nil {
		return err
	}
	if dec.Plaintext != plain {
		return fmt.Errorf("decrypt returned %q, want %q", dec.Plaintext, plain)
	}
	return nil
}

// The customer's own label and bindings on an existing key, which every
// script must keep as they are: one plain, one with a condition (which
// also makes gcloud refuse a binding change without --condition).
const (
	theirLabel, theirLabelValue = "owner", "platform-team"
	theirMember                 = "group:auditors@example.com"
)

var theirCondition = &cloudkms.Expr{Title: "office-hours", Expression: `request.time.getHours("Europe/Berlin") < 18`}

// TestGCPScriptsEndToEnd runs each Google Cloud script (existing key, new
// key) with the real gcloud against the sandbox, each on a sandbox of
// its own: a dry run, the setup twice (for the existing key the first
// meets a concurrent policy change, which it retries), then the teardown (for the existing
// key after a dry run of it). The end state is read through the Go SDK
// after every run: the vendor's binding and the domain label are there
// (and the vendor may encrypt and decrypt) or gone (and it may not); the
// customer's own label and bindings are kept byte for byte; the key and
// its versions are never changed.
func TestGCPScriptsEndToEnd(t *testing.T) {
	t.Parallel()
	for i, k := range flows.KeyChoices() {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			c := gcpSandbox(t)
			sp := gcpSpec(k, fmt.Sprintf("dm-GCPRUN0000%d", i), "rekwiz", "rek-"+string(k))
			key := sp.KeyResource().String()
			label := flows.GCPDomainLabel(sp.Domain)
			member := vendor.GCPMember()
			if k == flows.KeyExisting {
				c.sb.CreateGCPKey(sp.Project, sp.Location, sp.KeyRing, sp.KeyName, fakecloud.GCPKeyOptions{
					ProtectionLevel: "SOFTWARE", Labels: map[string]string{theirLabel: theirLabelValue}})
				p := c.policy(t, key)
				p.Version = 3
				p.Bindings = append(p.Bindings,
					&cloudkms.Binding{Role: fakecloud.RoleKMSViewer, Members: []string{theirMember}},
					&cloudkms.Binding{Role: flows.GCPVendorRole, Members: []string{member}, Condition: theirCondition})
				if _, err := c.kms.CryptoKeys.SetIamPolicy(key, &cloudkms.SetIamPolicyRequest{Policy: p}).Do(); err != nil {
					t.Fatal(err)
				}
			}
			theirs := bindingJSON(t, &cloudkms.Policy{})
			if k == flows.KeyExisting {
				theirs = bindingJSON(t, c.policy(t, key))
			}

			plan := []string{"Would add the label " + label + "=allow to the key, keeping its other labels.",
				"Would give " + vendor.GCPServiceAccount + " the role " + flows.GCPVendorRole + " on the key only, keeping every other binding."}
			if k == flows.KeyNew {
				plan = []string{"Would create the key ring rekwiz in " + sp.Location + ".",
					"Would create key rek-new: a symmetric encryption key, protection level hsm, rotated every 365 days, labelled " + label + "=allow.",
					"The key already has the label " + label + "=allow.", plan[1]}
			}
			c.dryRun(t, sp, Options{}, plan...)

			// The existing key's first policy write meets a change made since
			// gcloud read the policy: IAM refuses it (409 ABORTED), and the
			// script tries again from a fresh read. (The new key's script
			// shares that code; one gcloud start fewer.)
			retried := "The key's IAM policy changed while rekwiz wrote it; trying again from a fresh read (1 of 5)."
			if k == flows.KeyExisting {
				c.sb.Inject(fakecloud.Fault{Service: "cloudkms", Operation: "SetIamPolicy", Code: "ABORTED", Status: 409, Times: 1,
					Message: "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff."})
			}
			out := c.mustRun(t, sp, Options{})
			if strings.Contains(out, retried) != (k == flows.KeyExisting) {
				t.Fatalf("the first run (retry expected: %v):\n%s", k == flows.KeyExisting, out)
			}
			for _, w := range []string{"Gave " + vendor.GCPServiceAccount + " the role " + flows.GCPVendorRole + " on the key only; every other binding kept.",
				"\nKey resource name (save this for next step): " + key + "\n"} {
				if !strings.Contains(out, w) {
					t.Fatalf("the first run does not say %q:\n%s", w, out)
				}
			}
			if !strings.HasSuffix(out, "Key resource name (save this for next step): "+key+"\n") {
				t.Fatalf("the key resource name is not the last line:\n%s", out)
			}
			if got := pasted(t, out, flows.PasteFields(sp.Provider)...)[flows.FieldKeyResource]; got != key {
				t.Fatalf("the paste step reads the key resource name %q, want %q", got, key)
			}
			c.checkGranted(t, sp, theirs)
			if k == flows.KeyNew {
				c.checkNewKey(t, sp)
			}
			if err := c.vendorUses(key); err != nil {
				t.Fatalf("after setup the vendor cannot use the key: %v", err)
			}

			// The second run finds everything in place and writes nothing:
			// the policy keeps its etag.
			before := c.snapshot(t)
			out = c.mustRun(t, sp, Options{})
			for _, w := range []string{"The key already has the label " + label + "=allow.",
				vendor.GCPServiceAccount + " already has " + flows.GCPVendorRole + " on the key.",
				"Key resource name (save this for next step): " + key + "\n"} {
				if !strings.Contains(out, w) {
					t.Fatalf("the second run does not say %q:\n%s", w, out)
				}
			}
			if after := c.snapshot(t); after != before {
				t.Fatalf("the second run changed the project:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if k == flows.KeyNew && !strings.Contains(out, "Key rek-new exists; using it.") {
				t.Fatalf("the second run of the new-key script:\n%s", out)
			}

			if k == flows.KeyExisting {
				c.dryRun(t, sp, Options{Teardown: true},
					"Would remove "+vendor.GCPServiceAccount+"'s "+flows.GCPVendorRole+" from the key, keeping every other binding.",
					"Would remove the label "+label+"=allow from the key, keeping its other labels.")
			}
			versions := c.versions(t, key)
			out = c.mustRun(t, sp, Options{Teardown: true})
			for _, w := range []string{"Removed " + vendor.GCPServiceAccount + "'s " + flows.GCPVendorRole + " from the key; every other binding kept.",
				"Removed the label " + label + "; the key's other labels kept.", "Key rek-" + string(k) + " is untouched"} {
				if !strings.Contains(out, w) {
					t.Fatalf("the teardown does not say %q:\n%s", w, out)
				}
			}
			if got := bindingJSON(t, c.policy(t, key)); !mapsEqual(got, theirs) {
				t.Fatalf("after teardown the key's bindings are\n%v\nwant (the customer's own, byte for byte)\n%v", got, theirs)
			}
			labels := c.sb.GCPKeyLabels(key)
			if _, ok := labels[label]; ok || k == flows.KeyExisting && (len(labels) != 1 || labels[theirLabel] != theirLabelValue) || k == flows.KeyNew && len(labels) != 0 {
				t.Fatalf("labels after teardown: %v", labels)
			}
			if got := c.versions(t, key); got != versions {
				t.Fatalf("the teardown changed the key's versions:\n%s\nwant\n%s", got, versions)
			}
			if err := c.vendorUses(key); err == nil || !strings.Contains(err.Error(), "PERMISSION_DENIED") && !strings.Contains(err.Error(), "403") {
				t.Fatalf("after teardown the vendor's encrypt: %v, want a permission denied", err)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (c *gcpCloud) versions(t *testing.T, key string) string {
	t.Helper()
	vs, err := c.kms.CryptoKeys.CryptoKeyVersions.List(key).Do()
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(vs.CryptoKeyVersions)
	return string(j)
}

// checkGranted checks, through the SDK, exactly what the setup changed:
// the domain label beside the key's other labels, and the vendor's one
// binding without a condition beside the customer's own bindings, which
// are byte for byte as they were.
func (c *gcpCloud) checkGranted(t *testing.T, sp flows.SetupSpec, theirs map[string]string) {
	t.Helper()
	key := sp.KeyResource().String()
	got := bindingJSON(t, c.policy(t, key))
	want := map[string]string{}
	for k, v := range theirs {
		want[k] = v
	}
	ours, _ := json.Marshal(&cloudkms.Binding{Role: flows.GCPVendorRole, Members: []string{vendor.GCPMember()}})
	want[flows.GCPVendorRole] = string(ours)
	if !mapsEqual(got, want) {
		t.Fatalf("the key's bindings after setup:\n%v\nwant\n%v", got, want)
	}
	labels := c.sb.GCPKeyLabels(key)
	wantLabels := map[string]string{flows.GCPDomainLabel(sp.Domain): flows.GCPLabelValue}
	if sp.Key == flows.KeyExisting {
		wantLabels[theirLabel] = theirLabelValue
	}
	if !mapsEqual(labels, wantLabels) {
		t.Fatalf("the key's labels after setup: %v, want %v", labels, wantLabels)
	}
}

// checkNewKey checks the key the new-key script made: a symmetric
// encryption key in the ring it made, with the protection level asked
// for and a yearly automatic rotation, one enabled version.
func (c *gcpCloud) checkNewKey(t *testing.T, sp flows.SetupSpec) {
	t.Helper()
	k, err := c.kms.CryptoKeys.Get(sp.KeyResource().String()).Do()
	if err != nil {
		t.Fatal(err)
	}
	next, err := time.Parse(time.RFC3339Nano, k.NextRotationTime)
	if err != nil || k.Purpose != "ENCRYPT_DECRYPT" || k.Primary == nil || k.Primary.State != "ENABLED" || k.Primary.ProtectionLevel != "HSM" ||
		k.RotationPeriod != "31536000s" || time.Until(next) < 364*24*time.Hour || time.Until(next) > 366*24*time.Hour {
		t.Fatalf("the new key: %+v (next rotation %v)", k, err)
	}
	if v := c.versions(t, k.Name); strings.Count(v, `"name"`) != 1 {
		t.Fatalf("the new key's versions: %s", v)
	}
}

// TestGCPScriptsStop runs the scripts, with the real gcloud against the
// sandbox, where they must stop before changing anything, and checks
// they say why: a key that does not exist, a key for signing, a key
// whose domain label has another value (setup and teardown), and no
// credentials.
func TestGCPScriptsStop(t *testing.T) {
	t.Parallel()
	c := gcpSandbox(t)
	ring := "stops"
	signing := gcpSpec(flows.KeyExisting, "dm-GCPSTOP0001", ring, "signing")
	c.sb.CreateGCPKey(signing.Project, signing.Location, ring, "signing", fakecloud.GCPKeyOptions{Purpose: "ASYMMETRIC_SIGN", Algorithm: "EC_SIGN_P256_SHA256"})
	taken := gcpSpec(flows.KeyExisting, "dm-GCPSTOP0002", ring, "taken")
	c.sb.CreateGCPKey(taken.Project, taken.Location, ring, "taken", fakecloud.GCPKeyOptions{
		Labels: map[string]string{flows.GCPDomainLabel(taken.Domain): "deny"}})
	missing := gcpSpec(flows.KeyExisting, "dm-GCPSTOP0003", ring, "no-such-key")
	before := c.snapshot(t)

	for _, tc := range []struct {
		name string
		sp   flows.SetupSpec
		opts Options
		env  []string
		want []string
	}{
		{"missing key", missing, Options{}, nil, []string{"NOT_FOUND", "rekwiz: cannot read the key " + missing.KeyResource().String(), "Nothing was changed."}},
		{"signing key", signing, Options{}, nil, []string{"rekwiz: key signing has the purpose ASYMMETRIC_SIGN; the vendor needs a symmetric encryption key (ENCRYPT_DECRYPT). Nothing was changed."}},
		{"label of another value", taken, Options{}, nil, []string{`rekwiz: the key already has a label dm-gcpstop0002 with the value "deny", not allow; rekwiz does not overwrite it and changed nothing.`}},
		{"teardown, label of another value", taken, Options{Teardown: true}, nil, []string{`rekwiz: the key's label dm-gcpstop0002 is "deny", not allow, which is the value rekwiz writes; it is left as it is.`}},
		{"not signed in", missing, Options{}, []string{"CLOUDSDK_AUTH_ACCESS_TOKEN=", "CLOUDSDK_CORE_ACCOUNT="}, []string{"rekwiz: the Google Cloud CLI is not signed in; run 'gcloud auth login' (Cloud Shell is signed in already)."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, err := c.run(t, tc.sp, tc.opts, tc.env...)
			if err == nil {
				t.Fatalf("the script did not stop:\n%s\n%s", out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Fatalf("stderr does not say %q:\n%s\nstdout:\n%s", w, errOut, out)
				}
			}
		})
	}
	t.Cleanup(func() {
		if after := c.snapshot(t); after != before {
			t.Errorf("a stopped script changed the project:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}
