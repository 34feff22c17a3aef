package awskms

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
)

// variant is how the vendor reaches an AWS key, and everything the
// checks and the set-up do differently for it: delegated (the key policy
// grants the vendor's principal) or a service account (an IAM user in
// the customer's account, limited to the alias, whose access key the
// vendor holds). variantOf is the one place that maps a provider to its
// variant; the checks and the set-up ask the variant, never the
// provider.
type variant interface {
	// checkNames name the credentials and key policy checks.
	checkNames() (credentials, keyPolicy string)
	// ownChecks are the checks only this variant makes.
	ownChecks() []flows.Check
	// checkConfig is the SDK configuration the checks of t run with.
	checkConfig(cfg aws.Config, t flows.Target) aws.Config
	// aliasMatches says whether the alias name got is one this variant
	// makes for t, and what it must be (or start with).
	aliasMatches(got string, t flows.Target) (ok bool, want string)
	// credentialsFailed records credentials AWS refused.
	credentialsFailed(r *run, err error, pr problem)
	// credentialsPassed starts (with spawn) the checks that need to know
	// who the checks run as; iam reads IAM.
	credentialsPassed(ctx context.Context, r *run, spawn func(func()), iam aws.Config, t flows.Target, caller *sts.GetCallerIdentityOutput, keyARN func() string)
	// who names the identity the checks run as, for a sentence.
	who(t flows.Target) string
	// scriptRemedy says what running the setup script again fixes.
	scriptRemedy(t flows.Target) string
	// keyPolicyGrant judges what the key policy grants for this variant:
	// fail is "" when it grants what is needed; need are the vendor's
	// actions the policy should hold (beyond them is a warning).
	keyPolicyGrant(doc awspolicy.Document, t flows.Target, md *types.KeyMetadata) (fail, remedy string, fix flows.Step, need []string)
	// keyPolicyPassed is the detail of a key policy that passed.
	keyPolicyPassed(t flows.Target, md *types.KeyMetadata) string
	// extrasRemedy says what to do about grants to the vendor beyond
	// what it needs.
	extrasRemedy(t flows.Target) string
	// ambientReader is who reads the policies when the checks run with
	// the customer's own credentials (verify): nil reads with the
	// checked credentials.
	ambientReader(ctx context.Context, cfg aws.Config, t flows.Target) *aws.Config

	// planAccess plans the vendor's access for the set-up, after the key
	// and alias; before is the key policy as it is (or will be).
	planAccess(ctx context.Context, s *Setup, p *plan, before string, replace bool) (call string, err error)
	// describeAccess adds the vendor's access to the plan shown.
	describeAccess(out *flows.SetupPlan, p *plan)
	// applyAccess gives the vendor access, after the key and alias.
	applyAccess(ctx context.Context, s *Setup, k *kms.Client, p *plan, report func(flows.SetupEvent), fail failFunc) (flows.SetupResult, error)
}

// failFunc reports a failed set-up call and ends the set-up with it.
type failFunc func(call string, err error) (flows.SetupResult, error)

// variantOf is the variant of an AWS provider; false for any other.
func variantOf(p flows.Provider) (variant, bool) {
	if p.Cloud() != flows.CloudAWS {
		return nil, false
	}
	if p.Access() == flows.AccessServiceAccount {
		return serviceAccount{}, true
	}
	return delegated{}, true
}

// checkVariant is the variant the checks of t run as: a target of
// another provider is checked as a delegated key, as it always was.
func checkVariant(t flows.Target) variant {
	if v, ok := variantOf(t.Provider); ok {
		return v
	}
	return delegated{}
}

// delegated: the key policy grants the vendor's own principal.
type delegated struct{}

func (delegated) checkNames() (string, string) {
	return "AWS credentials work", "Key policy grants the vendor"
}

func (delegated) ownChecks() []flows.Check { return nil }

func (delegated) checkConfig(cfg aws.Config, _ flows.Target) aws.Config { return cfg.Copy() }

func (delegated) aliasMatches(got string, t flows.Target) (bool, string) {
	want := flows.AliasName(flows.AWSDelegated, t.Domain, t.Vendor.Slug, "")
	return got == want, want
}

func (delegated) credentialsFailed(r *run, _ error, pr problem) {
	r.Set(CheckCredentials, flows.StatusFail, pr.detail, pr.remedy, 0)
}

func (delegated) credentialsPassed(context.Context, *run, func(func()), aws.Config, flows.Target, *sts.GetCallerIdentityOutput, func() string) {
}

func (delegated) who(t flows.Target) string { return t.Vendor.AWSPrincipal(t.AliasARN.Partition) }

func (delegated) scriptRemedy(t flows.Target) string {
	return fmt.Sprintf("run the setup script again: it puts statement %s (granting %s to %s) into the key policy",
		awspolicy.VendorSid(t.Vendor.Slug), strings.Join(awspolicy.VendorActions, ", "), t.Vendor.AWSPrincipal(t.AliasARN.Partition))
}

func (delegated) ambientReader(context.Context, aws.Config, flows.Target) *aws.Config { return nil }

// serviceAccount: an IAM user of the customer's, limited to the alias;
// the checks run with its access key.
type serviceAccount struct{}

func (serviceAccount) checkNames() (string, string) {
	return "Service account's access key works", "Key policy lets IAM grant the key"
}

func (serviceAccount) ownChecks() []flows.Check {
	return []flows.Check{{ID: CheckUserPolicy, Name: "Service account is limited to the alias"}}
}

func (serviceAccount) checkConfig(cfg aws.Config, t flows.Target) aws.Config {
	cfg = cfg.Copy()
	cfg.Credentials = credentials.NewStaticCredentialsProvider(t.AccessKeyID, t.SecretAccessKey.Reveal(), "")
	return cfg
}

func (serviceAccount) aliasMatches(got string, t flows.Target) (bool, string) {
	want := flows.AliasName(flows.AWSDelegated, t.Domain, t.Vendor.Slug, "") + "/"
	return strings.HasPrefix(got, want), want
}

func (serviceAccount) credentialsFailed(r *run, err error, pr problem) {
	fix := flows.Step(0)
	if !errors.As(err, new(errMissing)) {
		fix = flows.StepPaste
		pr.remedy = "paste the access key ID and secret the script printed (aws iam create-access-key makes a new pair)"
	}
	r.Set(CheckCredentials, flows.StatusFail, pr.detail, pr.remedy, fix)
	r.Set(CheckUserPolicy, flows.StatusSkipped, "needs working credentials", "", 0)
}

func (serviceAccount) credentialsPassed(ctx context.Context, r *run, spawn func(func()), iam aws.Config, t flows.Target, caller *sts.GetCallerIdentityOutput, keyARN func() string) {
	spawn(func() { r.userPolicy(ctx, iam, t, caller, keyARN) })
}

func (serviceAccount) who(t flows.Target) string { return "the service account " + t.AccessKeyID }

func (serviceAccount) scriptRemedy(t flows.Target) string {
	return "run the setup script again: it puts the policy that allows " + strings.Join(awspolicy.ServiceAccountActions, ", ") +
		" on alias " + t.AliasARN.AliasName() + " on the service account"
}

// ambientReader reads the service account's policies with the
// customer's own credentials, unless they are the service account's
// access key itself (which should not be able to read IAM).
func (serviceAccount) ambientReader(ctx context.Context, cfg aws.Config, t flows.Target) *aws.Config {
	if cfg.Credentials == nil {
		return nil
	}
	if creds, err := cfg.Credentials.Retrieve(ctx); err == nil && creds.AccessKeyID != t.AccessKeyID {
		return &cfg
	}
	return nil
}
