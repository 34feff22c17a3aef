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
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
)

// Setup does through the SDK what the setup scripts do with the CLI, with the credentials of cfg (the customer's).
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
	if !spec.Provider.IsAWS() {
		return flows.SetupResult{}, fmt.Errorf("%s is not an AWS provider", spec.Provider)
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
	arn := "arn:" + partition + ":kms:" + spec.Region + ":" + account + ":" + alias
	if spec.Provider == flows.AWSServiceAccount {
		return s.serviceAccount(ctx, spec, account, aws.ToString(pol.Policy), arn, report, fail)
	}
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

	return flows.SetupResult{Paste: map[flows.Field]string{flows.FieldAliasARN: arn}}, nil
}

// serviceAccount makes the IAM user of a service account, its policy
// (the alias's key only) and, unless it has one, its access key: what
// the service-account script does after the key and alias.
func (s *Setup) serviceAccount(ctx context.Context, spec flows.SetupSpec, account, keyPolicy, aliasARN string,
	report func(flows.SetupEvent), fail func(string, error) (flows.SetupResult, error)) (flows.SetupResult, error) {
	doc, err := awspolicy.Parse(keyPolicy)
	if err != nil {
		return fail("kms get-key-policy", err)
	}
	for _, a := range awspolicy.ServiceAccountActions {
		if !doc.GrantsAccount(account, a) {
			return fail("kms get-key-policy", fmt.Errorf("the key policy has no statement for account %s, so no IAM user can be given the key; choose the delegated provider, or add the account's statement to the key policy", account))
		}
	}
	c := iam.NewFromConfig(s.cfg)
	user := aws.String(spec.ServiceAccountUser())
	if _, err := c.GetUser(ctx, &iam.GetUserInput{UserName: user}); err == nil {
		report(flows.SetupEvent{Call: "iam get-user", Detail: "IAM user " + *user + " exists"})
	} else if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: user}); err != nil {
		return fail("iam create-user", err)
	} else {
		report(flows.SetupEvent{Call: "iam create-user", Detail: "created IAM user " + *user})
	}

	want := awspolicy.ServiceAccountPolicy(spec.AliasName(), "arn:"+flows.PartitionOf(spec.Region)+":kms:"+spec.Region+":"+account+":key/*")
	wantJSON, err := json.Marshal(want)
	if err != nil {
		return fail("iam put-user-policy", err)
	}
	have, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: user, PolicyName: user})
	if text, _ := url.QueryUnescape(aws.ToString(haveDoc(have, err))); err == nil && sameJSON(text, string(wantJSON)) {
		report(flows.SetupEvent{Call: "iam get-user-policy", Detail: "policy " + *user + " is in place"})
	} else if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: user, PolicyName: user, PolicyDocument: aws.String(string(wantJSON))}); err != nil {
		return fail("iam put-user-policy", err)
	} else {
		report(flows.SetupEvent{Call: "iam put-user-policy", Detail: "policy " + *user + ": " + spec.AliasName() + "'s key only"})
	}

	paste := map[flows.Field]string{flows.FieldAliasARN: aliasARN}
	keys, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: user})
	if err != nil {
		return fail("iam list-access-keys", err)
	}
	if len(keys.AccessKeyMetadata) > 0 {
		id := aws.ToString(keys.AccessKeyMetadata[0].AccessKeyId)
		paste[flows.FieldAccessKeyID] = id
		report(flows.SetupEvent{Call: "iam list-access-keys", Detail: "access key " + id + " exists; its secret was shown once, when it was made (aws iam create-access-key makes a new one)"})
		return flows.SetupResult{Paste: paste}, nil
	}
	ak, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: user})
	if err != nil {
		return fail("iam create-access-key", err)
	}
	paste[flows.FieldAccessKeyID] = aws.ToString(ak.AccessKey.AccessKeyId)
	paste[flows.FieldSecretAccessKey] = aws.ToString(ak.AccessKey.SecretAccessKey)
	report(flows.SetupEvent{Call: "iam create-access-key", Detail: "created access key " + aws.ToString(ak.AccessKey.AccessKeyId) + " (its secret goes straight to the next step)"})
	return flows.SetupResult{Paste: paste}, nil
}

func haveDoc(out *iam.GetUserPolicyOutput, err error) *string {
	if err != nil || out == nil {
		return nil
	}
	return out.PolicyDocument
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
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
