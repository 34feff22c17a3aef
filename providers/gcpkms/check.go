package gcpkms

import (
	"context"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/errgroup"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/checkrun"
)

// The checks' stable IDs, for tickets and --json.
const (
	CheckCredentials = "gcp.credentials"
	CheckKey         = "gcp.key"
	CheckPurpose     = "gcp.purpose"
	CheckKeyState    = "gcp.key-state"
	CheckLabel       = "gcp.label"
	CheckBinding     = "gcp.binding"
	CheckRoundTrip   = "gcp.round-trip"
	CheckKeyInfo     = "gcp.key-info"
)

// Pairing is the Google Cloud pairing check.
type Pairing struct {
	cfg   Config
	wait  time.Duration
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// Option changes a Pairing.
type Option func(*Pairing)

// WithWait sets how long to keep retrying after PERMISSION_DENIED (an
// IAM change takes time to apply); 0 reports the first denial at once.
func WithWait(d time.Duration) Option { return func(p *Pairing) { p.wait = max(d, 0) } }

// WithClock replaces the clock the retries count and wait on (tests).
func WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error) Option {
	return func(p *Pairing) { p.now, p.sleep = now, sleep }
}

// NewPairing returns the check.
func NewPairing(cfg Config, opts ...Option) *Pairing {
	p := &Pairing{cfg: cfg, wait: checkrun.DefaultWait, now: time.Now, sleep: checkrun.Sleep}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Plan lists the checks in display order.
func (p *Pairing) Plan(flows.Target) []flows.Check {
	who := "your credentials"
	if p.cfg.Vendor != nil {
		who = "the vendor's service account"
	}
	return []flows.Check{
		{ID: CheckCredentials, Name: "Google Cloud credentials (Application Default Credentials)"},
		{ID: CheckKey, Name: "Key exists in Cloud KMS"},
		{ID: CheckPurpose, Name: "Key is for encryption (ENCRYPT_DECRYPT)"},
		{ID: CheckKeyState, Name: "Primary version is enabled"},
		{ID: CheckLabel, Name: "Key is labelled for this domain"},
		{ID: CheckBinding, Name: "Vendor's service account may encrypt and decrypt with the key, and no more"},
		{ID: CheckRoundTrip, Name: "Encrypt and decrypt as " + who + ", with the domain as additional data"},
		{ID: CheckKeyInfo, Name: "Protection level and rotation (information)"},
	}
}

// Run makes the checks, reporting each change as it happens (report may
// be called from several goroutines at once), and returns the results.
// Independent calls run at the same time; cancelling ctx stops them all.
//
// When Google denies access, the binding that grants it may be on its
// way (IAM changes take time to apply): Run then tries again with
// growing pauses until the wait is over, the countdown in the denied
// checks' detail, and returns the last attempt's results.
func (p *Pairing) Run(ctx context.Context, t flows.Target, report func(flows.Check)) []flows.Check {
	retry := checkrun.Retry{Wait: p.wait, Now: p.now, Sleep: p.sleep,
		Why: "Google Cloud may still be applying an IAM change", Until: "for Google Cloud to apply IAM changes"}
	return retry.Run(ctx, report, func() *checkrun.Attempt { return p.once(ctx, t, report).Attempt })
}

// run is one attempt at the checks.
type run struct {
	*checkrun.Attempt
	t flows.Target
	// customer and vendor are who the calls run as (vendor: nil without
	// the vendor's credentials).
	customer, vendor *Identity
}

// reads are what one attempt read, each with its error.
type reads struct {
	key                   *cryptoKey
	keyErr                error
	keyPol, ringPol       *policy
	keyPolErr, ringPolErr error
	projPol               *policy
	projRead              bool
	projErr               error
	held                  []string // the vendor's permissions on the key (vendor only)
	heldErr               error
	rt                    roundTrip
}

func (p *Pairing) once(ctx context.Context, t flows.Target, report func(flows.Check)) *run {
	r := &run{Attempt: checkrun.NewAttempt(p.Plan(t), report), t: t}
	if !r.credentials(ctx, p.cfg) {
		r.SkipRest("needs credentials")
		return r
	}
	if r.vendor != nil && r.vendor.Email != "" && r.vendor.Email != t.Vendor.GCPServiceAccount {
		r.Set(CheckCredentials, flows.StatusFail, "the vendor's credentials are the service account "+r.vendor.Email+", but the vendor profile names "+orNone(t.Vendor.GCPServiceAccount),
			"check the vendor profile's gcpServiceAccount", 0)
		r.SkipRest("needs credentials")
		return r
	}
	k := t.KeyResource
	cust := p.cfg.clientFor(*r.customer)
	rtc, rtWho := cust, "your credentials ("+r.customer.Name+")"
	if r.vendor != nil {
		rtc, rtWho = p.cfg.clientFor(*r.vendor), "the vendor's service account "+t.Vendor.GCPServiceAccount
	}
	for _, id := range []string{CheckKey, CheckBinding, CheckRoundTrip} {
		r.Set(id, flows.StatusRunning, "", "", 0)
	}
	// Every read is independent of the others, and of the round trip:
	// all start at once. The customer reads the key, its labels and the
	// policies; the vendor (when there) only encrypts, decrypts and asks
	// which permissions it holds.
	var (
		g             errgroup.Group
		rd            reads
		found, usable bool
	)
	// The key's own checks are reported as soon as it is read.
	g.Go(func() error {
		rd.key, rd.keyErr = cust.getKey(ctx, k.String())
		if found = r.keyFound(rd.keyErr); found {
			usable = r.purpose(rd.key)
			usable = r.keyState(rd.key) && usable
			r.label(rd.key)
			r.keyInfo(rd.key)
		}
		return nil
	})
	g.Go(func() error { rd.keyPol, rd.keyPolErr = cust.getPolicy(ctx, k.String()); return nil })
	g.Go(func() error { rd.ringPol, rd.ringPolErr = cust.getPolicy(ctx, k.KeyRingName()); return nil })
	g.Go(func() error { rd.projPol, rd.projRead, rd.projErr = cust.projectPolicy(ctx, k.Project); return nil })
	g.Go(func() error { rd.rt = doRoundTrip(ctx, rtc, k.String(), t.Domain); return nil })
	if r.vendor != nil {
		g.Go(func() error { rd.held, rd.heldErr = rtc.testPermissions(ctx, k.String(), probed); return nil })
	}
	_ = g.Wait()

	if !found {
		r.Set(CheckBinding, flows.StatusSkipped, "needs the key", "", 0)
		r.SkipRest("needs the key")
		return r
	}
	missing := r.binding(rd)
	r.roundTrip(rd.rt, usable, missing, rtWho)
	return r
}

// credentials finds the customer's credentials (and the vendor's, when
// the check has them) and gets a token with each, at the same time.
func (r *run) credentials(ctx context.Context, cfg Config) bool {
	r.Set(CheckCredentials, flows.StatusRunning, "", "", 0)
	if cfg.Customer == nil {
		r.Set(CheckCredentials, flows.StatusFail, "no Google Cloud credentials were given to the check", signIn, 0)
		return false
	}
	var (
		g          errgroup.Group
		cust, vend Identity
		cerr, verr error
	)
	g.Go(func() error { cust, cerr = signedIn(ctx, cfg.Customer); return nil })
	if cfg.Vendor != nil {
		g.Go(func() error { vend, verr = signedIn(ctx, cfg.Vendor); return nil })
	}
	_ = g.Wait()
	if cerr != nil {
		pr := explain(cerr, "your credentials")
		r.Set(CheckCredentials, flows.StatusFail, pr.detail, pr.remedy, 0)
		return false
	}
	r.customer = &cust
	detail := "checking as " + cust.Name
	if cfg.Vendor != nil {
		if verr != nil {
			pr := explain(verr, "the vendor's service account")
			r.Set(CheckCredentials, flows.StatusFail, "the vendor's service account could not sign in: "+pr.detail, "report this to the vendor's support with this output", 0)
			return false
		}
		r.vendor = &vend
		detail += "; the vendor's service account " + vend.Email + " encrypts and decrypts"
	}
	r.Set(CheckCredentials, flows.StatusPass, detail, "", 0)
	return true
}

// signedIn finds an identity and gets it a token, within ctx.
func signedIn(ctx context.Context, find func(context.Context) (Identity, error)) (Identity, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	id, err := find(ctx)
	if err != nil {
		return Identity{}, err
	}
	id.Tokens = oauth2.ReuseTokenSource(nil, id.Tokens)
	done := make(chan error, 1)
	// A token source takes no context: the fetch runs aside, so ctrl+c
	// does not wait for it.
	go func() { _, err := id.Tokens.Token(); done <- err }()
	select {
	case err := <-done:
		return id, err
	case <-ctx.Done():
		return Identity{}, ctx.Err()
	}
}
