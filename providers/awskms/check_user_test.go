package awskms_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
)

// TestServiceAccountPairs sets a service account up through the SDK and
// checks it with its own access key: every check passes, the user's
// policy is read with the customer's IAM access and found limited to the
// alias; a broad policy is a warning.
func TestServiceAccountPairs(t *testing.T) {
	t.Parallel()
	p := sandboxPeer(t)
	tg, sp := p.serviceAccount(t)
	if tg.SecretAccessKey == "" {
		t.Fatal("the setup returned no secret")
	}
	res := check(t, p.customer, tg, awskms.WithReader(p.customer))
	for id, c := range res {
		if c.Status == flows.StatusFail || c.Status == flows.StatusSkipped {
			t.Errorf("%s: %+v", id, c)
		}
	}
	if c := res[awskms.CheckCredentials]; !strings.Contains(c.Detail, ":user/acme-rek-"+domain) {
		t.Errorf("the check did not run as the service account: %+v", c)
	}
	if c := res[awskms.CheckUserPolicy]; c.Status != flows.StatusPass || !strings.Contains(c.Detail, "only on alias/"+domain+"/acme/Example") {
		t.Errorf("user policy: %+v", c)
	}

	// Without an IAM reader the service account may not read its policy.
	if c := check(t, p.customer, tg)[awskms.CheckUserPolicy]; c.Status != flows.StatusSkipped || !strings.Contains(c.Remedy, "aws iam get-user-policy") {
		t.Errorf("without IAM access: %+v", c)
	}

	// A second setup keeps the access key and returns no secret.
	res2, err := awskms.NewSetup(p.customer).Run(context.Background(), sp, func(flows.SetupEvent) {})
	if err != nil || res2.Paste[flows.FieldAccessKeyID] != tg.AccessKeyID || res2.Paste[flows.FieldSecretAccessKey] != "" {
		t.Fatalf("second setup: %v %v", res2.Paste[flows.FieldAccessKeyID], err)
	}

	broad := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}`
	admin := iam.NewFromConfig(p.customer)
	if _, err := admin.PutUserPolicy(context.Background(), &iam.PutUserPolicyInput{UserName: aws.String(sp.ServiceAccountUser()), PolicyName: aws.String("everything"), PolicyDocument: &broad}); err != nil {
		t.Fatal(err)
	}
	c := check(t, p.customer, tg, awskms.WithReader(p.customer))[awskms.CheckUserPolicy]
	if c.Status != flows.StatusFail || !strings.Contains(c.Detail, `inline policy everything: statement #1 (no Sid) allows kms:* on * without a kms:ResourceAliases condition limiting it to alias/`+domain+`/acme/Example`) ||
		!strings.Contains(c.Remedy, "aws iam delete-user-policy --user-name acme-rek-"+domain+" --policy-name everything") {
		t.Errorf("broad policy: %+v", c)
	}
}

// TestServiceAccountIsolationReadsEveryPolicy gives the service account
// access beyond its alias in each way IAM allows, one at a time: an
// attached managed policy (at its default version), a group's inline
// policy, a group's managed policy, and an inline policy on the second
// page of the list. Each is a failure naming the policy (and group);
// taking it away passes again.
func TestServiceAccountIsolationReadsEveryPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := sandboxPeer(t)
	tg, sp := p.serviceAccount(t)
	user := aws.String(sp.ServiceAccountUser())
	admin := iam.NewFromConfig(p.customer)
	run := func() flows.Check {
		t.Helper()
		return check(t, p.customer, tg, awskms.WithReader(p.customer))[awskms.CheckUserPolicy]
	}
	if c := run(); c.Status != flows.StatusPass {
		t.Fatalf("before: %+v", c)
	}
	const everyKey = `{"Version":"2012-10-17","Statement":[{"Sid":"all-keys","Effect":"Allow","Action":["kms:Decrypt","kms:Encrypt"],"Resource":"*"}]}`
	const iamAll = `{"Version":"2012-10-17","Statement":[{"Sid":"iam","Effect":"Allow","Action":"iam:*","Resource":"*"}]}`
	const harmless = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`

	// A managed policy whose first version is harmless and whose default
	// (second) version reaches every key.
	pol, err := admin.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("team-kms"), PolicyDocument: aws.String(harmless)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: pol.Policy.Arn, PolicyDocument: aws.String(everyKey), SetAsDefault: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: user, PolicyArn: pol.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	c := run()
	if c.Status != flows.StatusFail || !strings.Contains(c.Detail, "managed policy team-kms (arn:aws:iam::111122223333:policy/team-kms): statement all-keys allows kms:Decrypt, kms:Encrypt on * without a kms:ResourceAliases condition") ||
		!strings.Contains(c.Remedy, "aws iam detach-user-policy --user-name "+*user+" --policy-arn arn:aws:iam::111122223333:policy/team-kms") {
		t.Fatalf("attached managed policy: %+v", c)
	}
	if _, err := admin.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: user, PolicyArn: pol.Policy.Arn}); err != nil {
		t.Fatal(err)
	}

	// A group with an inline policy granting IAM.
	if _, err := admin.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("ops")}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("ops"), UserName: user}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("ops"), PolicyName: aws.String("ops-iam"), PolicyDocument: aws.String(iamAll)}); err != nil {
		t.Fatal(err)
	}
	c = run()
	if c.Status != flows.StatusFail || !strings.Contains(c.Detail, "group ops's inline policy ops-iam: statement iam allows IAM actions (iam:*)") ||
		!strings.Contains(c.Remedy, "aws iam remove-user-from-group --user-name "+*user+" --group-name ops") {
		t.Fatalf("group inline policy: %+v", c)
	}
	if _, err := admin.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: aws.String("ops"), PolicyName: aws.String("ops-iam"), PolicyDocument: aws.String(harmless)}); err != nil {
		t.Fatal(err)
	}
	// The group's managed policy.
	if _, err := admin.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("ops"), PolicyArn: pol.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	if c = run(); c.Status != flows.StatusFail || !strings.Contains(c.Detail, "managed policy team-kms (arn:aws:iam::111122223333:policy/team-kms) of group ops: statement all-keys") {
		t.Fatalf("group managed policy: %+v", c)
	}
	if _, err := admin.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: aws.String("ops"), UserName: user}); err != nil {
		t.Fatal(err)
	}
	if c = run(); c.Status != flows.StatusPass || !strings.Contains(c.Detail, "(1 policy read)") {
		t.Fatalf("after leaving the group: %+v", c)
	}

	// 120 inline policies: IAM lists 100 a page; the broad one is last.
	for i := range 119 {
		if _, err := admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: user, PolicyName: aws.String(fmt.Sprintf("p%03d", i)), PolicyDocument: aws.String(harmless)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: user, PolicyName: aws.String("zz-every-key"), PolicyDocument: aws.String(everyKey)}); err != nil {
		t.Fatal(err)
	}
	if c = run(); c.Status != flows.StatusFail || !strings.Contains(c.Detail, "inline policy zz-every-key: statement all-keys") {
		t.Fatalf("second page: %+v", c)
	}
}

// TestServiceAccountIsolationOnMoto reads a service account's policies
// from moto_server, AWS's emulator: an attached managed policy and a
// group's managed policy reaching every key are failures naming them.
func TestServiceAccountIsolationOnMoto(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := motoPeer(t)
	tg, sp := p.serviceAccount(t)
	user := aws.String(sp.ServiceAccountUser())
	admin := iam.NewFromConfig(p.customer)
	run := func() flows.Check {
		t.Helper()
		return check(t, p.customer, tg, awskms.WithReader(p.customer))[awskms.CheckUserPolicy]
	}
	if c := run(); c.Status != flows.StatusPass {
		t.Fatalf("before: %+v", c)
	}
	const everyKey = `{"Version":"2012-10-17","Statement":[{"Sid":"all-keys","Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}`
	pol, err := admin.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("team-kms"), PolicyDocument: aws.String(everyKey)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: user, PolicyArn: pol.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	if c := run(); c.Status != flows.StatusFail || !strings.Contains(c.Detail, "managed policy team-kms ("+aws.ToString(pol.Policy.Arn)+"): statement all-keys allows kms:Decrypt on *") {
		t.Fatalf("attached managed policy: %+v", c)
	}
	if _, err := admin.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: user, PolicyArn: pol.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: aws.String("ops")}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: aws.String("ops"), UserName: user}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: aws.String("ops"), PolicyArn: pol.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	if c := run(); c.Status != flows.StatusFail || !strings.Contains(c.Detail, "of group ops: statement all-keys") {
		t.Fatalf("group managed policy: %+v", c)
	}
}

// TestNoWaitWhenTheUserPolicyLacksTheGrant: a service account whose
// policies, as the admin reads them, do not grant the key fails at once.
func TestNoWaitWhenTheUserPolicyLacksTheGrant(t *testing.T) {
	t.Parallel()
	p := sandboxPeer(t)
	tg, sp := p.serviceAccount(t)
	if _, err := iam.NewFromConfig(p.customer).DeleteUserPolicy(context.Background(), &iam.DeleteUserPolicyInput{UserName: aws.String(sp.ServiceAccountUser()), PolicyName: aws.String(sp.ServiceAccountUser())}); err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	res := check(t, p.customer, tg, awskms.WithReader(p.customer), awskms.WithWait(90*time.Second), awskms.WithClock(clock.Now, clock.Sleep))
	if clock.slept != 0 {
		t.Fatalf("waited %v for a grant the user's policies do not have", clock.slept)
	}
	if c := res[awskms.CheckUserPolicy]; c.Status != flows.StatusFail || !strings.Contains(c.Detail, "lacks kms:DescribeKey") || c.Fix != flows.StepScript {
		t.Fatalf("user policy: %+v", c)
	}
}
