package scripts

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
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

func motoCloud(t *testing.T) *cloud {
	m := fakecloudtest.StartMoto(t)
	cfg := m.AWSConfig()
	return &cloud{env: m.CLIEnv(), kms: kms.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg), account: fakecloudtest.MotoAccount}
}

// TestAWSScriptsEndToEnd runs every AWS variant (delegated and service
// account, existing and new key, setup and teardown) with the AWS CLI v2
// against the sandbox and against moto_server, each setup twice and each
// teardown twice, and checks the end state through the SDK after every
// run. A foreign statement in the key policy survives all of it byte
// for byte, and the key is Enabled at the end.
func TestAWSScriptsEndToEnd(t *testing.T) {
	fakecloudtest.AWSCLI(t)
	fakecloudtest.Tool(t, "jq", "jq")
	for name, start := range map[string]func(*testing.T) *cloud{"sandbox": sandboxCloud, "moto": motoCloud} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c := start(t)
			if v := fakecloudtest.MustRun(t, c.env, "bash", "-c", "aws --version"); !strings.HasPrefix(v, "aws-cli/2.") {
				t.Fatalf("the scripts would run with %s, not the AWS CLI v2", v)
			}
			n := 0
			for _, p := range []flows.Provider{flows.AWSDelegated, flows.AWSServiceAccount} {
				for _, k := range flows.KeyChoices() {
					n++
					t.Run(string(p)+"/"+string(k), func(t *testing.T) {
						sp := specOf(p, k)
						sp.Domain = "dm-RUN" + strings.Repeat("0", 7) + string(rune('0'+n))
						c.lifecycle(t, sp)
					})
				}
			}
		})
	}
}

func (c *cloud) run(t *testing.T, sp flows.SetupSpec, opts Options) (string, string, error) {
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
	return fakecloudtest.Run(c.env, dir, "bash", p)
}

func (c *cloud) mustRun(t *testing.T, sp flows.SetupSpec, opts Options) string {
	t.Helper()
	out, errOut, err := c.run(t, sp, opts)
	if err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", FileName(sp, opts), err, out, errOut)
	}
	return out
}

var foreign = awspolicy.Statement{Sid: "Their app", Effect: "Allow",
	Principal: &awspolicy.Principal{AWS: awspolicy.StringList{"arn:aws:iam::111122223333:role/app"}},
	Action:    awspolicy.StringList{"kms:Encrypt", "kms:Decrypt"}, Resource: awspolicy.StringList{"*"}}

func (c *cloud) lifecycle(t *testing.T, sp flows.SetupSpec) {
	ctx := context.Background()
	aliasARN := "arn:aws:kms:" + sp.Region + ":" + c.account + ":" + sp.AliasName()
	var keyID string
	if sp.Key == flows.KeyExisting {
		// KeySpec and KeyUsage are AWS's defaults, spelled out: moto
		// leaves KeyUsage empty when it is not given.
		k, err := c.kms.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("the customer's key"),
			KeySpec: types.KeySpecSymmetricDefault, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
		if err != nil {
			t.Fatal(err)
		}
		keyID = *k.KeyMetadata.KeyId
		sp.KeyID = *k.KeyMetadata.Arn
		pol := c.policy(t, keyID)
		withForeign, _, err := awspolicy.Upsert(pol, foreign)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.kms.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: &keyID, PolicyName: aws.String("default"), Policy: &withForeign}); err != nil {
			t.Fatal(err)
		}
	}
	wantForeign, _ := json.Marshal(foreign)
	keysBefore := c.keyCount(t)

	out := c.mustRun(t, sp, Options{})
	if !strings.Contains(out, "Key alias (save this for next step): "+aliasARN+"\n") {
		t.Fatalf("first run does not print the alias ARN:\n%s", out)
	}
	if sp.Key == flows.KeyNew {
		if c.keyCount(t) != keysBefore+1 {
			t.Fatalf("a new-key setup made %d keys", c.keyCount(t)-keysBefore)
		}
		keyID = c.aliasTarget(t, sp)
		rot, err := c.kms.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: &keyID})
		if err != nil || !rot.KeyRotationEnabled {
			t.Fatalf("the new key's automatic rotation is off (%v)", err)
		}
	}
	if got := c.aliasTarget(t, sp); got != keyID {
		t.Fatalf("alias names %q, want %q", got, keyID)
	}
	c.checkGranted(t, sp, keyID)
	policy1 := c.policy(t, keyID)
	if sp.Key == flows.KeyExisting {
		assertStatement(t, policy1, "Their app", wantForeign)
	}
	var accessKeyID, secret string
	if sp.Provider == flows.AWSServiceAccount {
		accessKeyID = labelled(out, "Access key ID (save this for next step): ")
		secret = labelled(out, "Secret access key (save this for next step): ")
		if accessKeyID == "" || secret == "" {
			t.Fatalf("the first run does not print the access key:\n%s", out)
		}
		if !strings.HasSuffix(strings.TrimSpace(out), "Secret access key (save this for next step): "+secret) {
			t.Fatalf("the secret is not the last line:\n%s", out)
		}
	}
	if c.sb != nil {
		c.assertVendorCanUse(t, sp, aliasARN, accessKeyID, secret)
	}

	// The second run finds everything in place and changes nothing.
	out2 := c.mustRun(t, sp, Options{})
	if !strings.Contains(out2, "Key alias (save this for next step): "+aliasARN+"\n") {
		t.Fatalf("second run:\n%s", out2)
	}
	if c.keyCount(t) != keysBefore+btoi(sp.Key == flows.KeyNew) {
		t.Fatal("the second run made a key")
	}
	if policy2 := c.policy(t, keyID); policy2 != policy1 {
		t.Fatalf("the second run changed the key policy:\n%s\n%s", policy1, policy2)
	}
	if sp.Provider == flows.AWSServiceAccount {
		if strings.Contains(out2, secret) || strings.Contains(out2, "Secret access key") {
			t.Fatal("the second run printed a secret")
		}
		if !strings.Contains(out2, "already has an access key; not making another") || !strings.Contains(out2, "aws iam create-access-key --user-name") {
			t.Fatalf("the second run does not say how to rotate:\n%s", out2)
		}
		if got := labelled(out2, "Access key ID (save this for next step): "); got != accessKeyID {
			t.Fatalf("second run's access key ID %q, want %q", got, accessKeyID)
		}
		if n := c.accessKeys(t, sp); n != 1 {
			t.Fatalf("%d access keys after two runs", n)
		}
	} else if !strings.Contains(out2, "already has statement") {
		t.Fatalf("second run:\n%s", out2)
	}

	// Teardown, twice: the vendor's access goes, the key and every other
	// statement stay.
	for i := range 2 {
		td := c.mustRun(t, sp, Options{Teardown: true})
		if got := c.aliasTarget(t, sp); got != "" {
			t.Fatalf("teardown %d left the alias on %s", i+1, got)
		}
		pol := c.policy(t, keyID)
		if strings.Contains(pol, awspolicy.VendorSid(vendor.Slug)) {
			t.Fatalf("teardown %d left the vendor's statement: %s", i+1, pol)
		}
		if sp.Key == flows.KeyExisting {
			assertStatement(t, pol, "Their app", wantForeign)
		}
		if sp.Provider == flows.AWSServiceAccount {
			if _, err := c.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String(sp.ServiceAccountUser())}); err == nil {
				t.Fatalf("teardown %d left the IAM user", i+1)
			}
		}
		d, err := c.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &keyID})
		if err != nil || d.KeyMetadata.KeyState != types.KeyStateEnabled {
			t.Fatalf("after teardown %d the key is %v (%v)", i+1, d.KeyMetadata.KeyState, err)
		}
		if i == 0 && sp.Key == flows.KeyExisting && !strings.Contains(td, "is untouched") {
			t.Fatalf("teardown output:\n%s", td)
		}
	}
	if c.sb != nil {
		c.assertVendorCannotUse(t, sp, keyID, accessKeyID, secret)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func labelled(out, label string) string {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, label); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
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

// checkGranted checks, through the SDK, exactly what the setup granted:
// the vendor's statement (delegated), or the IAM user's one policy
// (service account).
func (c *cloud) checkGranted(t *testing.T, sp flows.SetupSpec, keyID string) {
	t.Helper()
	pol := c.policy(t, keyID)
	sid := awspolicy.VendorSid(vendor.Slug)
	if sp.Provider == flows.AWSDelegated {
		want, _ := json.Marshal(awspolicy.VendorStatement(sid, vendor.AWSPrincipal("aws")))
		assertStatement(t, pol, sid, want)
		return
	}
	if strings.Contains(pol, sid) {
		t.Fatal("the service-account setup changed the key policy")
	}
	user := aws.String(sp.ServiceAccountUser())
	out, err := c.iam.GetUserPolicy(context.Background(), &iam.GetUserPolicyInput{UserName: user, PolicyName: user})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := url.QueryUnescape(aws.ToString(out.PolicyDocument))
	if err != nil {
		t.Fatal(err)
	}
	wantDoc, _ := json.Marshal(awspolicy.ServiceAccountPolicy(sp.AliasName(), "arn:aws:kms:"+sp.Region+":"+c.account+":key/*"))
	var got, want any
	if json.Unmarshal([]byte(doc), &got) != nil || json.Unmarshal(wantDoc, &want) != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("user policy:\n%s\nwant:\n%s", doc, wantDoc)
	}
	list, err := c.iam.ListUserPolicies(context.Background(), &iam.ListUserPoliciesInput{UserName: user})
	if err != nil || len(list.PolicyNames) != 1 {
		t.Fatalf("user policies: %v, %v", list, err)
	}
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

func (c *cloud) assertVendorCanUse(t *testing.T, sp flows.SetupSpec, aliasARN, accessKeyID, secret string) {
	t.Helper()
	a, _, err := flows.ParseAliasARN(aliasARN)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Provider == flows.AWSDelegated {
		cfg := c.sb.Server.AWSConfig(c.sb.Vendor(), fakecloudtest.Region)
		res := awskms.NewPairing(cfg).Run(context.Background(), flows.Target{Provider: flows.AWSDelegated, Domain: sp.Domain, Vendor: vendor, AliasARN: a}, nil)
		if !flows.Passed(res) {
			t.Fatalf("the vendor cannot use the key: %+v", res)
		}
		return
	}
	sa := kms.NewFromConfig(c.sb.Server.AWSConfig(fakecloud.Identity{AccessKeyID: accessKeyID, SecretAccessKey: secret}, fakecloudtest.Region))
	dk, err := sa.GenerateDataKeyWithoutPlaintext(context.Background(), &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: &aliasARN, NumberOfBytes: aws.Int32(32)})
	if err != nil {
		t.Fatalf("the service account cannot use the key: %v", err)
	}
	if _, err := sa.Decrypt(context.Background(), &kms.DecryptInput{CiphertextBlob: dk.CiphertextBlob, KeyId: &aliasARN}); err != nil {
		t.Fatalf("the service account cannot decrypt: %v", err)
	}
}

func (c *cloud) assertVendorCannotUse(t *testing.T, sp flows.SetupSpec, keyID, accessKeyID, secret string) {
	t.Helper()
	keyARN := "arn:aws:kms:" + sp.Region + ":" + c.account + ":key/" + keyID
	id := c.sb.Vendor()
	if sp.Provider == flows.AWSServiceAccount {
		id = fakecloud.Identity{AccessKeyID: accessKeyID, SecretAccessKey: secret}
	}
	client := kms.NewFromConfig(c.sb.Server.AWSConfig(id, fakecloudtest.Region))
	_, err := client.GenerateDataKeyWithoutPlaintext(context.Background(), &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: &keyARN, NumberOfBytes: aws.Int32(32)})
	if err == nil {
		t.Fatal("after teardown the vendor can still use the key")
	}
	want := map[flows.Provider]string{flows.AWSDelegated: "AccessDeniedException", flows.AWSServiceAccount: "UnrecognizedClientException"}[sp.Provider]
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("after teardown: %v, want %s", err, want)
	}
}

// TestScriptFailures runs scripts where they must stop, and checks they
// stop with the reason: an alias naming another key is never moved, a
// wrong secret is "not signed in", and a key policy that leaves nothing
// to IAM refuses a service account.
func TestScriptFailures(t *testing.T) {
	fakecloudtest.AWSCLI(t)
	fakecloudtest.Tool(t, "jq", "jq")
	ctx := context.Background()
	c := sandboxCloud(t)

	t.Run("alias of another key", func(t *testing.T) {
		sp := specOf(flows.AWSDelegated, flows.KeyExisting)
		sp.KeyID = c.sb.CreateKey(fakecloudtest.Region, "first")
		c.mustRun(t, sp, Options{})
		sp.KeyID = c.sb.CreateKey(fakecloudtest.Region, "second")
		_, errOut, err := c.run(t, sp, Options{})
		if err == nil || !strings.Contains(errOut, "names another key") || !strings.Contains(errOut, "aws kms update-alias") {
			t.Fatalf("moving the alias: err=%v\n%s", err, errOut)
		}
	})

	t.Run("not signed in", func(t *testing.T) {
		bad := c.sb.Customer()
		bad.SecretAccessKey = strings.Repeat("x", 40)
		saved := c.env
		c.env = c.sb.CLIEnv(bad)
		defer func() { c.env = saved }()
		_, errOut, err := c.run(t, specFor(flows.KeyNew), Options{})
		if err == nil || !strings.Contains(errOut, "the AWS CLI is not signed in") {
			t.Fatalf("err=%v\n%s", err, errOut)
		}
	})

	t.Run("key policy without the account", func(t *testing.T) {
		sp := specOf(flows.AWSServiceAccount, flows.KeyExisting)
		sp.Domain = "dm-NOIAM000001"
		keyID := c.sb.CreateKey(fakecloudtest.Region, "locked to one role")
		policy := `{"Version":"2012-10-17","Statement":[{"Sid":"admin only","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/admin"},"Action":"kms:*","Resource":"*"}]}`
		if _, err := c.kms.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: &keyID, PolicyName: aws.String("default"), Policy: &policy}); err != nil {
			t.Fatal(err)
		}
		sp.KeyID = keyID
		_, errOut, err := c.run(t, sp, Options{})
		if err == nil || !strings.Contains(errOut, "no IAM user can be given the key") {
			t.Fatalf("err=%v\n%s", err, errOut)
		}
		if _, ok := c.sb.User(sp.ServiceAccountUser()); ok {
			t.Fatal("the script made the IAM user before stopping")
		}
		if c.aliasTarget(t, sp) != "" {
			t.Fatal("the script made the alias before stopping")
		}
	})
}
