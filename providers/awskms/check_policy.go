package awskms

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
)

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
	fail, remedy, grantFix, need := r.v.keyPolicyGrant(doc, t, md)
	if fail != "" {
		fails, remedies, fix = append(fails, fail), append(remedies, remedy), grantFix
		r.policyWrong()
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
			r.v.extrasRemedy(t), 0)
	default:
		r.Set(CheckKeyPolicy, flows.StatusPass, r.v.keyPolicyPassed(t, md), "", 0)
	}
}

// keyPolicyGrant: the key policy grants the vendor's principal every
// action it needs.
func (d delegated) keyPolicyGrant(doc awspolicy.Document, t flows.Target, _ *types.KeyMetadata) (string, string, flows.Step, []string) {
	principal := t.Vendor.AWSPrincipal(t.AliasARN.Partition)
	missing := doc.Missing(awspolicy.Caller{ARN: principal, Account: t.Vendor.AWSAccountID}, awspolicy.VendorActions)
	if len(missing) == 0 {
		return "", "", 0, awspolicy.VendorActions
	}
	var names []string
	for a, dec := range missing {
		names = append(names, a+" ("+dec.String()+")")
	}
	sort.Strings(names)
	return principal + " lacks " + strings.Join(names, ", "), d.scriptRemedy(t), flows.StepScript, awspolicy.VendorActions
}

func (delegated) keyPolicyPassed(t flows.Target, _ *types.KeyMetadata) string {
	return t.Vendor.AWSPrincipal(t.AliasARN.Partition) + " has all " + fmt.Sprint(len(awspolicy.VendorActions)) + " actions"
}

func (delegated) extrasRemedy(flows.Target) string {
	return "remove the extra actions from the key policy; the vendor needs " + strings.Join(awspolicy.VendorActions, ", ")
}

// keyPolicyGrant: the key policy leaves the grant to IAM in the key's
// account; the vendor needs nothing in it.
func (serviceAccount) keyPolicyGrant(doc awspolicy.Document, _ flows.Target, md *types.KeyMetadata) (string, string, flows.Step, []string) {
	account := aws.ToString(md.AWSAccountId)
	var missing []string
	for _, a := range awspolicy.ServiceAccountActions {
		if !doc.GrantsAccount(account, a) {
			missing = append(missing, a)
		}
	}
	if len(missing) == 0 {
		return "", "", 0, nil
	}
	return "no statement lets IAM policies in " + account + " grant " + strings.Join(missing, ", "),
		"add the account's statement (Principal arn:aws:iam::" + account + ":root) to the key policy, or choose the delegated provider",
		flows.StepProvider, nil
}

func (serviceAccount) keyPolicyPassed(_ flows.Target, md *types.KeyMetadata) string {
	return "IAM policies in " + aws.ToString(md.AWSAccountId) + " may grant the key"
}

func (serviceAccount) extrasRemedy(flows.Target) string {
	return "remove the vendor's statements from the key policy: with a service account the vendor needs no grant there"
}
