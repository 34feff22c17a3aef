package azurehsm

import (
	"context"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/checkrun"
)

// The checks' stable IDs, for tickets and --json.
const (
	CheckCredential = "azure.credential"
	CheckKey        = "azure.key"
	CheckKeyState   = "azure.key-state"
	CheckKeyType    = "azure.key-type"
	CheckTag        = "azure.tag"
	CheckRoundTrip  = "azure.round-trip"
	CheckRole       = "azure.role"
)

// hsmScope is the token scope of Managed HSM's data plane in the public
// cloud (cloudOf has the others).
const hsmScope = "https://managedhsm.azure.net/.default"

// Config is how the checks reach Azure.
type Config struct {
	// Credential returns a credential for a tenant: the vendor's
	// application in the demo, the customer's own sign-in (az login,
	// Cloud Shell's managed identity) otherwise.
	Credential func(tenantID string) (azcore.TokenCredential, error)
	// Options are the SDK clients' options: a transport in sandbox mode,
	// the zero value against Azure.
	Options azcore.ClientOptions
	// AsCustomer says the credential is the customer's, not the vendor's
	// application's. The round trip then proves the key works, and the
	// vendor's access is read from the HSM's role assignments (and
	// Microsoft Graph, for its service principal).
	AsCustomer bool
}

// DefaultCredential is the customer's own credential for a tenant:
// azidentity's default chain, which picks up az login and Cloud Shell.
func DefaultCredential(opts azcore.ClientOptions) func(string) (azcore.TokenCredential, error) {
	return func(tenant string) (azcore.TokenCredential, error) {
		return azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: opts, TenantID: tenant})
	}
}

// Pairing is the Azure pairing check.
type Pairing struct {
	cfg   Config
	wait  time.Duration
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// Option changes a Pairing.
type Option func(*Pairing)

// WithWait sets how long to keep retrying after an access denial.
func WithWait(d time.Duration) Option { return func(p *Pairing) { p.wait = max(d, 0) } }

// WithClock replaces the clock the retries count and wait on (tests).
func WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error) Option {
	return func(p *Pairing) { p.now, p.sleep = now, sleep }
}

// NewPairing returns the check.
func NewPairing(cfg Config, opts ...Option) *Pairing {
	cfg.Options = withoutUnknownHostRetries(cfg.Options)
	p := &Pairing{cfg: cfg, wait: checkrun.DefaultWait, now: time.Now, sleep: checkrun.Sleep}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Plan lists the checks in display order.
func (p *Pairing) Plan(flows.Target) []flows.Check {
	checks := []flows.Check{
		{ID: CheckCredential, Name: "Azure credential for the tenant"},
		{ID: CheckKey, Name: "Key exists in the Managed HSM"},
		{ID: CheckKeyState, Name: "Key is enabled and within its dates"},
		{ID: CheckKeyType, Name: "Key is oct-HSM, for wrapKey and unwrapKey"},
		{ID: CheckTag, Name: "Key is tagged for this domain"},
	}
	if p.cfg.AsCustomer {
		checks = append(checks, flows.Check{ID: CheckRole, Name: "Vendor's application may read, wrap and unwrap with the key, and no more"})
	}
	return append(checks, flows.Check{ID: CheckRoundTrip, Name: "Wrap and unwrap 32 random bytes"})
}

// Run makes the checks, retrying while a role assignment takes effect
// (the countdown is in the denied checks' detail), and returns the last
// attempt's results.
func (p *Pairing) Run(ctx context.Context, t flows.Target, report func(flows.Check)) []flows.Check {
	retry := checkrun.Retry{Wait: p.wait, Now: p.now, Sleep: p.sleep,
		Why: "a new role assignment can take minutes to apply", Until: "for the role assignment to take effect"}
	return retry.Run(ctx, report, func() *checkrun.Attempt { return p.once(ctx, t, report).Attempt })
}

func (p *Pairing) once(ctx context.Context, t flows.Target, report func(flows.Check)) *run {
	r := &run{Attempt: checkrun.NewAttempt(p.Plan(t), report), asCustomer: p.cfg.AsCustomer}
	u := t.KeyURL
	r.Set(CheckCredential, flows.StatusRunning, "", "", 0)
	cred, err := p.cfg.Credential(t.TenantID)
	if err != nil {
		pr := r.explain(err, t)
		r.Set(CheckCredential, flows.StatusFail, pr.detail, pr.remedy, pr.fix)
		r.SkipRest("needs a credential")
		return r
	}
	// One token per resource for the whole attempt, whichever client
	// asks first.
	shared := shareTokens(cred, t.TenantID)
	client, clientErr := azkeys.NewClient("https://"+u.HSM+"."+u.Suffix, shared, &azkeys.ClientOptions{ClientOptions: p.cfg.Options})

	// The key's properties, the round trip and the vendor's role need
	// nothing from each other, nor from the credential check but its
	// token: they start with it, so azkeys' challenge (its first request,
	// sent without a token) and Graph's token are on their way while the
	// credential check gets the HSM's. Their results are reported only
	// once the credential check has passed; when it fails they are
	// dropped, as they would not have been made. The round trip counts
	// only if the key is usable.
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		signedIn = make(chan struct{}) // closed when the credential check is over
		passed   bool                  // it passed; read after signedIn
		key      *azkeys.GetKeyResponse
		rt       error
	)
	reported := func() bool { <-signedIn; return passed }
	if clientErr == nil {
		wg.Go(func() {
			kctx, cancel := context.WithTimeout(cctx, 30*time.Second)
			defer cancel()
			res, err := client.GetKey(kctx, u.Name, u.Version, nil)
			if !reported() {
				return
			}
			if err != nil {
				pr := r.explain(err, t)
				if pr.denied {
					r.Denied(CheckKey)
				}
				r.Set(CheckKey, flows.StatusFail, pr.detail, pr.remedy, pr.fix)
				return
			}
			if res.Key == nil || res.Key.KID == nil {
				r.Set(CheckKey, flows.StatusFail, "Managed HSM's reply to GetKey has no \"key.kid\"", "report this to the vendor's support with this output", 0)
				return
			}
			key = &res
			r.Set(CheckKey, flows.StatusPass, string(*res.Key.KID), "", 0)
		})
		wg.Go(func() { rt = roundTrip(cctx, client, u) })
		if p.cfg.AsCustomer {
			wg.Go(func() {
				v := vendorRole(cctx, rest{shared, p.cfg.Options, cloudOf(u.Suffix)}, t)
				if reported() {
					r.Set(CheckRole, v.status, v.detail, v.remedy, v.fix)
				}
			})
		}
	}

	tctx, tcancel := context.WithTimeout(ctx, 30*time.Second)
	_, err = shared.GetToken(tctx, policy.TokenRequestOptions{Scopes: []string{cloudOf(u.Suffix).hsmScope}, TenantID: t.TenantID})
	tcancel()
	if err != nil {
		cancel()
		close(signedIn)
		wg.Wait()
		pr := r.explain(err, t)
		r.Set(CheckCredential, flows.StatusFail, pr.detail, pr.remedy, pr.fix)
		r.SkipRest("needs a credential")
		return r
	}
	r.Set(CheckCredential, flows.StatusPass, "signed in to tenant "+t.TenantID, "", 0)
	if clientErr != nil {
		close(signedIn)
		r.Set(CheckKey, flows.StatusFail, clientErr.Error(), "", flows.StepPaste)
		r.SkipRest("needs the key")
		return r
	}
	r.Set(CheckKey, flows.StatusRunning, "", "", 0)
	r.Set(CheckRoundTrip, flows.StatusRunning, "", "", 0)
	if p.cfg.AsCustomer {
		r.Set(CheckRole, flows.StatusRunning, "", "", 0)
	}
	passed = true
	close(signedIn)
	wg.Wait()
	if key == nil {
		r.SkipRest("needs the key")
		return r
	}
	usable := r.keyState(key, p.now(), t) && r.keyType(key, t)
	r.tag(key, t)
	switch {
	case !usable:
		r.Set(CheckRoundTrip, flows.StatusSkipped, "the key cannot be used as it is", "", 0)
	case rt != nil:
		pr := r.explain(rt, t)
		if pr.denied {
			r.Denied(CheckRoundTrip)
		}
		r.Set(CheckRoundTrip, flows.StatusFail, pr.detail, pr.remedy, pr.fix)
	default:
		r.Set(CheckRoundTrip, flows.StatusPass, "WrapKey (A256KW) then UnwrapKey: the same 32 bytes", "", 0)
	}
	return r
}

// run holds the checks of one attempt.
type run struct {
	*checkrun.Attempt
	// asCustomer: the checks run as the customer, not as the vendor.
	asCustomer bool
}
