package awskms

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/checkrun"
)

// The checks' stable IDs, for tickets and --json.
const (
	CheckAliasName   = "aws.alias-name"
	CheckCredentials = "aws.credentials"
	CheckAlias       = "aws.alias"
	CheckKeyState    = "aws.key-state"
	CheckKeySpec     = "aws.key-spec"
	CheckKeyPolicy   = "aws.key-policy"
	CheckRoundTrip   = "aws.round-trip"
	CheckUserPolicy  = "aws.user-policy"
	CheckKeyInfo     = "aws.key-info"
)

// callTimeout bounds each AWS call, so a check never hangs on a network
// that drops packets.
const callTimeout = 20 * time.Second

// Pairing checks that an AWS KMS key is set up for the vendor, calling AWS
// with the credentials of cfg: the vendor's own in the demo, so every
// call is exactly one the vendor would make. A service account's checks
// use the pasted access key instead.
type Pairing struct {
	cfg aws.Config
	// iam reads the key policy and a service account's IAM policy: an
	// admin of the account, where one is at hand; nil tries with the
	// checked credentials.
	iam *aws.Config
	// ambient, when set, is the customer's own configuration (verify):
	// the variant decides whether it reads the policies.
	ambient *aws.Config
	// wait is the time given to a policy change to reach KMS.
	wait  time.Duration
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
}

// Option changes a Pairing.
type Option func(*Pairing)

// WithWait sets how long to keep retrying after AccessDenied; 0 reports
// the first denial at once.
func WithWait(d time.Duration) Option { return func(p *Pairing) { p.wait = max(d, 0) } }

// WithReader names credentials that may read the key policy and IAM
// user policies (the customer's admin): the checks then read the policies
// whoever they run as, and can tell a service account limited to its
// alias from one that is not.
func WithReader(cfg aws.Config) Option { return func(p *Pairing) { p.iam = &cfg } }

// WithAmbientReader says cfg is the credentials of whoever runs the
// check (rekwiz verify): they read a service account's key policy and
// IAM policies, unless they are that service account's access key
// itself; a delegated key's policy is read with the checked credentials,
// in the key's account only.
func WithAmbientReader(cfg aws.Config) Option { return func(p *Pairing) { p.ambient = &cfg } }

// WithClock replaces the clock the retries count and wait on (tests).
func WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error) Option {
	return func(p *Pairing) { p.now, p.sleep = now, sleep }
}

// NewPairing returns a check that calls AWS with cfg.
func NewPairing(cfg aws.Config, opts ...Option) *Pairing {
	p := &Pairing{cfg: cfg, wait: checkrun.DefaultWait, now: time.Now, sleep: checkrun.Sleep}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Plan lists the checks Run will report on, all pending, in display order.
func (p *Pairing) Plan(t flows.Target) []flows.Check {
	v := checkVariant(t)
	credentials, keyPolicy := v.checkNames()
	plan := []flows.Check{
		{ID: CheckAliasName, Name: "Alias names this domain and vendor"},
		{ID: CheckCredentials, Name: credentials},
		{ID: CheckAlias, Name: "Alias resolves to a key"},
		{ID: CheckKeyState, Name: "Key is enabled"},
		{ID: CheckKeySpec, Name: "Key is symmetric, for encryption"},
		{ID: CheckKeyPolicy, Name: keyPolicy},
		{ID: CheckRoundTrip, Name: "Wrap and unwrap a data key"},
	}
	plan = append(plan, v.ownChecks()...)
	return append(plan, flows.Check{ID: CheckKeyInfo, Name: "Rotation and key origin (information)"})
}

// Run makes the checks, reporting each change as it happens (report may be
// called from several goroutines at once), and returns the results.
// Independent calls run at the same time; cancelling ctx stops them all.
//
// When AWS denies access, the policy that grants it may be on its way:
// Run then tries again with growing pauses until the wait is over,
// reporting the countdown in the denied checks' detail, and returns the
// last attempt's results.
func (p *Pairing) Run(ctx context.Context, t flows.Target, report func(flows.Check)) []flows.Check {
	v := checkVariant(t)
	reader := p.iam
	if p.ambient != nil {
		reader = v.ambientReader(ctx, *p.ambient, t)
	}
	retry := checkrun.Retry{Wait: p.wait, Now: p.now, Sleep: p.sleep,
		Why: "AWS may still be applying a policy change", Until: "for AWS to apply policy changes"}
	return retry.Run(ctx, report, func() *checkrun.Attempt { return p.once(ctx, t, v, reader, report).Attempt })
}

// once runs every check one time.
// reader reads the policies (nil: the checked credentials do).
func (p *Pairing) once(ctx context.Context, t flows.Target, v variant, reader *aws.Config, report func(flows.Check)) *run {
	r := &run{Attempt: checkrun.NewAttempt(p.Plan(t), report), v: v}
	a := t.AliasARN
	cfg := v.checkConfig(p.cfg, t)
	k := kms.NewFromConfig(cfg, func(o *kms.Options) { o.Region = a.Region })

	got := a.AliasName()
	ok, want := v.aliasMatches(got, t)
	if ok {
		r.Set(CheckAliasName, flows.StatusPass, got, "", 0)
	} else {
		r.Set(CheckAliasName, flows.StatusFail, got+" does not start with "+want,
			"paste the alias the script printed for this domain", flows.StepPaste)
	}

	var (
		wg        sync.WaitGroup
		caller    *sts.GetCallerIdentityOutput
		credsDone = make(chan struct{})
		md        *types.KeyMetadata
		keyDone   = make(chan struct{})
		usable    bool
		rt        roundTrip
	)
	// keyARN waits for DescribeKey and returns the key's ARN, "" when the
	// key is not known.
	keyARN := func() string {
		<-keyDone
		if md == nil {
			return ""
		}
		return aws.ToString(md.Arn)
	}
	// The credentials, the alias and the round trip need nothing from
	// each other: the three start at once, and each check that needs one
	// of them starts as soon as it is there. The round trip's result
	// counts only once the key is known to be usable.
	wg.Go(func() {
		defer close(credsDone)
		r.Set(CheckCredentials, flows.StatusRunning, "", "", 0)
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		out, err := sts.NewFromConfig(cfg, func(o *sts.Options) { o.Region = a.Region }).GetCallerIdentity(cctx, &sts.GetCallerIdentityInput{})
		if err == nil {
			switch {
			case out.Arn == nil:
				err = errMissing{"GetCallerIdentity", "Arn"}
			case out.Account == nil:
				err = errMissing{"GetCallerIdentity", "Account"}
			}
		}
		if err != nil {
			v.credentialsFailed(r, err, explain(err, ""))
			return
		}
		caller = out
		r.Set(CheckCredentials, flows.StatusPass, "checking as "+aws.ToString(out.Arn), "", 0)
		v.credentialsPassed(ctx, r, wg.Go, *cmp.Or(reader, &cfg), t, out, keyARN)
	})
	wg.Go(func() {
		defer close(keyDone)
		r.Set(CheckAlias, flows.StatusRunning, "", "", 0)
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		got, err := describe(cctx, k, a.String())
		if err != nil {
			pr := explain(err, "alias "+a.AliasName()+" in "+a.Region)
			fix := flows.StepPaste
			switch {
			case errors.As(err, new(errMissing)):
				fix = 0
			case pr.action != "":
				pr.detail = fmt.Sprintf("%s may not call %s on this key", v.who(t), pr.action)
				pr.remedy = v.scriptRemedy(t)
				fix = flows.StepScript
				r.Denied(CheckAlias)
				if reader != nil {
					// The customer's admin can tell whether the key
					// policy lacks the grant (then waiting cannot help)
					// or has it (then it may still be on its way).
					wg.Go(func() { r.policyAsReader(ctx, *reader, t) })
				}
			case pr.notFound:
				// The script creates the alias.
				fix = flows.StepScript
			}
			r.Set(CheckAlias, flows.StatusFail, pr.detail, pr.remedy, fix)
			return
		}
		md = got
		r.Set(CheckAlias, flows.StatusPass, "key "+aws.ToString(md.KeyId), "", 0)
		enabled := r.keyState(md)
		usable = r.keySpec(md) && enabled
		wg.Go(func() { r.keyInfo(ctx, k, md) })
		wg.Go(func() {
			if reader != nil {
				// The reader (the customer's admin) may read the policy
				// whoever the checks run as.
				rk := kms.NewFromConfig(*reader, func(o *kms.Options) { o.Region = a.Region })
				r.keyPolicy(ctx, rk, t, md, nil, true)
				return
			}
			<-credsDone
			r.keyPolicy(ctx, k, t, md, caller, false)
		})
	})
	wg.Go(func() {
		r.Set(CheckRoundTrip, flows.StatusRunning, "", "", 0)
		rt = doRoundTrip(ctx, k, t)
	})
	wg.Wait()

	switch {
	case md == nil:
		r.SkipRest("needs the alias to resolve")
	case !usable:
		r.Set(CheckRoundTrip, flows.StatusSkipped, "the key cannot be used as it is", "", 0)
	case rt.err != nil:
		r.roundTripFailed(t, rt)
	default:
		r.Set(CheckRoundTrip, flows.StatusPass, "GenerateDataKeyWithoutPlaintext, Decrypt, ReEncrypt, Decrypt: same data key", "", 0)
	}
	return r
}

// run is one attempt at the checks.
type run struct {
	*checkrun.Attempt
	v variant
}

// policyWrong records that the key policy itself lacks the grant: a
// denial then is no propagation delay, and waiting cannot help.
func (r *run) policyWrong() { r.Final() }
