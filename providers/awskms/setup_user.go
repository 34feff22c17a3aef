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
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
)

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

func userConflictOf(u *UserPolicyConflictError) *flows.StatementConflict {
	return &flows.StatementConflict{Sid: u.User, Where: "the inline policy of IAM user " + u.User, Existing: pretty(u.Existing), Ours: pretty(u.Ours), Losses: u.Losses()}
}

// planAccess checks the key policy leaves the key to IAM, and finds the
// service account's user, its policy and its access key. With replace,
// a different inline policy under rekwiz's name is planned to be
// replaced; without, it is the error.
func (serviceAccount) planAccess(ctx context.Context, s *Setup, p *plan, keyPolicy string, replace bool) (string, error) {
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

// applyAccess makes the IAM user of a service account (tagged as
// rekwiz's), its policy (the alias's key only) and, unless it has one, its
// access key: what the service-account script does after the key and alias.
func (serviceAccount) applyAccess(ctx context.Context, s *Setup, _ *kms.Client, p *plan, report func(flows.SetupEvent), fail failFunc) (flows.SetupResult, error) {
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

// describeAccess: the IAM user, its inline policy and its access key.
func (serviceAccount) describeAccess(out *flows.SetupPlan, p *plan) {
	spec := p.spec
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
