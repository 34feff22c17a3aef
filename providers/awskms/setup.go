// Package awskms is rekwiz's AWS KMS provider, on aws-sdk-go-v2: it sets a
// key up for the vendor the way the generated script does, and checks that
// the vendor can use it (the pairing check).
//
// It never deletes, disables or schedules the deletion of a key, never
// bypasses the key policy lockout check, and keeps every statement of a
// key policy but the vendor's own.
package awskms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aymanbagabas/go-udiff"

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

// ErrUserNotOurs is returned when the service account's IAM user exists
// without the tags rekwiz puts on the users it creates: rekwiz never takes
// over a user it did not create.
var ErrUserNotOurs = errors.New("the IAM user exists and rekwiz did not create it")

// The tags rekwiz puts on the IAM user of a service account, so that a
// later run (and the teardown) knows the user is its own.
const (
	TagDomain = "rekwiz:domain"
	TagVendor = "rekwiz:vendor"
)

// plan is what a setup will do, found with read-only calls.
type plan struct {
	spec              flows.SetupSpec
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

// defaultKeyPolicy is the policy AWS gives a key created without one.
func defaultKeyPolicy(partition, account string) string {
	return `{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:` + partition + `:iam::` + account + `:root"},"Action":"kms:*","Resource":"*"}]}`
}

// Plan says what Run would do, making only read calls: who is signed in,
// what it creates and keeps, and the key policy before and after. A
// different statement under the vendor's Sid is in Conflict, not an error.
func (s *Setup) Plan(ctx context.Context, spec flows.SetupSpec) (flows.SetupPlan, error) {
	p, call, err := s.plan(ctx, spec, true)
	if err != nil {
		return flows.SetupPlan{}, fmt.Errorf("%s: %w", call, err)
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
	} else if spec.Provider == flows.AWSDelegated {
		out.Kept = append(out.Kept, "Statement "+awspolicy.VendorSid(spec.Vendor.Slug)+" in the key policy, as rekwiz writes it.")
	}
	if spec.Provider == flows.AWSServiceAccount {
		if p.userExists {
			out.Kept = append(out.Kept, "The IAM user "+p.user+", tagged "+TagDomain+"="+spec.Domain+" and "+TagVendor+"="+spec.Vendor.Slug+" (rekwiz made it).")
		} else {
			out.Changes = append(out.Changes, "Create the IAM user "+p.user+", tagged "+TagDomain+"="+spec.Domain+" and "+TagVendor+"="+spec.Vendor.Slug+".")
		}
		if p.userPolicyInPlace {
			out.Kept = append(out.Kept, "The user's inline policy "+p.user+", as rekwiz writes it.")
		} else if p.userPolicyReplaced != nil {
			out.Conflict = userConflictOf(p.userPolicyReplaced)
			out.Changes = append(out.Changes, "Replace the user's inline policy "+p.user+" (only if you confirm) with rekwiz's (below): the key with the alias "+p.alias+" only.")
			out.UserPolicy = pretty(p.userPolicy)
		} else {
			out.Changes = append(out.Changes, "Put the user's inline policy "+p.user+" (below): the key with the alias "+p.alias+" only.")
			out.UserPolicy = pretty(p.userPolicy)
		}
		if p.accessKey != "" {
			out.Kept = append(out.Kept, "The user's access key "+p.accessKey+" (no new one is made).")
		} else {
			out.Changes = append(out.Changes, "Create one access key for the user; its secret goes straight to the next step.")
		}
	}
	return out, nil
}

// UserPolicyConflictError is the service account's user holding an inline
// policy under rekwiz's name that differs from the one rekwiz writes: Run
// stops before any change; RunReplacing replaces it.
type UserPolicyConflictError struct {
	User string
	// Existing is the user's policy as IAM holds it; Ours the one rekwiz
	// writes.
	Existing, Ours string
}

func (e *UserPolicyConflictError) Error() string {
	return fmt.Sprintf("IAM user %s already has an inline policy %s that differs from the one rekwiz writes; change or remove it, or confirm replacing it", e.User, e.User)
}

// Losses says what replacing the user's policy with rekwiz's loses.
func (e *UserPolicyConflictError) Losses() []string {
	var old, ours struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(e.Existing), &old) != nil || json.Unmarshal([]byte(e.Ours), &ours) != nil {
		return []string{"the existing policy, which rekwiz cannot read, is replaced as a whole"}
	}
	var olds, ourss []json.RawMessage
	if json.Unmarshal(old.Statement, &olds) != nil {
		olds = []json.RawMessage{old.Statement}
	}
	if json.Unmarshal(ours.Statement, &ourss) == nil && len(olds) == 1 && len(ourss) == 1 {
		if l := (&awspolicy.ConflictError{Existing: olds[0], Ours: ourss[0]}).Losses(); len(l) > 0 {
			return l
		}
	}
	return []string{fmt.Sprintf("the user's policy (%d statements) is replaced as a whole by rekwiz's: whatever else it allows is lost", len(olds))}
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

func userConflictOf(u *UserPolicyConflictError) *flows.StatementConflict {
	return &flows.StatementConflict{Sid: u.User, Where: "the inline policy of IAM user " + u.User, Existing: pretty(u.Existing), Ours: pretty(u.Ours), Losses: u.Losses()}
}

// pretty indents JSON two spaces, or returns it as it is if it is not JSON.
func pretty(s string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(s), "", "  ") != nil {
		return s
	}
	return b.String() + "\n"
}

// plan finds what a setup will do, with read calls only. With replace,
// a different statement under the vendor's Sid is planned to be replaced
// (and recorded); without, it is the error. It returns the failed call's
// name with an error.
func (s *Setup) plan(ctx context.Context, spec flows.SetupSpec, replace bool) (*plan, string, error) {
	if spec.Provider.Cloud() != flows.CloudAWS {
		return nil, "setup", fmt.Errorf("%s is not an AWS provider", spec.Provider)
	}
	k := kms.NewFromConfig(s.cfg, func(o *kms.Options) { o.Region = spec.Region })
	who, err := sts.NewFromConfig(s.cfg, func(o *sts.Options) { o.Region = spec.Region }).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, "sts get-caller-identity", err
	}
	p := &plan{spec: spec, account: aws.ToString(who.Account), caller: aws.ToString(who.Arn),
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
	if spec.Provider == flows.AWSServiceAccount {
		if call, err := s.planUser(ctx, p, before, replace); err != nil {
			return nil, call, err
		}
		return p, "", nil
	}
	st := awspolicy.VendorStatement(awspolicy.VendorSid(spec.Vendor.Slug), spec.Vendor.AWSPrincipal(p.partition))
	p.policyAfter, p.policyChange, err = awspolicy.Upsert(before, st)
	var ce *awspolicy.ConflictError
	if errors.As(err, &ce) && replace {
		p.replaced = ce
		p.policyAfter, p.policyChange, err = awspolicy.Replace(before, st)
	}
	if err != nil {
		return nil, "kms get-key-policy", err
	}
	if !p.policyChange {
		p.policyAfter = before
	}
	return p, "", nil
}

// planUser checks the key policy leaves the key to IAM, and finds the
// service account's user, its policy and its access key.
func (s *Setup) planUser(ctx context.Context, p *plan, keyPolicy string, replace bool) (string, error) {
	spec := p.spec
	doc, err := awspolicy.Parse(keyPolicy)
	if err != nil {
		return "kms get-key-policy", err
	}
	for _, a := range awspolicy.ServiceAccountActions {
		if !doc.GrantsAccount(p.account, a) {
			return "kms get-key-policy", fmt.Errorf("the key policy has no statement for account %s, so no IAM user can be given the key; choose the delegated provider, or add the account's statement to the key policy", p.account)
		}
	}
	p.policyAfter = keyPolicy
	want, err := json.Marshal(awspolicy.ServiceAccountPolicy(p.alias, "arn:"+p.partition+":kms:"+spec.Region+":"+p.account+":key/*"))
	if err != nil {
		return "iam put-user-policy", err
	}
	p.userPolicy = string(want)
	c := iam.NewFromConfig(s.cfg)
	user := aws.String(p.user)
	_, err = c.GetUser(ctx, &iam.GetUserInput{UserName: user})
	var missing *iamtypes.NoSuchEntityException
	switch {
	case errors.As(err, &missing):
		return "", nil
	case err != nil:
		return "iam get-user", err
	}
	p.userExists = true
	tags, err := c.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: user})
	if err != nil {
		return "iam list-user-tags", err
	}
	got := map[string]string{}
	for _, t := range tags.Tags {
		got[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if got[TagDomain] != spec.Domain || got[TagVendor] != spec.Vendor.Slug {
		return "iam list-user-tags", fmt.Errorf("%w: IAM user %s exists without the tags %s=%s and %s=%s that rekwiz puts on the users it creates, so rekwiz leaves it alone; delete or rename that user, or, if rekwiz did make it, tag it: aws iam tag-user --user-name %s --tags Key=%s,Value=%s Key=%s,Value=%s",
			ErrUserNotOurs, p.user, TagDomain, spec.Domain, TagVendor, spec.Vendor.Slug, p.user, TagDomain, spec.Domain, TagVendor, spec.Vendor.Slug)
	}
	have, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: user, PolicyName: user})
	switch {
	case errors.As(err, &missing):
	case err != nil:
		return "iam get-user-policy", err
	default:
		text, uerr := url.QueryUnescape(aws.ToString(haveDoc(have, err)))
		if uerr != nil {
			text = aws.ToString(haveDoc(have, err))
		}
		if sameJSON(text, p.userPolicy) {
			p.userPolicyInPlace = true
			break
		}
		// A different policy under rekwiz's name is never widened back
		// without the customer confirming what it loses.
		ce := &UserPolicyConflictError{User: p.user, Existing: text, Ours: p.userPolicy}
		if !replace {
			return "iam get-user-policy", ce
		}
		p.userPolicyReplaced = ce
	}
	keys, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: user})
	if err != nil {
		return "iam list-access-keys", err
	}
	if len(keys.AccessKeyMetadata) > 0 {
		p.accessKey = aws.ToString(keys.AccessKeyMetadata[0].AccessKeyId)
	}
	return "", nil
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
		report(flows.SetupEvent{Call: call, Err: err})
		return flows.SetupResult{}, fmt.Errorf("%s: %w", call, err)
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
	if spec.Provider == flows.AWSServiceAccount {
		return s.serviceAccount(ctx, p, report, fail)
	}

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

// serviceAccount makes the IAM user of a service account (tagged as
// rekwiz's), its policy (the alias's key only) and, unless it has one, its
// access key: what the service-account script does after the key and alias.
func (s *Setup) serviceAccount(ctx context.Context, p *plan, report func(flows.SetupEvent), fail func(string, error) (flows.SetupResult, error)) (flows.SetupResult, error) {
	spec := p.spec
	c := iam.NewFromConfig(s.cfg)
	user := aws.String(p.user)
	if p.userExists {
		report(flows.SetupEvent{Call: "iam get-user", Detail: "IAM user " + p.user + " exists, tagged as rekwiz's"})
	} else if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: user, Tags: []iamtypes.Tag{
		{Key: aws.String(TagDomain), Value: aws.String(spec.Domain)},
		{Key: aws.String(TagVendor), Value: aws.String(spec.Vendor.Slug)},
	}}); err != nil {
		return fail("iam create-user", err)
	} else {
		report(flows.SetupEvent{Call: "iam create-user", Detail: "created IAM user " + p.user + ", tagged " + TagDomain + "=" + spec.Domain + " and " + TagVendor + "=" + spec.Vendor.Slug})
	}
	if p.userPolicyInPlace {
		report(flows.SetupEvent{Call: "iam get-user-policy", Detail: "policy " + p.user + " is in place"})
	} else if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: user, PolicyName: user, PolicyDocument: aws.String(p.userPolicy)}); err != nil {
		return fail("iam put-user-policy", err)
	} else if p.userPolicyReplaced != nil {
		report(flows.SetupEvent{Call: "iam put-user-policy", Detail: "replaced policy " + p.user + " (as you confirmed): " + p.alias + "'s key only"})
	} else {
		report(flows.SetupEvent{Call: "iam put-user-policy", Detail: "policy " + p.user + ": " + p.alias + "'s key only"})
	}

	paste := map[flows.Field]string{flows.FieldAliasARN: p.aliasARN()}
	if p.accessKey != "" {
		paste[flows.FieldAccessKeyID] = p.accessKey
		report(flows.SetupEvent{Call: "iam list-access-keys", Detail: "access key " + p.accessKey + " exists; its secret was shown once, when it was made (aws iam create-access-key makes a new one)"})
		return flows.SetupResult{Paste: paste}, nil
	}
	ak, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: user})
	if err != nil {
		return fail("iam create-access-key", err)
	}
	if ak.AccessKey == nil {
		return fail("iam create-access-key", errors.New("the reply has no AccessKey"))
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
