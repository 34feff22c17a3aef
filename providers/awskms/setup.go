// Package awskms is rekwiz's AWS KMS provider, on aws-sdk-go-v2: it sets a
// key up for the vendor the way the generated script does, and checks that
// the vendor can use it (the pairing check).
//
// It never deletes, disables or schedules the deletion of a key, never
// bypasses the key policy lockout check, and keeps every statement of a
// key policy but the vendor's own.
package awskms

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
)

// Setup does through the SDK what the delegated-key script does with the
// CLI, with the credentials of cfg (the customer's).
type Setup struct {
	cfg aws.Config
}

// NewSetup returns a Setup that calls AWS with cfg.
func NewSetup(cfg aws.Config) *Setup { return &Setup{cfg: cfg} }

// ErrAliasElsewhere is returned when the domain's alias already names
// another key: moving a domain to a new key is the customer's decision.
var ErrAliasElsewhere = errors.New("the alias already points at another key")

// Run sets the key up and reports every call as it is made. It is safe to
// run again: what exists is found and kept.
func (s *Setup) Run(ctx context.Context, spec flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error) {
	if spec.Provider != flows.AWSDelegated {
		return flows.SetupResult{}, fmt.Errorf("setting up %s through the SDK is not built yet; run the script instead", spec.Provider)
	}
	region := func(o *kms.Options) { o.Region = spec.Region }
	k := kms.NewFromConfig(s.cfg, region)
	fail := func(call string, err error) (flows.SetupResult, error) {
		report(flows.SetupEvent{Call: call, Err: err})
		return flows.SetupResult{}, fmt.Errorf("%s: %w", call, err)
	}

	who, err := sts.NewFromConfig(s.cfg, func(o *sts.Options) { o.Region = spec.Region }).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return fail("sts get-caller-identity", err)
	}
	account := aws.ToString(who.Account)
	report(flows.SetupEvent{Call: "sts get-caller-identity", Detail: "signed in as " + aws.ToString(who.Arn)})

	alias := spec.AliasName()
	existing, err := findAlias(ctx, k, alias)
	if err != nil {
		return fail("kms list-aliases", err)
	}
	var keyID string
	switch {
	case spec.Key == flows.KeyNew && existing != "":
		keyID = existing
		report(flows.SetupEvent{Call: "kms list-aliases", Detail: alias + " exists; using its key " + keyID})
	case spec.Key == flows.KeyNew:
		out, err := k.CreateKey(ctx, &kms.CreateKeyInput{
			Description: aws.String(fmt.Sprintf("Root Encryption Key of %s, delegated to %s", spec.Domain, spec.Vendor.Name)),
			KeySpec:     types.KeySpecSymmetricDefault,
			KeyUsage:    types.KeyUsageTypeEncryptDecrypt,
		})
		if err != nil {
			return fail("kms create-key", err)
		}
		keyID = aws.ToString(out.KeyMetadata.KeyId)
		report(flows.SetupEvent{Call: "kms create-key", Detail: "created key " + keyID})
	default:
		out, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(spec.KeyID)})
		if err != nil {
			return fail("kms describe-key", err)
		}
		md := out.KeyMetadata
		if md.KeySpec != types.KeySpecSymmetricDefault || md.KeyUsage != types.KeyUsageTypeEncryptDecrypt {
			return fail("kms describe-key", fmt.Errorf("key %s is %s/%s; the vendor needs a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key", aws.ToString(md.KeyId), md.KeySpec, md.KeyUsage))
		}
		keyID = aws.ToString(md.KeyId)
		report(flows.SetupEvent{Call: "kms describe-key", Detail: fmt.Sprintf("key %s is %s", keyID, md.KeyState)})
		if existing != "" && existing != keyID {
			return fail("kms list-aliases", fmt.Errorf("%w: %s names key %s; to move the domain to key %s run: aws kms update-alias --region %s --alias-name %s --target-key-id %s",
				ErrAliasElsewhere, alias, existing, keyID, spec.Region, alias, keyID))
		}
	}
	if existing == "" {
		if _, err := k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(keyID)}); err != nil {
			return fail("kms create-alias", err)
		}
		report(flows.SetupEvent{Call: "kms create-alias", Detail: "created " + alias})
	} else if spec.Key == flows.KeyExisting {
		report(flows.SetupEvent{Call: "kms list-aliases", Detail: alias + " already names this key"})
	}

	pol, err := k.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(keyID), PolicyName: aws.String("default")})
	if err != nil {
		return fail("kms get-key-policy", err)
	}
	partition := flows.PartitionOf(spec.Region)
	st := awspolicy.VendorStatement(awspolicy.VendorSid(spec.Vendor.Slug), spec.Vendor.AWSPrincipal(partition))
	merged, changed, err := awspolicy.Upsert(aws.ToString(pol.Policy), st)
	if err != nil {
		return fail("kms get-key-policy", err)
	}
	if changed {
		if _, err := k.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(keyID), PolicyName: aws.String("default"), Policy: aws.String(merged)}); err != nil {
			return fail("kms put-key-policy", err)
		}
		report(flows.SetupEvent{Call: "kms put-key-policy", Detail: "added statement " + st.Sid + " for " + spec.Vendor.AWSPrincipal(partition) + "; other statements kept"})
	} else {
		report(flows.SetupEvent{Call: "kms get-key-policy", Detail: "statement " + st.Sid + " already in place"})
	}

	arn := "arn:" + partition + ":kms:" + spec.Region + ":" + account + ":" + alias
	return flows.SetupResult{Paste: map[flows.Field]string{flows.FieldAliasARN: arn}}, nil
}

// findAlias returns the key ID an alias names in the client's account
// and region, or "" when there is no such alias.
func findAlias(ctx context.Context, k *kms.Client, alias string) (string, error) {
	p := kms.NewListAliasesPaginator(k, &kms.ListAliasesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", err
		}
		for _, a := range page.Aliases {
			if aws.ToString(a.AliasName) == alias {
				return aws.ToString(a.TargetKeyId), nil
			}
		}
	}
	return "", nil
}
