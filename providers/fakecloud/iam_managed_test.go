package fakecloud_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// TestManagedAndGroupPoliciesThroughIAM makes managed policies and a
// group with the IAM SDK, reads them back a page at a time through the
// SDK's paginators, and shows that KMS lets a user do what a group's or
// a managed policy grants it, as AWS does.
func TestManagedAndGroupPoliciesThroughIAM(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t, 5)
	admin := iam.NewFromConfig(e.srv.AWSConfig(e.sb.Customer(), region))
	user := aws.String("svc")
	if _, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: user}); err != nil {
		t.Fatal(err)
	}
	ak, err := admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: user})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := e.sb.AccessKey(aws.ToString(ak.AccessKey.AccessKeyId))
	sa := kms.NewFromConfig(e.srv.AWSConfig(id, region))
	key := e.sb.CreateKey(region, "a key")
	if _, err := sa.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)}); errCode(err) != "AccessDeniedException" {
		t.Fatalf("without a policy: %v", err)
	}

	const describe = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:DescribeKey","Resource":"*"}]}`
	const nothing = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`
	var arns []string
	for _, n := range []string{"p1", "p2", "p3"} {
		out, err := admin.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(n), PolicyDocument: aws.String(nothing)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Policy.DefaultVersionId) != "v1" || aws.ToString(out.Policy.Arn) != "arn:aws:iam::111122223333:policy/"+n {
			t.Fatalf("CreatePolicy: %+v", out.Policy)
		}
		arns = append(arns, aws.ToString(out.Policy.Arn))
		if _, err := admin.AttachUserPolicy(ctx, &iam.AttachUserPolicyInput{UserName: user, PolicyArn: out.Policy.Arn}); err != nil {
			t.Fatal(err)
		}
	}
	// Pages of one: the paginator follows IsTruncated and Marker.
	var names []string
	pg := iam.NewListAttachedUserPoliciesPaginator(admin, &iam.ListAttachedUserPoliciesInput{UserName: user, MaxItems: aws.Int32(1)})
	for pages := 0; pg.HasMorePages(); pages++ {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.AttachedPolicies) != 1 || out.IsTruncated != (pages < 2) {
			t.Fatalf("page %d: %+v", pages, out)
		}
		names = append(names, aws.ToString(out.AttachedPolicies[0].PolicyName))
	}
	if len(names) != 3 || names[0] != "p1" || names[2] != "p3" {
		t.Fatalf("attached: %q", names)
	}
	if _, err := admin.DeleteUser(ctx, &iam.DeleteUserInput{UserName: user}); errCode(err) != "DeleteConflict" {
		t.Fatalf("DeleteUser with attached policies: %v", err)
	}

	// A new default version of p2 grants DescribeKey; the old one is kept.
	if _, err := admin.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: &arns[1], PolicyDocument: aws.String(describe), SetAsDefault: true}); err != nil {
		t.Fatal(err)
	}
	got, err := admin.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: &arns[1]})
	if err != nil || aws.ToString(got.Policy.DefaultVersionId) != "v2" || aws.ToInt32(got.Policy.AttachmentCount) != 1 {
		t.Fatalf("GetPolicy: %+v %v", got, err)
	}
	v, err := admin.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: &arns[1], VersionId: aws.String("v2")})
	if err != nil {
		t.Fatal(err)
	}
	if doc, _ := url.QueryUnescape(aws.ToString(v.PolicyVersion.Document)); doc != describe || !v.PolicyVersion.IsDefaultVersion {
		t.Fatalf("GetPolicyVersion: %+v", v.PolicyVersion)
	}
	if _, err := sa.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)}); err != nil {
		t.Fatalf("a managed policy's grant: %v", err)
	}
	if _, err := admin.DetachUserPolicy(ctx, &iam.DetachUserPolicyInput{UserName: user, PolicyArn: &arns[1]}); err != nil {
		t.Fatal(err)
	}
	if _, err := sa.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)}); errCode(err) != "AccessDeniedException" {
		t.Fatalf("after detaching: %v", err)
	}

	// A group's inline policy, then its managed policy, grant as well.
	group := aws.String("ops")
	if _, err := admin.CreateGroup(ctx, &iam.CreateGroupInput{GroupName: group}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.AddUserToGroup(ctx, &iam.AddUserToGroupInput{GroupName: group, UserName: user}); err != nil {
		t.Fatal(err)
	}
	groups, err := admin.ListGroupsForUser(ctx, &iam.ListGroupsForUserInput{UserName: user})
	if err != nil || len(groups.Groups) != 1 || aws.ToString(groups.Groups[0].Arn) != "arn:aws:iam::111122223333:group/ops" {
		t.Fatalf("ListGroupsForUser: %+v %v", groups, err)
	}
	if _, err := admin.PutGroupPolicy(ctx, &iam.PutGroupPolicyInput{GroupName: group, PolicyName: aws.String("inline"), PolicyDocument: aws.String(describe)}); err != nil {
		t.Fatal(err)
	}
	gp, err := admin.ListGroupPolicies(ctx, &iam.ListGroupPoliciesInput{GroupName: group})
	if err != nil || len(gp.PolicyNames) != 1 || gp.PolicyNames[0] != "inline" {
		t.Fatalf("ListGroupPolicies: %+v %v", gp, err)
	}
	gget, err := admin.GetGroupPolicy(ctx, &iam.GetGroupPolicyInput{GroupName: group, PolicyName: aws.String("inline")})
	if doc, _ := url.QueryUnescape(aws.ToString(gget.PolicyDocument)); err != nil || doc != describe {
		t.Fatalf("GetGroupPolicy: %v %q", err, doc)
	}
	if _, err := sa.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)}); err != nil {
		t.Fatalf("a group's inline grant: %v", err)
	}
	if _, err := admin.AttachGroupPolicy(ctx, &iam.AttachGroupPolicyInput{GroupName: group, PolicyArn: &arns[1]}); err != nil {
		t.Fatal(err)
	}
	ga, err := admin.ListAttachedGroupPolicies(ctx, &iam.ListAttachedGroupPoliciesInput{GroupName: group})
	if err != nil || len(ga.AttachedPolicies) != 1 || aws.ToString(ga.AttachedPolicies[0].PolicyArn) != arns[1] {
		t.Fatalf("ListAttachedGroupPolicies: %+v %v", ga, err)
	}
	if _, err := admin.RemoveUserFromGroup(ctx, &iam.RemoveUserFromGroupInput{GroupName: group, UserName: user}); err != nil {
		t.Fatal(err)
	}
	if _, err := sa.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)}); errCode(err) != "AccessDeniedException" {
		t.Fatalf("after leaving the group: %v", err)
	}
	if _, err := admin.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: &arns[0], VersionId: aws.String("v9")}); errCode(err) != "NoSuchEntity" {
		t.Fatalf("a missing version: %v", err)
	}
}
