package gcpkms_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/gcpkms"
)

func spec(k flows.KeyChoice, key, protection string) flows.SetupSpec {
	return flows.SetupSpec{Provider: flows.GCPDelegated, Domain: domain, Vendor: vendor, Key: k,
		Project: fakecloud.GCPProject, Location: fakecloud.GCPLocation, KeyRing: ring, KeyName: key, ProtectionLevel: protection}
}

// rawPolicy reads a resource's IAM policy over plain HTTP as the
// customer: its bindings as the JSON the server sent, compacted.
func (e *env) rawPolicy(t *testing.T, resource string) (bindings []string, etag string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.Server.GCPKMSEndpoint()+"v1/"+resource+":getIamPolicy?options.requestedPolicyVersion=3", nil)
	req.Header.Set("Authorization", "Bearer "+e.GCPCustomer().AccessToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var p struct {
		Bindings []json.RawMessage
		Etag     string
	}
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	for _, b := range p.Bindings {
		var c bytes.Buffer
		if err := json.Compact(&c, b); err != nil {
			t.Fatal(err)
		}
		bindings = append(bindings, c.String())
	}
	return bindings, p.Etag
}

func (e *env) setup() *gcpkms.Setup {
	s := gcpkms.NewSetup(e.cfg)
	s.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	return s
}

func events(t *testing.T) (func(flows.SetupEvent), func() []flows.SetupEvent) {
	var (
		mu  sync.Mutex
		evs []flows.SetupEvent
	)
	return func(ev flows.SetupEvent) {
			mu.Lock()
			defer mu.Unlock()
			if strings.ContainsAny(ev.Detail, "\n\x1b") {
				t.Errorf("event %q has a line break or escape", ev.Detail)
			}
			evs = append(evs, ev)
		}, func() []flows.SetupEvent {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(evs)
		}
}

func calls(evs []flows.SetupEvent) []string {
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Call)
	}
	return out
}

// TestSetupExistingKeyKeepsWhatIsThere: the set-up adds the label and the
// binding and keeps the key's other labels, and every other binding byte
// for byte (another member of the vendor's role among them); a second run
// changes nothing; the result is the key's resource name, and the check
// then passes.
func TestSetupExistingKeyKeepsWhatIsThere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	name := e.SeedGCPDemo() // a label owner=platform-team and a viewer binding of the customer's
	e.GrantGCPRole(name, flows.GCPVendorRole, "user:alice@example.com")
	sp := spec(flows.KeyExisting, fakecloud.GCPDemoKey, "")
	sp.KeyRing = fakecloud.GCPDemoKeyRing
	before, _ := e.rawPolicy(t, name)

	plan, err := e.setup().Plan(context.Background(), sp)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Changes) != 2 || !strings.Contains(plan.Changes[0], "add "+vendor.GCPMember()) ||
		plan.Changes[1] != "set the key's labels from owner=platform-team to "+label+"=allow, owner=platform-team" || plan.Account != fakecloud.GCPProject {
		t.Fatalf("plan: %+v", plan)
	}

	report, got := events(t)
	res, err := e.setup().Run(context.Background(), sp, report)
	if err != nil {
		t.Fatal(err)
	}
	if res.Paste[flows.FieldKeyResource] != name {
		t.Fatalf("paste %v, want %s", res.Paste, name)
	}
	after, _ := e.rawPolicy(t, name)
	if len(after) != len(before) {
		t.Fatalf("bindings before %q, after %q", before, after)
	}
	for i := range before {
		if strings.Contains(before[i], flows.GCPVendorRole) {
			want := strings.Replace(before[i], `"user:alice@example.com"]`, `"user:alice@example.com","`+vendor.GCPMember()+`"]`, 1)
			if after[i] != want {
				t.Errorf("the vendor's role binding is %s, want %s", after[i], want)
			}
			continue
		}
		if after[i] != before[i] {
			t.Errorf("a foreign binding changed:\n%s\n%s", before[i], after[i])
		}
	}
	if l := e.GCPKeyLabels(name); len(l) != 2 || l["owner"] != "platform-team" || l[label] != "allow" {
		t.Errorf("labels %v", l)
	}
	for _, want := range []string{"gcloud kms keys describe", "gcloud kms keys update", "gcloud kms keys add-iam-policy-binding"} {
		if !slices.Contains(calls(got()), want) {
			t.Errorf("no %s event in %q", want, calls(got()))
		}
	}

	// Again: nothing to change.
	report2, got2 := events(t)
	if _, err := e.setup().Run(context.Background(), sp, report2); err != nil {
		t.Fatal(err)
	}
	if c := calls(got2()); slices.Contains(c, "gcloud kms keys update") || slices.Contains(c, "gcloud kms keys add-iam-policy-binding") {
		t.Errorf("a second run changed something: %q", c)
	}
	if again, _ := e.rawPolicy(t, name); !slices.Equal(again, after) {
		t.Errorf("a second run changed the policy:\n%q\n%q", after, again)
	}
	tg := target(fakecloud.GCPDemoKey)
	tg.KeyResource.KeyRing = fakecloud.GCPDemoKeyRing
	if checks := e.run(t, tg); !flows.Passed(checks) {
		t.Errorf("the check after set-up:%s", dump(checks))
	}
}

// TestSetupNewKey: the key ring is created when missing, the key with
// its protection level, automatic rotation and the label; a second run
// finds both and treats the key as existing.
func TestSetupNewKey(t *testing.T) {
	t.Parallel()
	for _, prot := range []string{flows.ProtectionHSM, flows.ProtectionSoftware} {
		t.Run(prot, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			sp := spec(flows.KeyNew, "rek-new", prot)
			plan, err := e.setup().Plan(context.Background(), sp)
			if err != nil {
				t.Fatal(err)
			}
			if len(plan.Changes) != 4 || !strings.HasPrefix(plan.Changes[0], "create the key ring ") || !strings.Contains(plan.Changes[1], strings.ToUpper(prot)+", rotated every 90 days") {
				t.Fatalf("plan %q", plan.Changes)
			}
			report, got := events(t)
			res, err := e.setup().Run(context.Background(), sp, report)
			if err != nil {
				t.Fatal(err)
			}
			name := res.Paste[flows.FieldKeyResource]
			if name != sp.KeyResource().String() {
				t.Fatalf("paste %q", name)
			}
			if c := calls(got()); !slices.Contains(c, "gcloud kms keyrings create") || !slices.Contains(c, "gcloud kms keys create") {
				t.Errorf("calls %q", c)
			}
			checks := e.run(t, target("rek-new"))
			c := byID(checks)
			if !flows.Passed(checks) || !strings.Contains(c[gcpkms.CheckKeyInfo].Detail, "protection level "+strings.ToUpper(prot)+"; rotates every 90 days, next on "+time.Now().Add(gcpkms.RotationPeriod).UTC().Format("2006-01-02")) {
				t.Fatalf("the new key:%s", dump(checks))
			}

			// Again, as after an interrupted run: the ring and key are found.
			report2, got2 := events(t)
			if _, err := e.setup().Run(context.Background(), sp, report2); err != nil {
				t.Fatal(err)
			}
			if c := calls(got2()); slices.Contains(c, "gcloud kms keyrings create") || slices.Contains(c, "gcloud kms keys create") || slices.Contains(c, "gcloud kms keys add-iam-policy-binding") {
				t.Errorf("a second run made something again: %q", c)
			}
		})
	}
}

// hook is a transport that runs before(r) ahead of each request.
type hook func(r *http.Request)

func (h hook) RoundTrip(r *http.Request) (*http.Response, error) {
	h(r)
	return http.DefaultTransport.RoundTrip(r)
}

// TestSetupNewKeyMadeMeanwhile: the key appears between the plan and the
// create (another run made it): Cloud KMS answers ALREADY_EXISTS, and the
// key is set up as an existing one, its labels kept.
func TestSetupNewKeyMadeMeanwhile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.CreateGCPKeyRing(fakecloud.GCPProject, fakecloud.GCPLocation, ring)
	e.cfg.HTTP = &http.Client{Transport: hook(func(r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/cryptoKeys") {
			e.key("rek", fakecloud.GCPKeyOptions{Labels: map[string]string{"owner": "x"}})
		}
	})}
	sp := spec(flows.KeyNew, "rek", "hsm")
	report, got := events(t)
	if _, err := e.setup().Run(context.Background(), sp, report); err != nil {
		t.Fatal(err)
	}
	if l := e.GCPKeyLabels(sp.KeyResource().String()); l["owner"] != "x" || l[label] != "allow" {
		t.Errorf("labels %v", l)
	}
	if !slices.ContainsFunc(got(), func(ev flows.SetupEvent) bool { return strings.Contains(ev.Detail, "exists (made by an earlier run)") }) {
		t.Errorf("events %+v", got())
	}
}

// conflicting is a transport that, before the first setIamPolicy it
// carries, changes the policy as another admin would (a binding of its
// own): the set-up's write then has a stale etag.
type conflicting struct {
	e     *env
	key   string
	once  sync.Once
	every bool // conflict on every write
	sets  int
	mu    sync.Mutex
}

func (c *conflicting) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, ":setIamPolicy") {
		c.mu.Lock()
		c.sets++
		c.mu.Unlock()
		if c.every {
			c.e.GrantGCPRole(c.key, fakecloud.RoleKMSViewer, "user:someone@example.com")
		}
		c.once.Do(func() { c.e.GrantGCPRole(c.key, fakecloud.RoleKMSViewer, "group:other-admins@example.com") })
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestSetupRetriesAStaleEtag: a policy changed between the set-up's read
// and its write is read again and merged again: the other change is kept.
func TestSetupRetriesAStaleEtag(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tg := e.key("rek", fakecloud.GCPKeyOptions{})
	name := tg.KeyResource.String()
	tr := &conflicting{e: e, key: name}
	e.cfg.HTTP = &http.Client{Transport: tr}
	report, got := events(t)
	if _, err := e.setup().Run(context.Background(), spec(flows.KeyExisting, "rek", ""), report); err != nil {
		t.Fatal(err)
	}
	after, _ := e.rawPolicy(t, name)
	joined := strings.Join(after, "\n")
	if tr.sets != 2 || !strings.Contains(joined, "group:other-admins@example.com") || !strings.Contains(joined, vendor.GCPMember()) {
		t.Fatalf("%d writes; policy:\n%s", tr.sets, joined)
	}
	if !slices.ContainsFunc(got(), func(ev flows.SetupEvent) bool { return strings.Contains(ev.Detail, "reading it again") }) {
		t.Errorf("no event said the policy was read again: %q", calls(got()))
	}
}

// TestSetupConflictsEnd: a policy that changes at every write ends the
// set-up after a few tries, and ctrl+c ends it at once.
func TestSetupConflictsEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tg := e.key("rek", fakecloud.GCPKeyOptions{})
	tr := &conflicting{e: e, key: tg.KeyResource.String(), every: true}
	e.cfg.HTTP = &http.Client{Transport: tr}
	_, err := e.setup().Run(context.Background(), spec(flows.KeyExisting, "rek", ""), nil)
	if err == nil || !strings.Contains(err.Error(), "ABORTED") || tr.sets != 5 {
		t.Fatalf("%d writes: %v", tr.sets, err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	s := e.setup()
	s.Sleep = func(ctx context.Context, d time.Duration) error { cancel(); return ctx.Err() }
	tr.sets = 0
	_, err = s.Run(ctx, spec(flows.KeyExisting, "rek", ""), nil)
	if !errors.Is(err, context.Canceled) || tr.sets != 1 {
		t.Fatalf("%d writes after ctrl+c: %v", tr.sets, err)
	}
}

// TestSetupRefuses: a key that is not for encryption, or is missing,
// stops the set-up before any change.
func TestSetupRefuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.key("sign", fakecloud.GCPKeyOptions{Purpose: "ASYMMETRIC_SIGN", Algorithm: "EC_SIGN_P256_SHA256"})
	for key, want := range map[string]string{
		"sign":    "is for ASYMMETRIC_SIGN, not ENCRYPT_DECRYPT (encryption); nothing was changed",
		"missing": "no key missing in the key ring rekwiz",
	} {
		report, got := events(t)
		_, err := e.setup().Run(context.Background(), spec(flows.KeyExisting, key, ""), report)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", key, err, want)
		}
		if evs := got(); len(evs) != 1 || evs[0].Err == nil {
			t.Errorf("%s: events %+v", key, evs)
		}
	}
	if l := e.GCPKeyLabels(target("sign").KeyResource.String()); len(l) != 0 {
		t.Errorf("labels changed: %v", l)
	}
}

// TestSetupNeedsTheRights: a sign-in that may read the key but not change
// it is told which permissions it lacks, and nothing changes.
func TestSetupNeedsTheRights(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tg := e.key("rek", fakecloud.GCPKeyOptions{Labels: map[string]string{"owner": "x"}})
	name := tg.KeyResource.String()
	// The vendor's service account, as a customer who may only read.
	e.GrantGCPRole(name, fakecloud.RoleKMSViewer, vendor.GCPMember())
	vend := e.GCPVendor()
	e.cfg.Customer = gcpkms.Fixed(gcpkms.StaticToken("a reader", vend.Email, vend.AccessToken))
	before, _ := e.rawPolicy(t, name)

	plan, err := e.setup().Plan(context.Background(), spec(flows.KeyExisting, "rek", ""))
	if err != nil {
		t.Fatal(err)
	}
	last := plan.Changes[len(plan.Changes)-1]
	if !strings.HasPrefix(last, "cannot go ahead: you lack cloudkms.cryptoKeys.update, cloudkms.cryptoKeys.getIamPolicy, cloudkms.cryptoKeys.setIamPolicy") ||
		!strings.Contains(last, "gcloud kms keyrings add-iam-policy-binding rekwiz --location us-east1 --project rekwiz-demo") {
		t.Fatalf("plan %q", plan.Changes)
	}
	_, err = e.setup().Run(context.Background(), spec(flows.KeyExisting, "rek", ""), nil)
	if !errors.Is(err, gcpkms.ErrMissingRights) || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("run: %v", err)
	}
	if after, _ := e.rawPolicy(t, name); !slices.Equal(after, before) {
		t.Errorf("policy changed: %q", after)
	}
	if l := e.GCPKeyLabels(name); len(l) != 1 {
		t.Errorf("labels changed: %v", l)
	}
}
