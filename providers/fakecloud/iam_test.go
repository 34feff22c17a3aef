package fakecloud_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// The service account's policy as the vendor's setup instructions write
// it: Resource "*", scoped by kms:ResourceAliases.
const saPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
 "Action":["kms:DescribeKey","kms:GenerateDataKeyWithoutPlaintext","kms:Decrypt","kms:ReEncryptFrom","kms:ReEncryptTo","kms:Encrypt"],
 "Resource":"*","Condition":{"ForAnyValue:StringEquals":{"kms:ResourceAliases":"alias/dm-LCAJVnUE94B/acme/Example"}}}]}`

// TestServiceAccountThroughIAM makes a service account with the IAM SDK
// and uses its access key with KMS: allowed on the key its policy's alias
// names, denied on any other key, denied once the alias is gone.
func TestServiceAccountThroughIAM(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t, 3)
	admin := iam.NewFromConfig(e.srv.AWSConfig(e.sb.Customer(), region))
	user := aws.String("acme-rek-dm-LCAJVnUE94B")

	if _, err := admin.GetUser(ctx, &iam.GetUserInput{UserName: user}); errCode(err) != "NoSuchEntity" {
		t.Fatalf("GetUser before: %v", err)
	}
	if _, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: user}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: user}); errCode(err) != "EntityAlreadyExists" {
		t.Fatalf("second CreateUser: %v", err)
	}
	if _, err := admin.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: user, PolicyName: user, PolicyDocument: aws.String(saPolicy)}); err != nil {
		t.Fatal(err)
	}
	got, err := admin.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: user, PolicyName: user})
	if err != nil {
		t.Fatal(err)
	}
	if doc, _ := url.QueryUnescape(aws.ToString(got.PolicyDocument)); doc != saPolicy {
		t.Fatalf("GetUserPolicy returned %q", aws.ToString(got.PolicyDocument))
	}
	ak, err := admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: user})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.DeleteUser(ctx, &iam.DeleteUserInput{UserName: user}); errCode(err) != "DeleteConflict" {
		t.Fatalf("DeleteUser with a key: %v", err)
	}
	id, ok := e.sb.AccessKey(aws.ToString(ak.AccessKey.AccessKeyId))
	if !ok || id.SecretAccessKey != aws.ToString(ak.AccessKey.SecretAccessKey) || !strings.HasSuffix(id.ARN, ":user/acme-rek-dm-LCAJVnUE94B") {
		t.Fatalf("access key identity: %+v", id)
	}
	sa := kms.NewFromConfig(e.srv.AWSConfig(id, region))
	if _, err := iam.NewFromConfig(e.srv.AWSConfig(id, region)).ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: user}); errCode(err) != "AccessDenied" {
		t.Fatalf("the service account called IAM: %v", err)
	}

	mine := e.sb.CreateKey(region, "the alias's key")
	other := e.sb.CreateKey(region, "another key")
	alias := aws.String("alias/dm-LCAJVnUE94B/acme/Example")
	if _, err := e.customer.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: alias, TargetKeyId: aws.String(mine)}); err != nil {
		t.Fatal(err)
	}
	if _, err := sa.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/acme/Example")}); err != nil {
		t.Fatalf("the service account cannot use its key: %v", err)
	}
	if _, err := sa.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: alias, NumberOfBytes: aws.Int32(32)}); err != nil {
		t.Fatalf("GenerateDataKeyWithoutPlaintext: %v", err)
	}
	_, err = sa.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(other)})
	if errCode(err) != "AccessDeniedException" || !strings.Contains(err.Error(), "no identity-based policy allows the kms:DescribeKey action") {
		t.Fatalf("the service account used another key: %v", err)
	}
	if _, err := sa.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(mine)}); errCode(err) != "AccessDeniedException" {
		t.Fatalf("ScheduleKeyDeletion: %v", err)
	}
	if _, err := e.customer.DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: alias}); err != nil {
		t.Fatal(err)
	}
	if _, err := sa.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(mine)}); errCode(err) != "AccessDeniedException" {
		t.Fatalf("without its alias the key is still usable: %v", err)
	}

	keys, err := admin.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: user})
	if err != nil || len(keys.AccessKeyMetadata) != 1 {
		t.Fatalf("ListAccessKeys: %+v, %v", keys, err)
	}
	admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: user})
	if _, err := admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: user}); errCode(err) != "LimitExceeded" {
		t.Fatalf("a third access key: %v", err)
	}
	u, _ := e.sb.User(*user)
	for _, k := range u.AccessKeys {
		if _, err := admin.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: user, AccessKeyId: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sa.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(mine)}); errCode(err) != "UnrecognizedClientException" {
		t.Fatalf("a deleted access key still signs: %v", err)
	}
	if _, err := admin.DeleteUserPolicy(ctx, &iam.DeleteUserPolicyInput{UserName: user, PolicyName: user}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.DeleteUser(ctx, &iam.DeleteUserInput{UserName: user}); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.sb.User(*user); ok {
		t.Fatal("the user is still there")
	}
}

// TestIAMListsPage: every IAM list call answers the same way: a page of
// MaxItems with IsTruncated and a Marker the SDK's paginator follows, an
// empty list as none, and a MaxItems out of IAM's range refused.
func TestIAMListsPage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t, 6)
	admin := iam.NewFromConfig(e.srv.AWSConfig(e.sb.Customer(), region))
	user := aws.String("svc")
	if _, err := admin.CreateUser(ctx, &iam.CreateUserInput{UserName: user}); err != nil {
		t.Fatal(err)
	}
	tags, err := admin.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: user})
	if err != nil || len(tags.Tags) != 0 || tags.IsTruncated {
		t.Fatalf("ListUserTags of an untagged user: %+v %v", tags, err)
	}
	pols, err := admin.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: user})
	if err != nil || len(pols.PolicyNames) != 0 {
		t.Fatalf("ListUserPolicies of a new user: %+v %v", pols, err)
	}
	var made []string
	for range 2 {
		ak, err := admin.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: user})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, aws.ToString(ak.AccessKey.AccessKeyId))
	}
	var listed []string
	pg := iam.NewListAccessKeysPaginator(admin, &iam.ListAccessKeysInput{UserName: user, MaxItems: aws.Int32(1)})
	for pages := 0; pg.HasMorePages(); pages++ {
		out, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(out.AccessKeyMetadata) != 1 || out.IsTruncated != (pages == 0) {
			t.Fatalf("page %d: %+v", pages, out)
		}
		listed = append(listed, aws.ToString(out.AccessKeyMetadata[0].AccessKeyId))
	}
	if strings.Join(listed, " ") != strings.Join(made, " ") {
		t.Fatalf("access keys listed %q, made %q", listed, made)
	}
	if _, err := admin.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: user, MaxItems: aws.Int32(1001)}); errCode(err) != "ValidationError" {
		t.Fatalf("MaxItems 1001: %v", err)
	}
}
