package awskms_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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
				})
			}
		})
	}
}

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

// fakeClock is a clock that moves only when slept on.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	onSleep func(total time.Duration)
	slept   time.Duration
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.slept += d
	total := c.slept
	c.mu.Unlock()
	if c.onSleep != nil {
		c.onSleep(total)
	}
	return ctx.Err()
}

// TestAccessDeniedIsRetriedWhilePoliciesPropagate: the vendor is denied
// until its statement "arrives" 5 s into the wait; the check counts down
// in the denied check's detail, retries, and passes.
func TestAccessDeniedIsRetriedWhilePoliciesPropagate(t *testing.T) {
	t.Parallel()
	p := sandboxPeer(t)
	k, a := p.key(t, types.KeySpecSymmetricDefault)
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
	var once sync.Once
	clock.onSleep = func(total time.Duration) {
		if total >= 5*time.Second {
			once.Do(func() {
				p.addStatement(t, k, awspolicy.VendorStatement("rekwiz-acme", "arn:aws:iam::999988887777:root"))
			})
		}
	}
	var mu sync.Mutex
	var countdown []string
	res := awskms.NewPairing(p.vendor, awskms.WithClock(clock.Now, clock.Sleep)).Run(context.Background(), delegated(t, a), func(c flows.Check) {
		if strings.Contains(c.Detail, "retrying in") {
			mu.Lock()
			countdown = append(countdown, c.Detail)
			mu.Unlock()
		}
	})
	if !flows.Passed(res) {
		t.Fatalf("after the policy arrived the check failed: %+v", res)
	}
	if len(countdown) < 3 || countdown[0] != "access denied; AWS may still be applying a policy change: retrying in 2s (90s left)" {
		t.Fatalf("countdown: %q", countdown)
	}
}

// TestAccessDeniedGivesUpAfterTheWait: never granted, the check waits
// exactly --wait, then fails with the advice; with --wait 0 it does not
// wait at all; cancelling stops the wait.
func TestAccessDeniedGivesUpAfterTheWait(t *testing.T) {
	t.Parallel()
	p := sandboxPeer(t)
	_, a := p.key(t, types.KeySpecSymmetricDefault)
	for _, wait := range []time.Duration{0, 20 * time.Second} {
		clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
		res := check(t, p.vendor, delegated(t, a), awskms.WithWait(wait), awskms.WithClock(clock.Now, clock.Sleep))
		c := res[awskms.CheckAlias]
		if c.Status != flows.StatusFail || !strings.Contains(c.Remedy, "statement rekwiz-acme") || clock.slept != wait {
			t.Fatalf("wait %v: slept %v, %+v", wait, clock.slept, c)
		}
		if want := fmt.Sprintf("(still denied after waiting %s", wait); (wait > 0) != strings.Contains(c.Detail, want) {
			t.Fatalf("wait %v: %q", wait, c.Detail)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	clock := &fakeClock{now: time.Unix(1_800_000_000, 0), onSleep: func(time.Duration) { cancel() }}
	awskms.NewPairing(p.vendor, awskms.WithClock(clock.Now, clock.Sleep)).Run(ctx, delegated(t, a), nil)
	if clock.slept > time.Second {
		t.Fatalf("kept waiting %v after cancellation", clock.slept)
	}
}

// BenchmarkPairingCheck runs the whole check, as the vendor, against the
// sandbox with 50 ms added to every call, and reports the wall time next
// to the critical path: the longest chain of calls that depend on each
// other (GenerateDataKeyWithoutPlaintext, ReEncrypt, Decrypt: 3 x 50 ms).
// Everything else runs beside that chain.
func BenchmarkPairingCheck(b *testing.B) {
	const latency = 50 * time.Millisecond
	const chain = 3
	e := fakecloudtest.Start(b, fakecloud.Options{Seed: 1, Vendor: fakecloudtest.Vendor})
	cfg := e.Server.AWSConfig(e.Customer(), fakecloudtest.Region)
	res, err := awskms.NewSetup(cfg).Run(context.Background(), spec(flows.KeyNew, ""), func(flows.SetupEvent) {})
	if err != nil {
		b.Fatal(err)
	}
	a, _, _ := flows.ParseAliasARN(res.Paste[flows.FieldAliasARN])
	tg := flows.Target{Provider: flows.AWSDelegated, Domain: domain, Vendor: fakecloudtest.Vendor, AliasARN: a}
	p := awskms.NewPairing(e.Server.AWSConfig(e.Vendor(), fakecloudtest.Region))
	e.Inject(fakecloud.Fault{Delay: latency})
	start := time.Now()
	for b.Loop() {
		if res := p.Run(context.Background(), tg, nil); !flows.Passed(res) {
			b.Fatalf("check failed: %+v", res)
		}
	}
	wall := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64(wall.Milliseconds()), "wall-ms/op")
	b.ReportMetric(float64((chain * latency).Milliseconds()), "critical-path-ms")
	b.ReportMetric(float64(wall)/float64(chain*latency), "x-critical-path")
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

// BenchmarkServiceAccountCheck runs a service account's whole check, with
// an admin reading its policies, against the sandbox with 50 ms added to
// every call, and three inline user policies. Every read of a policy
// runs beside the others, so the wall time stays near the critical path:
// GetCallerIdentity, ListUserPolicies, GetUserPolicy (and beside it the
// round trip's GenerateDataKeyWithoutPlaintext, ReEncrypt, Decrypt), 3 x
// 50 ms.
func BenchmarkServiceAccountCheck(b *testing.B) {
	const latency = 50 * time.Millisecond
	const chain = 3
	e := fakecloudtest.Start(b, fakecloud.Options{Seed: 1, Vendor: fakecloudtest.Vendor})
	cfg := e.Server.AWSConfig(e.Customer(), fakecloudtest.Region)
	sp := flows.SetupSpec{Provider: flows.AWSServiceAccount, Key: flows.KeyNew, Domain: domain, Vendor: fakecloudtest.Vendor, Region: fakecloudtest.Region, Company: "Example"}
	res, err := awskms.NewSetup(cfg).Run(context.Background(), sp, func(flows.SetupEvent) {})
	if err != nil {
		b.Fatal(err)
	}
	harmless := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListBucket","Resource":"*"}]}`
	for _, n := range []string{"extra-1", "extra-2"} {
		if _, err := iam.NewFromConfig(cfg).PutUserPolicy(context.Background(), &iam.PutUserPolicyInput{UserName: aws.String(sp.ServiceAccountUser()), PolicyName: aws.String(n), PolicyDocument: &harmless}); err != nil {
			b.Fatal(err)
		}
	}
	a, _, _ := flows.ParseAliasARN(res.Paste[flows.FieldAliasARN])
	tg := flows.Target{Provider: flows.AWSServiceAccount, Domain: domain, Vendor: fakecloudtest.Vendor, AliasARN: a,
		AccessKeyID: res.Paste[flows.FieldAccessKeyID], SecretAccessKey: flows.Secret(res.Paste[flows.FieldSecretAccessKey])}
	p := awskms.NewPairing(cfg, awskms.WithReader(cfg))
	e.Inject(fakecloud.Fault{Delay: latency})
	start := time.Now()
	for b.Loop() {
		if res := p.Run(context.Background(), tg, nil); !flows.Passed(res) {
			b.Fatalf("check failed: %+v", res)
		}
	}
	wall := time.Since(start) / time.Duration(b.N)
	b.ReportMetric(float64(wall.Milliseconds()), "wall-ms/op")
	b.ReportMetric(float64((chain * latency).Milliseconds()), "critical-path-ms")
	b.ReportMetric(float64(wall)/float64(chain*latency), "x-critical-path")
}
