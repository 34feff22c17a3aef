package azurehsm_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/azurehsm"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

// TestSetupStopsWithoutTheCustomersRights: a customer holding only
// Administrator may not read or change keys; set-up stops before any
// change, naming the exact command that grants what is missing.
func TestSetupStopsWithoutTheCustomersRights(t *testing.T) {
	t.Parallel()
	e := fakecloudtest.Start(t, fakecloud.Options{Seed: 7, Vendor: fakecloudtest.Vendor})
	e.CreateHSM(hsm)
	en := &env{Env: e, opts: (&env{}).opts}
	en.opts.Transport = e.Server.AzureHTTPClient()
	e.CreateHSMKey(hsm, "k", fakecloud.HSMKeyOptions{Tags: map[string]string{"owner": "x"}})
	var calls []string
	_, err := en.setup().Run(context.Background(), spec(flows.KeyExisting, "k"), func(ev flows.SetupEvent) { calls = append(calls, ev.Call) })
	want := `az keyvault role assignment create --hsm-name contoso-hsm --role "Managed HSM Crypto User" --assignee ` + e.AzureCustomer().ObjectID + " --scope /keys/k"
	if !errors.Is(err, azurehsm.ErrMissingRights) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("err = %v\nwant the command %s", err, want)
	}
	if strings.Contains(err.Error(), "Policy Administrator") {
		t.Errorf("Administrator may create role assignments; only the key role is missing: %v", err)
	}
	if e.CreateServicePrincipal(fakecloudtest.Vendor.AzureAppID) == "" || slices.ContainsFunc(calls, func(c string) bool { return strings.Contains(c, "create") || strings.Contains(c, "set-attributes") }) {
		t.Fatalf("calls %v", calls)
	}
	// Granting what it named lets set-up through.
	e.AssignHSMRole(hsm, e.AzureCustomer().ObjectID, "Managed HSM Crypto User", "/keys/k")
	if _, err := en.setup().Run(context.Background(), spec(flows.KeyExisting, "k"), func(flows.SetupEvent) {}); err != nil {
		t.Fatal(err)
	}
}

// TestPlanChangesNothing: the plan names the signed-in customer, the key,
// the role assignment and the tags, and leaves the HSM as it was.
func TestPlanChangesNothing(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.CreateHSMKey(hsm, "k", fakecloud.HSMKeyOptions{Tags: map[string]string{"owner": "platform"}})
	p, err := e.setup().ReadPlan(context.Background(), spec(flows.KeyExisting, "k"))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(p.Lines(), "\n")
	for _, want := range []string{"Signed in to tenant " + e.AzureTenant() + " as application " + e.AzureCustomer().ClientID,
		"Key k in Managed HSM contoso-hsm: exists", "Vendor's service principal: + create",
		`Role assignment: + "Managed HSM Crypto Service Encryption User" for the vendor's service principal at /keys/k`,
		"Tags before: owner=platform", "Tags after:  dm-LCAJVnUE94B=allow, owner=platform"} {
		if !strings.Contains(text, want) {
			t.Errorf("plan lacks %q:\n%s", want, text)
		}
	}
	if len(p.Missing) != 0 {
		t.Errorf("missing %v", p.Missing)
	}
	// Nothing changed: still no service principal, no tag, no role.
	checks := byID(e.asCustomer().Run(context.Background(), target(t, "https://contoso-hsm.managedhsm.azure.net/keys/k", e.AzureTenant()), nil))
	if c := checks[azurehsm.CheckTag]; c.Status != flows.StatusFail {
		t.Errorf("tag %+v", c)
	}
	if c := checks[azurehsm.CheckRole]; c.Status != flows.StatusFail || !strings.Contains(c.Detail, "no service principal") {
		t.Errorf("role %+v", c)
	}
}

// TestVendorAsksForCryptoUser: a profile asking for Crypto User gets it,
// the plan says what it allows, and the check warns naming the extras.
func TestVendorAsksForCryptoUser(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.CreateHSMKey(hsm, "k", fakecloud.HSMKeyOptions{})
	sp := spec(flows.KeyExisting, "k")
	sp.Vendor.AzureRole = flows.AzureRoleCryptoUser
	p, err := e.setup().ReadPlan(context.Background(), sp)
	if err != nil || !strings.Contains(strings.Join(p.Lines(), "\n"), "asks for Crypto User, which also lets it create, change and delete keys") {
		t.Fatalf("%v %q", err, p.Lines())
	}
	res, err := e.setup().Run(context.Background(), sp, func(flows.SetupEvent) {})
	if err != nil {
		t.Fatal(err)
	}
	tg := target(t, res.Paste[flows.FieldKeyURL], e.AzureTenant())
	tg.Vendor.AzureRole = flows.AzureRoleCryptoUser
	c := byID(e.asCustomer().Run(context.Background(), tg, nil))[azurehsm.CheckRole]
	if c.Status != flows.StatusWarn || !strings.Contains(c.Detail, "Managed HSM Crypto User at /keys/k") || !strings.Contains(c.Detail, "keys/delete") {
		t.Fatalf("%+v", c)
	}
}

// TestSetupNeverWidensOrRemoves: the vendor's existing other assignment
// on the key is kept as it is; only the missing one is added.
func TestSetupNeverWidensOrRemoves(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.CreateHSMKey(hsm, "k", fakecloud.HSMKeyOptions{})
	spID := e.CreateServicePrincipal(fakecloudtest.Vendor.AzureAppID)
	e.AssignHSMRole(hsm, spID, "Managed HSM Crypto Auditor", "/keys/k")
	var details []string
	if _, err := e.setup().Run(context.Background(), spec(flows.KeyExisting, "k"), func(ev flows.SetupEvent) { details = append(details, ev.Detail) }); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(details, "\n")
	if !strings.Contains(all, "the vendor also holds Managed HSM Crypto Auditor at /keys/k") || !strings.Contains(all, "gave the vendor Managed HSM Crypto Service Encryption User at /keys/k") {
		t.Fatal(all)
	}
	c := byID(e.asCustomer().Run(context.Background(), target(t, "https://contoso-hsm.managedhsm.azure.net/keys/k", e.AzureTenant()), nil))[azurehsm.CheckRole]
	if c.Status != flows.StatusWarn || !strings.Contains(c.Detail, "Managed HSM Crypto Auditor at /keys/k (assignment ") || !strings.Contains(c.Detail, "keys/deletedKeys/read/action") {
		t.Fatalf("the auditor assignment should still be there: %+v", c)
	}
}

// TestUnknownHSM: an HSM name that does not resolve is said as such, and
// each request to it is sent once: the SDK's retries (about 9 s of
// backoff) would not make the name resolve.
func TestUnknownHSM(t *testing.T) {
	t.Parallel()
	e := start(t)
	granted(e, "k", fakecloud.HSMKeyOptions{})
	tries := &countingTransport{next: e.opts.Transport, host: "contoso-hsn.managedhsm.azure.net", n: map[string]int{}}
	e.opts.Transport = tries
	checks := e.pairing().Run(context.Background(), target(t, "https://contoso-hsn.managedhsm.azure.net/keys/k", e.AzureTenant()), nil)
	c := byID(checks)[azurehsm.CheckKey]
	if c.Status != flows.StatusFail || c.Detail != "no Managed HSM named contoso-hsn (contoso-hsn.managedhsm.azure.net does not resolve)" || !strings.Contains(c.Remedy, "az keyvault list --resource-type hsm") {
		t.Fatalf("%+v", c)
	}
	if len(tries.n) == 0 {
		t.Fatal("no request went to the unknown HSM")
	}
	for req, n := range tries.n {
		if n != 1 {
			t.Errorf("%s was tried %d times", req, n)
		}
	}
}

// countingTransport counts the requests to one host by method and path.
type countingTransport struct {
	next policy.Transporter
	host string
	mu   sync.Mutex
	n    map[string]int
}

func (c *countingTransport) Do(req *http.Request) (*http.Response, error) {
	if req.URL.Host == c.host {
		c.mu.Lock()
		c.n[req.Method+" "+req.URL.Path]++
		c.mu.Unlock()
	}
	return c.next.Do(req)
}

// TestSetupChecksTheKeyBeforeAnyChange: a key the vendor cannot wrap with
// (RSA) stops set-up before it changes anything; the service principal
// used to be created first.
func TestSetupChecksTheKeyBeforeAnyChange(t *testing.T) {
	t.Parallel()
	e := start(t)
	e.CreateHSMKey(hsm, "k", fakecloud.HSMKeyOptions{Kty: "RSA-HSM", Size: 2048})
	var calls []string
	_, err := e.setup().Run(context.Background(), spec(flows.KeyExisting, "k"), func(ev flows.SetupEvent) { calls = append(calls, ev.Call) })
	if err == nil || !strings.Contains(err.Error(), "not an oct-HSM key") || !strings.Contains(err.Error(), "nothing was changed") {
		t.Fatalf("err = %v", err)
	}
	for _, c := range calls {
		if c != "az keyvault key show" && c != "az keyvault role assignment list" {
			t.Fatalf("set-up made %q before finding the key unusable (calls %q)", c, calls)
		}
	}
	if _, err := e.setup().Plan(context.Background(), spec(flows.KeyExisting, "k")); err == nil || !strings.Contains(err.Error(), "not an oct-HSM key") {
		t.Fatalf("the plan does not say the key is unusable: %v", err)
	}
}
