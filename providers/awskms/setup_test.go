package awskms_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

// keyWithStatements makes a key whose policy has, besides the default
// statement, the given statements.
func (e *env) keyWithStatements(t *testing.T, sts ...any) string {
	t.Helper()
	ctx := context.Background()
	k, err := e.kms.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	keyARN := *k.KeyMetadata.Arn
	pol := withStatements(t, e.policy(t, keyARN), sts...)
	if _, err := e.kms.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: &keyARN, Policy: &pol}); err != nil {
		t.Fatal(err)
	}
	return keyARN
}

func (e *env) policy(t *testing.T, keyARN string) string {
	t.Helper()
	out, err := e.kms.GetKeyPolicy(context.Background(), &kms.GetKeyPolicyInput{KeyId: &keyARN})
	if err != nil {
		t.Fatal(err)
	}
	return *out.Policy
}

func (e *env) aliases(t *testing.T) int {
	t.Helper()
	out, err := e.kms.ListAliases(context.Background(), &kms.ListAliasesInput{})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Aliases)
}

// TestSetupNeverOverwritesADifferentStatement: a statement under the
// vendor's Sid that differs from rekwiz's (a Deny, a narrower principal,
// a condition) stops Run before any change, with a conflict that carries
// both statements and what replacing loses; Plan shows the same; only
// RunReplacing replaces it. Two statements under the Sid stop both.
func TestSetupNeverOverwritesADifferentStatement(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t)
	sid := awspolicy.VendorSid(fakecloudtest.Vendor.Slug)
	ours := awspolicy.VendorStatement(sid, fakecloudtest.Vendor.AWSPrincipal("aws"))
	deny := ours
	deny.Effect = "Deny"
	keyARN := e.keyWithStatements(t, deny)
	before, aliasesBefore := e.policy(t, keyARN), e.aliases(t)

	var events []flows.SetupEvent
	_, err := awskms.NewSetup(e.customer).Run(ctx, spec(flows.KeyExisting, keyARN), func(ev flows.SetupEvent) { events = append(events, ev) })
	c := awskms.ConflictOf(err)
	if c == nil {
		t.Fatalf("Run over a Deny under %s: %v", sid, err)
	}
	if !strings.Contains(c.Existing, `"Deny"`) || !strings.Contains(c.Ours, `"Allow"`) || !strings.Contains(strings.Join(c.Losses, "; "), "Effect Deny becomes Allow") {
		t.Fatalf("conflict: %+v", c)
	}
	if e.policy(t, keyARN) != before || e.aliases(t) != aliasesBefore {
		t.Fatal("Run changed the account before stopping")
	}
	if len(events) == 0 || events[len(events)-1].Err == nil {
		t.Fatalf("the stop is not reported: %+v", events)
	}

	plan, err := awskms.NewSetup(e.customer).Plan(ctx, spec(flows.KeyExisting, keyARN))
	if err != nil || plan.Conflict == nil || !strings.Contains(plan.PolicyDiff, `-      "Effect": "Deny"`) {
		t.Fatalf("plan: %v\n%+v", err, plan)
	}

	res, err := awskms.NewSetup(e.customer).RunReplacing(ctx, spec(flows.KeyExisting, keyARN), func(flows.SetupEvent) {})
	if err != nil {
		t.Fatal(err)
	}
	after := e.policy(t, keyARN)
	if strings.Contains(after, "Deny") || strings.Count(after, sid) != 1 {
		t.Fatalf("replace gave %s", after)
	}
	if r := check(t, e.vendor, target(t, res.Paste[flows.FieldAliasARN])); !flows.Passed(mapValues(r)) {
		t.Fatalf("pairing after replacing: %v", statuses(r))
	}

	// Two statements under the Sid: nothing changes, replacing or not.
	dm := "dm-TWOSIDS0001"
	key2 := e.keyWithStatements(t, ours, ours)
	before = e.policy(t, key2)
	sp := spec(flows.KeyExisting, key2)
	sp.Domain = dm
	for name, run := range map[string]func(context.Context, flows.SetupSpec, func(flows.SetupEvent)) (flows.SetupResult, error){
		"run": awskms.NewSetup(e.customer).Run, "replacing": awskms.NewSetup(e.customer).RunReplacing} {
		var de *awspolicy.DuplicateSidError
		if _, err := run(ctx, sp, func(flows.SetupEvent) {}); !errors.As(err, &de) {
			t.Fatalf("%s with two statements %s: %v", name, sid, err)
		}
		if e.policy(t, key2) != before {
			t.Fatalf("%s changed the policy", name)
		}
	}

	// The same statement, written in another form, is kept as it is.
	same := `{"Sid":"` + sid + `","Effect":"Allow","Principal":{"AWS":"` + fakecloudtest.Vendor.AWSPrincipal("aws") + `"},"Action":["kms:ReEncryptTo","kms:ReEncryptFrom","kms:Decrypt","kms:GenerateDataKeyWithoutPlaintext","kms:DescribeKey"],"Resource":"*"}`
	k3, _ := e.kms.CreateKey(ctx, &kms.CreateKeyInput{})
	p3 := withStatements(t, e.policy(t, *k3.KeyMetadata.Arn), json.RawMessage(same))
	if _, err := e.kms.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: k3.KeyMetadata.Arn, Policy: &p3}); err != nil {
		t.Fatal(err)
	}
	sp3 := spec(flows.KeyExisting, *k3.KeyMetadata.Arn)
	sp3.Domain = "dm-SAMESID0001"
	if _, err := awskms.NewSetup(e.customer).Run(ctx, sp3, func(flows.SetupEvent) {}); err != nil {
		t.Fatal(err)
	}
	if e.policy(t, *k3.KeyMetadata.Arn) != p3 {
		t.Fatal("the same statement in another form was rewritten")
	}
}

// TestPlanShowsAndChangesNothing: Plan names who is signed in, what it
// creates and keeps, and the key policy diff, and leaves the account as
// it was; a new key's plan says rotation is turned on.
func TestPlanShowsAndChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t)
	keyARN := e.keyWithStatements(t)
	before, aliases := e.policy(t, keyARN), e.aliases(t)
	keys, _ := e.kms.ListKeys(ctx, &kms.ListKeysInput{})

	p, err := awskms.NewSetup(e.customer).Plan(ctx, spec(flows.KeyExisting, keyARN))
	if err != nil {
		t.Fatal(err)
	}
	if p.Account != "111122223333" || p.Caller != e.Customer().ARN {
		t.Fatalf("signed in: %q %q", p.Account, p.Caller)
	}
	if !strings.Contains(p.PolicyDiff, "--- key policy now") || !strings.Contains(p.PolicyDiff, `+      "Sid": "rekwiz-acme"`) {
		t.Fatalf("diff:\n%s", p.PolicyDiff)
	}
	if !strings.Contains(strings.Join(p.Changes, "\n"), "Create the alias alias/"+domain+"/acme") {
		t.Fatalf("changes: %q", p.Changes)
	}

	pn, err := awskms.NewSetup(e.customer).Plan(ctx, spec(flows.KeyNew, ""))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(pn.Changes, "\n"), "automatic yearly rotation turned on") || !strings.Contains(pn.PolicyDiff, `+      "Sid": "rekwiz-acme"`) {
		t.Fatalf("new-key plan: %+v", pn)
	}
	keysAfter, _ := e.kms.ListKeys(ctx, &kms.ListKeysInput{})
	if e.policy(t, keyARN) != before || e.aliases(t) != aliases || len(keysAfter.Keys) != len(keys.Keys) {
		t.Fatal("Plan changed the account")
	}

	// After the setup, the plan keeps everything and changes nothing.
	if _, err := awskms.NewSetup(e.customer).Run(ctx, spec(flows.KeyNew, ""), func(flows.SetupEvent) {}); err != nil {
		t.Fatal(err)
	}
	again, err := awskms.NewSetup(e.customer).Plan(ctx, spec(flows.KeyNew, ""))
	if err != nil || len(again.Changes) != 0 || again.PolicyDiff != "" {
		t.Fatalf("plan after setup: %v %+v", err, again)
	}
}

// TestServiceAccountNeverTakesOverAUser: a user by the service account's
// name that rekwiz did not make (no rekwiz tags) stops the setup before
// any change; the user rekwiz makes carries the tags.
func TestServiceAccountNeverTakesOverAUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t)
	sp := spec(flows.KeyNew, "")
	sp.Provider, sp.Company = flows.AWSServiceAccount, "Example"
	c := iam.NewFromConfig(e.customer)
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(sp.ServiceAccountUser())}); err != nil {
		t.Fatal(err)
	}
	keys, _ := e.kms.ListKeys(ctx, &kms.ListKeysInput{})
	_, err := awskms.NewSetup(e.customer).Run(ctx, sp, func(flows.SetupEvent) {})
	if !errors.Is(err, awskms.ErrUserNotOurs) || !strings.Contains(err.Error(), "aws iam tag-user") {
		t.Fatalf("setup over a foreign user: %v", err)
	}
	if _, err := awskms.NewSetup(e.customer).Plan(ctx, sp); !errors.Is(err, awskms.ErrUserNotOurs) {
		t.Fatalf("plan over a foreign user: %v", err)
	}
	keysAfter, _ := e.kms.ListKeys(ctx, &kms.ListKeysInput{})
	if len(keysAfter.Keys) != len(keys.Keys) || e.aliases(t) != 0 {
		t.Fatal("the setup changed the account before stopping")
	}
	if _, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String(sp.ServiceAccountUser())}); err != nil {
		t.Fatal(err)
	}

	res, err := awskms.NewSetup(e.customer).Run(ctx, sp, func(flows.SetupEvent) {})
	if err != nil || res.Paste[flows.FieldSecretAccessKey] == "" {
		t.Fatalf("setup: %v", err)
	}
	tags, err := c.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: aws.String(sp.ServiceAccountUser())})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, tg := range tags.Tags {
		got[*tg.Key] = *tg.Value
	}
	if got[awskms.TagDomain] != sp.Domain || got[awskms.TagVendor] != sp.Vendor.Slug {
		t.Fatalf("tags %v", got)
	}
	rot, err := e.kms.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(res.Paste[flows.FieldAliasARN])})
	if err != nil || !rot.KeyRotationEnabled {
		t.Fatalf("rotation of the new key: %v %v", rot, err)
	}
	// A second run takes the tagged user as its own.
	if _, err := awskms.NewSetup(e.customer).Run(ctx, sp, func(flows.SetupEvent) {}); err != nil {
		t.Fatal(err)
	}
}

// withStatements appends statements to a policy by hand, so that two
// may share a Sid.
func withStatements(t *testing.T, policy string, sts ...any) string {
	t.Helper()
	var top map[string]json.RawMessage
	var list []json.RawMessage
	if err := json.Unmarshal([]byte(policy), &top); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(top["Statement"], &list); err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, b)
	}
	top["Statement"], _ = json.Marshal(list)
	b, _ := json.Marshal(top)
	return string(b)
}

// TestServiceAccountPolicyIsNeverWidenedUnasked: the service account's
// user holding a different inline policy under rekwiz's name stops Run
// before any change, with a conflict carrying both policies; Plan shows
// the same conflict; only RunReplacing replaces it. The same policy in
// another form is kept as it is.
func TestServiceAccountPolicyIsNeverWidenedUnasked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t)
	sp := spec(flows.KeyNew, "")
	sp.Provider, sp.Company, sp.Domain = flows.AWSServiceAccount, "Example", "dm-USERPOLICY1"
	if _, err := awskms.NewSetup(e.customer).Run(ctx, sp, func(flows.SetupEvent) {}); err != nil {
		t.Fatal(err)
	}
	c := iam.NewFromConfig(e.customer)
	user := aws.String(sp.ServiceAccountUser())
	doc := func() string {
		t.Helper()
		out, err := c.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: user, PolicyName: user})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := url.QueryUnescape(aws.ToString(out.PolicyDocument))
		return s
	}
	ours := doc()

	// The same policy, keys reordered and indented: kept, nothing written.
	var v any
	if err := json.Unmarshal([]byte(ours), &v); err != nil {
		t.Fatal(err)
	}
	same, _ := json.MarshalIndent(v, "", "    ")
	if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: user, PolicyName: user, PolicyDocument: aws.String(string(same))}); err != nil {
		t.Fatal(err)
	}
	var events []flows.SetupEvent
	if _, err := awskms.NewSetup(e.customer).Run(ctx, sp, func(ev flows.SetupEvent) { events = append(events, ev) }); err != nil {
		t.Fatal(err)
	}
	for _, ev := range events {
		if ev.Call == "iam put-user-policy" {
			t.Fatalf("the same policy was written again: %+v", ev)
		}
	}

	wider := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`
	if _, err := c.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: user, PolicyName: user, PolicyDocument: aws.String(wider)}); err != nil {
		t.Fatal(err)
	}
	_, err := awskms.NewSetup(e.customer).Run(ctx, sp, func(flows.SetupEvent) {})
	conflict := awskms.ConflictOf(err)
	if conflict == nil || !strings.Contains(conflict.Existing, `"kms:*"`) || !strings.Contains(conflict.Ours, "kms:ResourceAliases") || len(conflict.Losses) == 0 || !strings.Contains(conflict.Sid, *user) {
		t.Fatalf("Run over a different user policy: %v\n%+v", err, conflict)
	}
	if !strings.Contains(doc(), `"kms:*"`) {
		t.Fatal("Run replaced the user's policy without confirmation")
	}
	plan, err := awskms.NewSetup(e.customer).Plan(ctx, sp)
	if err != nil || plan.Conflict == nil || !strings.Contains(plan.Conflict.Existing, `"kms:*"`) || !strings.Contains(strings.Join(plan.Changes, "\n"), "only if you confirm") {
		t.Fatalf("plan: %v\n%+v", err, plan)
	}
	if !strings.Contains(doc(), `"kms:*"`) {
		t.Fatal("Plan changed the user's policy")
	}
	if _, err := awskms.NewSetup(e.customer).RunReplacing(ctx, sp, func(flows.SetupEvent) {}); err != nil {
		t.Fatal(err)
	}
	if got := doc(); strings.Contains(got, `"kms:*"`) || !strings.Contains(got, "kms:ResourceAliases") {
		t.Fatalf("after RunReplacing the policy is %s", got)
	}
}
