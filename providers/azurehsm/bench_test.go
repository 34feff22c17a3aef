package azurehsm_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/azurehsm"
	"github.com/rekwiz/rekwiz/providers/checkrun/checkruntest"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

// latency is what every Azure request costs on top of the sandbox's own
// time in the benchmarks: a round trip to the region.
const latency = 50 * time.Millisecond

// azureKind names a request to Entra ID, Microsoft Graph or Managed HSM.
// An HSM request without a bearer token is azkeys' challenge (it learns
// the tenant and resource from the 401).
func azureKind(r *http.Request, body []byte) string {
	host, path := r.URL.Hostname(), r.URL.Path
	switch {
	case host == "login.microsoftonline.com" && strings.HasSuffix(path, "/.well-known/openid-configuration"):
		return "entra discovery"
	case host == "login.microsoftonline.com" && strings.HasSuffix(path, "/discovery/instance"):
		return "entra instance discovery"
	case host == "login.microsoftonline.com" && strings.HasSuffix(path, "/token"):
		q, _ := url.ParseQuery(string(body))
		if strings.Contains(q.Get("scope"), "graph") {
			return "token graph"
		}
		return "token hsm"
	case strings.HasPrefix(host, "graph."):
		return "graph " + r.Method
	case r.Header.Get("Authorization") == "":
		return "hsm challenge"
	case strings.Contains(path, "/providers/Microsoft.Authorization/"):
		return "hsm " + path[strings.LastIndex(path, "/")+1:]
	case strings.HasSuffix(path, "/wrapkey"):
		return "hsm WrapKey"
	case strings.HasSuffix(path, "/unwrapkey"):
		return "hsm UnwrapKey"
	}
	return "hsm " + r.Method + " key"
}

// azureNeeds are what each request cannot be made without: a token
// needs the tenant's discovery; azkeys' requests need its challenge and
// a token for the HSM; the role reads need an HSM token, Graph's a Graph
// token; UnwrapKey needs WrapKey's result.
var azureNeeds = checkruntest.Needs{
	"entra discovery":     {"entra instance discovery"},
	"token hsm":           {"entra discovery"},
	"token graph":         {"entra discovery"},
	"hsm GET key":         {"hsm challenge", "token hsm"},
	"hsm WrapKey":         {"hsm challenge", "token hsm"},
	"hsm UnwrapKey":       {"hsm WrapKey"},
	"hsm roleAssignments": {"token hsm"},
	"hsm roleDefinitions": {"token hsm"},
	"graph GET":           {"token graph"},
}

// BenchmarkPairingCheck runs the Azure check against the sandbox with
// 50 ms added to every request (token, discovery, challenge, Graph,
// HSM), as the vendor's application (the demo) and as the customer
// (verify: the vendor's role read from Graph and the HSM's role
// assignments), and reports the wall time beside the critical path of
// the requests it made.
func BenchmarkPairingCheck(b *testing.B) {
	for _, who := range []string{"vendor", "customer"} {
		b.Run("as="+who, func(b *testing.B) {
			e := fakecloudtest.Start(b, fakecloud.Options{Seed: 7, Vendor: fakecloudtest.Vendor})
			e.CreateHSM(hsm)
			e.AssignHSMRole(hsm, e.AzureCustomer().ObjectID, "Managed HSM Crypto User", "/keys")
			en := &env{Env: e, opts: azcore.ClientOptions{Transport: e.Server.AzureHTTPClient()}}
			res, err := en.setup().Run(context.Background(), spec(flows.KeyNew, "rek-"+domain), func(flows.SetupEvent) {})
			if err != nil {
				b.Fatal(err)
			}
			u, err := flows.ParseKeyURL(res.Paste[flows.FieldKeyURL])
			if err != nil {
				b.Fatal(err)
			}
			tg := flows.Target{Provider: flows.AzureDelegated, Domain: domain, Vendor: fakecloudtest.Vendor, KeyURL: u, TenantID: e.AzureTenant()}

			tr := &checkruntest.Transport{Next: e.Server.AzureHTTPClient().Transport, Delay: latency, Kind: azureKind}
			en.opts = azcore.ClientOptions{Transport: &http.Client{Transport: tr}}
			app := e.AzureVendor()
			if who == "customer" {
				app = e.AzureCustomer()
			}
			p := azurehsm.NewPairing(azurehsm.Config{Credential: en.cred(app), Options: en.opts, AsCustomer: who == "customer"}, azurehsm.WithWait(0))
			tr.Measure(b, azureNeeds, func() error {
				res := p.Run(context.Background(), tg, nil)
				for _, c := range res {
					if c.Status != flows.StatusPass {
						return fmt.Errorf("%s: %+v", c.ID, c)
					}
				}
				return nil
			})
		})
	}
}
