package scripts

import (
	"context"
	"encoding/json"
	"net/url"
	"reflect"
	"slices"
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

// TestAWSScriptsEndToEnd runs every AWS script (delegated and service
// account, existing and new key, setup and teardown) with the AWS CLI v2
// against the sandbox and against moto_server, each variant in an
// account of its own. On both clouds every setup script runs once and
// every teardown script once: each cloud answers in its own way (moto as
// AWS formats its answers, the sandbox enforcing key and IAM policies),
// and the end state is checked through the SDK after every run. What
// proves a script's own logic runs once per script, on the cloud
// e2eProofs names: a dry run (REKWIZ_DRY_RUN=1), which leaves the
// account the same byte for byte and says who is signed in and what
// would change, and a second run (idempotence: nothing changes, it says
// what it found, no second secret), of the setup and of the teardown. A
// foreign statement in the key policy survives all of it byte for byte,
// and the key is Enabled at the end.
func TestAWSScriptsEndToEnd(t *testing.T) {
	t.Parallel()
	fakecloudtest.AWSCLI(t)
	fakecloudtest.Tool(t, "jq", "jq")
	for n, pr := range e2eProofs {
		sp := specOf(pr.provider, pr.key)
		sp.Domain = "dm-RUN" + strings.Repeat("0", 7) + string(rune('1'+n))
		for _, name := range []string{"sandbox", "moto"} {
			t.Run(name+"/"+string(pr.provider)+"/"+string(pr.key), func(t *testing.T) {
				t.Parallel()
				c := clouds[name](t)
				if n == 0 && name == "sandbox" {
					if v := fakecloudtest.MustRun(t, c.env, "bash", "-c", "aws --version"); !strings.HasPrefix(v, "aws-cli/2.") {
						t.Fatalf("the scripts would run with %s, not the AWS CLI v2", v)
					}
				}
				c.lifecycle(t, sp, pr.on(name))
			})
		}
	}
}

// proofs are what a lifecycle runs beyond the first setup.
type proofs struct {
	dry, again     bool // the setup: a dry run first; a second run
	teardown       bool // the teardown, once
	tdDry, tdAgain bool // the teardown: a dry run first; a second run
}

// e2eProof places, per AWS setup script, the runs that prove the
// script's own logic on one cloud. The service account's teardown is one
// script whichever the key (only the domain in it differs): it runs in
// the existing key's lifecycle, on both clouds, with its dry run and
// second run on the sandbox. The delegated teardown of a new key finds
// its key by the alias, and its second run takes the "alias gone" way
// out, so it is proven on its own.
type e2eProof struct {
	provider flows.Provider
	key      flows.KeyChoice
	sandbox  proofs
	moto     proofs
}

var e2eProofs = []e2eProof{
	{flows.AWSDelegated, flows.KeyExisting, proofs{true, true, true, true, true}, proofs{teardown: true}},
	{flows.AWSDelegated, flows.KeyNew, proofs{teardown: true}, proofs{true, true, true, true, true}},
	{flows.AWSServiceAccount, flows.KeyExisting, proofs{teardown: true, tdDry: true, tdAgain: true}, proofs{dry: true, again: true, teardown: true}},
	{flows.AWSServiceAccount, flows.KeyNew, proofs{dry: true, again: true}, proofs{}},
}

func (e e2eProof) on(cloud string) proofs {
	if cloud == "moto" {
		return e.moto
	}
	return e.sandbox
}

var foreign = awspolicy.Statement{Sid: "Their app", Effect: "Allow",
	Principal: &awspolicy.Principal{AWS: awspolicy.StringList{"arn:aws:iam::111122223333:role/app"}},
	Action:    awspolicy.StringList{"kms:Encrypt", "kms:Decrypt"}, Resource: awspolicy.StringList{"*"}}

func (c *cloud) lifecycle(t *testing.T, sp flows.SetupSpec, pr proofs) {
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

	sid := awspolicy.VendorSid(vendor.Slug)
	user := sp.ServiceAccountUser()
	var plan []string
	if sp.Provider == flows.AWSDelegated {
		plan = []string{"Would add statement " + sid, "+++ key policy after", `+      "Sid": "` + sid + `"`, "Would create " + sp.AliasName()}
	} else {
		plan = []string{"Would create IAM user " + user + ", tagged rekwiz:domain=" + sp.Domain, "Would put policy " + user, `"kms:ResourceAliases": "` + sp.AliasName() + `"`, "Would create an access key"}
	}
	if sp.Key == flows.KeyNew {
		plan = append(plan, "Would create a symmetric encryption key", "Would turn on automatic yearly rotation")
	}
	// The dry runs name an existing key by its ID, the real runs by its
	// ARN: the scripts take either.
	dry := sp
	if sp.Key == flows.KeyExisting {
		dry.KeyID = keyID
	}
	if pr.dry {
		c.dryRun(t, dry, Options{}, plan...)
	}

	out := c.mustRun(t, sp, Options{})
	values := pasted(t, out, flows.PasteFields(sp.Provider)...)
	if values[flows.FieldAliasARN] != aliasARN {
		t.Fatalf("first run prints the alias ARN %q, want %q:\n%s", values[flows.FieldAliasARN], aliasARN, out)
	}
	var says []string
	if sp.Provider == flows.AWSServiceAccount {
		says = append(says, "Created IAM user "+user+", tagged rekwiz:domain="+sp.Domain, "Put policy "+user+" on "+user)
	}
	if sp.Key == flows.KeyNew {
		says = append(says, "Turned on automatic yearly rotation of key")
	}
	for _, w := range says {
		if !strings.Contains(out, w) {
			t.Fatalf("the first run does not say %q:\n%s", w, out)
		}
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
		accessKeyID, secret = values[flows.FieldAccessKeyID], values[flows.FieldSecretAccessKey]
		if !strings.HasSuffix(strings.TrimSpace(out), flows.PasteLine(flows.FieldSecretAccessKey)+secret) {
			t.Fatalf("the secret is not the last line:\n%s", out)
		}
	}
	if c.sb != nil {
		c.assertVendorCanUse(t, sp, aliasARN, accessKeyID, secret)
	}

	if pr.again {
		c.secondRun(t, sp, aliasARN, keyID, keysBefore, policy1, accessKeyID, secret)
	}

	plan = []string{"Would delete " + sp.AliasName()}
	if sp.Provider == flows.AWSDelegated {
		plan = append(plan, "Would remove statement "+sid, `-      "Sid": "`+sid+`"`)
	} else {
		plan = append(plan, "Would delete access key", "Would delete policy "+user, "Would delete IAM user "+user)
	}
	if !pr.teardown {
		return
	}
	if pr.tdDry {
		c.dryRun(t, dry, Options{Teardown: true}, plan...)
	}

	// Teardown (twice where the second run is proven here): the vendor's
	// access goes, the key and every other statement stay.
	for i := range 1 + btoi(pr.tdAgain) {
		td := c.mustRun(t, sp, Options{Teardown: true})
		if got := c.aliasTarget(t, sp); got != "" {
			t.Fatalf("teardown %d left the alias on %s", i+1, got)
		}
		pol := c.policy(t, keyID)
		if strings.Contains(pol, sid) {
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
		if i == 1 && sp.Provider == flows.AWSDelegated && sp.Key == flows.KeyNew && !strings.Contains(td, sp.AliasName()+" does not exist; there is no key to take the vendor off.") {
			t.Fatalf("second teardown of a new key's alias:\n%s", td)
		}
	}
	if c.sb != nil {
		c.assertVendorCannotUse(t, sp, keyID, accessKeyID, secret)
	}
}

// secondRun runs the setup again: it finds everything in place, says so,
// changes nothing and prints no second secret.
func (c *cloud) secondRun(t *testing.T, sp flows.SetupSpec, aliasARN, keyID string, keysBefore int, policy1, accessKeyID, secret string) {
	t.Helper()
	user := sp.ServiceAccountUser()
	out2 := c.mustRun(t, sp, Options{})
	// The secret was printed once, by the first run.
	values := pasted(t, out2, slices.DeleteFunc(flows.PasteFields(sp.Provider), func(f flows.Field) bool { return f == flows.FieldSecretAccessKey })...)
	if values[flows.FieldAliasARN] != aliasARN {
		t.Fatalf("second run prints the alias ARN %q, want %q:\n%s", values[flows.FieldAliasARN], aliasARN, out2)
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
		if got := values[flows.FieldAccessKeyID]; got != accessKeyID {
			t.Fatalf("second run's access key ID %q, want %q", got, accessKeyID)
		}
		if n := c.accessKeys(t, sp); n != 1 {
			t.Fatalf("%d access keys after two runs", n)
		}
	} else if !strings.Contains(out2, "already has statement") {
		t.Fatalf("second run:\n%s", out2)
	}
	var says []string
	if sp.Provider == flows.AWSServiceAccount {
		says = append(says, "IAM user "+user+" already exists, tagged as rekwiz's.", "Policy "+user+" is already in place on "+user+".")
	}
	if sp.Key == flows.KeyNew {
		says = append(says, "Automatic rotation of key "+keyID+" is on already.")
	}
	for _, w := range says {
		if !strings.Contains(out2, w) {
			t.Fatalf("the second run does not say %q:\n%s", w, out2)
		}
	}
}

// dryRun runs a script with REKWIZ_DRY_RUN=1 and checks it changed
// nothing (the account's snapshot is the same byte for byte), said who is
// signed in and each line of want, and printed no value to paste.
func (c *cloud) dryRun(t *testing.T, sp flows.SetupSpec, opts Options, want ...string) {
	t.Helper()
	user := sp.ServiceAccountUser()
	before := c.snapshot(t, user)
	out, errOut, err := c.runEnv(t, sp, opts, "REKWIZ_DRY_RUN=1")
	if err != nil {
		t.Fatalf("dry run (teardown %v): %v\n%s\n%s", opts.Teardown, err, out, errOut)
	}
	if after := c.snapshot(t, user); after != before {
		t.Fatalf("the dry run (teardown %v) changed the account:\nbefore:\n%s\nafter:\n%s\noutput:\n%s", opts.Teardown, before, after, out)
	}
	want = append(want, "Signed in to AWS account "+c.account+" as arn:", "Dry run: nothing was changed.")
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Fatalf("the dry run (teardown %v) does not say %q:\n%s", opts.Teardown, w, out)
		}
	}
	if strings.Contains(out, "(save this for next step)") {
		t.Fatalf("the dry run printed a value to paste:\n%s", out)
	}
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
	t.Parallel()
	fakecloudtest.AWSCLI(t)
	fakecloudtest.Tool(t, "jq", "jq")
	ctx := context.Background()
	c := sandboxCloud(t)

	t.Run("alias of another key", func(t *testing.T) {
		sp := specOf(flows.AWSDelegated, flows.KeyExisting)
		// The alias as a first run makes it (TestAWSScriptsEndToEnd runs
		// that), on another key.
		first := c.sb.CreateKey(fakecloudtest.Region, "first")
		if _, err := c.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(sp.AliasName()), TargetKeyId: &first}); err != nil {
			t.Fatal(err)
		}
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
