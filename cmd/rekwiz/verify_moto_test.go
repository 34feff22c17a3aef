package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
	"github.com/rekwiz/rekwiz/providers/vendorprofile"
)

// TestVerifyAgainstMoto: rekwiz verify finds moto_server as it would a
// real account, through AWS_ENDPOINT_URL and the credential variables
// only, and reports a paired key, then the same key disabled.
func TestVerifyAgainstMoto(t *testing.T) {
	m := fakecloudtest.NewMotoAccount(t)
	ctx := context.Background()
	cfg := m.AWSConfig()
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL": m.URL, "AWS_REGION": fakecloudtest.Region, "AWS_PROFILE": "",
		"AWS_ACCESS_KEY_ID": creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY": creds.SecretAccessKey, "AWS_SESSION_TOKEN": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "config"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "credentials"),
	} {
		t.Setenv(k, v)
	}
	spec := flows.SetupSpec{Provider: flows.AWSDelegated, Key: flows.KeyNew, Domain: "dm-LCAJVnUE94B", Vendor: vendorprofile.Default(), Region: fakecloudtest.Region}
	res, err := awskms.NewSetup(cfg).Run(ctx, spec, func(flows.SetupEvent) {})
	if err != nil {
		t.Fatal(err)
	}
	alias := res.Paste[flows.FieldAliasARN]
	args := []string{"verify", "--provider", "aws-delegated", "--domain", "dm-LCAJVnUE94B", "--key-arn", alias, "--wait", "0"}

	code, out, errOut := exec(t, false, args...)
	for _, want := range []string{"✓ PASS    AWS credentials work: checking as arn:aws:", "✓ PASS    Key policy grants the vendor", "✓ PASS    Wrap and unwrap a data key", "Result: paired."} {
		if code != 0 || !strings.Contains(out, want) {
			t.Fatalf("paired key: exit %d, want %q\n%s\n%s", code, want, out, errOut)
		}
	}

	k := kms.NewFromConfig(cfg)
	d, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &alias})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.DisableKey(ctx, &kms.DisableKeyInput{KeyId: d.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	code, out, _ = exec(t, false, args...)
	for _, want := range []string{"✗ FAIL    Key is enabled: the key is disabled", "aws.key-state: aws kms enable-key --region us-east-1 --key-id " + *d.KeyMetadata.Arn, "Result: 1 check failed."} {
		if code != exitCheckFailed || !strings.Contains(out, want) {
			t.Fatalf("disabled key: exit %d, want %q\n%s", code, want, out)
		}
	}
}
