package domainapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
	"github.com/rekwiz/rekwiz/providers/domainapi"
	"github.com/rekwiz/rekwiz/providers/domainapi/domainapitest"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

const (
	domain = "dm-LCAJVnUE94B"
	token  = "rkw_live_0123456789abcdefTOKEN"
)

type env struct {
	sb  *fakecloudtest.Env
	api *domainapitest.Server
}

func start(t *testing.T) *env {
	sb := fakecloudtest.Start(t, fakecloud.Options{Seed: 5, Vendor: fakecloudtest.Vendor})
	api := domainapitest.New(token, fakecloudtest.Vendor, sb.Server.AWSConfig(sb.Vendor(), fakecloudtest.Region), domain)
	t.Cleanup(api.Close)
	return &env{sb: sb, api: api}
}

// slept records the pauses between retries instead of waiting.
type slept []time.Duration

func (s *slept) sleep(_ context.Context, d time.Duration) error { *s = append(*s, d); return nil }

func (e *env) client(t *testing.T, tok string, s *slept) *domainapi.Client {
	t.Helper()
	c, err := domainapi.New(e.api.URL, flows.Secret(tok), domainapi.WithRetries(4, s.sleep))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// setUp makes a key for the provider through the SDK and returns its target.
func (e *env) setUp(t *testing.T, p flows.Provider, d string) flows.Target {
	t.Helper()
	sp := flows.SetupSpec{Provider: p, Key: flows.KeyNew, Domain: d, Vendor: fakecloudtest.Vendor, Region: fakecloudtest.Region, Company: "Example"}
	res, err := awskms.NewSetup(e.sb.Server.AWSConfig(e.sb.Customer(), fakecloudtest.Region)).Run(context.Background(), sp, func(flows.SetupEvent) {})
	if err != nil {
		t.Fatal(err)
	}
	a, _, _ := flows.ParseAliasARN(res.Paste[flows.FieldAliasARN])
	return flows.Target{Provider: p, Domain: d, Vendor: fakecloudtest.Vendor, AliasARN: a,
		AccessKeyID: res.Paste[flows.FieldAccessKeyID], SecretAccessKey: flows.Secret(res.Paste[flows.FieldSecretAccessKey])}
}

// TestRegisterAndTestEndToEnd registers a delegated key and a service
// account with the API; its test endpoint runs the real pairing check
// against the sandbox as the vendor, and both are healthy.
func TestRegisterAndTestEndToEnd(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	var s slept
	c := e.client(t, token, &s)
	for _, p := range []flows.Provider{flows.AWSDelegated, flows.AWSServiceAccount} {
		tg := e.setUp(t, p, domain)
		r, err := c.Register(ctx, tg)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if !strings.HasPrefix(r.RekID, "rek-") || !strings.HasPrefix(r.Test, "ok: wrapped and unwrapped a data key") || r.Where != "domain API "+e.api.URL {
			t.Fatalf("%s: receipt %+v", p, r)
		}
		got := e.api.Keys(domain)[r.RekID].KeyInformation
		if got.ProviderName != p.APIName() || got.KeyARN != tg.AliasARN.String() || got.SecretAccessKey != tg.SecretAccessKey.Reveal() {
			t.Fatalf("%s: the API got %+v", p, got)
		}

		// The same key again: 409, and the key can be tested instead.
		_, err = c.Register(ctx, tg)
		var dup *domainapi.AlreadyRegisteredError
		if !errors.As(err, &dup) || dup.RekID != r.RekID || !strings.Contains(err.Error(), "press t to test it instead") {
			t.Fatalf("%s: second register: %v", p, err)
		}
		if r2, err := c.Retest(ctx, tg, dup.RekID); err != nil || r2.RekID != r.RekID {
			t.Fatalf("%s: retest: %+v %v", p, r2, err)
		}
	}
	if len(s) != 0 {
		t.Fatalf("retried without cause: %v", s)
	}
}

func TestUnhealthyKeyIsReported(t *testing.T) {
	e := start(t)
	key := e.sb.CreateKey(fakecloudtest.Region, "not delegated")
	_ = key
	a, _, _ := flows.ParseAliasARN("arn:aws:kms:us-east-1:111122223333:alias/" + domain + "/acme")
	var s slept
	_, err := e.client(t, token, &s).Register(context.Background(), flows.Target{Provider: flows.AWSDelegated, Domain: domain, Vendor: fakecloudtest.Vendor, AliasARN: a})
	var bad *domainapi.UnhealthyError
	if !errors.As(err, &bad) || !strings.Contains(err.Error(), "the vendor's test says error: Alias resolves to a key") {
		t.Fatalf("err = %v", err)
	}
}

func TestErrorsSayWhatToDo(t *testing.T) {
	e := start(t)
	ctx := context.Background()
	a, _, _ := flows.ParseAliasARN("arn:aws:kms:us-east-1:111122223333:alias/" + domain + "/acme")
	delegated := flows.Target{Provider: flows.AWSDelegated, Domain: domain, Vendor: fakecloudtest.Vendor, AliasARN: a}
	var s slept

	_, err := e.client(t, "wrong-token-123456789", &s).Register(ctx, delegated)
	var ae *domainapi.APIError
	if !errors.As(err, &ae) || ae.Status != 401 || !strings.Contains(err.Error(), "refused the API token (401 Unauthorized); check REKWIZ_API_TOKEN") || strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("401: %v", err)
	}

	other := delegated
	other.Domain = "dm-UNKNOWN0000"
	if _, err := e.client(t, token, &s).Register(ctx, other); err == nil || !strings.Contains(err.Error(), "the domain API has no domain dm-UNKNOWN0000 (404)") {
		t.Errorf("404: %v", err)
	}

	azure := flows.Target{Provider: flows.AzureDelegated, Domain: domain, Vendor: fakecloudtest.Vendor, TenantID: "72f988bf-86f1-41af-91ab-2d7cd011db47"}
	if _, err := e.client(t, token, &s).Register(ctx, azure); err == nil || !strings.Contains(err.Error(), "the domain API refused keyInformation.keyURL: required for azure_am") {
		t.Errorf("400: %v", err)
	}

	// 429 with Retry-After, then 503 twice: retried, and it works.
	tg := e.setUp(t, flows.AWSDelegated, domain)
	e.api.Fail("/keys", 429, "3", 1)
	e.api.Fail("/keys", 503, "", 2)
	s = nil
	if _, err := e.client(t, token, &s).Register(ctx, tg); err != nil {
		t.Fatalf("after retries: %v", err)
	}
	if want := []time.Duration{3 * time.Second, 2 * time.Second, 4 * time.Second}; len(s) != 3 || s[0] != want[0] || s[1] != want[1] || s[2] != want[2] {
		t.Fatalf("pauses %v, want %v", s, want)
	}

	// Failing every time: four attempts, then the error.
	e.api.Fail("/test", 502, "", 10)
	s = nil
	_, err = e.client(t, token, &s).Test(ctx, domain, "rek-0000000000000001")
	if !errors.As(err, &ae) || ae.Status != 502 || len(s) != 3 || !strings.Contains(err.Error(), "try again later") {
		t.Fatalf("502: %v after %v", err, s)
	}
}

func TestVendorAccountsOverrideTheProfile(t *testing.T) {
	e := start(t)
	e.api.Vendor.AWSAccountID, e.api.Vendor.AWSPrincipalARN = "444455556666", "arn:aws:iam::444455556666:role/rek-access"
	e.api.Vendor.AzureAppID = "99999999-8888-7777-6666-555555555555"
	e.api.Vendor.GCPServiceAccount = "other-rek@other-prod.iam.gserviceaccount.com"
	var s slept
	acc, err := e.client(t, token, &s).VendorAccounts(context.Background(), domain)
	if err != nil {
		t.Fatal(err)
	}
	placeholder := fakecloudtest.Vendor
	placeholder.Placeholder = true
	v, err := acc.Apply(placeholder)
	if err != nil || v.AWSAccountID != "444455556666" || v.AWSPrincipalARN != "arn:aws:iam::444455556666:role/rek-access" || v.AzureAppID != "99999999-8888-7777-6666-555555555555" ||
		v.GCPServiceAccount != "other-rek@other-prod.iam.gserviceaccount.com" || !v.Placeholder {
		t.Fatalf("vendor %+v, %v", v, err)
	}
	if _, err := (domainapi.Accounts{AWSAccountID: "12"}).Apply(fakecloudtest.Vendor); err == nil || !strings.Contains(err.Error(), "awsAccountID") {
		t.Fatalf("bad account accepted: %v", err)
	}
}

func TestNewRefusesBadInput(t *testing.T) {
	for _, tt := range []struct{ url, token, want string }{
		{"http://api.example.com", token, "expected an https:// URL"},
		{"not a url", token, "expected an https:// URL"},
		{"https://api.example.com/v2", "", "set REKWIZ_API_TOKEN"},
	} {
		if _, err := domainapi.New(tt.url, flows.Secret(tt.token)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v", tt.url, err)
		}
	}
}
