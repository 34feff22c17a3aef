package gcpkms_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
	"github.com/rekwiz/rekwiz/providers/gcpkms"
)

var vendor = flows.Vendor{
	Name: "Acme", Slug: "acme", AWSAccountID: "999988887777",
	GCPServiceAccount: "rekwiz-pairing@acme-kms.iam.gserviceaccount.com",
}

const (
	domain = "dm-LCAJVnUE94B"
	label  = "dm-lcajvnue94b"
	ring   = "rekwiz"
)

// env is a sandbox and the configuration that reaches it: the
// customer's admin reads, the vendor's service account encrypts.
type env struct {
	*fakecloudtest.Env
	cfg gcpkms.Config
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := fakecloudtest.Start(t, fakecloud.Options{Seed: 1, Vendor: vendor, GCPServiceAccount: vendor.GCPServiceAccount})
	cust, vend := e.GCPCustomer(), e.GCPVendor()
	return &env{Env: e, cfg: gcpkms.Config{
		Endpoint:        e.Server.GCPKMSEndpoint(),
		ResourceManager: e.Server.GCPKMSEndpoint(),
		Customer: func(context.Context) (gcpkms.Identity, error) {
			return gcpkms.StaticToken("the customer's admin "+cust.Email, cust.Email, cust.AccessToken), nil
		},
		Vendor: func(context.Context) (gcpkms.Identity, error) {
			return gcpkms.StaticToken("the vendor", vend.Email, vend.AccessToken), nil
		},
	}}
}

// key makes a key in the ring and returns its target.
func (e *env) key(name string, o fakecloud.GCPKeyOptions) flows.Target {
	e.CreateGCPKey(fakecloud.GCPProject, fakecloud.GCPLocation, ring, name, o)
	return target(name)
}

func target(key string) flows.Target {
	return flows.Target{Provider: flows.GCPDelegated, Domain: domain, Vendor: vendor,
		KeyResource: flows.KeyResource{Project: fakecloud.GCPProject, Location: fakecloud.GCPLocation, KeyRing: ring, Key: key}}
}

// goodKey is a key set up as the script sets it up.
func (e *env) goodKey(name string) flows.Target {
	t := e.key(name, fakecloud.GCPKeyOptions{Labels: map[string]string{label: "allow", "owner": "platform"}, RotationPeriod: gcpkms.RotationPeriod})
	e.GrantGCPRole(t.KeyResource.String(), flows.GCPVendorRole, vendor.GCPMember())
	return t
}

func byID(checks []flows.Check) map[string]flows.Check {
	m := map[string]flows.Check{}
	for _, c := range checks {
		m[c.ID] = c
	}
	return m
}

func dump(checks []flows.Check) string {
	var b strings.Builder
	for _, c := range checks {
		b.WriteString("\n  " + c.ID + " " + c.Status.String() + ": " + c.Detail + " | " + c.Remedy)
	}
	return b.String()
}

// run runs the check once, without waiting on denials.
func (e *env) run(t *testing.T, tg flows.Target, opts ...gcpkms.Option) []flows.Check {
	t.Helper()
	return gcpkms.NewPairing(e.cfg, append([]gcpkms.Option{gcpkms.WithWait(0)}, opts...)...).Run(context.Background(), tg, nil)
}

func TestGoodKeyPasses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	checks := e.run(t, e.goodKey("rek"))
	if !flows.Passed(checks) {
		t.Fatalf("a good key did not pass:%s", dump(checks))
	}
	c := byID(checks)
	for id, want := range map[string]string{
		gcpkms.CheckCredentials: "the vendor's service account " + vendor.GCPServiceAccount,
		gcpkms.CheckBinding:     vendor.GCPMember() + " holds " + flows.GCPVendorRole,
		gcpkms.CheckRoundTrip:   "as the vendor's service account",
		gcpkms.CheckKeyInfo:     "protection level HSM; rotates every 90 days",
		gcpkms.CheckLabel:       label + "=allow",
	} {
		if c[id].Status != flows.StatusPass || !strings.Contains(c[id].Detail, want) {
			t.Errorf("%s: %s %q, want a pass saying %q", id, c[id].Status, c[id].Detail, want)
		}
	}
	if len(checks) != len(gcpkms.NewPairing(e.cfg).Plan(flows.Target{})) {
		t.Errorf("ran %d checks, the plan has another number", len(checks))
	}
}

// TestEachFaultFailsItsCheck: every way a key can be wrong fails (or
// warns at) the check that names it, with its own advice.
func TestEachFaultFailsItsCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range faults() {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			checks := e.run(t, tc.setup(e))
			c := byID(checks)[tc.id]
			if c.Status != tc.status || !strings.Contains(c.Detail, tc.detail) || !strings.Contains(c.Remedy, tc.remedy) {
				t.Fatalf("%s: %s %q | %q, want %s with %q | %q:%s", tc.id, c.Status, c.Detail, c.Remedy, tc.status, tc.detail, tc.remedy, dump(checks))
			}
			if tc.status == flows.StatusFail && flows.Passed(checks) {
				t.Fatal("the checks passed with a failure")
			}
			for _, o := range checks {
				if o.ID != tc.id && o.Status == flows.StatusFail && o.ID != gcpkms.CheckRoundTrip {
					t.Errorf("another check failed too: %s %q", o.ID, o.Detail)
				}
			}
		})
	}
}

// fault is a way a key can be wrong, and what the check says of it.
type fault struct {
	name   string
	setup  func(e *env) flows.Target
	id     string
	status flows.Status
	detail string
	remedy string
}

func faults() []fault {
	return []fault{
		{"no binding", func(e *env) flows.Target {
			return e.key("k", fakecloud.GCPKeyOptions{Labels: map[string]string{label: "allow"}})
		}, gcpkms.CheckBinding, flows.StatusFail, "does not give " + vendor.GCPMember(), "gcloud kms keys add-iam-policy-binding k --keyring rekwiz"},
		{"binding on the key ring only", func(e *env) flows.Target {
			t := e.key("k", fakecloud.GCPKeyOptions{Labels: map[string]string{label: "allow"}})
			e.GrantGCPRole(t.KeyResource.KeyRingName(), flows.GCPVendorRole, vendor.GCPMember())
			return t
		}, gcpkms.CheckBinding, flows.StatusFail, "not on the key but above it (" + flows.GCPVendorRole + " on the key ring rekwiz)", "bind on the key"},
		{"disabled primary version", func(e *env) flows.Target {
			t := e.goodKey("k")
			e.SetGCPVersionState(t.KeyResource.String(), 0, "DISABLED")
			return t
		}, gcpkms.CheckKeyState, flows.StatusFail, "the primary version 1 is disabled", "gcloud kms keys versions enable 1 --key k"},
		{"destroyed primary version", func(e *env) flows.Target {
			t := e.goodKey("k")
			e.SetGCPVersionState(t.KeyResource.String(), 0, "DESTROYED")
			return t
		}, gcpkms.CheckKeyState, flows.StatusFail, "was destroyed", "gcloud kms keys versions create --key k"},
		{"primary version scheduled for destruction", func(e *env) flows.Target {
			t := e.goodKey("k")
			e.SetGCPVersionState(t.KeyResource.String(), 0, "DESTROY_SCHEDULED")
			return t
		}, gcpkms.CheckKeyState, flows.StatusFail, "scheduled to be destroyed on ", "gcloud kms keys versions restore 1"},
		{"primary version pending generation", func(e *env) flows.Target {
			t := e.goodKey("k")
			e.SetGCPVersionState(t.KeyResource.String(), 0, "PENDING_GENERATION")
			return t
		}, gcpkms.CheckKeyState, flows.StatusFail, "still being generated", "wait a minute"},
		{"missing label", func(e *env) flows.Target {
			t := e.key("k", fakecloud.GCPKeyOptions{Labels: map[string]string{"owner": "platform"}})
			e.GrantGCPRole(t.KeyResource.String(), flows.GCPVendorRole, vendor.GCPMember())
			return t
		}, gcpkms.CheckLabel, flows.StatusFail, "no label " + label + "=allow", "--update-labels " + label + "=allow"},
		{"another domain's label", func(e *env) flows.Target {
			t := e.key("k", fakecloud.GCPKeyOptions{Labels: map[string]string{"dm-otherdomain": "allow"}})
			e.GrantGCPRole(t.KeyResource.String(), flows.GCPVendorRole, vendor.GCPMember())
			return t
		}, gcpkms.CheckLabel, flows.StatusFail, "labelled for dm-otherdomain, not for " + domain, "keeps the key's other labels"},
		{"wrong purpose", func(e *env) flows.Target {
			t := e.key("k", fakecloud.GCPKeyOptions{Purpose: "ASYMMETRIC_SIGN", Algorithm: "EC_SIGN_P256_SHA256", Labels: map[string]string{label: "allow"}})
			e.GrantGCPRole(t.KeyResource.String(), flows.GCPVendorRole, vendor.GCPMember())
			return t
		}, gcpkms.CheckPurpose, flows.StatusFail, "wrong purpose: the key's purpose is ASYMMETRIC_SIGN", "--purpose encryption"},
		{"key not found", func(e *env) flows.Target {
			e.goodKey("k")
			return target("nope")
		}, gcpkms.CheckKey, flows.StatusFail, "no key nope in the key ring rekwiz", "gcloud kms keys list --keyring rekwiz"},
		{"a wider role", func(e *env) flows.Target {
			t := e.goodKey("k")
			e.GrantGCPRole(t.KeyResource.String(), fakecloud.RoleKMSAdmin, vendor.GCPMember())
			return t
		}, gcpkms.CheckBinding, flows.StatusWarn, "more than it needs: " + fakecloud.RoleKMSAdmin + " on the key", "remove-iam-policy-binding"},
		{"a wider role on the project", func(e *env) flows.Target {
			t := e.goodKey("k")
			e.GrantGCPRole(fakecloud.GCPProject, fakecloud.RoleKMSAdmin, vendor.GCPMember())
			return t
		}, gcpkms.CheckBinding, flows.StatusWarn, "more than it needs: " + fakecloud.RoleKMSAdmin + " on the project rekwiz-demo", "remove-iam-policy-binding"},
		{"the role on the key and on the key ring", func(e *env) flows.Target {
			t := e.goodKey("k")
			e.GrantGCPRole(t.KeyResource.KeyRingName(), flows.GCPVendorRole, vendor.GCPMember())
			return t
		}, gcpkms.CheckBinding, flows.StatusWarn, flows.GCPVendorRole + " on the key ring rekwiz", ""},
		{"encrypter and decrypter are enough", func(e *env) flows.Target {
			t := e.key("k", fakecloud.GCPKeyOptions{Labels: map[string]string{label: "allow"}})
			e.GrantGCPRole(t.KeyResource.String(), fakecloud.RoleCryptoKeyEncrypter, vendor.GCPMember())
			e.GrantGCPRole(t.KeyResource.String(), fakecloud.RoleCryptoKeyDecrypter, vendor.GCPMember())
			return t
		}, gcpkms.CheckBinding, flows.StatusPass, "holds " + fakecloud.RoleCryptoKeyEncrypter + ", " + fakecloud.RoleCryptoKeyDecrypter, ""},
		{"encrypter alone is not", func(e *env) flows.Target {
			t := e.key("k", fakecloud.GCPKeyOptions{Labels: map[string]string{label: "allow"}})
			e.GrantGCPRole(t.KeyResource.String(), fakecloud.RoleCryptoKeyEncrypter, vendor.GCPMember())
			return t
		}, gcpkms.CheckBinding, flows.StatusFail, "it holds " + fakecloud.RoleCryptoKeyEncrypter + " on the key", "add-iam-policy-binding"},
		{"our label and another domain's", func(e *env) flows.Target {
			t := e.key("k", fakecloud.GCPKeyOptions{Labels: map[string]string{label: "allow", "dm-otherdomain": "allow"}})
			e.GrantGCPRole(t.KeyResource.String(), flows.GCPVendorRole, vendor.GCPMember())
			return t
		}, gcpkms.CheckLabel, flows.StatusWarn, "also labelled for dm-otherdomain", "--remove-labels dm-otherdomain"},
	}
}

// fakeClock counts time without waiting.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
	// onSleep runs at each sleep (it may cancel the check).
	onSleep func()
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.slept += d
	f := c.onSleep
	c.mu.Unlock()
	if f != nil {
		f()
	}
	return ctx.Err()
}

// TestDeniedRoundTripWaits: the vendor's binding is on the key but the
// vendor is still denied (IAM has not applied it yet): the check tries
// again, with the countdown, and passes once Google lets it through.
func TestDeniedRoundTripWaits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tg := e.goodKey("rek")
	e.Inject(fakecloud.Fault{Service: "cloudkms", Operation: "Encrypt", Caller: "vendor", Code: "PERMISSION_DENIED", Status: 403,
		Message: "Permission 'cloudkms.cryptoKeyVersions.useToEncrypt' denied on resource (or it may not exist).", Times: 2})
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	var (
		mu        sync.Mutex
		countdown []string
	)
	checks := gcpkms.NewPairing(e.cfg, gcpkms.WithWait(90*time.Second), gcpkms.WithClock(clk.Now, clk.Sleep)).
		Run(context.Background(), tg, func(c flows.Check) {
			if c.Wait != nil {
				mu.Lock()
				countdown = append(countdown, c.Detail)
				mu.Unlock()
			}
		})
	if !flows.Passed(checks) {
		t.Fatalf("did not pass once the binding applied:%s", dump(checks))
	}
	if len(countdown) == 0 || !strings.Contains(countdown[0], "Google Cloud may still be applying an IAM change: retrying in 2s") {
		t.Fatalf("no countdown: %q", countdown)
	}
}

// TestMissingBindingDoesNotWait: a denial with no binding on the key is
// no IAM change on its way: the check does not wait.
func TestMissingBindingDoesNotWait(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tg := e.key("rek", fakecloud.GCPKeyOptions{Labels: map[string]string{label: "allow"}})
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	checks := gcpkms.NewPairing(e.cfg, gcpkms.WithWait(90*time.Second), gcpkms.WithClock(clk.Now, clk.Sleep)).Run(context.Background(), tg, nil)
	c := byID(checks)
	if c[gcpkms.CheckRoundTrip].Status != flows.StatusFail || c[gcpkms.CheckBinding].Status != flows.StatusFail || clk.slept != 0 {
		t.Fatalf("slept %s:%s", clk.slept, dump(checks))
	}
	if !strings.Contains(c[gcpkms.CheckRoundTrip].Remedy, "gcloud kms keys add-iam-policy-binding rek") || c[gcpkms.CheckRoundTrip].Fix != flows.StepScript {
		t.Errorf("round trip remedy %q fix %v", c[gcpkms.CheckRoundTrip].Remedy, c[gcpkms.CheckRoundTrip].Fix)
	}
}

// TestDenialPollingStopsOnCancel: ctrl+c during the wait ends the check
// at once.
func TestDenialPollingStopsOnCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tg := e.goodKey("rek")
	e.Inject(fakecloud.Fault{Service: "cloudkms", Operation: "Encrypt", Caller: "vendor", Code: "PERMISSION_DENIED", Status: 403, Message: "denied"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	sleeps := 0
	clk.onSleep = func() {
		if sleeps++; sleeps == 3 {
			cancel()
		}
	}
	done := make(chan []flows.Check)
	go func() {
		done <- gcpkms.NewPairing(e.cfg, gcpkms.WithWait(time.Hour), gcpkms.WithClock(clk.Now, clk.Sleep)).Run(ctx, tg, nil)
	}()
	select {
	case checks := <-done:
		if flows.Passed(checks) || sleeps != 3 {
			t.Fatalf("slept %d times:%s", sleeps, dump(checks))
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the check went on after ctx was cancelled")
	}
}

// TestAsCustomer: without the vendor's credentials, the round trip runs
// as the customer, and the vendor's access is judged from the policies.
func TestAsCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.Vendor = nil
	checks := e.run(t, e.goodKey("rek"))
	if !flows.Passed(checks) {
		t.Fatalf("did not pass:%s", dump(checks))
	}
	if rt := byID(checks)[gcpkms.CheckRoundTrip]; !strings.Contains(rt.Detail, "as your credentials") {
		t.Errorf("round trip: %q", rt.Detail)
	}
}

// TestServiceAccountKeyFile: credentials from a service account's key
// file get their token from the token_uri it names (the sandbox's JWT
// bearer grant), as Application Default Credentials do with
// GOOGLE_APPLICATION_CREDENTIALS.
func TestServiceAccountKeyFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	keyJSON := func(id fakecloud.GCPIdentity) func(context.Context) (gcpkms.Identity, error) {
		b, err := e.GCPServiceAccountJSON(id, e.Server.GCPTokenURL())
		if err != nil {
			t.Fatal(err)
		}
		return func(ctx context.Context) (gcpkms.Identity, error) { return gcpkms.FromJSON(ctx, b) }
	}
	e.cfg.Customer, e.cfg.Vendor = keyJSON(e.GCPCustomer()), keyJSON(e.GCPVendor())
	checks := e.run(t, e.goodKey("rek"))
	if !flows.Passed(checks) {
		t.Fatalf("did not pass:%s", dump(checks))
	}
	if c := byID(checks)[gcpkms.CheckCredentials]; !strings.Contains(c.Detail, "checking as the service account "+e.GCPCustomer().Email) {
		t.Errorf("credentials: %q", c.Detail)
	}
}

// TestNoSignIn: without Application Default Credentials, the credentials
// check says so in one sentence naming the command, and nothing else runs.
func TestNoSignIn(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	t.Setenv("HOME", t.TempDir())
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	t.Setenv("GCE_METADATA_HOST", "") // empty is unset: the metadata server is probed, and is not there
	cfg := gcpkms.DefaultConfig(func(string) string { return "http://127.0.0.1:1/" })
	checks := gcpkms.NewPairing(cfg, gcpkms.WithWait(0)).Run(context.Background(), target("rek"), nil)
	c := byID(checks)[gcpkms.CheckCredentials]
	if c.Status != flows.StatusFail || !strings.Contains(c.Detail, "no Google Cloud sign-in found") || !strings.Contains(c.Detail, "gcloud auth application-default login") || strings.Contains(c.Detail, "\n") {
		t.Fatalf("credentials: %s %q", c.Status, c.Detail)
	}
	for _, o := range checks[1:] {
		if o.Status != flows.StatusSkipped {
			t.Errorf("%s ran without credentials: %s", o.ID, o.Status)
		}
	}
}

// TestVerifyThroughTheEnvironment: as `rekwiz verify` against `rekwiz
// sandbox`: Application Default Credentials from
// GOOGLE_APPLICATION_CREDENTIALS (a key file whose token_uri is the
// sandbox's) and the endpoint from REKWIZ_GCP_KMS_ENDPOINT.
func TestVerifyThroughTheEnvironment(t *testing.T) {
	e := newEnv(t)
	tg := e.goodKey("rek")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", e.GCPCredentialsFile(t, e.GCPCustomer()))
	cfg := gcpkms.DefaultConfig(func(k string) string {
		if k == gcpkms.EndpointEnv {
			return e.Server.GCPKMSEndpoint()
		}
		return ""
	})
	checks := gcpkms.NewPairing(cfg, gcpkms.WithWait(0)).Run(context.Background(), tg, nil)
	if !flows.Passed(checks) {
		t.Fatalf("did not pass:%s", dump(checks))
	}
	if c := byID(checks)[gcpkms.CheckCredentials]; c.Detail != "checking as the service account "+e.GCPCustomer().Email {
		t.Errorf("credentials: %q", c.Detail)
	}
}

// TestBindingOnTheProjectOnly: the vendor's role granted on the project
// (read through Resource Manager's projects.getIamPolicy) covers every
// key in it: the check fails and says to bind on the key.
func TestBindingOnTheProjectOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tg := e.key("rek", fakecloud.GCPKeyOptions{Labels: map[string]string{label: "allow"}})
	e.GrantGCPRole(fakecloud.GCPProject, flows.GCPVendorRole, vendor.GCPMember())
	checks := e.run(t, tg)
	c := byID(checks)
	if b := c[gcpkms.CheckBinding]; b.Status != flows.StatusFail || !strings.Contains(b.Detail, "not on the key but above it ("+flows.GCPVendorRole+" on the project rekwiz-demo)") ||
		!strings.Contains(b.Remedy, "gcloud kms keys add-iam-policy-binding rek") {
		t.Fatalf("binding:%s", dump(checks))
	}
	if c[gcpkms.CheckRoundTrip].Status != flows.StatusPass {
		t.Errorf("the project's grant lets the vendor through:%s", dump(checks))
	}
}

// TestAsCustomerWhoMayNotEncrypt: an admin of the key may not use it:
// without the vendor's credentials the round trip is then not made (a
// warning), and the vendor's binding read from the policy decides.
func TestAsCustomerWhoMayNotEncrypt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.Vendor = nil
	tg := e.goodKey("rek")
	e.Inject(fakecloud.Fault{Service: "cloudkms", Operation: "Encrypt", Caller: "customer", Code: "PERMISSION_DENIED", Status: 403, Message: "denied"})
	clk := &fakeClock{now: time.Unix(1e9, 0)}
	checks := gcpkms.NewPairing(e.cfg, gcpkms.WithWait(time.Minute), gcpkms.WithClock(clk.Now, clk.Sleep)).Run(context.Background(), tg, nil)
	rt := byID(checks)[gcpkms.CheckRoundTrip]
	if !flows.Passed(checks) || rt.Status != flows.StatusWarn || !strings.HasPrefix(rt.Detail, "not made: your credentials") || clk.slept != 0 {
		t.Fatalf("slept %s:%s", clk.slept, dump(checks))
	}
}

// TestRefusedSignIn: a key file Google's token endpoint refuses (an
// account it does not know) fails the credentials check, saying so.
func TestRefusedSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b, err := e.GCPServiceAccountJSON(e.GCPCustomer(), e.Server.GCPTokenURL())
	if err != nil {
		t.Fatal(err)
	}
	b = []byte(strings.ReplaceAll(string(b), e.GCPCustomer().Email, "gone-account@rekwiz-demo.iam.gserviceaccount.com"))
	e.cfg.Customer = func(ctx context.Context) (gcpkms.Identity, error) { return gcpkms.FromJSON(ctx, b) }
	checks := e.run(t, e.goodKey("rek"))
	c := byID(checks)[gcpkms.CheckCredentials]
	if c.Status != flows.StatusFail || c.Detail != "Google refused the sign-in of your credentials (invalid_grant)" || !strings.Contains(c.Remedy, "gcloud auth application-default login") {
		t.Fatalf("credentials: %s %q %q", c.Status, c.Detail, c.Remedy)
	}
}

// TestVendorAsksWhatItHolds: a wider role the customer's reads cannot see
// (on the project, whose policy is not read here, as from a folder or
// organization in real life) shows in what the vendor's service account
// holds on the key (testIamPermissions, which needs no permission): a
// warning naming the extra permissions.
func TestVendorAsksWhatItHolds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.ResourceManager = "" // as a folder's policy: not read
	tg := e.goodKey("rek")
	e.GrantGCPRole(fakecloud.GCPProject, fakecloud.RoleKMSAdmin, vendor.GCPMember())
	checks := e.run(t, tg)
	b := byID(checks)[gcpkms.CheckBinding]
	if b.Status != flows.StatusWarn || !strings.Contains(b.Detail, "also holds cloudkms.cryptoKeys.get, cloudkms.cryptoKeys.update") || !strings.Contains(b.Detail, "outside the policies read") {
		t.Fatalf("binding:%s", dump(checks))
	}
	if !flows.Passed(checks) {
		t.Errorf("a warning failed the check:%s", dump(checks))
	}
}

// TestVendorProfileMismatch: the vendor's credentials must be the service
// account the profile names, or the checks would judge another's binding.
func TestVendorProfileMismatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tg := e.goodKey("rek")
	tg.Vendor.GCPServiceAccount = "someone-else@acme-kms.iam.gserviceaccount.com"
	checks := e.run(t, tg)
	if c := byID(checks)[gcpkms.CheckCredentials]; c.Status != flows.StatusFail || !strings.Contains(c.Detail, "but the vendor profile names someone-else@") {
		t.Fatalf("credentials:%s", dump(checks))
	}
}
