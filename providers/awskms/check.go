package awskms

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
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

// DefaultWait is how long a check keeps retrying after an access denial,
// since a key or IAM policy change takes time to reach KMS.
const DefaultWait = 90 * time.Second

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

// WithClock replaces the clock the retries count and wait on (tests).
func WithClock(now func() time.Time, sleep func(context.Context, time.Duration) error) Option {
	return func(p *Pairing) { p.now, p.sleep = now, sleep }
}

// NewPairing returns a check that calls AWS with cfg.
func NewPairing(cfg aws.Config, opts ...Option) *Pairing {
	p := &Pairing{cfg: cfg, wait: DefaultWait, now: time.Now, sleep: checkrun.Sleep}
	for _, o := range opts {
		o(p)
	}
	return p
}

// Plan lists the checks Run will report on, all pending, in display order.
func (p *Pairing) Plan(t flows.Target) []flows.Check {
	plan := []flows.Check{
		{ID: CheckAliasName, Name: "Alias names this domain and vendor"},
		{ID: CheckCredentials, Name: "AWS credentials work"},
		{ID: CheckAlias, Name: "Alias resolves to a key"},
		{ID: CheckKeyState, Name: "Key is enabled"},
		{ID: CheckKeySpec, Name: "Key is symmetric, for encryption"},
		{ID: CheckKeyPolicy, Name: "Key policy grants the vendor"},
		{ID: CheckRoundTrip, Name: "Wrap and unwrap a data key"},
	}
	if t.Provider == flows.AWSServiceAccount {
		plan[1].Name = "Service account's access key works"
		plan[5].Name = "Key policy lets IAM grant the key"
		plan = append(plan, flows.Check{ID: CheckUserPolicy, Name: "Service account is limited to the alias"})
	}
	return append(plan, flows.Check{ID: CheckKeyInfo, Name: "Rotation and key origin (information)"})
}

// config is the SDK configuration the checks of t run with.
func (p *Pairing) config(t flows.Target) aws.Config {
	cfg := p.cfg.Copy()
	if t.Provider == flows.AWSServiceAccount {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(t.AccessKeyID, t.SecretAccessKey.Reveal(), "")
	}
	return cfg
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
	retry := checkrun.Retry{Wait: p.wait, Now: p.now, Sleep: p.sleep,
		Why: "AWS may still be applying a policy change", Until: "for AWS to apply policy changes"}
	return retry.Run(ctx, report, func() *checkrun.Attempt { return p.once(ctx, t, report).Attempt })
}

// once runs every check one time.
func (p *Pairing) once(ctx context.Context, t flows.Target, report func(flows.Check)) *run {
	r := &run{checkrun.NewAttempt(p.Plan(t), report)}
	a := t.AliasARN
	cfg := p.config(t)
	principal := t.Vendor.AWSPrincipal(a.Partition)
	k := kms.NewFromConfig(cfg, func(o *kms.Options) { o.Region = a.Region })

	want := flows.AliasName(flows.AWSDelegated, t.Domain, t.Vendor.Slug, "")
	got := a.AliasName()
	if t.Provider == flows.AWSServiceAccount {
		want += "/"
	}
	if got == want || (t.Provider == flows.AWSServiceAccount && strings.HasPrefix(got, want) && len(got) > len(want)) {
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
			pr := explain(err, "")
			fix := flows.Step(0)
			if t.Provider == flows.AWSServiceAccount && !errors.As(err, new(errMissing)) {
				fix = flows.StepPaste
				pr.remedy = "paste the access key ID and secret the script printed (aws iam create-access-key makes a new pair)"
			}
			r.Set(CheckCredentials, flows.StatusFail, pr.detail, pr.remedy, fix)
			if t.Provider == flows.AWSServiceAccount {
				r.Set(CheckUserPolicy, flows.StatusSkipped, "needs working credentials", "", 0)
			}
			return
		}
		caller = out
		r.Set(CheckCredentials, flows.StatusPass, "checking as "+aws.ToString(out.Arn), "", 0)
		if t.Provider == flows.AWSServiceAccount {
			wg.Go(func() { r.userPolicy(ctx, p.iamConfig(cfg), t, out, keyARN) })
		}
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
				pr.detail = fmt.Sprintf("%s may not call %s on this key", who(t, principal), pr.action)
				pr.remedy = scriptRemedy(t)
				fix = flows.StepScript
				r.Denied(CheckAlias)
				if p.iam != nil {
					// The customer's admin can tell whether the key
					// policy lacks the grant (then waiting cannot help)
					// or has it (then it may still be on its way).
					wg.Go(func() { r.policyAsReader(ctx, *p.iam, t) })
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
			if p.iam != nil {
				// The reader (the customer's admin) may read the policy
				// whoever the checks run as.
				rk := kms.NewFromConfig(*p.iam, func(o *kms.Options) { o.Region = a.Region })
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

// describe calls DescribeKey and returns the key's metadata, refusing an
// answer without the fields the checks read.
func describe(ctx context.Context, k *kms.Client, keyID string) (*types.KeyMetadata, error) {
	out, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(keyID)})
	if err != nil {
		return nil, err
	}
	md := out.KeyMetadata
	switch {
	case md == nil:
		return nil, errMissing{"DescribeKey", "KeyMetadata"}
	case md.Arn == nil:
		return nil, errMissing{"DescribeKey", "KeyMetadata.Arn"}
	case md.KeyId == nil:
		return nil, errMissing{"DescribeKey", "KeyMetadata.KeyId"}
	case md.KeyState == "":
		return nil, errMissing{"DescribeKey", "KeyMetadata.KeyState"}
	}
	return md, nil
}

// policyAsReader reads the key policy as the customer's admin when the
// checked identity was denied the key: a policy that lacks the grant
// fails the check at once, with no wait for a change that is not coming.
func (r *run) policyAsReader(ctx context.Context, reader aws.Config, t flows.Target) {
	rk := kms.NewFromConfig(reader, func(o *kms.Options) { o.Region = t.AliasARN.Region })
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	md, err := describe(cctx, rk, t.AliasARN.String())
	if err != nil {
		return // the denial stands; the key policy check is skipped with the rest
	}
	r.keyPolicy(ctx, rk, t, md, nil, true)
}

func (p *Pairing) iamConfig(checked aws.Config) aws.Config {
	if p.iam != nil {
		return *p.iam
	}
	return checked
}

// who names the identity the checks run as, for a sentence.
func who(t flows.Target, principal string) string {
	if t.Provider == flows.AWSServiceAccount {
		return "the service account " + t.AccessKeyID
	}
	return principal
}

func scriptRemedy(t flows.Target) string {
	if t.Provider == flows.AWSServiceAccount {
		return "run the setup script again: it puts the policy that allows " + strings.Join(awspolicy.ServiceAccountActions, ", ") +
			" on alias " + t.AliasARN.AliasName() + " on the service account"
	}
	return fmt.Sprintf("run the setup script again: it puts statement %s (granting %s to %s) into the key policy",
		awspolicy.VendorSid(t.Vendor.Slug), strings.Join(awspolicy.VendorActions, ", "), t.Vendor.AWSPrincipal(t.AliasARN.Partition))
}

func (r *run) keyState(md *types.KeyMetadata) bool {
	arn := aws.ToString(md.Arn)
	var region string
	if ref, err := flows.ParseKeyRef(arn); err == nil && ref.ARN != nil {
		region = ref.ARN.Region
	}
	switch md.KeyState {
	case types.KeyStateEnabled:
		r.Set(CheckKeyState, flows.StatusPass, "Enabled", "", 0)
		return true
	case types.KeyStateDisabled:
		r.Set(CheckKeyState, flows.StatusFail, "the key is disabled",
			fmt.Sprintf("aws kms enable-key --region %s --key-id %s", region, arn), 0)
	case types.KeyStatePendingDeletion:
		when := "soon"
		if md.DeletionDate != nil {
			when = "on " + md.DeletionDate.UTC().Format("2006-01-02")
		}
		r.Set(CheckKeyState, flows.StatusFail, "the key is scheduled for deletion "+when,
			fmt.Sprintf("aws kms cancel-key-deletion --region %s --key-id %s && aws kms enable-key --region %s --key-id %s", region, arn, region, arn), 0)
	case types.KeyStatePendingImport:
		r.Set(CheckKeyState, flows.StatusFail, "the key is waiting for its key material to be imported",
			"import the key material (aws kms get-parameters-for-import, then aws kms import-key-material), or use a key KMS generated", flows.StepKey)
	case types.KeyStateUnavailable:
		store := aws.ToString(md.CustomKeyStoreId)
		r.Set(CheckKeyState, flows.StatusFail, "the key is unavailable: its custom key store "+store+" is disconnected",
			fmt.Sprintf("aws kms connect-custom-key-store --region %s --custom-key-store-id %s, then retry", region, store), 0)
	case types.KeyStateCreating:
		r.Set(CheckKeyState, flows.StatusFail, "the key is still being created (a multi-Region replica takes a few minutes)",
			fmt.Sprintf("wait until aws kms describe-key --region %s --key-id %s shows Enabled, then retry", region, arn), 0)
	case types.KeyStatePendingReplicaDeletion:
		r.Set(CheckKeyState, flows.StatusFail, "the key's replicas are being deleted before the key itself",
			fmt.Sprintf("aws kms cancel-key-deletion --region %s --key-id %s on each replica, then enable the key", region, arn), 0)
	default:
		r.Set(CheckKeyState, flows.StatusFail, "the key is "+string(md.KeyState), "wait until the key is Enabled, then retry", 0)
	}
	return false
}

func (r *run) keySpec(md *types.KeyMetadata) bool {
	if md.KeySpec == types.KeySpecSymmetricDefault && md.KeyUsage == types.KeyUsageTypeEncryptDecrypt {
		r.Set(CheckKeySpec, flows.StatusPass, "SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT", "", 0)
		return true
	}
	r.Set(CheckKeySpec, flows.StatusFail, fmt.Sprintf("the key is %s, %s; the vendor wraps keys with SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys", md.KeySpec, md.KeyUsage),
		"choose another key, or let the script create one", flows.StepKey)
	return false
}

// keyPolicy reads the policy with the reader, or when the checking
// identity may (caller is in the key's account) and names each action the vendor lacks. Run as the
// vendor, the policy is not readable cross-account; the round trip is
// then the proof. A service account's key policy must leave the grant to
// IAM in the key's account.
func (r *run) keyPolicy(ctx context.Context, k *kms.Client, t flows.Target, md *types.KeyMetadata, caller *sts.GetCallerIdentityOutput, reader bool) {
	if caller == nil && !reader || caller != nil && aws.ToString(caller.Account) != aws.ToString(md.AWSAccountId) {
		r.Set(CheckKeyPolicy, flows.StatusSkipped, "the policy is readable in the key's account only; the round trip tests it", "", 0)
		return
	}
	r.Set(CheckKeyPolicy, flows.StatusRunning, "", "", 0)
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	out, err := k.GetKeyPolicy(cctx, &kms.GetKeyPolicyInput{KeyId: md.Arn, PolicyName: aws.String("default")})
	if err != nil {
		pr := explain(err, "the key policy")
		if pr.denied {
			r.Set(CheckKeyPolicy, flows.StatusSkipped, "these credentials may not read the key policy; the round trip tests it", "", 0)
			return
		}
		r.Set(CheckKeyPolicy, flows.StatusFail, pr.detail, pr.remedy, 0)
		return
	}
	if out.Policy == nil {
		r.Set(CheckKeyPolicy, flows.StatusFail, errMissing{"GetKeyPolicy", "Policy"}.Error(), "retry; if it persists, send this output to the vendor's support", 0)
		return
	}
	doc, err := awspolicy.Parse(*out.Policy)
	if err != nil {
		r.Set(CheckKeyPolicy, flows.StatusFail, err.Error(), "fix the key policy's JSON in the KMS console", 0)
		return
	}
	// A statement that lets anyone use the key fails the check whatever
	// else the policy says; grants to the vendor beyond what it needs are
	// a warning.
	var fails, remedies []string
	fix := flows.Step(0)
	if open := doc.OpenToEveryone(); len(open) > 0 {
		fails = append(fails, "statement "+strings.Join(open, ", statement ")+" lets everyone use the key (Principal \"*\" without a Condition)")
		remedies = append(remedies, "remove it from the key policy, or limit it with a Condition (for example kms:CallerAccount)")
	}
	var need []string
	if t.Provider == flows.AWSServiceAccount {
		account := aws.ToString(md.AWSAccountId)
		var missing []string
		for _, a := range awspolicy.ServiceAccountActions {
			if !doc.GrantsAccount(account, a) {
				missing = append(missing, a)
			}
		}
		if len(missing) > 0 {
			fails = append(fails, "no statement lets IAM policies in "+account+" grant "+strings.Join(missing, ", "))
			remedies = append(remedies, "add the account's statement (Principal arn:aws:iam::"+account+":root) to the key policy, or choose the delegated provider")
			fix = flows.StepProvider
			r.policyWrong()
		}
	} else {
		principal := t.Vendor.AWSPrincipal(t.AliasARN.Partition)
		need = awspolicy.VendorActions
		if missing := doc.Missing(awspolicy.Caller{ARN: principal, Account: t.Vendor.AWSAccountID}, awspolicy.VendorActions); len(missing) > 0 {
			var names []string
			for a, dec := range missing {
				names = append(names, a+" ("+dec.String()+")")
			}
			sort.Strings(names)
			fails = append(fails, principal+" lacks "+strings.Join(names, ", "))
			remedies = append(remedies, scriptRemedy(t))
			fix = flows.StepScript
			r.policyWrong()
		}
	}
	var extras []string
	for _, e := range doc.Beyond(t.Vendor.AWSAccountID, need) {
		extras = append(extras, e.String())
	}
	extra := ""
	if len(extras) > 0 {
		extra = "; and beyond what it needs, " + strings.Join(extras, "; ")
	}
	switch {
	case len(fails) > 0:
		r.Set(CheckKeyPolicy, flows.StatusFail, strings.Join(fails, "; ")+extra, strings.Join(remedies, "; "), fix)
	case len(extras) > 0:
		r.Set(CheckKeyPolicy, flows.StatusWarn, "the vendor ("+t.Vendor.AWSAccountID+") may do more than it needs: "+strings.Join(extras, "; "),
			extrasRemedy(t), 0)
	case t.Provider == flows.AWSServiceAccount:
		r.Set(CheckKeyPolicy, flows.StatusPass, "IAM policies in "+aws.ToString(md.AWSAccountId)+" may grant the key", "", 0)
	default:
		r.Set(CheckKeyPolicy, flows.StatusPass, t.Vendor.AWSPrincipal(t.AliasARN.Partition)+" has all "+fmt.Sprint(len(awspolicy.VendorActions))+" actions", "", 0)
	}
}

// extrasRemedy says what to do about grants to the vendor beyond what
// it needs.
func extrasRemedy(t flows.Target) string {
	if t.Provider == flows.AWSServiceAccount {
		return "remove the vendor's statements from the key policy: with a service account the vendor needs no grant there"
	}
	return "remove the extra actions from the key policy; the vendor needs " + strings.Join(awspolicy.VendorActions, ", ")
}

// roundTrip is how the round trip went: the call that failed, if any.
type roundTrip struct {
	call string
	err  error
}

// doRoundTrip does what the vendor does with the key: a data key made
// without plaintext, decrypted, and re-encrypted to the same key and
// decrypted again; both plaintexts must be equal. The first Decrypt and
// the ReEncrypt need only the data key, so they run at the same time.
// The encryption context binds the domain.
func doRoundTrip(ctx context.Context, k *kms.Client, t flows.Target) roundTrip {
	ctx, cancel := context.WithTimeout(ctx, 4*callTimeout)
	defer cancel()
	alias := aws.String(t.AliasARN.String())
	ec := map[string]string{"domain": t.Domain}
	g, err := k.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: alias, KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
	if err == nil && len(g.CiphertextBlob) == 0 {
		err = errMissing{"GenerateDataKeyWithoutPlaintext", "CiphertextBlob"}
	}
	if err != nil {
		return roundTrip{"GenerateDataKeyWithoutPlaintext", err}
	}
	var (
		wg     sync.WaitGroup
		d1, d2 *kms.DecryptOutput
		e1     roundTrip
	)
	wg.Go(func() {
		var err error
		if d1, err = k.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: g.CiphertextBlob, KeyId: alias, EncryptionContext: ec}); err == nil && len(d1.Plaintext) == 0 {
			err = errMissing{"Decrypt", "Plaintext"}
		}
		if err != nil {
			e1 = roundTrip{"Decrypt", err}
		}
	})
	re, err := k.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: g.CiphertextBlob, SourceKeyId: alias, SourceEncryptionContext: ec, DestinationKeyId: alias, DestinationEncryptionContext: ec})
	if err == nil && len(re.CiphertextBlob) == 0 {
		err = errMissing{"ReEncrypt", "CiphertextBlob"}
	}
	var e2 roundTrip
	if err != nil {
		e2 = roundTrip{"ReEncrypt", err}
	} else if d2, err = k.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob, KeyId: alias, EncryptionContext: ec}); err == nil && len(d2.Plaintext) == 0 {
		e2 = roundTrip{"Decrypt (after ReEncrypt)", errMissing{"Decrypt", "Plaintext"}}
	} else if err != nil {
		e2 = roundTrip{"Decrypt (after ReEncrypt)", err}
	}
	wg.Wait()
	switch {
	case e1.err != nil:
		return e1
	case e2.err != nil:
		return e2
	case !bytes.Equal(d1.Plaintext, d2.Plaintext):
		return roundTrip{"Decrypt (after ReEncrypt)", errDataKeyChanged}
	}
	return roundTrip{}
}

var errDataKeyChanged = errors.New("the data key changed across re-encryption")

func (r *run) roundTripFailed(t flows.Target, rt roundTrip) {
	if errors.Is(rt.err, errDataKeyChanged) {
		r.Set(CheckRoundTrip, flows.StatusFail, rt.err.Error(), "report this to the vendor's support with this output", 0)
		return
	}
	pr := explain(rt.err, "the key")
	if pr.action != "" {
		r.Denied(CheckRoundTrip)
		r.Set(CheckRoundTrip, flows.StatusFail, fmt.Sprintf("%s refused: %s (%s)", rt.call, pr.detail, who(t, t.Vendor.AWSPrincipal(t.AliasARN.Partition))), scriptRemedy(t), flows.StepScript)
		return
	}
	r.Set(CheckRoundTrip, flows.StatusFail, rt.call+": "+pr.detail, pr.remedy, 0)
}

// keyInfo reports, as information that never fails a check, what the
// customer should know about the key: automatic rotation off, a
// multi-Region key, imported key material, a custom key store.
func (r *run) keyInfo(ctx context.Context, k *kms.Client, md *types.KeyMetadata) {
	r.Set(CheckKeyInfo, flows.StatusRunning, "", "", 0)
	var notes, remedies []string
	arn := aws.ToString(md.Arn)
	region := ""
	if parts := strings.Split(arn, ":"); len(parts) > 3 {
		region = parts[3]
	}
	switch {
	case md.Origin == types.OriginTypeExternal:
		notes = append(notes, "imported key material: rotation is manual")
	case md.CustomKeyStoreId != nil:
		notes = append(notes, "key in custom key store "+aws.ToString(md.CustomKeyStoreId)+": its availability is the store's")
	default:
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		out, err := k.GetKeyRotationStatus(cctx, &kms.GetKeyRotationStatusInput{KeyId: md.Arn})
		switch {
		case err != nil:
			notes = append(notes, "rotation status not readable with these credentials")
		case !out.KeyRotationEnabled:
			notes = append(notes, "automatic rotation is off")
			remedies = append(remedies, fmt.Sprintf("aws kms enable-key-rotation --region %s --key-id %s", region, arn))
		}
	}
	if aws.ToBool(md.MultiRegion) {
		notes = append(notes, "multi-Region key: replicas share its material")
	}
	if len(notes) == 0 {
		r.Set(CheckKeyInfo, flows.StatusPass, "KMS-generated material, rotated automatically", "", 0)
		return
	}
	if len(notes) == 1 && notes[0] == "rotation status not readable with these credentials" {
		r.Set(CheckKeyInfo, flows.StatusPass, notes[0], "", 0)
		return
	}
	remedy := "nothing is required; to rotate automatically: " + strings.Join(remedies, "; ")
	if len(remedies) == 0 {
		remedy = "nothing is required; this is for your records"
	}
	r.Set(CheckKeyInfo, flows.StatusWarn, strings.Join(notes, "; "), remedy, 0)
}

// userPolicy checks that a service account may use the alias's key and
// no other, and nothing in IAM: every policy that applies to the user
// (inline, attached managed policies at their default version, and its
// groups' inline and attached policies) is read with IAM credentials (an
// admin's; the service account itself should not be able to). keyARN
// waits for the key the alias names, "" when it is not known.
func (r *run) userPolicy(ctx context.Context, cfg aws.Config, t flows.Target, caller *sts.GetCallerIdentityOutput, keyARN func() string) {
	if caller == nil {
		r.Set(CheckUserPolicy, flows.StatusSkipped, "needs working credentials", "", 0)
		return
	}
	arn := aws.ToString(caller.Arn)
	name, ok := strings.CutPrefix(arn[strings.LastIndex(arn, ":")+1:], "user/")
	if !ok {
		r.Set(CheckUserPolicy, flows.StatusFail, arn+" is not an IAM user", "paste the access key of the IAM user the script made", flows.StepPaste)
		return
	}
	name = name[strings.LastIndex(name, "/")+1:]
	r.Set(CheckUserPolicy, flows.StatusRunning, "", "", 0)
	cctx, cancel := context.WithTimeout(ctx, 3*callTimeout)
	defer cancel()
	policies, err := readUserPolicies(cctx, iam.NewFromConfig(cfg), name)
	if err != nil {
		if pr := explain(err, ""); pr.denied {
			r.Set(CheckUserPolicy, flows.StatusSkipped, "these credentials may not read IAM (as a service account should not)",
				"to check it, run rekwiz verify with an account admin's AWS_PROFILE: aws iam get-user-policy --user-name "+name+" --policy-name "+name, 0)
			return
		}
		var re *readError
		what := "the user's policies"
		if errors.As(err, &re) {
			what = re.what
		}
		r.Set(CheckUserPolicy, flows.StatusFail, "reading "+what+": "+explain(err, "").detail, "", 0)
		return
	}
	alias := t.AliasARN.AliasName()
	ctxKeys := awspolicy.Context{"kms:ResourceAliases": {alias}}
	keys := []string{t.AliasARN.String()}
	probe := "arn:" + t.AliasARN.Partition + ":kms:" + t.AliasARN.Region + ":" + t.AliasARN.Account + ":key/x"
	if k := keyARN(); k != "" {
		keys, probe = append(keys, k), k
	}
	var all awspolicy.Document
	var fails, warns []string
	var fixes []string
	for _, p := range policies {
		doc, err := awspolicy.Parse(p.doc)
		if err != nil {
			r.Set(CheckUserPolicy, flows.StatusFail, p.name+": "+err.Error(), "fix or remove it: "+p.remove(name), 0)
			return
		}
		all.Statement = append(all.Statement, doc.Statement...)
		var pf, pw []string
		for _, f := range doc.BeyondAlias(alias, keys, awspolicy.ServiceAccountActions) {
			if f.Fail {
				pf = append(pf, f.String())
			} else {
				pw = append(pw, f.String())
			}
		}
		if len(pf) > 0 {
			fails = append(fails, p.name+": "+strings.Join(pf, "; "))
			fixes = append(fixes, p.remove(name))
		}
		if len(pw) > 0 {
			warns = append(warns, p.name+": "+strings.Join(pw, "; "))
		}
	}
	var missing []string
	for _, a := range awspolicy.ServiceAccountActions {
		if all.DecideIdentity(a, probe, ctxKeys) != awspolicy.Allow {
			missing = append(missing, a)
		}
	}
	switch {
	case len(fails) > 0:
		r.Set(CheckUserPolicy, flows.StatusFail, "user "+name+" may do more than use "+alias+": "+strings.Join(fails, "; "),
			"limit each to the alias, or remove it: "+strings.Join(fixes, "; "), 0)
	case len(missing) > 0:
		r.Set(CheckUserPolicy, flows.StatusFail, "user "+name+" lacks "+strings.Join(missing, ", ")+" on "+alias,
			"run the setup script again: it puts policy "+name+" on the user", flows.StepScript)
		// The user's own policies, as read, do not grant it: a denial is
		// no change on its way.
		r.policyWrong()
	case len(warns) > 0:
		r.Set(CheckUserPolicy, flows.StatusWarn, "user "+name+" has more KMS actions than the vendor needs: "+strings.Join(warns, "; "),
			"remove the extra actions from the policy; the vendor needs "+strings.Join(awspolicy.ServiceAccountActions, ", "), 0)
	default:
		r.Set(CheckUserPolicy, flows.StatusPass, "user "+name+": "+fmt.Sprint(len(awspolicy.ServiceAccountActions))+" actions, only on "+alias+
			" ("+fmt.Sprint(len(policies))+" "+plural(len(policies), "policy", "policies")+" read)", "", 0)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// userPolicyDoc is one policy that applies to an IAM user, and where it
// comes from.
type userPolicyDoc struct {
	name  string // "inline policy X", "managed policy X (ARN)", "group G's inline policy X", …
	group string // the group it comes through, if any
	arn   string // a managed policy's ARN
	short string // an inline policy's name
	doc   string
}

// remove is the command that takes the policy away from the user.
func (p userPolicyDoc) remove(user string) string {
	switch {
	case p.group != "":
		return "aws iam remove-user-from-group --user-name " + user + " --group-name " + p.group
	case p.arn != "":
		return "aws iam detach-user-policy --user-name " + user + " --policy-arn " + p.arn
	}
	return "aws iam delete-user-policy --user-name " + user + " --policy-name " + p.short
}

// readError says which read failed.
type readError struct {
	what string
	err  error
}

func (e *readError) Error() string { return e.what + ": " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// errMissing is a well-formed answer that lacks a field the check needs.
type errMissing struct{ call, field string }

func (e errMissing) Error() string {
	return "AWS answered " + e.call + " without " + e.field
}

// readUserPolicies reads every policy that applies to an IAM user. The
// reads that do not depend on each other run at the same time: the
// three lists, each group's two, and each policy's reads; lists are
// followed page by page (IsTruncated, Marker). A managed policy attached
// twice (to the user and a group) is read once.
func readUserPolicies(ctx context.Context, c *iam.Client, user string) ([]userPolicyDoc, error) {
	g, ctx := errgroup.WithContext(ctx)
	var (
		mu   sync.Mutex
		docs []userPolicyDoc
		seen = map[string]bool{}
	)
	add := func(p userPolicyDoc) {
		mu.Lock()
		defer mu.Unlock()
		docs = append(docs, p)
	}
	fail := func(what string, err error) error { return &readError{what, err} }
	inline := func(names []string, group string) {
		for _, pn := range names {
			g.Go(func() error {
				var doc *string
				var call string
				if group == "" {
					call = "GetUserPolicy"
					out, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: &user, PolicyName: aws.String(pn)})
					if err != nil {
						return fail("inline policy "+pn, err)
					}
					doc = out.PolicyDocument
				} else {
					call = "GetGroupPolicy"
					out, err := c.GetGroupPolicy(ctx, &iam.GetGroupPolicyInput{GroupName: &group, PolicyName: aws.String(pn)})
					if err != nil {
						return fail("group "+group+"'s inline policy "+pn, err)
					}
					doc = out.PolicyDocument
				}
				if doc == nil {
					return errMissing{call, "PolicyDocument"}
				}
				name := "inline policy " + pn
				if group != "" {
					name = "group " + group + "'s inline policy " + pn
				}
				add(userPolicyDoc{name: name, group: group, short: pn, doc: decodePolicy(*doc)})
				return nil
			})
		}
	}
	managed := func(list []iamtypes.AttachedPolicy, group string) error {
		for _, ap := range list {
			if ap.PolicyArn == nil {
				return errMissing{"a list of attached policies", "PolicyArn"}
			}
			arn := *ap.PolicyArn
			mu.Lock()
			dup := seen[arn]
			seen[arn] = true
			mu.Unlock()
			if dup {
				continue
			}
			g.Go(func() error {
				what := "managed policy " + arn
				pol, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: &arn})
				if err != nil {
					return fail(what, err)
				}
				if pol.Policy == nil {
					return errMissing{"GetPolicy", "Policy"}
				}
				if pol.Policy.DefaultVersionId == nil {
					return errMissing{"GetPolicy", "Policy.DefaultVersionId"}
				}
				v, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: &arn, VersionId: pol.Policy.DefaultVersionId})
				if err != nil {
					return fail(what+" version "+*pol.Policy.DefaultVersionId, err)
				}
				if v.PolicyVersion == nil {
					return errMissing{"GetPolicyVersion", "PolicyVersion"}
				}
				if v.PolicyVersion.Document == nil {
					return errMissing{"GetPolicyVersion", "PolicyVersion.Document"}
				}
				name := "managed policy " + aws.ToString(ap.PolicyName) + " (" + arn + ")"
				if group != "" {
					name += " of group " + group
				}
				add(userPolicyDoc{name: name, group: group, arn: arn, doc: decodePolicy(*v.PolicyVersion.Document)})
				return nil
			})
		}
		return nil
	}
	g.Go(func() error {
		pg := iam.NewListUserPoliciesPaginator(c, &iam.ListUserPoliciesInput{UserName: &user})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				return fail("the user's inline policies", err)
			}
			inline(out.PolicyNames, "")
		}
		return nil
	})
	g.Go(func() error {
		pg := iam.NewListAttachedUserPoliciesPaginator(c, &iam.ListAttachedUserPoliciesInput{UserName: &user})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				return fail("the user's attached policies", err)
			}
			if err := managed(out.AttachedPolicies, ""); err != nil {
				return err
			}
		}
		return nil
	})
	g.Go(func() error {
		pg := iam.NewListGroupsForUserPaginator(c, &iam.ListGroupsForUserInput{UserName: &user})
		for pg.HasMorePages() {
			out, err := pg.NextPage(ctx)
			if err != nil {
				return fail("the user's groups", err)
			}
			for _, gr := range out.Groups {
				if gr.GroupName == nil {
					return errMissing{"ListGroupsForUser", "Groups.GroupName"}
				}
				group := *gr.GroupName
				g.Go(func() error {
					pg := iam.NewListGroupPoliciesPaginator(c, &iam.ListGroupPoliciesInput{GroupName: &group})
					for pg.HasMorePages() {
						out, err := pg.NextPage(ctx)
						if err != nil {
							return fail("group "+group+"'s inline policies", err)
						}
						inline(out.PolicyNames, group)
					}
					return nil
				})
				g.Go(func() error {
					pg := iam.NewListAttachedGroupPoliciesPaginator(c, &iam.ListAttachedGroupPoliciesInput{GroupName: &group})
					for pg.HasMorePages() {
						out, err := pg.NextPage(ctx)
						if err != nil {
							return fail("group "+group+"'s attached policies", err)
						}
						if err := managed(out.AttachedPolicies, group); err != nil {
							return err
						}
					}
					return nil
				})
			}
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].name < docs[j].name })
	return docs, nil
}

// decodePolicy undoes the URL encoding IAM gives policy documents.
func decodePolicy(s string) string {
	if text, err := url.QueryUnescape(s); err == nil {
		return text
	}
	return s
}

// run is one attempt at the checks.
type run struct {
	*checkrun.Attempt
}

// policyWrong records that the key policy itself lacks the grant: a
// denial then is no propagation delay, and waiting cannot help.
func (r *run) policyWrong() { r.Final() }
