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

// Setup does through the SDK what the setup scripts do with the CLI, with the credentials of cfg (the customer's).
type Setup struct {
	cfg aws.Config
}

// NewSetup returns a Setup that calls AWS with cfg.
func NewSetup(cfg aws.Config) *Setup { return &Setup{cfg: cfg} }

// ErrAliasElsewhere is returned when the domain's alias already names
// another key: moving a domain to a new key is the customer's decision.
var ErrAliasElsewhere = errors.New("the alias already points at another key")

// plan is what a setup will do, found with read-only calls.
type plan struct {
	spec              flows.SetupSpec
	v                 variant
	account, caller   string
	partition, alias  string
	keyID             string // "" when the key is to be created
	aliasTarget       string // the key the alias names now, "" if none
	keyState          string
	policyBefore      string // "" for a key to be created: AWS's default
	policyAfter       string
	policyChange      bool
	replaced          *awspolicy.ConflictError // a statement Run will replace
	rotationOn        bool
	user              string
	userExists        bool
	userPolicy        string // the service account's inline policy, JSON
	userPolicyInPlace bool
	// userPolicyReplaced is a different inline policy of that name that
	// RunReplacing replaces (Plan shows it as the conflict).
	userPolicyReplaced *UserPolicyConflictError
	accessKey          string // the user's access key, when it has one
}

func (p *plan) aliasARN() string {
	return "arn:" + p.partition + ":kms:" + p.spec.Region + ":" + p.account + ":" + p.alias
}

// Plan says what Run would do, making only read calls: who is signed in,
// what it creates and keeps, and the key policy before and after. A
// different statement under the vendor's Sid is in Conflict, not an error.
func (s *Setup) Plan(ctx context.Context, spec flows.SetupSpec) (flows.SetupPlan, error) {
	p, call, err := s.plan(ctx, spec, true)
	if err != nil {
		return flows.SetupPlan{}, callError(call, err) // errors.go: a missing sign-in in one sentence
	}
	out := flows.SetupPlan{Account: p.account, Caller: p.caller}
	if p.keyID == "" {
		out.Changes = append(out.Changes, fmt.Sprintf("Create a symmetric encryption key in %s (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT), with automatic yearly rotation turned on.", spec.Region))
	} else {
		out.Kept = append(out.Kept, fmt.Sprintf("Key %s (%s) in %s.", p.keyID, p.keyState, spec.Region))
		if spec.Key == flows.KeyNew && !p.rotationOn {
			out.Changes = append(out.Changes, "Turn on automatic yearly rotation of key "+p.keyID+".")
		}
	}
	if p.aliasTarget == "" {
		out.Changes = append(out.Changes, "Create the alias "+p.alias+" for the key.")
	} else {
		out.Kept = append(out.Kept, "The alias "+p.alias+", which names the key already.")
	}
	p.v.describeAccess(&out, p)
	return out, nil
}

// plan finds what a setup will do, with read calls only. With replace,
// a different statement under the vendor's Sid is planned to be replaced
// (and recorded); without, it is the error. It returns the failed call's
// name with an error.
func (s *Setup) plan(ctx context.Context, spec flows.SetupSpec, replace bool) (*plan, string, error) {
	v, ok := variantOf(spec.Provider)
	if !ok {
		return nil, "setup", fmt.Errorf("%s is not an AWS provider", spec.Provider)
	}
	k := kms.NewFromConfig(s.cfg, func(o *kms.Options) { o.Region = spec.Region })
	who, err := sts.NewFromConfig(s.cfg, func(o *sts.Options) { o.Region = spec.Region }).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, "sts get-caller-identity", err
	}
	p := &plan{spec: spec, v: v, account: aws.ToString(who.Account), caller: aws.ToString(who.Arn),
		partition: flows.PartitionOf(spec.Region), alias: spec.AliasName(), user: spec.ServiceAccountUser()}
	if p.account == "" {
		return nil, "sts get-caller-identity", errors.New("the reply names no account")
	}
	if p.aliasTarget, err = findAlias(ctx, k, p.alias); err != nil {
		return nil, "kms list-aliases", err
	}
	switch {
	case spec.Key == flows.KeyNew && p.aliasTarget != "":
		p.keyID = p.aliasTarget
		rot, err := k.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(p.keyID)})
		if err != nil {
			return nil, "kms get-key-rotation-status", err
		}
		p.rotationOn = rot.KeyRotationEnabled
	case spec.Key == flows.KeyNew:
	default:
		out, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(spec.KeyID)})
		if err != nil {
			return nil, "kms describe-key", err
		}
		md := out.KeyMetadata
		if md == nil {
			return nil, "kms describe-key", errors.New("the reply has no KeyMetadata")
		}
		if md.KeySpec != types.KeySpecSymmetricDefault || md.KeyUsage != types.KeyUsageTypeEncryptDecrypt {
			return nil, "kms describe-key", fmt.Errorf("key %s is %s/%s; the vendor needs a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key", aws.ToString(md.KeyId), md.KeySpec, md.KeyUsage)
		}
		p.keyID, p.keyState = aws.ToString(md.KeyId), string(md.KeyState)
		if p.aliasTarget != "" && p.aliasTarget != p.keyID {
			return nil, "kms list-aliases", fmt.Errorf("%w: %s names key %s; to move the domain to key %s run: aws kms update-alias --region %s --alias-name %s --target-key-id %s",
				ErrAliasElsewhere, p.alias, p.aliasTarget, p.keyID, spec.Region, p.alias, p.keyID)
		}
	}
	if p.keyID != "" {
		if p.keyState == "" {
			p.keyState = "Enabled"
			if d, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(p.keyID)}); err == nil && d.KeyMetadata != nil {
				p.keyState = string(d.KeyMetadata.KeyState)
			}
		}
		pol, err := k.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(p.keyID), PolicyName: aws.String("default")})
		if err != nil {
			return nil, "kms get-key-policy", err
		}
		p.policyBefore = aws.ToString(pol.Policy)
	}
	before := p.policyBefore
	if before == "" {
		before = defaultKeyPolicy(p.partition, p.account)
	}
	if call, err := p.v.planAccess(ctx, s, p, before, replace); err != nil {
		return nil, call, err
	}
	return p, "", nil
}

// Run sets the key up and reports every call as it is made. It is safe to
// run again: what exists is found and kept. A different statement under
// the vendor's Sid stops it before any change, with an error that
// ConflictOf reads; RunReplacing is for after the customer confirmed.
func (s *Setup) Run(ctx context.Context, spec flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error) {
	return s.run(ctx, spec, report, false)
}

// RunReplacing is Run that replaces a different statement under the
// vendor's Sid, once the customer has seen and confirmed what it loses.
func (s *Setup) RunReplacing(ctx context.Context, spec flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error) {
	return s.run(ctx, spec, report, true)
}

func (s *Setup) run(ctx context.Context, spec flows.SetupSpec, report func(flows.SetupEvent), replace bool) (flows.SetupResult, error) {
	fail := func(call string, err error) (flows.SetupResult, error) {
		if ns := notSignedIn(err); ns != nil { // errors.go
			err = ns
		}
		report(flows.SetupEvent{Call: call, Err: err})
		return flows.SetupResult{}, callError(call, err)
	}
	p, call, err := s.plan(ctx, spec, replace)
	if err != nil {
		return fail(call, err)
	}
	report(flows.SetupEvent{Call: "sts get-caller-identity", Detail: "signed in to account " + p.account + " as " + p.caller})
	k := kms.NewFromConfig(s.cfg, func(o *kms.Options) { o.Region = spec.Region })
	switch {
	case p.keyID == "":
		out, err := k.CreateKey(ctx, &kms.CreateKeyInput{
			Description: aws.String(fmt.Sprintf("Root Encryption Key of %s, delegated to %s", spec.Domain, spec.Vendor.Name)),
			KeySpec:     types.KeySpecSymmetricDefault,
			KeyUsage:    types.KeyUsageTypeEncryptDecrypt,
		})
		if err != nil {
			return fail("kms create-key", err)
		}
		if out.KeyMetadata == nil {
			return fail("kms create-key", errors.New("the reply has no KeyMetadata"))
		}
		p.keyID = aws.ToString(out.KeyMetadata.KeyId)
		report(flows.SetupEvent{Call: "kms create-key", Detail: "created key " + p.keyID})
	case spec.Key == flows.KeyNew:
		report(flows.SetupEvent{Call: "kms list-aliases", Detail: p.alias + " exists; using its key " + p.keyID})
	default:
		report(flows.SetupEvent{Call: "kms describe-key", Detail: fmt.Sprintf("key %s is %s", p.keyID, p.keyState)})
	}
	if spec.Key == flows.KeyNew && !p.rotationOn {
		if _, err := k.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(p.keyID)}); err != nil {
			return fail("kms enable-key-rotation", err)
		}
		report(flows.SetupEvent{Call: "kms enable-key-rotation", Detail: "turned on automatic yearly rotation of key " + p.keyID})
	}
	if p.aliasTarget == "" {
		if _, err := k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(p.alias), TargetKeyId: aws.String(p.keyID)}); err != nil {
			return fail("kms create-alias", err)
		}
		report(flows.SetupEvent{Call: "kms create-alias", Detail: "created " + p.alias})
	} else if spec.Key == flows.KeyExisting {
		report(flows.SetupEvent{Call: "kms list-aliases", Detail: p.alias + " already names this key"})
	}
	return p.v.applyAccess(ctx, s, k, p, report, fail)
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
