package azurehsm_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/azurehsm"
	"github.com/rekwiz/rekwiz/providers/checkrun/checkruntest"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

const (
	domain = "dm-LCAJVnUE94B"
	hsm    = "contoso-hsm"
)

type env struct {
	*fakecloudtest.Env
	opts azcore.ClientOptions
}

func start(t *testing.T) *env {
	t.Helper()
	e := fakecloudtest.Start(t, fakecloud.Options{Seed: 7, Vendor: fakecloudtest.Vendor})
	e.CreateHSM(hsm)
	// The customer holds Administrator, which may not touch keys, and
	// Crypto User on every key, as Microsoft's quickstart has it give
	// itself.
	e.AssignHSMRole(hsm, e.AzureCustomer().ObjectID, "Managed HSM Crypto User", "/keys")
	return &env{Env: e, opts: azcore.ClientOptions{Transport: e.Server.AzureHTTPClient()}}
}

func (e *env) cred(app fakecloud.AzureApp) func(string) (azcore.TokenCredential, error) {
	return func(tenant string) (azcore.TokenCredential, error) {
		return azidentity.NewClientSecretCredential(tenant, app.ClientID, app.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: e.opts, DisableInstanceDiscovery: true})
	}
}

func (e *env) setup() *azurehsm.Setup {
	c, _ := e.cred(e.AzureCustomer())(e.AzureTenant())
	return &azurehsm.Setup{Credential: c, TenantID: e.AzureTenant(), Options: e.opts}
}

func (e *env) pairing(opts ...azurehsm.Option) *azurehsm.Pairing {
	return azurehsm.NewPairing(azurehsm.Config{Credential: e.cred(e.AzureVendor()), Options: e.opts}, append([]azurehsm.Option{azurehsm.WithWait(0)}, opts...)...)
}

func spec(k flows.KeyChoice, name string) flows.SetupSpec {
	return flows.SetupSpec{Provider: flows.AzureDelegated, Key: k, Domain: domain, Vendor: fakecloudtest.Vendor, HSMName: hsm, KeyName: name}
}

func target(t *testing.T, keyURL, tenant string) flows.Target {
	t.Helper()
	u, err := flows.ParseKeyURL(keyURL)
	if err != nil {
		t.Fatal(err)
	}
	return flows.Target{Provider: flows.AzureDelegated, Domain: domain, Vendor: fakecloudtest.Vendor, KeyURL: u, TenantID: tenant}
}

func byID(checks []flows.Check) map[string]flows.Check {
	m := map[string]flows.Check{}
	for _, c := range checks {
		m[c.ID] = c
	}
	return m
}

// TestSetupThenPair: the setup through azkeys, Graph and the RBAC API,
// on an existing key with a tag of its own and on a new key; the vendor's
// check then passes, the key's other tag is kept, and a second setup
// changes nothing.
func TestSetupThenPair(t *testing.T) {
	t.Parallel()
	e := start(t)
	ctx := context.Background()
	e.CreateHSMKey(hsm, "customer-rek", fakecloud.HSMKeyOptions{Tags: map[string]string{"owner": "platform team"}})
	for _, sp := range []flows.SetupSpec{spec(flows.KeyExisting, "customer-rek"), spec(flows.KeyNew, "rek-"+domain)} {
		var events []string
		res, err := e.setup().Run(ctx, sp, func(ev flows.SetupEvent) { events = append(events, ev.Call+": "+ev.Detail) })
		if err != nil {
			t.Fatalf("%s: %v (%v)", sp.Key, err, events)
		}
		if res.Paste[flows.FieldTenantID] != e.AzureTenant() || !strings.HasPrefix(res.Paste[flows.FieldKeyURL], "https://"+hsm+".managedhsm.azure.net/keys/"+sp.KeyName+"/") {
			t.Fatalf("paste %v", res.Paste)
		}
		// Only a key that had tags is said to keep them.
		if kept := strings.Contains(strings.Join(events, "\n"), "its other tags kept"); kept != (sp.Key == flows.KeyExisting) {
			t.Errorf("%s: \"its other tags kept\" said: %v (%v)", sp.Key, kept, events)
		}
		checks := e.pairing().Run(ctx, target(t, res.Paste[flows.FieldKeyURL], res.Paste[flows.FieldTenantID]), nil)
		if !flows.Passed(checks) {
			t.Fatalf("%s: %+v", sp.Key, checks)
		}
		if c := byID(checks)[azurehsm.CheckRoundTrip]; c.Status != flows.StatusPass {
			t.Fatalf("round trip %+v", c)
		}
		again, err := e.setup().Run(ctx, sp, func(ev flows.SetupEvent) {
			if strings.Contains(ev.Call, "create") || strings.Contains(ev.Call, "set-attributes") {
				t.Errorf("second run: %s", ev.Call)
			}
		})
		if err != nil || again.Paste[flows.FieldKeyURL] != res.Paste[flows.FieldKeyURL] {
			t.Fatalf("second run: %v %v", again.Paste, err)
		}
	}
	checks := e.pairing().Run(ctx, target(t, "https://"+hsm+".managedhsm.azure.net/keys/customer-rek", e.AzureTenant()), nil)
	if c := byID(checks)[azurehsm.CheckTag]; c.Status != flows.StatusPass {
		t.Fatalf("tag %+v", c)
	}
}

type failure struct {
	name    string
	prepare func(t *testing.T, e *env) flows.Target
	id      string
	detail  string
	remedy  string
}

// granted makes a key the vendor may use, tagged for the domain.
func granted(e *env, name string, o fakecloud.HSMKeyOptions) string {
	if o.Tags == nil {
		o.Tags = map[string]string{domain: "allow"}
	}
	url := e.CreateHSMKey(hsm, name, o)
	e.AssignHSMRole(hsm, e.CreateServicePrincipal(fakecloudtest.Vendor.AzureAppID), flows.AzureRoleEncryptionUser, "/keys/"+name)
	return url
}

var failures = []failure{
	{"missing role", func(t *testing.T, e *env) flows.Target {
		url := e.CreateHSMKey(hsm, "k1", fakecloud.HSMKeyOptions{Tags: map[string]string{domain: "allow"}})
		e.CreateServicePrincipal(fakecloudtest.Vendor.AzureAppID)
		return target(t, url, e.AzureTenant())
	}, azurehsm.CheckKey, "the vendor's application 11111111-2222-3333-4444-555555555555 may not use key k1 (AccessDenied)",
		`az keyvault role assignment create --hsm-name contoso-hsm --role "Managed HSM Crypto Service Encryption User" --assignee 11111111-2222-3333-4444-555555555555 --scope /keys/k1`},
	{"role at the wrong scope", func(t *testing.T, e *env) flows.Target {
		granted(e, "other", fakecloud.HSMKeyOptions{})
		url := e.CreateHSMKey(hsm, "k2", fakecloud.HSMKeyOptions{Tags: map[string]string{domain: "allow"}})
		return target(t, url, e.AzureTenant())
	}, azurehsm.CheckKey, "may not use key k2", "--scope /keys/k2"},
	{"missing tag", func(t *testing.T, e *env) flows.Target {
		return target(t, granted(e, "k3", fakecloud.HSMKeyOptions{Tags: map[string]string{"owner": "x"}}), e.AzureTenant())
	}, azurehsm.CheckTag, "the key has no tag dm-LCAJVnUE94B=allow", "run the setup script again"},
	{"tag of another domain", func(t *testing.T, e *env) flows.Target {
		return target(t, granted(e, "k4", fakecloud.HSMKeyOptions{Tags: map[string]string{"dm-OTHERDOMAIN": "allow"}}), e.AzureTenant())
	}, azurehsm.CheckTag, "the key is tagged for dm-OTHERDOMAIN, not dm-LCAJVnUE94B", "adds the tag"},
	{"disabled key", func(t *testing.T, e *env) flows.Target {
		return target(t, granted(e, "k5", fakecloud.HSMKeyOptions{Disabled: true}), e.AzureTenant())
	}, azurehsm.CheckKeyState, "the key is disabled", "az keyvault key set-attributes --hsm-name contoso-hsm --name k5 --enabled true"},
	{"expired key", func(t *testing.T, e *env) flows.Target {
		past := time.Now().Add(-48 * time.Hour).UTC()
		return target(t, granted(e, "k6", fakecloud.HSMKeyOptions{Expires: &past}), e.AzureTenant())
	}, azurehsm.CheckKeyState, "the key expired on " + time.Now().Add(-48*time.Hour).UTC().Format("2006-01-02"), "--expires"},
	{"RSA key", func(t *testing.T, e *env) flows.Target {
		return target(t, granted(e, "k7", fakecloud.HSMKeyOptions{Kty: "RSA-HSM", Size: 2048}), e.AzureTenant())
	}, azurehsm.CheckKeyType, "the key is RSA-HSM; the vendor wraps with symmetric oct-HSM keys", "choose an oct-HSM key"},
	{"no wrapKey operation", func(t *testing.T, e *env) flows.Target {
		return target(t, granted(e, "k8", fakecloud.HSMKeyOptions{Ops: []string{"encrypt", "unwrapKey"}}), e.AzureTenant())
	}, azurehsm.CheckKeyType, "the key does not allow wrapKey", "--ops encrypt wrapKey unwrapKey"},
	{"wrong tenant", func(t *testing.T, e *env) flows.Target {
		return target(t, granted(e, "k9", fakecloud.HSMKeyOptions{}), "72f988bf-86f1-41af-91ab-2d7cd011db47")
	}, azurehsm.CheckCredential, "tenant 72f988bf-86f1-41af-91ab-2d7cd011db47 does not exist", "paste the Tenant ID the script printed"},
	{"no service principal", func(t *testing.T, e *env) flows.Target {
		return target(t, e.CreateHSMKey(hsm, "k10", fakecloud.HSMKeyOptions{}), e.AzureTenant())
	}, azurehsm.CheckCredential, "has no service principal in tenant", "az ad sp create --id 11111111-2222-3333-4444-555555555555"},
	{"key not found", func(t *testing.T, e *env) flows.Target {
		// A role on every key, so the lookup is not refused first.
		e.AssignHSMRole(hsm, e.CreateServicePrincipal(fakecloudtest.Vendor.AzureAppID), flows.AzureRoleEncryptionUser, "/keys")
		return target(t, "https://contoso-hsm.managedhsm.azure.net/keys/nope", e.AzureTenant())
	}, azurehsm.CheckKey, "no key nope in Managed HSM contoso-hsm (tried https://contoso-hsm.managedhsm.azure.net/keys/nope)", "paste the key URL"},
}

func TestEachFailure(t *testing.T) {
	t.Parallel()
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			e := start(t)
			checks := e.pairing().Run(context.Background(), f.prepare(t, e), nil)
			c := byID(checks)[f.id]
			if c.Status != flows.StatusFail || !strings.Contains(c.Detail, f.detail) || !strings.Contains(c.Remedy, f.remedy) {
				t.Fatalf("%s = %+v\nwant fail, detail %q, remedy %q", f.id, c, f.detail, f.remedy)
			}
			if flows.Passed(checks) {
				t.Fatal("passed")
			}
		})
	}
}

// TestRoleAssignmentIsAwaited: denied until the role assignment lands
// 5 s into the wait; the check counts down, retries, and passes.
func TestRoleAssignmentIsAwaited(t *testing.T) {
	t.Parallel()
	e := start(t)
	url := e.CreateHSMKey(hsm, "late", fakecloud.HSMKeyOptions{Tags: map[string]string{domain: "allow"}})
	sp := e.CreateServicePrincipal(fakecloudtest.Vendor.AzureAppID)
	var mu sync.Mutex
	now, slept := time.Unix(1_800_000_000, 0), time.Duration(0)
	clockNow := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	sleep := func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		now, slept = now.Add(d), slept+d
		s := slept
		mu.Unlock()
		if s == 5*time.Second {
			e.AssignHSMRole(hsm, sp, flows.AzureRoleEncryptionUser, "/keys/late")
		}
		return ctx.Err()
	}
	var countdown []string
	checks := e.pairing(azurehsm.WithWait(90*time.Second), azurehsm.WithClock(clockNow, sleep)).Run(context.Background(), target(t, url, e.AzureTenant()), func(c flows.Check) {
		if strings.Contains(c.Detail, "retrying in") {
			countdown = append(countdown, c.Detail)
		}
	})
	if !flows.Passed(checks) || len(countdown) == 0 || !strings.Contains(countdown[0], "a new role assignment can take minutes to apply: retrying in 2s (90s left)") {
		t.Fatalf("checks %+v\ncountdown %q", checks, countdown)
	}
}

// TestThrottlingIsRetried: a 429 with Retry-After is retried by the SDK.
func TestThrottlingIsRetried(t *testing.T) {
	t.Parallel()
	e := start(t)
	url := granted(e, "busy", fakecloud.HSMKeyOptions{})
	e.Inject(fakecloud.Fault{Service: "hsm", Code: "Throttled", Message: "Too many requests", Status: 429, Times: 2})
	if checks := e.pairing().Run(context.Background(), target(t, url, e.AzureTenant()), nil); !flows.Passed(checks) {
		t.Fatalf("%+v", checks)
	}
}

// asCustomer is the check as rekwiz verify and the real wizard make it:
// with the customer's own sign-in.
func (e *env) asCustomer() *azurehsm.Pairing {
	return azurehsm.NewPairing(azurehsm.Config{Credential: e.cred(e.AzureCustomer()), Options: e.opts, AsCustomer: true}, azurehsm.WithWait(0))
}

// holding gives the vendor's service principal a role at a scope, on a
// tagged key k.
func holding(role, scope string) func(e *env) string {
	return func(e *env) string {
		url := e.CreateHSMKey(hsm, "k", fakecloud.HSMKeyOptions{Tags: map[string]string{domain: "allow"}})
		e.AssignHSMRole(hsm, e.CreateServicePrincipal(fakecloudtest.Vendor.AzureAppID), role, scope)
		return url
	}
}

// TestAsCustomer: run as the customer, the round trip proves the key
// works and the vendor's access is read from the role assignments, so a
// missing or misplaced role is still found.
func TestAsCustomer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const app = "11111111-2222-3333-4444-555555555555"
	cases := []struct {
		name    string
		prepare func(e *env) string
		status  flows.Status
		detail  string
		remedy  string
	}{
		{"after setup", func(e *env) string {
			e.CreateHSMKey(hsm, "k", fakecloud.HSMKeyOptions{})
			res, err := e.setup().Run(ctx, spec(flows.KeyExisting, "k"), func(flows.SetupEvent) {})
			if err != nil {
				t.Fatal(err)
			}
			return res.Paste[flows.FieldKeyURL]
		}, flows.StatusPass, "Managed HSM Crypto Service Encryption User at /keys/k (assignment ", ""},
		{"crypto user at the key", holding("Managed HSM Crypto User", "/keys/k"), flows.StatusWarn,
			"Managed HSM Crypto User at /keys/k (assignment ", "give it Managed HSM Crypto Service Encryption User at /keys/k only"},
		{"encryption user on every key", holding("Managed HSM Crypto Service Encryption User", "/keys"), flows.StatusWarn,
			"Managed HSM Crypto Service Encryption User at /keys (assignment ", "--scope /keys/k"},
		{"encryption user on the whole HSM", holding("Managed HSM Crypto Service Encryption User", "/"), flows.StatusWarn,
			"it covers every key and role in the HSM, not only /keys/k", ""},
		{"officer on every key", holding("Managed HSM Crypto Officer", "/keys"), flows.StatusFail,
			"may not read, wrap, unwrap with key k (it holds Managed HSM Crypto Officer at /keys", "--role \"Managed HSM Crypto Service Encryption User\""},
		{"administrator", holding("Managed HSM Administrator", "/"), flows.StatusFail,
			"(it holds Managed HSM Administrator at /, which grants no read, wrap, unwrap of keys)", "--scope /keys/k"},
		{"missing role", func(e *env) string {
			e.CreateServicePrincipal(app)
			return e.CreateHSMKey(hsm, "k", fakecloud.HSMKeyOptions{Tags: map[string]string{domain: "allow"}})
		}, flows.StatusFail, "the vendor's application " + app + " may not read, wrap, unwrap with key k",
			`az keyvault role assignment create --hsm-name contoso-hsm --role "Managed HSM Crypto Service Encryption User" --assignee ` + app + " --scope /keys/k"},
		{"role at the wrong scope", func(e *env) string {
			granted(e, "other", fakecloud.HSMKeyOptions{})
			return e.CreateHSMKey(hsm, "k", fakecloud.HSMKeyOptions{Tags: map[string]string{domain: "allow"}})
		}, flows.StatusFail, "(it has Managed HSM Crypto Service Encryption User at /keys/other, which does not cover the key)", "--scope /keys/k"},
		{"only an auditor", holding("Managed HSM Crypto Auditor", "/"), flows.StatusFail, "may not wrap, unwrap with key k", "--role \"Managed HSM Crypto Service Encryption User\""},
		{"paged list", func(e *env) string {
			// Ten assignments of others first, one per page: the
			// vendor's is on a later page.
			e.SetHSMPageSize(1)
			for i := range 10 {
				e.AssignHSMRole(hsm, fmt.Sprintf("00000000-0000-0000-0000-%012d", i), "Managed HSM Crypto Auditor", "/keys")
			}
			return holding("Managed HSM Crypto Service Encryption User", "/keys/k")(e)
		}, flows.StatusPass, "Managed HSM Crypto Service Encryption User at /keys/k", ""},
		{"no service principal", func(e *env) string {
			return e.CreateHSMKey(hsm, "k", fakecloud.HSMKeyOptions{Tags: map[string]string{domain: "allow"}})
		}, flows.StatusFail, "has no service principal in tenant", "az ad sp create --id " + app},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := start(t)
			checks := e.asCustomer().Run(ctx, target(t, c.prepare(e), e.AzureTenant()), nil)
			got := byID(checks)
			role := got[azurehsm.CheckRole]
			if role.Status != c.status || !strings.Contains(role.Detail, c.detail) || !strings.Contains(role.Remedy, c.remedy) {
				t.Fatalf("role check %+v\nwant %s, detail %q, remedy %q", role, c.status, c.detail, c.remedy)
			}
			if rt := got[azurehsm.CheckRoundTrip]; rt.Status != flows.StatusPass {
				t.Fatalf("round trip as the customer: %+v", rt)
			}
			if flows.Passed(checks) != (c.status != flows.StatusFail) {
				t.Fatalf("passed = %v with the role check %s", flows.Passed(checks), role.Status)
			}
		})
	}
}

// TestAsCustomerDenied: when the customer's own sign-in may not use the
// key, the message says it is the customer, not the vendor, and the
// vendor's role is reported as unchecked, not missing.
func TestAsCustomerDenied(t *testing.T) {
	t.Parallel()
	e := start(t)
	url := granted(e, "k", fakecloud.HSMKeyOptions{})
	e.Inject(fakecloud.Fault{Service: "hsm", Caller: e.AzureCustomer().Name, Code: "Forbidden", Message: "Caller is not authorized to perform action on resource.", Status: 403})
	checks := byID(e.asCustomer().Run(context.Background(), target(t, url, e.AzureTenant()), nil))
	k := checks[azurehsm.CheckKey]
	if k.Status != flows.StatusFail || !strings.Contains(k.Detail, "your sign-in may not use key k (Forbidden); the check runs as you, not as the vendor") ||
		!strings.Contains(k.Remedy, `--assignee "$(az ad signed-in-user show --query id -o tsv)" --scope /keys/k`) {
		t.Fatalf("key check %+v", k)
	}
	if r := checks[azurehsm.CheckRole]; r.Status != flows.StatusWarn || !strings.Contains(r.Detail, "so the vendor's role was not checked") ||
		!strings.Contains(r.Remedy, "az keyvault role assignment list --hsm-name contoso-hsm --assignee") {
		t.Fatalf("role check %+v", r)
	}
}

// TestOneTokenPerResource: a check asks Entra ID once for the HSM's token
// (and once for Graph's, as the customer), however many clients use it,
// and discovers the tenant once.
func TestOneTokenPerResource(t *testing.T) {
	t.Parallel()
	for _, asCustomer := range []bool{false, true} {
		e := start(t)
		url := granted(e, "k", fakecloud.HSMKeyOptions{})
		tr := &checkruntest.Transport{Next: e.Server.AzureHTTPClient().Transport, Kind: azureKind}
		e.opts = azcore.ClientOptions{Transport: &http.Client{Transport: tr}}
		app := e.AzureVendor()
		if asCustomer {
			app = e.AzureCustomer()
		}
		checks := azurehsm.NewPairing(azurehsm.Config{Credential: e.cred(app), Options: e.opts, AsCustomer: asCustomer}, azurehsm.WithWait(0)).
			Run(context.Background(), target(t, url, e.AzureTenant()), nil)
		if !flows.Passed(checks) {
			t.Fatalf("as customer %v: %+v", asCustomer, checks)
		}
		count := map[string]int{}
		for _, c := range tr.Calls() {
			count[c.Kind]++
		}
		want := map[string]int{"entra discovery": 1, "token hsm": 1, "token graph": 0}
		if asCustomer {
			want["token graph"] = 1
		}
		for kind, n := range want {
			if count[kind] != n {
				t.Errorf("as customer %v: %d %q requests, want %d (all: %v)", asCustomer, count[kind], kind, n, count)
			}
		}
	}
}

// TestNothingReportedBeforeSignIn: the key, round trip and role start
// with the credential check, but none is reported until it has passed;
// when it fails, the others are only skipped.
func TestNothingReportedBeforeSignIn(t *testing.T) {
	t.Parallel()
	e := start(t)
	url := granted(e, "k", fakecloud.HSMKeyOptions{})
	for _, tenant := range []string{e.AzureTenant(), "72f988bf-86f1-41af-91ab-2d7cd011db47"} {
		var mu sync.Mutex
		var events []string
		checks := e.asCustomer().Run(context.Background(), target(t, url, tenant), func(c flows.Check) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, c.ID+" "+c.Status.String())
		})
		signedIn := tenant == e.AzureTenant()
		if flows.Passed(checks) != signedIn {
			t.Fatalf("tenant %s: %+v", tenant, checks)
		}
		want := []string{azurehsm.CheckCredential + " running", azurehsm.CheckCredential + " pass",
			azurehsm.CheckKey + " running", azurehsm.CheckRoundTrip + " running", azurehsm.CheckRole + " running"}
		if !signedIn {
			want = []string{azurehsm.CheckCredential + " running", azurehsm.CheckCredential + " fail", azurehsm.CheckKey + " skipped"}
		}
		if len(events) < len(want) || strings.Join(events[:len(want)], ", ") != strings.Join(want, ", ") {
			t.Errorf("tenant %s: reports %q, want them to begin %q", tenant, events, want)
		}
		for _, ev := range events[len(want):] {
			if !signedIn && !strings.HasSuffix(ev, " skipped") {
				t.Errorf("tenant %s: %s reported after the credential failed (%q)", tenant, ev, events)
			}
		}
	}
}
