package fakecloud_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awspolicy"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
)

const region = "us-east-1"

var testVendor = flows.Vendor{
	Name: "Acme", Slug: "acme", AWSAccountID: "999988887777",
	AzureAppID: "11111111-2222-3333-4444-555555555555",
}

type env struct {
	sb       *fakecloud.Sandbox
	srv      *fakecloud.Server
	customer *kms.Client
	vendor   *kms.Client
}

func start(t *testing.T, seed uint64) *env {
	t.Helper()
	sb := fakecloud.New(fakecloud.Options{Seed: seed, Vendor: testVendor})
	srv, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &env{
		sb: sb, srv: srv,
		customer: kms.NewFromConfig(srv.AWSConfig(sb.Customer(), region)),
		vendor:   kms.NewFromConfig(srv.AWSConfig(sb.Vendor(), region)),
	}
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// delegated makes a key the way the setup script does: key, alias, vendor
// statement. It returns the key ID and the alias ARN.
func (e *env) delegated(t *testing.T, ctx context.Context, actions ...string) (string, string) {
	t.Helper()
	k, err := e.customer.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("rek")})
	if err != nil {
		t.Fatal(err)
	}
	id := *k.KeyMetadata.KeyId
	alias := "alias/dm-LCAJVnUE94B/acme"
	if _, err := e.customer.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: &alias, TargetKeyId: &id}); err != nil {
		t.Fatal(err)
	}
	pol, err := e.customer.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: &id, PolicyName: aws.String("default")})
	if err != nil {
		t.Fatal(err)
	}
	st := awspolicy.VendorStatement("rekwiz-acme", testVendor.AWSPrincipal("aws"))
	if len(actions) > 0 {
		st.Action = actions
	}
	newPol, _, err := awspolicy.Upsert(*pol.Policy, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.customer.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: &id, Policy: &newPol, PolicyName: aws.String("default")}); err != nil {
		t.Fatal(err)
	}
	return id, "arn:aws:kms:" + region + ":" + fakecloud.CustomerAccount + ":" + alias
}

func TestVendorRoundTripThroughTheAlias(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t, 1)
	id, aliasARN := e.delegated(t, ctx)

	d, err := e.vendor.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &aliasARN})
	if err != nil {
		t.Fatal(err)
	}
	if *d.KeyMetadata.KeyId != id || d.KeyMetadata.KeyState != types.KeyStateEnabled ||
		d.KeyMetadata.KeySpec != types.KeySpecSymmetricDefault || d.KeyMetadata.KeyUsage != types.KeyUsageTypeEncryptDecrypt {
		t.Fatalf("metadata: %+v", d.KeyMetadata)
	}
	ec := map[string]string{"domain": "dm-LCAJVnUE94B"}
	g, err := e.vendor.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{
		KeyId: &aliasARN, KeySpec: types.DataKeySpecAes256, EncryptionContext: ec,
	})
	if err != nil {
		t.Fatal(err)
	}
	p1, err := e.vendor.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: g.CiphertextBlob, KeyId: &aliasARN, EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if len(p1.Plaintext) != 32 {
		t.Fatalf("data key is %d bytes", len(p1.Plaintext))
	}
	re, err := e.vendor.ReEncrypt(ctx, &kms.ReEncryptInput{
		CiphertextBlob: g.CiphertextBlob, SourceEncryptionContext: ec, SourceKeyId: &aliasARN,
		DestinationKeyId: &aliasARN, DestinationEncryptionContext: ec,
	})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(re.CiphertextBlob, g.CiphertextBlob) {
		t.Fatal("re-encryption returned the same ciphertext")
	}
	p2, err := e.vendor.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: re.CiphertextBlob, EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p1.Plaintext, p2.Plaintext) {
		t.Fatal("plaintexts differ after re-encryption")
	}

	// The ciphertext is bound to its encryption context.
	_, err = e.vendor.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: g.CiphertextBlob, EncryptionContext: map[string]string{"domain": "dm-XXXXXXXXXXX"}})
	if errCode(err) != "InvalidCiphertextException" {
		t.Fatalf("other context: %v", err)
	}
	// A tampered ciphertext does not open.
	bad := bytes.Clone(g.CiphertextBlob)
	bad[len(bad)-1] ^= 1
	if _, err := e.vendor.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: bad, EncryptionContext: ec}); errCode(err) != "InvalidCiphertextException" {
		t.Fatalf("tampered: %v", err)
	}
	// Naming another key than the ciphertext's is refused.
	other, _ := e.customer.CreateKey(ctx, &kms.CreateKeyInput{})
	otherARN := *other.KeyMetadata.Arn
	if _, err := e.customer.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: g.CiphertextBlob, EncryptionContext: ec, KeyId: &otherARN}); errCode(err) != "IncorrectKeyException" {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestKeyPolicyIsEnforced(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name    string
		actions []string // the vendor statement's actions; nil for no statement
		deny    string   // an explicit Deny of this action for everyone
		call    func(e *env, alias string) error
		want    string // error code; "" for success
		msg     string
	}{
		{"no statement", nil, "", func(e *env, a string) error {
			_, err := e.vendor.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &a})
			return err
		}, "AccessDeniedException", "is not authorized to perform: kms:DescribeKey on resource: arn:aws:kms:us-east-1:111122223333:key/"},
		{"statement without Decrypt", []string{"kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext"}, "", func(e *env, a string) error {
			g, err := e.vendor.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: &a, NumberOfBytes: aws.Int32(32)})
			if err != nil {
				return err
			}
			_, err = e.vendor.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: g.CiphertextBlob})
			return err
		}, "AccessDeniedException", "kms:Decrypt"},
		{"wildcards as AWS applies them", []string{"kms:Describe*", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:Decrypt"}, "", func(e *env, a string) error {
			g, err := e.vendor.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: &a, NumberOfBytes: aws.Int32(32)})
			if err != nil {
				return err
			}
			_, err = e.vendor.ReEncrypt(ctx, &kms.ReEncryptInput{CiphertextBlob: g.CiphertextBlob, DestinationKeyId: &a})
			return err
		}, "", ""},
		{"explicit deny wins", awspolicy.VendorActions, "kms:Decrypt", func(e *env, a string) error {
			g, err := e.vendor.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: &a, NumberOfBytes: aws.Int32(32)})
			if err != nil {
				return err
			}
			_, err = e.vendor.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: g.CiphertextBlob})
			return err
		}, "AccessDeniedException", "with an explicit deny"},
		{"cross-account policy read is refused", awspolicy.VendorActions, "", func(e *env, a string) error {
			_, err := e.vendor.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: &a})
			return err
		}, "AccessDeniedException", "another AWS account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, 2)
			var alias string
			if tt.actions == nil {
				k, _ := e.customer.CreateKey(ctx, &kms.CreateKeyInput{})
				name := "alias/dm-LCAJVnUE94B/acme"
				if _, err := e.customer.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: &name, TargetKeyId: k.KeyMetadata.KeyId}); err != nil {
					t.Fatal(err)
				}
				alias = "arn:aws:kms:us-east-1:111122223333:" + name
			} else {
				var id string
				id, alias = e.delegated(t, ctx, tt.actions...)
				if tt.deny != "" {
					pol, _ := e.customer.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: &id})
					denied, _, err := awspolicy.Upsert(*pol.Policy, awspolicy.Statement{
						Sid: "deny", Effect: "Deny", Principal: &awspolicy.Principal{Any: true},
						Action: awspolicy.StringList{tt.deny}, Resource: awspolicy.StringList{"*"},
					})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := e.customer.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: &id, Policy: &denied}); err != nil {
						t.Fatal(err)
					}
				}
			}
			err := tt.call(e, alias)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if errCode(err) != tt.want || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want %s containing %q", err, tt.want, tt.msg)
			}
		})
	}
}

func TestKeyStatesRefuseUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t, 3)
	id, alias := e.delegated(t, ctx)
	use := func() error {
		_, err := e.vendor.GenerateDataKeyWithoutPlaintext(ctx, &kms.GenerateDataKeyWithoutPlaintextInput{KeyId: &alias, NumberOfBytes: aws.Int32(32)})
		return err
	}
	if _, err := e.customer.DisableKey(ctx, &kms.DisableKeyInput{KeyId: &id}); err != nil {
		t.Fatal(err)
	}
	if err := use(); errCode(err) != "DisabledException" {
		t.Fatalf("disabled: %v", err)
	}
	if _, err := e.customer.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: &id, PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	if err := use(); errCode(err) != "KMSInvalidStateException" {
		t.Fatalf("pending deletion: %v", err)
	}
	d, err := e.vendor.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &alias})
	if err != nil || d.KeyMetadata.KeyState != types.KeyStatePendingDeletion || d.KeyMetadata.DeletionDate == nil {
		t.Fatalf("describe pending deletion: %v %+v", err, d)
	}
	rsa, err := e.customer.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeEncryptDecrypt})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.customer.Encrypt(ctx, &kms.EncryptInput{KeyId: rsa.KeyMetadata.KeyId, Plaintext: []byte("x")}); errCode(err) != "InvalidKeyUsageException" {
		t.Fatalf("asymmetric: %v", err)
	}
}

func TestAliasesAndPolicies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t, 4)
	id, _ := e.delegated(t, ctx)
	name := "alias/dm-LCAJVnUE94B/acme"
	if _, err := e.customer.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: &name, TargetKeyId: &id}); errCode(err) != "AlreadyExistsException" {
		t.Fatalf("second create-alias: %v", err)
	}
	la, err := e.customer.ListAliases(ctx, &kms.ListAliasesInput{KeyId: &id})
	if err != nil || len(la.Aliases) != 1 || *la.Aliases[0].AliasName != name || *la.Aliases[0].TargetKeyId != id {
		t.Fatalf("list-aliases: %v %+v", err, la)
	}
	if _, err := e.customer.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("arn:aws:kms:eu-west-1:111122223333:" + name)}); errCode(err) != "NotFoundException" {
		t.Fatalf("alias in another region: %v", err)
	}
	// A policy that would lock the caller out is refused, as KMS does.
	lockout := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"999988887777"},"Action":"kms:Decrypt","Resource":"*"}]}`
	if _, err := e.customer.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: &id, Policy: &lockout}); errCode(err) != "MalformedPolicyDocumentException" {
		t.Fatalf("lockout policy: %v", err)
	}
	// The vendor cannot list the customer's keys or aliases.
	vk, err := e.vendor.ListKeys(ctx, &kms.ListKeysInput{})
	if err != nil || len(vk.Keys) != 0 {
		t.Fatalf("vendor sees %v (%v)", vk, err)
	}
	// Paging.
	for range 3 {
		if _, err := e.customer.CreateKey(ctx, &kms.CreateKeyInput{}); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	pager := kms.NewListKeysPaginator(e.customer, &kms.ListKeysInput{Limit: aws.Int32(2)})
	for pager.HasMorePages() {
		p, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(p.Keys)
	}
	if n != 4 {
		t.Fatalf("paged through %d keys, want 4", n)
	}
}

func TestSignaturesAreVerified(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t, 5)
	good := e.sb.Customer()

	wrongSecret := good
	wrongSecret.SecretAccessKey = strings.Repeat("x", 40)
	c := kms.NewFromConfig(e.srv.AWSConfig(wrongSecret, region))
	if _, err := c.ListKeys(ctx, &kms.ListKeysInput{}); errCode(err) != "InvalidSignatureException" {
		t.Fatalf("wrong secret: %v", err)
	}
	s := sts.NewFromConfig(e.srv.AWSConfig(wrongSecret, region))
	if _, err := s.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); errCode(err) != "SignatureDoesNotMatch" {
		t.Fatalf("sts wrong secret: %v", err)
	}

	unknown := good
	unknown.AccessKeyID = "AKIAUNKNOWNUNKNOWN00"
	c = kms.NewFromConfig(e.srv.AWSConfig(unknown, region))
	if _, err := c.ListKeys(ctx, &kms.ListKeysInput{}); errCode(err) != "UnrecognizedClientException" {
		t.Fatalf("unknown key: %v", err)
	}

	for _, id := range []fakecloud.Identity{e.sb.Customer(), e.sb.Vendor()} {
		out, err := sts.NewFromConfig(e.srv.AWSConfig(id, region)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		if *out.Arn != id.ARN || *out.Account != id.Account {
			t.Fatalf("caller identity %s/%s, want %s/%s", *out.Arn, *out.Account, id.ARN, id.Account)
		}
	}
}

func TestSeedFixesIdentitiesAndIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	keyID := func(seed uint64) (string, fakecloud.Identity) {
		e := start(t, seed)
		k, err := e.customer.CreateKey(ctx, &kms.CreateKeyInput{})
		if err != nil {
			t.Fatal(err)
		}
		return *k.KeyMetadata.KeyId, e.sb.Customer()
	}
	a1, c1 := keyID(7)
	a2, c2 := keyID(7)
	b, c3 := keyID(8)
	if a1 != a2 || c1 != c2 {
		t.Fatalf("same seed, different sandbox: %s %s", a1, a2)
	}
	if a1 == b || c1.AccessKeyID == c3.AccessKeyID {
		t.Fatal("different seeds, same sandbox")
	}
	if _, err := flows.ParseKeyRef(a1); err != nil {
		t.Fatalf("sandbox key ID %q is not a valid key ID: %v", a1, err)
	}
	if _, err := flows.ParseAccessKeyID(c1.AccessKeyID); err != nil {
		t.Fatalf("sandbox access key %q: %v", c1.AccessKeyID, err)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t, 6)
	e.sb.Inject(fakecloud.Fault{Service: "kms", Operation: "ListKeys", Code: "ThrottlingException", Message: "Rate exceeded", Times: 1})
	c := kms.NewFromConfig(e.srv.AWSConfig(e.sb.Customer(), region), func(o *kms.Options) { o.RetryMaxAttempts = 1 })
	if _, err := c.ListKeys(ctx, &kms.ListKeysInput{}); errCode(err) != "ThrottlingException" {
		t.Fatalf("fault: %v", err)
	}
	if _, err := c.ListKeys(ctx, &kms.ListKeysInput{}); err != nil {
		t.Fatalf("fault applied more than Times: %v", err)
	}
}

func TestListensOnLoopbackOnly(t *testing.T) {
	t.Parallel()
	sb := fakecloud.New(fakecloud.Options{Vendor: testVendor})
	if _, err := sb.Start("0.0.0.0:0"); err == nil || !strings.Contains(err.Error(), "loopback only") {
		t.Fatalf("err = %v", err)
	}
}
