package fakecloud_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/rekwiz/rekwiz/providers/awspolicy"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

// TestAWSCLIv2 drives the sandbox with the real AWS CLI v2, which reaches
// it through the HTTPS proxy (this CLI predates AWS_ENDPOINT_URL), and
// checks every result through the SDK.
func TestAWSCLIv2(t *testing.T) {
	t.Parallel()
	aws := fakecloudtest.AWSCLI(t)
	ctx := context.Background()
	e := fakecloudtest.Start(t, fakecloud.Options{Seed: 1, Vendor: testVendor})
	customer := e.CLIEnv(e.Customer())
	sdk := kms.NewFromConfig(e.Server.AWSConfig(e.Customer(), region))
	vendor := kms.NewFromConfig(e.Server.AWSConfig(e.Vendor(), region))

	var who struct{ Account, Arn string }
	if err := json.Unmarshal([]byte(fakecloudtest.MustRun(t, customer, aws, "sts", "get-caller-identity")), &who); err != nil {
		t.Fatal(err)
	}
	if who.Arn != e.Customer().ARN || who.Account != fakecloud.CustomerAccount {
		t.Fatalf("get-caller-identity = %+v", who)
	}

	keyID := fakecloudtest.MustRun(t, customer, aws, "kms", "create-key", "--description", "REK for dm-LCAJVnUE94B",
		"--key-spec", "SYMMETRIC_DEFAULT", "--key-usage", "ENCRYPT_DECRYPT", "--query", "KeyMetadata.KeyId", "--output", "text")
	d, err := sdk.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &keyID})
	if err != nil || *d.KeyMetadata.Description != "REK for dm-LCAJVnUE94B" || d.KeyMetadata.KeyState != types.KeyStateEnabled {
		t.Fatalf("key made by the CLI: %v %+v", err, d)
	}

	alias := "alias/dm-LCAJVnUE94B/acme"
	fakecloudtest.MustRun(t, customer, aws, "kms", "create-alias", "--alias-name", alias, "--target-key-id", keyID)
	target := fakecloudtest.MustRun(t, customer, aws, "kms", "list-aliases", "--key-id", keyID,
		"--query", "Aliases[?AliasName=='"+alias+"'].TargetKeyId", "--output", "text")
	if target != keyID {
		t.Fatalf("list-aliases target = %q, want %q", target, keyID)
	}

	policy := fakecloudtest.MustRun(t, customer, aws, "kms", "get-key-policy", "--key-id", keyID,
		"--policy-name", "default", "--query", "Policy", "--output", "text")
	merged, _, err := awspolicy.Upsert(policy, awspolicy.VendorStatement("rekwiz-acme", testVendor.AWSPrincipal("aws")))
	if err != nil {
		t.Fatalf("policy from the CLI: %v\n%s", err, policy)
	}
	fakecloudtest.MustRun(t, customer, aws, "kms", "put-key-policy", "--key-id", keyID, "--policy-name", "default", "--policy", merged)
	aliasARN := "arn:aws:kms:us-east-1:111122223333:" + alias
	if _, err := vendor.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &aliasARN}); err != nil {
		t.Fatalf("vendor after put-key-policy by the CLI: %v", err)
	}

	// The vendor, through the CLI, as the pairing check does it.
	vendorEnv := e.CLIEnv(e.Vendor())
	blob := fakecloudtest.MustRun(t, vendorEnv, aws, "kms", "generate-data-key-without-plaintext", "--key-id", aliasARN,
		"--key-spec", "AES_256", "--encryption-context", "domain=dm-LCAJVnUE94B", "--query", "CiphertextBlob", "--output", "text")
	if blob == "" {
		t.Fatal("no ciphertext")
	}

	// A wrong secret is refused as AWS refuses it.
	bad := e.Customer()
	bad.SecretAccessKey = strings.Repeat("x", 40)
	_, stderr, err := fakecloudtest.Run(e.CLIEnv(bad), "", aws, "kms", "list-keys")
	if err == nil || !strings.Contains(stderr, "InvalidSignatureException") {
		t.Fatalf("wrong secret: err=%v stderr=%s", err, stderr)
	}
	_, stderr, err = fakecloudtest.Run(e.CLIEnv(bad), "", aws, "sts", "get-caller-identity")
	if err == nil || !strings.Contains(stderr, "SignatureDoesNotMatch") {
		t.Fatalf("wrong secret (sts): err=%v stderr=%s", err, stderr)
	}
}
