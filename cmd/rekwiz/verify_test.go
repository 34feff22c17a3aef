package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
	"github.com/rekwiz/rekwiz/providers/vendorprofile"
)

// awsEnv points the AWS SDK's default configuration at the sandbox, as a
// customer's shell would with AWS_ENDPOINT_URL.
func awsEnv(t *testing.T, e *fakecloudtest.Env, id fakecloud.Identity) {
	for _, kv := range e.SDKEnv(id) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_PROFILE", "")
}

func TestVerify(t *testing.T) {
	e := fakecloudtest.Start(t, fakecloud.Options{Seed: 1, Vendor: vendorprofile.Default()})
	awsEnv(t, e, e.Customer())
	ctx := context.Background()
	cfg := e.Server.AWSConfig(e.Customer(), fakecloudtest.Region)
	spec := flows.SetupSpec{Provider: flows.AWSDelegated, Key: flows.KeyNew, Domain: "dm-LCAJVnUE94B", Vendor: vendorprofile.Default(), Region: fakecloudtest.Region}
	res, err := awskms.NewSetup(cfg).Run(ctx, spec, func(flows.SetupEvent) {})
	if err != nil {
		t.Fatal(err)
	}
	alias := res.Paste[flows.FieldAliasARN]

	code, out, errOut := exec(t, false, "verify", "--provider", "aws-delegated", "--domain", "dm-LCAJVnUE94B", "--key-arn", alias)
	if code != 0 || !strings.Contains(out, "✓ PASS    Key policy grants the vendor") || !strings.Contains(out, "Result: paired.") {
		t.Fatalf("paired key: exit %d\n%s\n%s", code, out, errOut)
	}

	// Another domain's key, without the vendor statement: exit 1, and the
	// report names the missing actions and the fix.
	k := kms.NewFromConfig(cfg)
	key, _ := k.CreateKey(ctx, &kms.CreateKeyInput{})
	name := "alias/dm-OTHERDOMAIN/sandbox"
	if _, err := k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: &name, TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	code, out, _ = exec(t, false, "verify", "--provider", "aws-delegated", "--domain", "dm-OTHERDOMAIN", "--key-arn", "arn:aws:kms:us-east-1:111122223333:"+name)
	for _, want := range []string{"✗ FAIL    Key policy grants the vendor: arn:aws:iam::999988887777:root lacks kms:Decrypt (implicit deny)", "What to do:", "aws.key-policy: run the setup script again", "Result: 1 check failed."} {
		if code != exitCheckFailed || !strings.Contains(out, want) {
			t.Errorf("unpaired key: exit %d, want 1 and %q:\n%s", code, want, out)
		}
	}
	for _, secret := range []string{e.Customer().SecretAccessKey, e.Vendor().SecretAccessKey} {
		if strings.Contains(out, secret) {
			t.Fatal("verify printed a secret")
		}
	}

	code, _, errOut = exec(t, false, "verify", "--provider", "aws-delegated", "--domain", "dm-LCAJVnUE94B", "--key-arn", "arn:aws:kms:us-east-1:111122223333:alias/dm-XXXXXXXXXXX/sandbox")
	if code != exitUsage || !strings.Contains(errOut, "--key-arn: this alias is for domain dm-XXXXXXXXXXX, not dm-LCAJVnUE94B") {
		t.Errorf("bad alias: %d %s", code, errOut)
	}
}

// TestWizardUsesAmbientAWS builds the wizard as `rekwiz` does outside the
// demo, with the AWS SDK's default configuration taken from the
// environment (here pointing at the sandbox, as the customer): the setup
// and the pairing check run with those credentials, and the registry is
// the real one under XDG_CONFIG_HOME.
func TestWizardUsesAmbientAWS(t *testing.T) {
	home := demoHome(t)
	e := fakecloudtest.Start(t, fakecloud.Options{Seed: 1, Vendor: vendorprofile.Default()})
	awsEnv(t, e, e.Customer())
	var errOut strings.Builder
	ios := &IOStreams{In: strings.NewReader(""), Out: io.Discard, Err: &errOut, Terminal: true, Getenv: os.Getenv}
	w, err := newWizard(context.Background(), &wizardOptions{IO: ios, Global: &globalOptions{}, Deps: realDeps(), Presets: map[flows.Field]string{"domain": "dm-LCAJVnUE94B"}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	if !strings.Contains(errOut.String(), "warning: no --vendor-profile given") {
		t.Error("no warning for the placeholder vendor outside the demo")
	}
	if w.flow.Value(flows.FieldRegion) != fakecloudtest.Region {
		t.Errorf("region %q, want AWS_REGION's", w.flow.Value(flows.FieldRegion))
	}
	ctx := context.Background()
	spec := flows.SetupSpec{Provider: flows.AWSDelegated, Key: flows.KeyNew, Domain: "dm-LCAJVnUE94B", Vendor: w.flow.Vendor(), Region: fakecloudtest.Region}
	res, err := w.deps.Setup[flows.AWSDelegated].Run(ctx, spec, func(flows.SetupEvent) {})
	if err != nil {
		t.Fatal(err)
	}
	a, _, _ := flows.ParseAliasARN(res.Paste[flows.FieldAliasARN])
	tg := flows.Target{Provider: flows.AWSDelegated, Domain: "dm-LCAJVnUE94B", Vendor: w.flow.Vendor(), AliasARN: a}
	checks := w.deps.Pairing[flows.AWSDelegated].Run(ctx, tg, nil)
	if !flows.Passed(checks) {
		t.Fatalf("checks %+v", checks)
	}
	for _, c := range checks {
		if c.ID == awskms.CheckCredentials && !strings.Contains(c.Detail, e.Customer().ARN) {
			t.Errorf("the check ran as %s, not with the ambient credentials", c.Detail)
		}
	}
	if _, err := w.deps.Registry.Register(ctx, tg); err != nil {
		t.Fatal(err)
	}
	if !fileExists(filepath.Join(home, ".config", "rekwiz", "registry.json")) {
		t.Fatal("the real registry was not written")
	}
}

func TestVerifyServiceAccountAndJSON(t *testing.T) {
	e := fakecloudtest.Start(t, fakecloud.Options{Seed: 2, Vendor: vendorprofile.Default()})
	awsEnv(t, e, e.Customer())
	ctx := context.Background()
	spec := flows.SetupSpec{Provider: flows.AWSServiceAccount, Key: flows.KeyNew, Domain: "dm-LCAJVnUE94B", Vendor: vendorprofile.Default(), Region: fakecloudtest.Region, Company: "Example"}
	res, err := awskms.NewSetup(e.Server.AWSConfig(e.Customer(), fakecloudtest.Region)).Run(ctx, spec, func(flows.SetupEvent) {})
	if err != nil {
		t.Fatal(err)
	}
	alias, akid, secret := res.Paste[flows.FieldAliasARN], res.Paste[flows.FieldAccessKeyID], res.Paste[flows.FieldSecretAccessKey]
	args := []string{"verify", "--provider", "aws-service-account", "--domain", "dm-LCAJVnUE94B", "--key-arn", alias, "--access-key-id", akid}

	// The customer's credentials stay in AWS_ACCESS_KEY_ID for the SDK's
	// default chain (the reader); the service account's secret is given
	// in AWS_SECRET_ACCESS_KEY only for the run below.
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	code, out, errOut := exec(t, false, args...)
	if code != exitUsage || out != "" || !strings.Contains(errOut, "secret access key: set AWS_SECRET_ACCESS_KEY (it is never taken as a flag") {
		t.Fatalf("without a secret: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := exec(t, false, append(args, "--secret-access-key", secret)...); code != exitUsage || !strings.Contains(errOut, "unknown flag: --secret-access-key") {
		t.Fatalf("a secret flag: %d %q", code, errOut)
	}

	// Run as the service account, with the customer's profile reading
	// the policies: everything passes, and the JSON document says so.
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	credFile := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(credFile, []byte("[default]\naws_access_key_id = "+e.Customer().AccessKeyID+"\naws_secret_access_key = "+e.Customer().SecretAccessKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", credFile)
	code, out, errOut = exec(t, false, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	var doc struct {
		SchemaVersion int
		Domain        string
		Provider      string
		ProviderName  string
		Key           string
		AccessKeyID   string
		Result        string
		Failed        int
		Checks        []struct{ ID, Name, Status, Detail, Remedy string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	ids := map[string]string{}
	for _, c := range doc.Checks {
		ids[c.ID] = c.Status
	}
	if doc.SchemaVersion != 1 || doc.Provider != "aws-service-account" || doc.ProviderName != "aws_sa" || doc.Key != alias || doc.AccessKeyID != akid ||
		doc.Result != "paired" || doc.Failed != 0 || ids["aws.user-policy"] != "pass" || ids["aws.key-policy"] != "pass" || ids["aws.round-trip"] != "pass" || len(doc.Checks) != 9 {
		t.Fatalf("document: %+v", doc)
	}
	assertNowhere(t, secret, nil, []byte(out), []byte(errOut))
	assertNowhere(t, e.Customer().SecretAccessKey, nil, []byte(out), []byte(errOut))

	// A wrong secret: exit 1, the credentials check says why.
	t.Setenv("AWS_SECRET_ACCESS_KEY", strings.Repeat("W", 40))
	code, out, _ = exec(t, false, append(args, "--json", "--wait", "0")...)
	if code != exitCheckFailed || !strings.Contains(out, `"result": "failed"`) || !strings.Contains(out, "the secret access key does not match the access key ID") {
		t.Fatalf("wrong secret: exit %d\n%s", code, out)
	}

	if code, _, errOut := exec(t, false, append(args, "--wait", "-1s")...); code != exitUsage || !strings.Contains(errOut, "--wait: expected a duration of 0 or more") {
		t.Fatalf("negative wait: %d %q", code, errOut)
	}
}
