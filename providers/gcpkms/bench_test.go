package gcpkms_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/checkrun/checkruntest"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/gcpkms"
)

// latency is what every Google request costs on top of the sandbox's own
// time in the benchmark: a round trip to the region.
const latency = 50 * time.Millisecond

// gcpKind names a request: a token (whose, from the JWT assertion's
// issuer), or a Cloud KMS or Resource Manager method and what it is on.
func gcpKind(customer string) func(r *http.Request, body []byte) string {
	return func(r *http.Request, body []byte) string {
		path := r.URL.Path
		if path == "/token" {
			q, _ := url.ParseQuery(string(body))
			parts := strings.Split(q.Get("assertion"), ".")
			var claims struct{ Iss string }
			if len(parts) == 3 {
				b, _ := base64.RawURLEncoding.DecodeString(parts[1])
				_ = json.Unmarshal(b, &claims)
			}
			if claims.Iss == customer {
				return "token customer"
			}
			return "token vendor"
		}
		name, verb, _ := strings.Cut(path, ":")
		what := "key"
		switch {
		case strings.HasPrefix(name, "/v1/projects/") && strings.Count(name, "/") == 3:
			return "crm " + verb
		case !strings.Contains(name, "/cryptoKeys/"):
			what = "ring"
		}
		if verb == "" {
			verb = r.Method
		}
		return "kms " + verb + " " + what
	}
}

// gcpNeeds: the customer's reads need the customer's token, the vendor's
// calls the vendor's; Decrypt needs Encrypt's ciphertext.
var gcpNeeds = checkruntest.Needs{
	"kms GET key":                {"token customer"},
	"kms getIamPolicy key":       {"token customer"},
	"kms getIamPolicy ring":      {"token customer"},
	"crm getIamPolicy":           {"token customer"},
	"kms encrypt key":            {"token vendor"},
	"kms decrypt key":            {"kms encrypt key"},
	"kms testIamPermissions key": {"token vendor"},
}

// BenchmarkPairingCheck runs the Google Cloud check against the sandbox
// with 50 ms added to every request, the customer and the vendor signing
// in with their key files (a JWT bearer grant each), and reports the wall
// time beside the critical path of the requests it made (x-path: at most
// checkruntest.Target).
func BenchmarkPairingCheck(b *testing.B) {
	e := newEnv(b)
	tg := e.goodKey("rek")
	cust := e.GCPCustomer()
	tr := &checkruntest.Transport{Delay: latency, Kind: gcpKind(cust.Email)}
	hc := &http.Client{Transport: tr}
	keyFile := func(id fakecloud.GCPIdentity) func(context.Context) (gcpkms.Identity, error) {
		j, err := e.GCPServiceAccountJSON(id, e.Server.GCPTokenURL())
		if err != nil {
			b.Fatal(err)
		}
		return func(ctx context.Context) (gcpkms.Identity, error) {
			return gcpkms.FromJSON(context.WithValue(ctx, oauth2.HTTPClient, hc), j)
		}
	}
	e.cfg.HTTP, e.cfg.Customer, e.cfg.Vendor = hc, keyFile(cust), keyFile(e.GCPVendor())
	p := gcpkms.NewPairing(e.cfg, gcpkms.WithWait(0))
	tr.Measure(b, gcpNeeds, func() error {
		if checks := p.Run(context.Background(), tg, nil); !flows.Passed(checks) {
			return fmt.Errorf("did not pass:%s", dump(checks))
		}
		return nil
	})
}
