package awskms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aymanbagabas/go-udiff"
	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
)

// defaultKeyPolicy is the policy AWS gives a key created without one.
func defaultKeyPolicy(partition, account string) string {
	return `{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:` + partition + `:iam::` + account + `:root"},"Action":"kms:*","Resource":"*"}]}`
}

func conflictOf(c *awspolicy.ConflictError) *flows.StatementConflict {
	return &flows.StatementConflict{Sid: c.Sid, Existing: pretty(string(c.Existing)), Ours: pretty(string(c.Ours)), Losses: c.Losses()}
}

// ConflictOf returns the statement conflict an error from Run carries, or
// nil when it carries none.
func ConflictOf(err error) *flows.StatementConflict {
	var c *awspolicy.ConflictError
	if errors.As(err, &c) {
		return conflictOf(c)
	}
	var u *UserPolicyConflictError
	if errors.As(err, &u) {
		return userConflictOf(u)
	}
	return nil
}

// pretty indents JSON two spaces, or returns it as it is if it is not JSON.
func pretty(s string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(s), "", "  ") != nil {
		return s
	}
	return b.String() + "\n"
}

// describeAccess: the vendor's statement in the key policy, added or
// kept, and a different statement under its Sid as the conflict.
func (delegated) describeAccess(out *flows.SetupPlan, p *plan) {
	spec := p.spec
	if p.replaced != nil {
		out.Conflict = conflictOf(p.replaced)
	}
	if p.policyChange {
		what := "Add statement " + awspolicy.VendorSid(spec.Vendor.Slug) + " for " + spec.Vendor.AWSPrincipal(p.partition) + " to the key policy, keeping every other statement."
		if p.replaced != nil {
			what = "Replace statement " + p.replaced.Sid + " in the key policy (only if you confirm), keeping every other statement."
		}
		out.Changes = append(out.Changes, what)
		before := p.policyBefore
		if before == "" {
			before = defaultKeyPolicy(p.partition, p.account)
		}
		out.PolicyDiff = udiff.Unified("key policy now", "key policy after", pretty(before), pretty(p.policyAfter))
	} else {
		out.Kept = append(out.Kept, "Statement "+awspolicy.VendorSid(spec.Vendor.Slug)+" in the key policy, as rekwiz writes it.")
	}
}

// planAccess merges the vendor's statement into the key policy. With
// replace, a different statement under the vendor's Sid is planned to be
// replaced (and recorded); without, it is the error.
func (delegated) planAccess(_ context.Context, _ *Setup, p *plan, before string, replace bool) (string, error) {
	spec := p.spec
	var err error
	st := awspolicy.VendorStatement(awspolicy.VendorSid(spec.Vendor.Slug), spec.Vendor.AWSPrincipal(p.partition))
	p.policyAfter, p.policyChange, err = awspolicy.Upsert(before, st)
	var ce *awspolicy.ConflictError
	if errors.As(err, &ce) && replace {
		p.replaced = ce
		p.policyAfter, p.policyChange, err = awspolicy.Replace(before, st)
	}
	if err != nil {
		return "kms get-key-policy", err
	}
	if !p.policyChange {
		p.policyAfter = before
	}
	return "", nil
}

// applyAccess puts the vendor's statement into the key policy, keeping
// every other statement.
func (delegated) applyAccess(ctx context.Context, _ *Setup, k *kms.Client, p *plan, report func(flows.SetupEvent), fail failFunc) (flows.SetupResult, error) {
	spec := p.spec
	sid := awspolicy.VendorSid(spec.Vendor.Slug)
	if p.policyBefore == "" {
		// A key just made: its policy is read and the statement merged in.
		pol, err := k.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(p.keyID), PolicyName: aws.String("default")})
		if err != nil {
			return fail("kms get-key-policy", err)
		}
		st := awspolicy.VendorStatement(sid, spec.Vendor.AWSPrincipal(p.partition))
		if p.policyAfter, p.policyChange, err = awspolicy.Upsert(aws.ToString(pol.Policy), st); err != nil {
			return fail("kms get-key-policy", err)
		}
	}
	if p.policyChange {
		if _, err := k.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(p.keyID), PolicyName: aws.String("default"), Policy: aws.String(p.policyAfter)}); err != nil {
			return fail("kms put-key-policy", err)
		}
		verb := "added"
		if p.replaced != nil {
			verb = "replaced"
		}
		report(flows.SetupEvent{Call: "kms put-key-policy", Detail: verb + " statement " + sid + " for " + spec.Vendor.AWSPrincipal(p.partition) + "; other statements kept"})
	} else {
		report(flows.SetupEvent{Call: "kms get-key-policy", Detail: "statement " + sid + " already in place"})
	}
	return flows.SetupResult{Paste: map[flows.Field]string{flows.FieldAliasARN: p.aliasARN()}}, nil
}
