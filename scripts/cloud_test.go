package scripts

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

// cloud is where the scripts run: the sandbox (which enforces key and
// IAM policies) or moto_server (which emulates every call but enforces
// no policy). Both are reached by the real AWS CLI v2 unchanged.
type cloud struct {
	env     []string // the customer's CLI environment
	kms     *kms.Client
	iam     *iam.Client
	account string
	sb      *fakecloudtest.Env // nil for moto
}

func sandboxCloud(t *testing.T) *cloud {
	e := fakecloudtest.Start(t, fakecloud.Options{Seed: 1, Vendor: vendor})
	cfg := e.Server.AWSConfig(e.Customer(), fakecloudtest.Region)
	return &cloud{env: e.CLIEnv(e.Customer()), kms: kms.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg), account: fakecloud.CustomerAccount, sb: e}
}

// motoCloud is an account of the test's own on the package's one
// moto_server.
func motoCloud(t *testing.T) *cloud {
	m := fakecloudtest.NewMotoAccount(t)
	cfg := m.AWSConfig()
	return &cloud{env: m.CLIEnv(), kms: kms.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg), account: m.Account}
}

// clouds start a cloud of its own for a test (an account of its own, on
// moto).
var clouds = map[string]func(*testing.T) *cloud{"sandbox": sandboxCloud, "moto": motoCloud}

// run runs a script in the cloud with the AWS CLI v2.
func (c *cloud) run(t *testing.T, sp flows.SetupSpec, opts Options) (string, string, error) {
	t.Helper()
	return c.runEnv(t, sp, opts)
}

// mustRun runs a script and fails the test if it fails.
func (c *cloud) mustRun(t *testing.T, sp flows.SetupSpec, opts Options) string {
	t.Helper()
	out, errOut, err := c.run(t, sp, opts)
	if err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", FileName(sp, opts), err, out, errOut)
	}
	return out
}

// runEnv runs a script with extra environment variables.
func (c *cloud) runEnv(t *testing.T, sp flows.SetupSpec, opts Options, extra ...string) (string, string, error) {
	t.Helper()
	s, err := Render(sp, opts)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, FileName(sp, opts))
	if err := os.WriteFile(p, []byte(s), 0o700); err != nil {
		t.Fatal(err)
	}
	return fakecloudtest.Run(append(slices.Clone(c.env), extra...), dir, "bash", p)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// pasted is what the paste step picks out of a setup script's output
// (flows.LabelledValues, the paste step's own reading), with LF, CR and
// CRLF line breaks alike: a web terminal pastes line breaks as CR. It
// fails the test unless every field in want is there (a first run's:
// flows.PasteFields). The ui package pastes echoed lines; the real
// output is read here, where the real CLIs print it.
func pasted(t *testing.T, out string, want ...flows.Field) map[flows.Field]string {
	t.Helper()
	got := flows.LabelledValues(out)
	for _, f := range want {
		if got[f] == "" {
			t.Fatalf("the paste step finds no %s in what the script printed:\n%s", f, out)
		}
	}
	for _, sep := range []string{"\r", "\r\n"} {
		if other := flows.LabelledValues(strings.ReplaceAll(out, "\n", sep)); !maps.Equal(other, got) {
			t.Fatalf("with %q line breaks the paste step reads %q, with LF %q", sep, other, got)
		}
	}
	return got
}

func (c *cloud) keyCount(t *testing.T) int {
	t.Helper()
	out, err := c.kms.ListKeys(context.Background(), &kms.ListKeysInput{Limit: aws.Int32(1000)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Keys)
}

func (c *cloud) aliasTarget(t *testing.T, sp flows.SetupSpec) string {
	t.Helper()
	out, err := c.kms.ListAliases(context.Background(), &kms.ListAliasesInput{Limit: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range out.Aliases {
		if aws.ToString(a.AliasName) == sp.AliasName() {
			return aws.ToString(a.TargetKeyId)
		}
	}
	return ""
}

func (c *cloud) policy(t *testing.T, keyID string) string {
	t.Helper()
	out, err := c.kms.GetKeyPolicy(context.Background(), &kms.GetKeyPolicyInput{KeyId: &keyID, PolicyName: aws.String("default")})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Policy)
}

func (c *cloud) accessKeys(t *testing.T, sp flows.SetupSpec) int {
	t.Helper()
	out, err := c.iam.ListAccessKeys(context.Background(), &iam.ListAccessKeysInput{UserName: aws.String(sp.ServiceAccountUser())})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.AccessKeyMetadata)
}

// assertStatement finds the statement with sid and compares its bytes.
func assertStatement(t *testing.T, policy, sid string, want []byte) {
	t.Helper()
	var top struct{ Statement []json.RawMessage }
	if err := json.Unmarshal([]byte(policy), &top); err != nil {
		t.Fatalf("policy: %v\n%s", err, policy)
	}
	for _, raw := range top.Statement {
		var head struct{ Sid string }
		_ = json.Unmarshal(raw, &head)
		if head.Sid == sid {
			if string(raw) != string(want) {
				t.Fatalf("statement %q changed:\n%s\nwant:\n%s", sid, raw, want)
			}
			return
		}
	}
	t.Fatalf("no statement %q in %s", sid, policy)
}

// snapshot is everything a script could change, read through the SDK:
// every key (state, description, policy, rotation), every alias, and the
// service account's IAM user (tags, inline policies, access keys).
func (c *cloud) snapshot(t *testing.T, users ...string) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	keys, err := c.kms.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(1000)})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys.Keys {
		d, err := c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		rot, err := c.kms.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: k.KeyId})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "key %s %s %q rotation=%v\npolicy %s\n", *k.KeyId, d.KeyMetadata.KeyState, aws.ToString(d.KeyMetadata.Description), rot.KeyRotationEnabled, c.policy(t, *k.KeyId))
	}
	aliases, err := c.kms.ListAliases(ctx, &kms.ListAliasesInput{Limit: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range aliases.Aliases {
		fmt.Fprintf(&b, "alias %s -> %s\n", aws.ToString(a.AliasName), aws.ToString(a.TargetKeyId))
	}
	for _, u := range users {
		name := aws.String(u)
		if _, err := c.iam.GetUser(ctx, &iam.GetUserInput{UserName: name}); err != nil {
			fmt.Fprintf(&b, "user %s: none\n", u)
			continue
		}
		tags, err := c.iam.ListUserTags(ctx, &iam.ListUserTagsInput{UserName: name})
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range tags.Tags {
			fmt.Fprintf(&b, "user %s tag %s=%s\n", u, aws.ToString(tg.Key), aws.ToString(tg.Value))
		}
		pols, err := c.iam.ListUserPolicies(ctx, &iam.ListUserPoliciesInput{UserName: name})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pols.PolicyNames {
			doc, err := c.iam.GetUserPolicy(ctx, &iam.GetUserPolicyInput{UserName: name, PolicyName: aws.String(p)})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "user %s policy %s %s\n", u, p, aws.ToString(doc.PolicyDocument))
		}
		ak, err := c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: name})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range ak.AccessKeyMetadata {
			fmt.Fprintf(&b, "user %s access key %s %s\n", u, aws.ToString(k.AccessKeyId), k.Status)
		}
	}
	return b.String()
}

// existingKey makes a customer key with the given extra statements in
// its policy (appended as they are, so two may share a Sid).
func (c *cloud) existingKey(t *testing.T, stmts ...string) string {
	t.Helper()
	ctx := context.Background()
	k, err := c.kms.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("the customer's key"),
		KeySpec: types.KeySpecSymmetricDefault, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
	if err != nil {
		t.Fatal(err)
	}
	keyID := *k.KeyMetadata.KeyId
	if len(stmts) > 0 {
		var top map[string]json.RawMessage
		var list []json.RawMessage
		if err := json.Unmarshal([]byte(c.policy(t, keyID)), &top); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(top["Statement"], &list); err != nil {
			t.Fatal(err)
		}
		for _, s := range stmts {
			list = append(list, json.RawMessage(s))
		}
		top["Statement"], _ = json.Marshal(list)
		pol, _ := json.Marshal(top)
		if _, err := c.kms.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: &keyID, PolicyName: aws.String("default"), Policy: aws.String(string(pol))}); err != nil {
			t.Fatal(err)
		}
	}
	return keyID
}
