package azurehsm

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/rekwiz/rekwiz/flows"
)

type fakeCred struct{}

func (fakeCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	// header.{"tid":"t","oid":"o","upn":"u"}.sig
	return azcore.AccessToken{Token: "e30.eyJ0aWQiOiJ0Iiwib2lkIjoibyIsInVwbiI6InUifQ.c2ln", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// replies answers each request by its path's last element.
type replies map[string]string

func (r replies) Do(req *http.Request) (*http.Response, error) {
	p := strings.TrimSuffix(req.URL.Path, "/")
	body, ok := r[p[strings.LastIndex(p, "/")+1:]]
	if !ok {
		body = r["*"]
	}
	return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
}

// TestRepliesMissingFields: well-formed replies that lack a field rekwiz
// reads give a failed check or an error naming the field, never a panic.
func TestRepliesMissingFields(t *testing.T) {
	t.Parallel()
	u, _ := flows.ParseKeyURL("https://contoso-hsm.managedhsm.azure.net/keys/k")
	tg := flows.Target{Provider: flows.AzureDelegated, Domain: "dm-LCAJVnUE94B", KeyURL: u, TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47",
		Vendor: flows.Vendor{AzureAppID: "11111111-2222-3333-4444-555555555555"}}
	cfg := func(r replies) Config {
		return Config{Credential: func(string) (azcore.TokenCredential, error) { return fakeCred{}, nil }, Options: azcore.ClientOptions{Transport: r}, AsCustomer: true}
	}
	checks := NewPairing(cfg(replies{"k": `{"attributes":{"enabled":true}}`, "wrapkey": `{"kid":"x"}`, "*": `{}`}), WithWait(0)).Run(context.Background(), tg, nil)
	got := map[string]flows.Check{}
	for _, c := range checks {
		got[c.ID] = c
	}
	if c := got[CheckKey]; c.Status != flows.StatusFail || !strings.Contains(c.Detail, `"key.kid"`) {
		t.Errorf("key %+v", c)
	}
	if c := got[CheckRole]; c.Status != flows.StatusWarn || !strings.Contains(c.Detail, `"id"`) {
		t.Errorf("role %+v", c)
	}
	if err := roundTrip(context.Background(), mustKeys(t, replies{"wrapkey": `{"kid":"x"}`}), u); err == nil || !strings.Contains(err.Error(), `WrapKey has no "value"`) {
		t.Errorf("round trip: %v", err)
	}
	s := &Setup{Credential: fakeCred{}, TenantID: "t", Options: azcore.ClientOptions{Transport: replies{"roleAssignments": `{}`, "*": `{"id":"sp"}`, "k": `{"key":{"kid":"https://contoso-hsm.managedhsm.azure.net/keys/k/1","kty":"oct-HSM","key_ops":["wrapKey","unwrapKey"]}}`}}}
	_, err := s.ReadPlan(context.Background(), flows.SetupSpec{Provider: flows.AzureDelegated, Key: flows.KeyExisting, Domain: "dm-LCAJVnUE94B", HSMName: "contoso-hsm", KeyName: "k", Vendor: tg.Vendor})
	if err == nil || !strings.Contains(err.Error(), `has no "value"`) {
		t.Errorf("plan: %v", err)
	}
}

func mustKeys(t *testing.T, r replies) *azkeys.Client {
	c, err := azkeys.NewClient("https://contoso-hsm.managedhsm.azure.net", fakeCred{}, &azkeys.ClientOptions{ClientOptions: azcore.ClientOptions{Transport: r}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
