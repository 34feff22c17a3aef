package awskms

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
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
)

// callTimeout bounds each AWS call, so a check never hangs on a network
// that drops packets.
const callTimeout = 20 * time.Second

// Pairing checks that an AWS KMS key is set up for the vendor, calling AWS
// with the credentials of cfg: the vendor's own in the demo, so every
// call is exactly one the vendor would make.
type Pairing struct {
	cfg aws.Config
}

// NewPairing returns a check that calls AWS with cfg.
func NewPairing(cfg aws.Config) *Pairing { return &Pairing{cfg: cfg} }

// Plan lists the checks Run will report on, all pending, in display order.
func (p *Pairing) Plan(flows.Target) []flows.Check {
	return []flows.Check{
		{ID: CheckAliasName, Name: "Alias names this domain and vendor"},
		{ID: CheckCredentials, Name: "AWS credentials work"},
		{ID: CheckAlias, Name: "Alias resolves to a key"},
		{ID: CheckKeyState, Name: "Key is enabled"},
		{ID: CheckKeySpec, Name: "Key is symmetric, for encryption"},
		{ID: CheckKeyPolicy, Name: "Key policy grants the vendor"},
		{ID: CheckRoundTrip, Name: "Wrap and unwrap a data key"},
	}
}

// Run makes the checks, reporting each change as it happens (report may be
// called from several goroutines at once), and returns the results.
// Independent calls run at the same time; cancelling ctx stops them all.
func (p *Pairing) Run(ctx context.Context, t flows.Target, report func(flows.Check)) []flows.Check {
	r := newRun(p.Plan(t), report)
	a := t.AliasARN
	principal := t.Vendor.AWSPrincipal(a.Partition)
	k := kms.NewFromConfig(p.cfg, func(o *kms.Options) { o.Region = a.Region })

	want := flows.AliasName(t.Provider, t.Domain, t.Vendor.Slug, "")
	if got := a.AliasName(); got == want || (t.Provider == flows.AWSServiceAccount && strings.HasPrefix(got, want+"/")) {
		r.set(CheckAliasName, flows.StatusPass, got, "", 0)
	} else {
		r.set(CheckAliasName, flows.StatusFail, got+" does not start with "+want,
			"paste the alias the script printed for this domain", flows.StepPaste)
	}

	var (
		wg     sync.WaitGroup
		caller *sts.GetCallerIdentityOutput
		md     *types.KeyMetadata
	)
	wg.Go(func() {
		r.set(CheckCredentials, flows.StatusRunning, "", "", 0)
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		out, err := sts.NewFromConfig(p.cfg, func(o *sts.Options) { o.Region = a.Region }).GetCallerIdentity(cctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			pr := explain(err, "")
			r.set(CheckCredentials, flows.StatusFail, pr.detail, pr.remedy, 0)
			return
		}
		caller = out
		r.set(CheckCredentials, flows.StatusPass, "checking as "+aws.ToString(out.Arn), "", 0)
	})
	wg.Go(func() {
		r.set(CheckAlias, flows.StatusRunning, "", "", 0)
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		defer cancel()
		out, err := k.DescribeKey(cctx, &kms.DescribeKeyInput{KeyId: aws.String(a.String())})
		if err != nil {
			pr := explain(err, "alias "+a.AliasName()+" in "+a.Region)
			fix := flows.StepPaste
			if pr.action != "" {
				pr.detail = fmt.Sprintf("the key policy does not let %s call %s", principal, pr.action)
				pr.remedy = scriptRemedy(t)
				fix = flows.StepScript
			}
			r.set(CheckAlias, flows.StatusFail, pr.detail, pr.remedy, fix)
			return
		}
		md = out.KeyMetadata
		r.set(CheckAlias, flows.StatusPass, "key "+aws.ToString(md.KeyId), "", 0)
	})
	wg.Wait()

	if md == nil {
		r.skipRest("needs the alias to resolve")
		return r.results()
	}
	enabled := r.keyState(md)
	usable := r.keySpec(md) && enabled

	wg.Go(func() { r.keyPolicy(ctx, k, t, md, caller) })
	if usable {
		wg.Go(func() { r.roundTrip(ctx, k, t) })
	} else {
		r.set(CheckRoundTrip, flows.StatusSkipped, "the key cannot be used as it is", "", 0)
	}
	wg.Wait()
	return r.results()
}

func scriptRemedy(t flows.Target) string {
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
		r.set(CheckKeyState, flows.StatusPass, "Enabled", "", 0)
		return true
	case types.KeyStateDisabled:
		r.set(CheckKeyState, flows.StatusFail, "the key is disabled",
			fmt.Sprintf("aws kms enable-key --region %s --key-id %s", region, arn), 0)
	case types.KeyStatePendingDeletion:
		when := "soon"
		if md.DeletionDate != nil {
			when = "on " + md.DeletionDate.UTC().Format("2006-01-02")
		}
		r.set(CheckKeyState, flows.StatusFail, "the key is scheduled for deletion "+when,
			fmt.Sprintf("aws kms cancel-key-deletion --region %s --key-id %s && aws kms enable-key --region %s --key-id %s", region, arn, region, arn), 0)
	case types.KeyStatePendingImport:
		r.set(CheckKeyState, flows.StatusFail, "the key is waiting for its key material to be imported",
			"import the key material (aws kms get-parameters-for-import, then aws kms import-key-material), or use a key KMS generated", flows.StepKey)
	default:
		r.set(CheckKeyState, flows.StatusFail, "the key is "+string(md.KeyState), "wait until the key is Enabled, then retry", 0)
	}
	return false
}

func (r *run) keySpec(md *types.KeyMetadata) bool {
	if md.KeySpec == types.KeySpecSymmetricDefault && md.KeyUsage == types.KeyUsageTypeEncryptDecrypt {
		r.set(CheckKeySpec, flows.StatusPass, "SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT", "", 0)
		return true
	}
	r.set(CheckKeySpec, flows.StatusFail, fmt.Sprintf("the key is %s, %s; the vendor wraps keys with SYMMETRIC_DEFAULT ENCRYPT_DECRYPT keys", md.KeySpec, md.KeyUsage),
		"choose another key, or let the script create one", flows.StepKey)
	return false
}

// keyPolicy reads the policy when the checking identity may (it is in the
// key's account) and names each action the vendor lacks. Run as the
// vendor, the policy is not readable cross-account; the round trip is
// then the proof.
func (r *run) keyPolicy(ctx context.Context, k *kms.Client, t flows.Target, md *types.KeyMetadata, caller *sts.GetCallerIdentityOutput) {
	if caller == nil || aws.ToString(caller.Account) != aws.ToString(md.AWSAccountId) {
		r.set(CheckKeyPolicy, flows.StatusSkipped, "the policy is readable in the key's account only; the round trip tests it", "", 0)
		return
	}
	r.set(CheckKeyPolicy, flows.StatusRunning, "", "", 0)
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	out, err := k.GetKeyPolicy(cctx, &kms.GetKeyPolicyInput{KeyId: md.Arn, PolicyName: aws.String("default")})
	if err != nil {
		pr := explain(err, "the key policy")
		r.set(CheckKeyPolicy, flows.StatusFail, pr.detail, pr.remedy, 0)
		return
	}
	doc, err := awspolicy.Parse(aws.ToString(out.Policy))
	if err != nil {
		r.set(CheckKeyPolicy, flows.StatusFail, err.Error(), "fix the key policy's JSON in the KMS console", 0)
		return
	}
	principal := t.Vendor.AWSPrincipal(t.AliasARN.Partition)
	missing := doc.Missing(awspolicy.Caller{ARN: principal, Account: t.Vendor.AWSAccountID}, awspolicy.VendorActions)
	if len(missing) == 0 {
		r.set(CheckKeyPolicy, flows.StatusPass, principal+" has all "+fmt.Sprint(len(awspolicy.VendorActions))+" actions", "", 0)
		return
	}
	var names []string
	for a, dec := range missing {
		names = append(names, a+" ("+dec.String()+")")
	}
	sort.Strings(names)
	r.set(CheckKeyPolicy, flows.StatusFail, principal+" lacks "+strings.Join(names, ", "), scriptRemedy(t), flows.StepScript)
}

// roundTrip does what the vendor does with the key: a data key made
// without plaintext, decrypted, re-encrypted to the same key, decrypted
// again; both plaintexts must be equal. The encryption context binds the
// domain.
func (r *run) roundTrip(ctx context.Context, k *kms.Client, t flows.Target) {
	r.set(CheckRoundTrip, flows.StatusRunning, "", "", 0)
	ctx, cancel := context.WithTimeout(ctx, 4*callTimeout)
	defer cancel()
	alias := aws.String(t.AliasARN.String())
	ec := map[string]string{"domain": t.Domain}
	fail := func(call string, err error) {
		pr := explain(err, "the key")
		if pr.action != "" {
			r.set(CheckRoundTrip, flows.StatusFail, fmt.Sprintf("%s refused: %s (%s)", call, pr.detail, t.Vendor.AWSPrincipal(t.AliasARN.Partition)), scriptRemedy(t), flows.StepScript)
			return
		}
		r.set(CheckRoundTrip, flows.StatusFail, call+": "+pr.detail, pr.remedy, 0)
	}
	g, err := k.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: alias, KeySpec: types.DataKeySpecAes256, EncryptionContext: ec})
	if err != nil {
		fail("GenerateDataKeyWithoutPlaintext", err)
		return
	}
	d1, err := k.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: g.CiphertextBlob, KeyId: alias, EncryptionContext: ec})
	if err != nil {
		fail("Decrypt", err)
		return
	}
	re, err := k.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: g.CiphertextBlob, SourceKeyId: alias, SourceEncryptionContext: ec, DestinationKeyId: alias, DestinationEncryptionContext: ec})
	if err != nil {
		fail("ReEncrypt", err)
		return
	}
	d2, err := k.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob, KeyId: alias, EncryptionContext: ec})
	if err != nil {
		fail("Decrypt (after ReEncrypt)", err)
		return
	}
	if !bytes.Equal(d1.Plaintext, d2.Plaintext) {
		r.set(CheckRoundTrip, flows.StatusFail, "the data key changed across re-encryption", "report this to the vendor's support with this output", 0)
		return
	}
	r.set(CheckRoundTrip, flows.StatusPass, "GenerateDataKeyWithoutPlaintext, Decrypt, ReEncrypt, Decrypt: same data key", "", 0)
}

// run holds the checks of one Run; updates go through set, which reports
// a copy of the check.
type run struct {
	mu     sync.Mutex
	checks []flows.Check
	report func(flows.Check)
}

func newRun(plan []flows.Check, report func(flows.Check)) *run {
	if report == nil {
		report = func(flows.Check) {}
	}
	return &run{checks: plan, report: report}
}

func (r *run) set(id string, st flows.Status, detail, remedy string, fix flows.Step) {
	r.mu.Lock()
	var c flows.Check
	for i := range r.checks {
		if r.checks[i].ID == id {
			r.checks[i].Status, r.checks[i].Detail, r.checks[i].Remedy, r.checks[i].Fix = st, detail, remedy, fix
			c = r.checks[i]
		}
	}
	r.mu.Unlock()
	r.report(c)
}

// skipRest marks every check without a result as skipped.
func (r *run) skipRest(why string) {
	for _, c := range r.results() {
		if !c.Status.Done() {
			r.set(c.ID, flows.StatusSkipped, why, "", 0)
		}
	}
}

func (r *run) results() []flows.Check {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]flows.Check(nil), r.checks...)
}
