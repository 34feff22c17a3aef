package awskms_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

// peer is an AWS the checks run against: the sandbox (which enforces
// key and IAM policies and verifies signatures) or moto_server (which
// emulates the calls and enforces neither). Each failure is produced for
// real on the peers that can produce it.
type peer struct {
	name     string
	customer aws.Config
	vendor   aws.Config // the sandbox only
	account  string
	kms      *kms.Client
	sb       *fakecloudtest.Env
}

func sandboxPeer(t *testing.T) *peer {
	e := start(t)
	return &peer{name: "sandbox", customer: e.customer, vendor: e.vendor, account: fakecloud.CustomerAccount, kms: e.kms, sb: e.Env}
}

func motoPeer(t *testing.T) *peer {
	m := fakecloudtest.StartMoto(t)
	cfg := m.AWSConfig()
	return &peer{name: "moto", customer: cfg, account: fakecloudtest.MotoAccount, kms: kms.NewFromConfig(cfg)}
}

// key makes a key of spec with the domain's alias in the region and,
// when actions are given, a vendor statement granting them.
func (p *peer) key(t *testing.T, spec types.KeySpec, actions ...string) (keyARN, aliasARN string) {
	t.Helper()
	ctx := context.Background()
	k, err := p.kms.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
	if err != nil {
		t.Fatal(err)
	}
	keyARN = *k.KeyMetadata.Arn
	name := "alias/" + domain + "/acme"
	if _, err := p.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: &name, TargetKeyId: k.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	if len(actions) > 0 {
		st := awspolicy.VendorStatement("rekwiz-acme", "arn:aws:iam::999988887777:root")
		st.Action = actions
		p.addStatement(t, keyARN, st)
	}
	return keyARN, "arn:aws:kms:us-east-1:" + p.account + ":" + name
}

func (p *peer) addStatement(t *testing.T, keyARN string, st awspolicy.Statement) {
	t.Helper()
	ctx := context.Background()
	pol, err := p.kms.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: &keyARN, PolicyName: aws.String("default")})
	if err != nil {
		t.Fatal(err)
	}
	merged, _, err := awspolicy.Upsert(*pol.Policy, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.kms.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: &keyARN, PolicyName: aws.String("default"), Policy: &merged}); err != nil {
		t.Fatal(err)
	}
}

// keyID is the key ID of a key ARN (moto answers some calls only to it).
func keyID(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

type failure struct {
	name    string
	peers   string // "sandbox", "moto" or "both"
	prepare func(t *testing.T, p *peer) (aws.Config, flows.Target)
	id      string
	detail  string
	remedy  string
}

func delegated(t *testing.T, alias string) flows.Target { return target(t, alias) }

var failures = []failure{
	{"key disabled", "both", func(t *testing.T, p *peer) (aws.Config, flows.Target) {
		k, a := p.key(t, types.KeySpecSymmetricDefault, awspolicy.VendorActions...)
		if _, err := p.kms.DisableKey(context.Background(), &kms.DisableKeyInput{KeyId: aws.String(keyID(k))}); err != nil {
			t.Fatal(err)
		}
		return p.customer, delegated(t, a)
	}, awskms.CheckKeyState, "the key is disabled", "aws kms enable-key --region us-east-1 --key-id arn:aws:kms:us-east-1:"},
	{"key pending deletion", "both", func(t *testing.T, p *peer) (aws.Config, flows.Target) {
		k, a := p.key(t, types.KeySpecSymmetricDefault, awspolicy.VendorActions...)
		if _, err := p.kms.ScheduleKeyDeletion(context.Background(), &kms.ScheduleKeyDeletionInput{KeyId: aws.String(keyID(k)), PendingWindowInDays: aws.Int32(7)}); err != nil {
			t.Fatal(err)
		}
		return p.customer, delegated(t, a)
	}, awskms.CheckKeyState, "the key is scheduled for deletion on " + time.Now().AddDate(0, 0, 7).UTC().Format("2006-01-02")[:8], "aws kms cancel-key-deletion --region us-east-1 --key-id"},
	{"vendor statement lacks Decrypt, read from the policy", "both", func(t *testing.T, p *peer) (aws.Config, flows.Target) {
		_, a := p.key(t, types.KeySpecSymmetricDefault, "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncrypt*")
		return p.customer, delegated(t, a)
	}, awskms.CheckKeyPolicy, "arn:aws:iam::999988887777:root lacks kms:Decrypt (implicit deny)", "statement rekwiz-acme"},
	{"vendor statement lacks Decrypt, as the vendor", "sandbox", func(t *testing.T, p *peer) (aws.Config, flows.Target) {
		_, a := p.key(t, types.KeySpecSymmetricDefault, "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:ReEncryptFrom", "kms:ReEncryptTo")
		return p.vendor, delegated(t, a)
	}, awskms.CheckRoundTrip, "Decrypt refused: the key policy does not allow kms:Decrypt (arn:aws:iam::999988887777:root)", "kms:Decrypt"},
	{"no vendor statement, as the vendor", "sandbox", func(t *testing.T, p *peer) (aws.Config, flows.Target) {
		_, a := p.key(t, types.KeySpecSymmetricDefault)
		return p.vendor, delegated(t, a)
	}, awskms.CheckAlias, "arn:aws:iam::999988887777:root may not call kms:DescribeKey on this key", "statement rekwiz-acme"},
	{"explicit Deny, read from the policy", "both", func(t *testing.T, p *peer) (aws.Config, flows.Target) {
		k, a := p.key(t, types.KeySpecSymmetricDefault, awspolicy.VendorActions...)
		p.addStatement(t, k, awspolicy.Statement{Sid: "no decrypt", Effect: "Deny", Principal: &awspolicy.Principal{AWS: awspolicy.StringList{"999988887777"}}, Action: awspolicy.StringList{"kms:Decrypt"}, Resource: awspolicy.StringList{"*"}})
		return p.customer, delegated(t, a)
	}, awskms.CheckKeyPolicy, "lacks kms:Decrypt (explicit deny)", "statement rekwiz-acme"},
	{"explicit Deny, as the vendor", "sandbox", func(t *testing.T, p *peer) (aws.Config, flows.Target) {
		k, a := p.key(t, types.KeySpecSymmetricDefault, awspolicy.VendorActions...)
		p.addStatement(t, k, awspolicy.Statement{Sid: "no decrypt", Effect: "Deny", Principal: &awspolicy.Principal{AWS: awspolicy.StringList{"999988887777"}}, Action: awspolicy.StringList{"kms:Decrypt"}, Resource: awspolicy.StringList{"*"}})
		return p.vendor, delegated(t, a)
	}, awskms.CheckRoundTrip, "an explicit Deny refuses kms:Decrypt", "kms:Decrypt"},
	{"alias of another domain", "both", func(t *testing.T, p *peer) (aws.Config, flows.Target) {
		return p.customer, delegated(t, "arn:aws:kms:us-east-1:"+p.account+":alias/dm-XXXXXXXXXXX/acme")
	}, awskms.CheckAliasName, "alias/dm-XXXXXXXXXXX/acme does not start with alias/dm-LCAJVnUE94B/acme", "paste the alias"},
	{"alias in another region", "both", func(t *testing.T, p *peer) (aws.Config, flows.Target) {
		_, a := p.key(t, types.KeySpecSymmetricDefault, awspolicy.VendorActions...)
		return p.customer, delegated(t, strings.Replace(a, "us-east-1", "eu-west-1", 1))
	}, awskms.CheckAlias, "alias alias/dm-LCAJVnUE94B/acme in eu-west-1 was not found", "check the alias ARN's region"},
	{"asymmetric key", "both", func(t *testing.T, p *peer) (aws.Config, flows.Target) {
		_, a := p.key(t, types.KeySpecRsa2048, awspolicy.VendorActions...)
		return p.customer, delegated(t, a)
	}, awskms.CheckKeySpec, "the key is RSA_2048, ENCRYPT_DECRYPT", "choose another key"},
	{"wrong secret key", "sandbox", func(t *testing.T, p *peer) (aws.Config, flows.Target) {
		tg, _ := p.serviceAccount(t)
		tg.SecretAccessKey = flows.Secret(strings.Repeat("W", 40))
		return p.customer, tg
	}, awskms.CheckCredentials, "the secret access key does not match the access key ID (SignatureDoesNotMatch)", "paste the access key ID and secret"},
	{"expired session token", "sandbox", func(t *testing.T, p *peer) (aws.Config, flows.Target) {
		_, a := p.key(t, types.KeySpecSymmetricDefault, awspolicy.VendorActions...)
		return p.sb.Server.AWSConfig(p.sb.CustomerSession(time.Now().Add(-time.Minute)), fakecloudtest.Region), delegated(t, a)
	}, awskms.CheckCredentials, "the AWS session token has expired (ExpiredToken)", "sign in again"},
	{"endpoint unreachable", "both", func(t *testing.T, p *peer) (aws.Config, flows.Target) {
		cfg := p.customer.Copy()
		cfg.BaseEndpoint = aws.String("http://127.0.0.1:1")
		cfg.RetryMaxAttempts = 1
		return cfg, delegated(t, "arn:aws:kms:us-east-1:"+p.account+":alias/"+domain+"/acme")
	}, awskms.CheckAlias, "could not reach AWS", "check the network, the region, and AWS_ENDPOINT_URL"},
	{"throttling", "sandbox", func(t *testing.T, p *peer) (aws.Config, flows.Target) {
		_, a := p.key(t, types.KeySpecSymmetricDefault, awspolicy.VendorActions...)
		p.sb.Inject(fakecloud.Fault{Service: "kms", Operation: "DescribeKey", Code: "ThrottlingException", Message: "Rate exceeded"})
		cfg := p.vendor.Copy()
		cfg.RetryMaxAttempts = 1 // the SDK's own retries would hide it for a while
		return cfg, delegated(t, a)
	}, awskms.CheckAlias, "AWS is throttling requests (ThrottlingException)", "wait a minute and retry"},
}

// serviceAccount sets up a service account through the SDK, as the
// wizard's "set it up for me" does, and returns its target.
func (p *peer) serviceAccount(t *testing.T) (flows.Target, flows.SetupSpec) {
	t.Helper()
	sp := flows.SetupSpec{Provider: flows.AWSServiceAccount, Key: flows.KeyNew, Domain: domain, Vendor: fakecloudtest.Vendor, Region: fakecloudtest.Region, Company: "Example"}
	res, err := awskms.NewSetup(p.customer).Run(context.Background(), sp, func(flows.SetupEvent) {})
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := flows.ParseAliasARN(res.Paste[flows.FieldAliasARN])
	if err != nil {
		t.Fatal(err)
	}
	return flows.Target{Provider: flows.AWSServiceAccount, Domain: domain, Vendor: fakecloudtest.Vendor, AliasARN: a,
		AccessKeyID: res.Paste[flows.FieldAccessKeyID], SecretAccessKey: flows.Secret(res.Paste[flows.FieldSecretAccessKey])}, sp
}

func TestEachFailureForReal(t *testing.T) {
	t.Parallel()
	for _, peerName := range []string{"sandbox", "moto"} {
		t.Run(peerName, func(t *testing.T) {
			t.Parallel()
			for _, f := range failures {
				if f.peers != "both" && f.peers != peerName {
					continue
				}
				t.Run(f.name, func(t *testing.T) {
					p := map[string]func(*testing.T) *peer{"sandbox": sandboxPeer, "moto": motoPeer}[peerName](t)
					cfg, tg := f.prepare(t, p)
					res := check(t, cfg, tg)
					c := res[f.id]
					if c.Status != flows.StatusFail || !strings.Contains(c.Detail, f.detail) || !strings.Contains(c.Remedy, f.remedy) {
						t.Fatalf("%s = %+v\nwant fail, detail %q, remedy %q", f.id, c, f.detail, f.remedy)
					}
					if flows.Passed(mapValues(res)) {
						t.Fatal("the check passed")
					}
					// AWS's message restates what the detail says: it is left out.
					if n := strings.Count(strings.ToLower(c.Detail), "not found"); n > 1 {
						t.Errorf("%s says %q: %d times not found", f.id, c.Detail, n)
					}
				})
			}
		})
	}
}

// TestKeyInfoIsInformation checks that rotation off is a warning with the
// command that turns it on, and that turning it on clears it.
func TestKeyInfoIsInformation(t *testing.T) {
	t.Parallel()
	p := sandboxPeer(t)
	k, a := p.key(t, types.KeySpecSymmetricDefault, awspolicy.VendorActions...)
	res := check(t, p.customer, delegated(t, a))
	c := res[awskms.CheckKeyInfo]
	if c.Status != flows.StatusWarn || c.Detail != "automatic rotation is off" || !strings.Contains(c.Remedy, "aws kms enable-key-rotation --region us-east-1 --key-id "+k) {
		t.Fatalf("rotation off: %+v", c)
	}
	if !flows.Passed(mapValues(res)) {
		t.Fatal("a warning failed the check")
	}
	if _, err := p.kms.EnableKeyRotation(context.Background(), &kms.EnableKeyRotationInput{KeyId: &k}); err != nil {
		t.Fatal(err)
	}
	if c := check(t, p.customer, delegated(t, a))[awskms.CheckKeyInfo]; c.Status != flows.StatusPass {
		t.Fatalf("rotation on: %+v", c)
	}
	// The vendor may not read the rotation status: that is no warning.
	if c := check(t, p.vendor, delegated(t, a))[awskms.CheckKeyInfo]; c.Status != flows.StatusPass || !strings.Contains(c.Detail, "not readable") {
		t.Fatalf("as the vendor: %+v", c)
	}
}

// TestKeyPolicyOverGrants: a grant to the vendor beyond the five actions
// is a warning naming each extra action and the statement's Sid; a
// statement that lets everyone use the key fails the check. Read from
// the policy by the customer, on the sandbox and on moto.
func TestKeyPolicyOverGrants(t *testing.T) {
	t.Parallel()
	vendorStmt := func(sid string, actions ...string) awspolicy.Statement {
		return awspolicy.Statement{Sid: sid, Effect: "Allow", Principal: &awspolicy.Principal{AWS: awspolicy.StringList{"arn:aws:iam::999988887777:root"}},
			Action: actions, Resource: awspolicy.StringList{"*"}}
	}
	five := awspolicy.VendorActions
	tests := []struct {
		name   string
		extra  []awspolicy.Statement
		status flows.Status
		detail []string
	}{
		{"exactly the five", []awspolicy.Statement{vendorStmt("rekwiz-acme", five...)}, flows.StatusPass, []string{"has all 5 actions"}},
		{"ReEncrypt* is the two ReEncrypts",
			[]awspolicy.Statement{vendorStmt("rekwiz-acme", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:Decrypt", "kms:ReEncrypt*")},
			flows.StatusPass, []string{"has all 5 actions"}},
		{"Encrypt and CreateGrant in the vendor's statement",
			[]awspolicy.Statement{vendorStmt("rekwiz-acme", append(slices.Clone(five), "kms:Encrypt", "kms:CreateGrant")...)},
			flows.StatusWarn, []string{"statement rekwiz-acme grants kms:Encrypt, kms:CreateGrant"}},
		{"PutKeyPolicy in a statement of its own",
			[]awspolicy.Statement{vendorStmt("rekwiz-acme", five...), vendorStmt("admin-for-vendor", "kms:PutKeyPolicy")},
			flows.StatusWarn, []string{"statement admin-for-vendor grants kms:PutKeyPolicy"}},
		{"kms:*",
			[]awspolicy.Statement{vendorStmt("rekwiz-acme", five...), vendorStmt("everything", "kms:*")},
			flows.StatusWarn, []string{"statement everything grants kms:CancelKeyDeletion, ", " more"}},
		{"everyone",
			[]awspolicy.Statement{vendorStmt("rekwiz-acme", five...), {Sid: "open", Effect: "Allow", Principal: &awspolicy.Principal{Any: true}, Action: awspolicy.StringList{"kms:Decrypt"}, Resource: awspolicy.StringList{"*"}}},
			flows.StatusFail, []string{`statement open lets everyone use the key (Principal "*" without a Condition)`}},
		{"everyone as AWS *, with an extra grant too",
			[]awspolicy.Statement{vendorStmt("rekwiz-acme", five...), {Sid: "open", Effect: "Allow", Principal: &awspolicy.Principal{AWS: awspolicy.StringList{"*"}}, Action: awspolicy.StringList{"kms:*"}, Resource: awspolicy.StringList{"*"}},
				vendorStmt("more", "kms:Sign")},
			flows.StatusFail, []string{"statement open lets everyone", "statement more grants kms:Sign"}},
	}
	for _, peerName := range []string{"sandbox", "moto"} {
		t.Run(peerName, func(t *testing.T) {
			t.Parallel()
			p := map[string]func(*testing.T) *peer{"sandbox": sandboxPeer, "moto": motoPeer}[peerName](t)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					k, a := p.key(t, types.KeySpecSymmetricDefault)
					t.Cleanup(func() {
						if _, err := p.kms.DeleteAlias(context.Background(), &kms.DeleteAliasInput{AliasName: aws.String("alias/" + domain + "/acme")}); err != nil {
							t.Fatal(err)
						}
					})
					for _, st := range tt.extra {
						p.addStatement(t, k, st)
					}
					c := check(t, p.customer, delegated(t, a))[awskms.CheckKeyPolicy]
					if c.Status != tt.status {
						t.Fatalf("status %s, want %s: %+v", c.Status, tt.status, c)
					}
					for _, want := range tt.detail {
						if !strings.Contains(c.Detail, want) {
							t.Fatalf("detail %q lacks %q", c.Detail, want)
						}
					}
					if tt.status == flows.StatusWarn && !strings.Contains(c.Remedy, "remove the extra actions") {
						t.Fatalf("remedy: %q", c.Remedy)
					}
				})
			}
		})
	}
}

// TestNoWaitWhenThePolicyLacksTheGrant: run as the vendor with the
// customer's admin as reader (as the wizard does), a key policy without
// the vendor's statement fails at once: the admin's read shows the grant
// is not there, so no change is on its way. A denial while the policy
// does grant is still waited out, as it may be propagation.
func TestNoWaitWhenThePolicyLacksTheGrant(t *testing.T) {
	t.Parallel()
	p := sandboxPeer(t)
	_, a := p.key(t, types.KeySpecSymmetricDefault)
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	res := check(t, p.vendor, delegated(t, a), awskms.WithReader(p.customer), awskms.WithWait(90*time.Second), awskms.WithClock(clock.Now, clock.Sleep))
	if clock.slept != 0 {
		t.Fatalf("waited %v for a grant the policy does not have", clock.slept)
	}
	if c := res[awskms.CheckKeyPolicy]; c.Status != flows.StatusFail || !strings.Contains(c.Detail, "arn:aws:iam::999988887777:root lacks kms:Decrypt") || c.Fix != flows.StepScript {
		t.Fatalf("key policy: %+v", c)
	}
	if c := res[awskms.CheckAlias]; c.Status != flows.StatusFail || strings.Contains(c.Detail, "still denied after waiting") {
		t.Fatalf("alias: %+v", c)
	}

	// The policy grants, but KMS still denies twice: that may be
	// propagation, and is waited out.
	p2 := sandboxPeer(t)
	_, a2 := p2.key(t, types.KeySpecSymmetricDefault, awspolicy.VendorActions...)
	p2.sb.Inject(fakecloud.Fault{Service: "kms", Operation: "DescribeKey", Caller: "vendor", Code: "AccessDeniedException", Times: 2,
		Message: "User: arn:aws:iam::999988887777:root is not authorized to perform: kms:DescribeKey on resource: " + a2})
	clock = &fakeClock{now: time.Unix(1_800_000_000, 0)}
	res = check(t, p2.vendor, delegated(t, a2), awskms.WithReader(p2.customer), awskms.WithWait(90*time.Second), awskms.WithClock(clock.Now, clock.Sleep))
	if !flows.Passed(mapValues(res)) || clock.slept == 0 {
		t.Fatalf("slept %v: %+v", clock.slept, res)
	}
}

// TestMissingAliasPointsAtTheScript: an alias that does not exist is
// made by the script, so the check offers to go back there, not to paste.
func TestMissingAliasPointsAtTheScript(t *testing.T) {
	t.Parallel()
	p := sandboxPeer(t)
	c := check(t, p.customer, delegated(t, "arn:aws:kms:us-east-1:"+p.account+":alias/"+domain+"/acme"))[awskms.CheckAlias]
	if c.Status != flows.StatusFail || !strings.Contains(c.Detail, "was not found") || c.Fix != flows.StepScript {
		t.Fatalf("%+v", c)
	}
}
