package fakecloud_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"hash/crc32"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/googleapis/gax-go/v2/apierror"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/cloudkms/v1"
	"google.golang.org/api/cloudresourcemanager/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

// gcpService is the real Cloud KMS client (google.golang.org/api
// cloudkms/v1, with its default auth library, cloud.google.com/go/auth)
// reaching the sandbox as id through a service-account key file whose
// token_uri is the sandbox's.
func gcpService(t *testing.T, e *fakecloudtest.Env, id fakecloud.GCPIdentity) *cloudkms.Service {
	t.Helper()
	svc, err := cloudkms.NewService(context.Background(),
		option.WithEndpoint(e.Server.GCPKMSEndpoint()),
		option.WithAuthCredentialsFile(option.ServiceAccount, e.GCPCredentialsFile(t, id)))
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// gcpStatus is an error's Google status ("ABORTED"), read from the body
// as Google sends it, and checks that it is a *googleapi.Error whose HTTP
// code is code.
func gcpStatus(t *testing.T, err error, code int) string {
	t.Helper()
	var ge *googleapi.Error
	if !errors.As(err, &ge) || ge.Code != code {
		t.Fatalf("want a googleapi.Error %d, got %T %v", code, err, err)
	}
	var body struct {
		Error struct {
			Code    int
			Status  string
			Message string
		}
	}
	if jerr := json.Unmarshal([]byte(ge.Body), &body); jerr != nil || body.Error.Code != code || body.Error.Message != ge.Message {
		t.Fatalf("error body %q: %v", ge.Body, jerr)
	}
	return body.Error.Status
}

func newGCPEnv(t *testing.T) (*fakecloudtest.Env, *logBuffer) {
	log := &logBuffer{}
	return fakecloudtest.Start(t, fakecloud.Options{Seed: 1, Vendor: testVendor, GCPServiceAccount: gcpTestSA, Log: log}), log
}

// TestGCPSDK walks what rekwiz does with the Go SDK: the customer makes a
// key ring and an HSM key with rotation, labels it, adds the vendor's
// binding with the policy's etag (a stale etag is ABORTED), and the
// vendor, holding only cryptoKeyEncrypterDecrypter on the key, may
// encrypt and decrypt with additional authenticated data but not read
// the key.
func TestGCPSDK(t *testing.T) {
	t.Parallel()
	e, log := newGCPEnv(t)
	admin := gcpService(t, e, e.GCPCustomer())
	vendor := gcpService(t, e, e.GCPVendor())
	loc := "projects/" + fakecloud.GCPProject + "/locations/" + fakecloud.GCPLocation
	keys := admin.Projects.Locations.KeyRings

	ring, err := keys.Create(loc, &cloudkms.KeyRing{}).KeyRingId("ring-1").Do()
	if err != nil || ring.Name != loc+"/keyRings/ring-1" {
		t.Fatalf("create key ring: %v %+v\n%s", err, ring, log)
	}
	if _, err := time.Parse(time.RFC3339Nano, ring.CreateTime); err != nil || !strings.HasSuffix(ring.CreateTime, "Z") {
		t.Fatalf("createTime %q: %v", ring.CreateTime, err)
	}
	_, err = keys.Create(loc, &cloudkms.KeyRing{}).KeyRingId("ring-1").Do()
	if st := gcpStatus(t, err, 409); st != "ALREADY_EXISTS" || !strings.Contains(err.Error(), "KeyRing "+ring.Name+" already exists.") {
		t.Fatalf("a second key ring of that name: %s %v", st, err)
	}
	next := time.Now().Add(90 * 24 * time.Hour).UTC().Truncate(time.Second)
	key, err := keys.CryptoKeys.Create(ring.Name, &cloudkms.CryptoKey{
		Purpose:          "ENCRYPT_DECRYPT",
		VersionTemplate:  &cloudkms.CryptoKeyVersionTemplate{ProtectionLevel: "HSM", Algorithm: "GOOGLE_SYMMETRIC_ENCRYPTION"},
		RotationPeriod:   "7776000s",
		NextRotationTime: next.Format(time.RFC3339),
		Labels:           map[string]string{"owner": "platform"},
	}).CryptoKeyId("rek-1").Do()
	if err != nil {
		t.Fatal(err)
	}
	got, err := keys.CryptoKeys.Get(key.Name).Do()
	if err != nil || got.Purpose != "ENCRYPT_DECRYPT" || got.Primary == nil || got.Primary.State != "ENABLED" ||
		got.Primary.Name != key.Name+"/cryptoKeyVersions/1" || got.Primary.ProtectionLevel != "HSM" ||
		got.RotationPeriod != "7776000s" || got.DestroyScheduledDuration != "2592000s" || got.VersionTemplate.ProtectionLevel != "HSM" {
		t.Fatalf("get: %v %+v", err, got)
	}
	if nt, err := time.Parse(time.RFC3339Nano, got.NextRotationTime); err != nil || !nt.Equal(next) {
		t.Fatalf("nextRotationTime %q, want %s", got.NextRotationTime, next)
	}

	// Labels: patch with updateMask=labels keeps what it is sent, and
	// Google's label rules are enforced.
	got.Labels["dm-lcajvnue94b"] = "allow"
	if _, err := keys.CryptoKeys.Patch(key.Name, &cloudkms.CryptoKey{Labels: got.Labels}).UpdateMask("labels").Do(); err != nil {
		t.Fatal(err)
	}
	if l := e.GCPKeyLabels(key.Name); len(l) != 2 || l["owner"] != "platform" || l["dm-lcajvnue94b"] != "allow" {
		t.Fatalf("labels after patch: %v", l)
	}
	for _, bad := range []map[string]string{{"DM-X": "allow"}, {"1abc": "allow"}, {"ok": "Allow"}, {strings.Repeat("a", 64): ""}, {"a.b": "x"}} {
		_, err := keys.CryptoKeys.Patch(key.Name, &cloudkms.CryptoKey{Labels: bad}).UpdateMask("labels").Do()
		if st := gcpStatus(t, err, 400); st != "INVALID_ARGUMENT" {
			t.Fatalf("label %v: %s %v", bad, st, err)
		}
	}
	if l := e.GCPKeyLabels(key.Name); len(l) != 2 {
		t.Fatalf("a refused patch changed the labels: %v", l)
	}

	// The vendor holds nothing yet: every call is refused.
	_, err = vendor.Projects.Locations.KeyRings.CryptoKeys.Encrypt(key.Name, &cloudkms.EncryptRequest{Plaintext: b64("x")}).Do()
	if st := gcpStatus(t, err, 403); st != "PERMISSION_DENIED" {
		t.Fatalf("vendor encrypt before the binding: %s %v", st, err)
	}

	// IAM: read, merge, write with the etag.
	pol, err := keys.CryptoKeys.GetIamPolicy(key.Name).OptionsRequestedPolicyVersion(3).Do()
	if err != nil || pol.Etag == "" || len(pol.Bindings) != 0 {
		t.Fatalf("getIamPolicy: %v %+v", err, pol)
	}
	foreign := &cloudkms.Binding{Role: fakecloud.RoleKMSViewer, Members: []string{"group:auditors@example.com", "user:alice@example.com"}}
	stale := pol.Etag
	pol.Bindings = []*cloudkms.Binding{foreign}
	pol, err = keys.CryptoKeys.SetIamPolicy(key.Name, &cloudkms.SetIamPolicyRequest{Policy: pol}).Do()
	if err != nil || pol.Etag == stale {
		t.Fatalf("setIamPolicy: %v %+v", err, pol)
	}
	member := e.GCPVendor().Member()
	pol.Bindings = append(pol.Bindings, &cloudkms.Binding{Role: fakecloud.RoleCryptoKeyEncrypterDecrypter, Members: []string{member}})
	pol.Etag = stale
	_, err = keys.CryptoKeys.SetIamPolicy(key.Name, &cloudkms.SetIamPolicyRequest{Policy: pol}).Do()
	if st := gcpStatus(t, err, 409); st != "ABORTED" || !strings.Contains(err.Error(), "There were concurrent policy changes") {
		t.Fatalf("setIamPolicy with a stale etag: %s %v", st, err)
	}
	fresh, err := keys.CryptoKeys.GetIamPolicy(key.Name).OptionsRequestedPolicyVersion(3).Do()
	if err != nil {
		t.Fatal(err)
	}
	fresh.Bindings = append(fresh.Bindings, &cloudkms.Binding{Role: fakecloud.RoleCryptoKeyEncrypterDecrypter, Members: []string{member}})
	if _, err := keys.CryptoKeys.SetIamPolicy(key.Name, &cloudkms.SetIamPolicyRequest{Policy: fresh}).Do(); err != nil {
		t.Fatal(err)
	}
	after, err := keys.CryptoKeys.GetIamPolicy(key.Name).Do()
	if err != nil || len(after.Bindings) != 2 || after.Bindings[0].Role != foreign.Role || !slices.Equal(after.Bindings[0].Members, foreign.Members) {
		t.Fatalf("the foreign binding changed: %v %+v", err, after)
	}

	// The vendor: encrypt and decrypt with AAD, but not get or getIamPolicy.
	vk := vendor.Projects.Locations.KeyRings.CryptoKeys
	aad := b64("dm-LCAJVnUE94B")
	enc, err := vk.Encrypt(key.Name, &cloudkms.EncryptRequest{Plaintext: b64("rekwiz pairing check"), AdditionalAuthenticatedData: aad}).Do()
	if err != nil || enc.Name != key.Name+"/cryptoKeyVersions/1" || enc.ProtectionLevel != "HSM" {
		t.Fatalf("vendor encrypt: %v %+v\n%s", err, enc, log)
	}
	dec, err := vk.Decrypt(key.Name, &cloudkms.DecryptRequest{Ciphertext: enc.Ciphertext, AdditionalAuthenticatedData: aad}).Do()
	if err != nil || dec.Plaintext != b64("rekwiz pairing check") || !dec.UsedPrimary {
		t.Fatalf("vendor decrypt: %v %+v", err, dec)
	}
	_, err = vk.Decrypt(key.Name, &cloudkms.DecryptRequest{Ciphertext: enc.Ciphertext, AdditionalAuthenticatedData: b64("dm-other")}).Do()
	if st := gcpStatus(t, err, 400); st != "INVALID_ARGUMENT" || !strings.Contains(err.Error(), "Decryption failed") {
		t.Fatalf("decrypt with other AAD: %s %v", st, err)
	}
	_, err = vk.Get(key.Name).Do()
	if st := gcpStatus(t, err, 403); st != "PERMISSION_DENIED" || !strings.Contains(err.Error(), "Permission 'cloudkms.cryptoKeys.get' denied on resource '"+key.Name+"' (or it may not exist).") {
		t.Fatalf("vendor get: %s %v", st, err)
	}
	var ae *apierror.APIError
	if !errors.As(err, &ae) || ae.Reason() != "IAM_PERMISSION_DENIED" || ae.Metadata()["permission"] != "cloudkms.cryptoKeys.get" {
		t.Fatalf("the 403's ErrorInfo does not parse: %v", err)
	}
	if _, err := vk.GetIamPolicy(key.Name).Do(); err == nil {
		t.Fatal("the vendor read the key's policy")
	}
	perms, err := vk.TestIamPermissions(key.Name, &cloudkms.TestIamPermissionsRequest{Permissions: []string{
		"cloudkms.cryptoKeys.get", "cloudkms.cryptoKeyVersions.useToEncrypt", "cloudkms.cryptoKeyVersions.useToDecrypt"}}).Do()
	if err != nil || !slices.Equal(perms.Permissions, []string{"cloudkms.cryptoKeyVersions.useToEncrypt", "cloudkms.cryptoKeyVersions.useToDecrypt"}) {
		t.Fatalf("vendor testIamPermissions: %v %+v", err, perms)
	}

	// Another key cannot open the ciphertext.
	other, err := keys.CryptoKeys.Create(ring.Name, &cloudkms.CryptoKey{Purpose: "ENCRYPT_DECRYPT"}).CryptoKeyId("rek-2").Do()
	if err != nil || other.VersionTemplate.ProtectionLevel != "SOFTWARE" {
		t.Fatalf("a second key: %v %+v", err, other)
	}
	_, err = keys.CryptoKeys.Decrypt(other.Name, &cloudkms.DecryptRequest{Ciphertext: enc.Ciphertext, AdditionalAuthenticatedData: aad}).Do()
	if st := gcpStatus(t, err, 400); st != "INVALID_ARGUMENT" || !strings.Contains(err.Error(), "Decryption failed: verify that 'name' refers to the correct CryptoKey.") {
		t.Fatalf("decrypt under another key: %s %v", st, err)
	}

	// A disabled primary: encrypt is FAILED_PRECONDITION, naming the state.
	if _, err := keys.CryptoKeys.CryptoKeyVersions.Patch(key.Name+"/cryptoKeyVersions/1", &cloudkms.CryptoKeyVersion{State: "DISABLED"}).UpdateMask("state").Do(); err != nil {
		t.Fatal(err)
	}
	_, err = vk.Encrypt(key.Name, &cloudkms.EncryptRequest{Plaintext: b64("x")}).Do()
	if st := gcpStatus(t, err, 400); st != "FAILED_PRECONDITION" || !strings.Contains(err.Error(), "is not enabled, current state is: DISABLED.") {
		t.Fatalf("encrypt with a disabled primary: %s %v", st, err)
	}
	if k, _ := keys.CryptoKeys.Get(key.Name).Do(); k.Primary.State != "DISABLED" {
		t.Fatalf("primary after disabling: %+v", k.Primary)
	}

	// Not found, for a caller who may know.
	_, err = keys.CryptoKeys.Get(ring.Name + "/cryptoKeys/nope").Do()
	if st := gcpStatus(t, err, 404); st != "NOT_FOUND" || !strings.Contains(err.Error(), "CryptoKey "+ring.Name+"/cryptoKeys/nope not found.") {
		t.Fatalf("get a missing key: %s %v", st, err)
	}
	// And a project that is not the customer's: denied, as it may not exist.
	_, err = keys.Get("projects/someone-else/locations/us-east1/keyRings/r").Do()
	if st := gcpStatus(t, err, 403); st != "PERMISSION_DENIED" {
		t.Fatalf("another project: %s %v", st, err)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// TestGCPBindingScopes: a role granted on the key ring or the project
// applies to the keys under it, and one on another key does not; each of
// the named roles grants exactly its permissions over the wire.
func TestGCPBindingScopes(t *testing.T) {
	t.Parallel()
	e, _ := newGCPEnv(t)
	vendor := gcpService(t, e, e.GCPVendor()).Projects.Locations.KeyRings.CryptoKeys
	key := e.CreateGCPKey(fakecloud.GCPProject, fakecloud.GCPLocation, "ring", "k1", fakecloud.GCPKeyOptions{})
	other := e.CreateGCPKey(fakecloud.GCPProject, fakecloud.GCPLocation, "ring", "k2", fakecloud.GCPKeyOptions{})
	ring := fakecloud.GCPKeyRingName(fakecloud.GCPProject, fakecloud.GCPLocation, "ring")
	encrypt := func(name string) error {
		_, err := vendor.Encrypt(name, &cloudkms.EncryptRequest{Plaintext: b64("x")}).Do()
		return err
	}
	e.GrantGCPRole(other, fakecloud.RoleCryptoKeyEncrypterDecrypter, e.GCPVendor().Member())
	if encrypt(key) == nil || encrypt(other) != nil {
		t.Fatal("a binding on one key applied to another, or not to its own")
	}
	e.GrantGCPRole(ring, fakecloud.RoleCryptoKeyEncrypter, e.GCPVendor().Member())
	if err := encrypt(key); err != nil {
		t.Fatalf("a binding on the key ring does not reach its keys: %v", err)
	}
	_, err := vendor.Decrypt(key, &cloudkms.DecryptRequest{Ciphertext: b64("x")}).Do()
	if st := gcpStatus(t, err, 403); st != "PERMISSION_DENIED" {
		t.Fatalf("cryptoKeyEncrypter let the vendor decrypt: %s", st)
	}
	if _, err := vendor.Get(key).Do(); err == nil {
		t.Fatal("cryptoKeyEncrypter let the vendor read the key")
	}
	e.GrantGCPRole(fakecloud.GCPProject, fakecloud.RoleKMSViewer, e.GCPVendor().Member())
	if _, err := vendor.Get(key).Do(); err != nil {
		t.Fatalf("cloudkms.viewer on the project: %v", err)
	}
	if _, err := vendor.GetIamPolicy(key).Do(); err == nil {
		t.Fatal("cloudkms.viewer read the policy")
	}

	for role, want := range map[string][]string{
		fakecloud.RoleCryptoKeyEncrypterDecrypter: {"cloudkms.cryptoKeyVersions.useToEncrypt", "cloudkms.cryptoKeyVersions.useToDecrypt"},
		fakecloud.RoleCryptoKeyDecrypter:          {"cloudkms.cryptoKeyVersions.useToDecrypt"},
		fakecloud.RoleKMSAdmin:                    {"cloudkms.cryptoKeys.get", "cloudkms.cryptoKeys.update", "cloudkms.cryptoKeys.getIamPolicy", "cloudkms.cryptoKeys.setIamPolicy"},
		fakecloud.RoleKMSViewer:                   {"cloudkms.cryptoKeys.get"},
		fakecloud.RoleOwner:                       {"cloudkms.cryptoKeys.get", "cloudkms.cryptoKeys.update", "cloudkms.cryptoKeys.getIamPolicy", "cloudkms.cryptoKeys.setIamPolicy", "cloudkms.cryptoKeyVersions.useToEncrypt", "cloudkms.cryptoKeyVersions.useToDecrypt"},
	} {
		var held []string
		for _, p := range []string{"cloudkms.cryptoKeys.get", "cloudkms.cryptoKeys.update", "cloudkms.cryptoKeys.getIamPolicy", "cloudkms.cryptoKeys.setIamPolicy",
			"cloudkms.cryptoKeyVersions.useToEncrypt", "cloudkms.cryptoKeyVersions.useToDecrypt"} {
			if fakecloud.GCPRoleGrants(role, p) {
				held = append(held, p)
			}
		}
		slices.Sort(held)
		slices.Sort(want)
		if !slices.Equal(held, want) {
			t.Errorf("%s grants %v, want %v", role, held, want)
		}
	}
}

// TestGCPToken: the token endpoint takes a JWT signed by the key the
// sandbox issued, through golang.org/x/oauth2/google too, and refuses a
// key it did not issue and a token it did not give.
func TestGCPToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, _ := newGCPEnv(t)
	name := e.SeedGCPDemo()
	b, err := e.GCPServiceAccountJSON(e.GCPCustomer(), e.Server.GCPTokenURL())
	if err != nil {
		t.Fatal(err)
	}
	creds, err := google.CredentialsFromJSONWithType(ctx, b, google.ServiceAccount, cloudkms.CloudPlatformScope)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := cloudkms.NewService(ctx, option.WithEndpoint(e.Server.GCPKMSEndpoint()), option.WithTokenSource(creds.TokenSource))
	if err != nil {
		t.Fatal(err)
	}
	k, err := svc.Projects.Locations.KeyRings.CryptoKeys.Get(name).Do()
	if err != nil || k.Labels["owner"] != "platform-team" || k.Primary.State != "ENABLED" {
		t.Fatalf("the demo key through x/oauth2/google: %v %+v", err, k)
	}

	// A key the sandbox did not issue: same account, another private key.
	// (The seed fixes the identities and tokens, not the private keys.)
	other := fakecloud.New(fakecloud.Options{Seed: 1, Vendor: testVendor, GCPServiceAccount: gcpTestSA})
	if other.GCPCustomer().AccessToken != e.GCPCustomer().AccessToken || other.GCPVendor().KeyID != e.GCPVendor().KeyID ||
		fakecloud.New(fakecloud.Options{Seed: 2}).GCPCustomer().AccessToken == e.GCPCustomer().AccessToken {
		t.Fatal("the seed does not fix the Google Cloud identities")
	}
	forged, err := other.GCPServiceAccountJSON(other.GCPCustomer(), e.Server.GCPTokenURL())
	if err != nil {
		t.Fatal(err)
	}
	creds, err = google.CredentialsFromJSONWithType(ctx, forged, google.ServiceAccount, cloudkms.CloudPlatformScope)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := creds.TokenSource.Token(); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Fatalf("a key the sandbox did not issue got a token: %v", err)
	}

	// A bearer token it never gave, and none at all: 401 UNAUTHENTICATED.
	for _, auth := range []string{"Bearer ya29.not-a-token", ""} {
		req, _ := http.NewRequest(http.MethodGet, e.Server.GCPKMSEndpoint()+"v1/"+name, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(body.String(), `"status": "UNAUTHENTICATED"`) {
			t.Fatalf("auth %q: %d %s", auth, resp.StatusCode, body.String())
		}
	}
}

// TestGCPKeyRingPolicy: a key ring's policy is read and written over the
// wire like a key's and reaches the keys under it; IAM's rules on what a
// policy may hold are enforced.
func TestGCPKeyRingPolicy(t *testing.T) {
	t.Parallel()
	e, _ := newGCPEnv(t)
	key := e.SeedGCPDemo()
	ring := fakecloud.GCPKeyRingName(fakecloud.GCPProject, fakecloud.GCPLocation, fakecloud.GCPDemoKeyRing)
	rings := gcpService(t, e, e.GCPCustomer()).Projects.Locations.KeyRings
	vendor := gcpService(t, e, e.GCPVendor()).Projects.Locations.KeyRings.CryptoKeys
	member := e.GCPVendor().Member()

	pol, err := rings.GetIamPolicy(ring).Do()
	if err != nil || pol.Etag != "ACAB" || pol.Version != 1 || len(pol.Bindings) != 0 {
		t.Fatalf("a new key ring's policy: %v %+v", err, pol)
	}
	for _, bad := range []struct {
		b       cloudkms.Binding
		version int64
	}{
		{cloudkms.Binding{Role: fakecloud.RoleOwner, Members: []string{member}}, 1},
		{cloudkms.Binding{Role: "roles/storage.admin", Members: []string{member}}, 1},
		{cloudkms.Binding{Role: fakecloud.RoleCryptoKeyEncrypterDecrypter, Members: []string{"rekwiz@example.com"}}, 1},
		{cloudkms.Binding{Role: fakecloud.RoleCryptoKeyEncrypterDecrypter, Members: []string{member},
			Condition: &cloudkms.Expr{Expression: "request.time < timestamp('2030-01-01T00:00:00Z')", Title: "until 2030"}}, 1},
	} {
		p := &cloudkms.Policy{Bindings: []*cloudkms.Binding{&bad.b}, Etag: pol.Etag, Version: bad.version}
		_, err := rings.SetIamPolicy(ring, &cloudkms.SetIamPolicyRequest{Policy: p}).Do()
		if st := gcpStatus(t, err, 400); st != "INVALID_ARGUMENT" {
			t.Fatalf("binding %+v: %s %v", bad.b, st, err)
		}
	}
	pol.Bindings = []*cloudkms.Binding{{Role: fakecloud.RoleCryptoKeyEncrypterDecrypter, Members: []string{member}}}
	if pol, err = rings.SetIamPolicy(ring, &cloudkms.SetIamPolicyRequest{Policy: pol}).Do(); err != nil || pol.Etag == "ACAB" {
		t.Fatalf("set the key ring's policy: %v %+v", err, pol)
	}
	if _, err := vendor.Encrypt(key, &cloudkms.EncryptRequest{Plaintext: b64("x")}).Do(); err != nil {
		t.Fatalf("a binding set on the key ring does not reach its key: %v", err)
	}
	if _, err := gcpService(t, e, e.GCPVendor()).Projects.Locations.KeyRings.GetIamPolicy(ring).Do(); err == nil {
		t.Fatal("the vendor read the key ring's policy")
	}
	// The key's own policy is untouched (the demo's foreign binding).
	kp, err := rings.CryptoKeys.GetIamPolicy(key).Do()
	if err != nil || len(kp.Bindings) != 1 || kp.Bindings[0].Role != fakecloud.RoleKMSViewer {
		t.Fatalf("the demo key's policy: %v %+v", err, kp)
	}
	want := `{"version":1,"bindings":[{"role":"roles/cloudkms.viewer","members":["group:platform-team@example.com"]}],"etag":"` + kp.Etag + `"}`
	if got := string(e.GCPPolicyJSON(key)); got != want {
		t.Fatalf("GCPPolicyJSON = %s, want %s", got, want)
	}

	// A conditional binding needs version 3 to write and to read, and
	// grants nothing in the sandbox (it does not evaluate conditions).
	kp.Bindings = append(kp.Bindings, &cloudkms.Binding{Role: fakecloud.RoleCryptoKeyDecrypter, Members: []string{"user:carol@example.com"},
		Condition: &cloudkms.Expr{Expression: "request.time < timestamp('2030-01-01T00:00:00Z')", Title: "until 2030"}})
	kp.Version = 3
	if _, err := rings.CryptoKeys.SetIamPolicy(key, &cloudkms.SetIamPolicyRequest{Policy: kp}).Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := rings.CryptoKeys.GetIamPolicy(key).Do(); gcpStatus(t, err, 400) != "INVALID_ARGUMENT" {
		t.Fatalf("read a conditional policy without version 3: %v", err)
	}
	if p3, err := rings.CryptoKeys.GetIamPolicy(key).OptionsRequestedPolicyVersion(3).Do(); err != nil || p3.Version != 3 || p3.Bindings[1].Condition == nil {
		t.Fatalf("read a conditional policy: %v %+v", err, p3)
	}
}

// TestGCPKeyLifecycle: key creation's checks, versions and their states
// as the pairing check sees them, a key of another purpose, paging, an
// unknown location, and an injected PERMISSION_DENIED (IAM not yet applied).
func TestGCPKeyLifecycle(t *testing.T) {
	t.Parallel()
	e, _ := newGCPEnv(t)
	key := e.SeedGCPDemo()
	ring := fakecloud.GCPKeyRingName(fakecloud.GCPProject, fakecloud.GCPLocation, fakecloud.GCPDemoKeyRing)
	keys := gcpService(t, e, e.GCPCustomer()).Projects.Locations.KeyRings.CryptoKeys
	create := func(id string, k *cloudkms.CryptoKey) error {
		_, err := keys.Create(ring, k).CryptoKeyId(id).Do()
		return err
	}
	for name, c := range map[string]struct {
		id string
		k  cloudkms.CryptoKey
	}{
		"bad ID":            {"a/b", cloudkms.CryptoKey{Purpose: "ENCRYPT_DECRYPT"}},
		"no purpose":        {"k", cloudkms.CryptoKey{}},
		"short rotation":    {"k", cloudkms.CryptoKey{Purpose: "ENCRYPT_DECRYPT", RotationPeriod: "3600s"}},
		"bad duration":      {"k", cloudkms.CryptoKey{Purpose: "ENCRYPT_DECRYPT", RotationPeriod: "90d"}},
		"bad time":          {"k", cloudkms.CryptoKey{Purpose: "ENCRYPT_DECRYPT", NextRotationTime: "tomorrow"}},
		"sign, no alg":      {"k", cloudkms.CryptoKey{Purpose: "ASYMMETRIC_SIGN"}},
		"symmetric RSA":     {"k", cloudkms.CryptoKey{Purpose: "ENCRYPT_DECRYPT", VersionTemplate: &cloudkms.CryptoKeyVersionTemplate{Algorithm: "RSA_SIGN_PSS_2048_SHA256"}}},
		"external":          {"k", cloudkms.CryptoKey{Purpose: "ENCRYPT_DECRYPT", VersionTemplate: &cloudkms.CryptoKeyVersionTemplate{ProtectionLevel: "EXTERNAL"}}},
		"bad label":         {"k", cloudkms.CryptoKey{Purpose: "ENCRYPT_DECRYPT", Labels: map[string]string{"Domain": "x"}}},
		"rotation for sign": {"k", cloudkms.CryptoKey{Purpose: "ASYMMETRIC_SIGN", VersionTemplate: &cloudkms.CryptoKeyVersionTemplate{Algorithm: "EC_SIGN_P256_SHA256"}, RotationPeriod: "7776000s"}},
	} {
		if st := gcpStatus(t, create(c.id, &c.k), 400); st != "INVALID_ARGUMENT" {
			t.Errorf("%s: %s", name, st)
		}
	}
	if st := gcpStatus(t, create(fakecloud.GCPDemoKey, &cloudkms.CryptoKey{Purpose: "ENCRYPT_DECRYPT"}), 409); st != "ALREADY_EXISTS" {
		t.Errorf("an existing key: %s", st)
	}

	// Versions: a second, not primary until made so; then each state.
	versions := keys.CryptoKeyVersions
	v2, err := versions.Create(key, &cloudkms.CryptoKeyVersion{}).Do()
	if err != nil || v2.Name != key+"/cryptoKeyVersions/2" || v2.State != "ENABLED" {
		t.Fatalf("create version: %v %+v", err, v2)
	}
	if k, _ := keys.Get(key).Do(); k.Primary.Name != key+"/cryptoKeyVersions/1" {
		t.Fatalf("a new version became primary: %+v", k.Primary)
	}
	if k, err := keys.UpdatePrimaryVersion(key, &cloudkms.UpdateCryptoKeyPrimaryVersionRequest{CryptoKeyVersionId: "2"}).Do(); err != nil || k.Primary.Name != v2.Name {
		t.Fatalf("updatePrimaryVersion: %v %+v", err, k)
	}
	d, err := versions.Destroy(v2.Name, &cloudkms.DestroyCryptoKeyVersionRequest{}).Do()
	if err != nil || d.State != "DESTROY_SCHEDULED" || d.DestroyTime == "" {
		t.Fatalf("destroy: %v %+v", err, d)
	}
	if k, _ := keys.Get(key).Do(); k.Primary.State != "DESTROY_SCHEDULED" {
		t.Fatalf("primary after destroy: %+v", k.Primary)
	}
	if r, err := versions.Restore(v2.Name, &cloudkms.RestoreCryptoKeyVersionRequest{}).Do(); err != nil || r.State != "DISABLED" || r.DestroyTime != "" {
		t.Fatalf("restore: %v %+v", err, r)
	}
	if _, err := versions.Restore(v2.Name, &cloudkms.RestoreCryptoKeyVersionRequest{}).Do(); gcpStatus(t, err, 400) != "FAILED_PRECONDITION" {
		t.Fatalf("restore twice: %v", err)
	}
	for _, state := range []string{"DESTROYED", "PENDING_GENERATION", "DISABLED", "ENABLED"} {
		e.SetGCPVersionState(key, 0, state)
		k, err := keys.Get(key).Do()
		if err != nil || k.Primary.State != state {
			t.Fatalf("primary in %s: %v %+v", state, err, k)
		}
		_, err = keys.Encrypt(key, &cloudkms.EncryptRequest{Plaintext: b64("x")}).Do()
		if (state == "ENABLED") != (err == nil) {
			t.Fatalf("encrypt with the primary %s: %v", state, err)
		}
	}
	list, err := versions.List(key).PageSize(1).Do()
	if err != nil || len(list.CryptoKeyVersions) != 1 || list.NextPageToken == "" || list.TotalSize != 2 {
		t.Fatalf("list versions, one a page: %v %+v", err, list)
	}
	rest, err := versions.List(key).PageSize(1).PageToken(list.NextPageToken).Do()
	if err != nil || len(rest.CryptoKeyVersions) != 1 || rest.CryptoKeyVersions[0].Name != v2.Name || rest.NextPageToken != "" {
		t.Fatalf("the second page: %v %+v", err, rest)
	}

	// Lists: key rings in the location, keys in the ring.
	rl, err := gcpService(t, e, e.GCPCustomer()).Projects.Locations.KeyRings.List("projects/" + fakecloud.GCPProject + "/locations/" + fakecloud.GCPLocation).Do()
	if err != nil || len(rl.KeyRings) != 1 || rl.KeyRings[0].Name != ring || rl.TotalSize != 1 {
		t.Fatalf("list key rings: %v %+v", err, rl)
	}
	if kl, err := keys.List(ring).Do(); err != nil || len(kl.CryptoKeys) != 1 || kl.CryptoKeys[0].Name != key {
		t.Fatalf("list keys: %v %+v", err, kl)
	}
	if _, err := gcpService(t, e, e.GCPVendor()).Projects.Locations.KeyRings.CryptoKeys.List(ring).Do(); gcpStatus(t, err, 403) != "PERMISSION_DENIED" {
		t.Fatalf("the vendor listed the keys: %v", err)
	}

	// A key of another purpose has no primary and does not encrypt.
	sign := e.CreateGCPKey(fakecloud.GCPProject, fakecloud.GCPLocation, fakecloud.GCPDemoKeyRing, "signing", fakecloud.GCPKeyOptions{Purpose: "ASYMMETRIC_SIGN"})
	if k, err := keys.Get(sign).Do(); err != nil || k.Purpose != "ASYMMETRIC_SIGN" || k.Primary != nil || k.VersionTemplate.Algorithm != "EC_SIGN_P256_SHA256" {
		t.Fatalf("a signing key: %v %+v", err, k)
	}
	if _, err := keys.Encrypt(sign, &cloudkms.EncryptRequest{Plaintext: b64("x")}).Do(); err == nil {
		t.Fatal("a signing key encrypted")
	}

	// A location Cloud KMS does not serve (AWS's spelling).
	_, err = keys.Get("projects/" + fakecloud.GCPProject + "/locations/us-east-1/keyRings/r/cryptoKeys/k").Do()
	if st := gcpStatus(t, err, 404); st != "NOT_FOUND" || !strings.Contains(err.Error(), "location 'us-east-1'") {
		t.Fatalf("location us-east-1: %s %v", st, err)
	}

	// A binding that has not applied yet: PERMISSION_DENIED twice, then through.
	e.GrantGCPRole(key, fakecloud.RoleCryptoKeyEncrypterDecrypter, e.GCPVendor().Member())
	e.Inject(fakecloud.Fault{Service: "cloudkms", Operation: "Encrypt", Caller: "vendor", Code: "PERMISSION_DENIED", Status: 403, Times: 2})
	vendor := gcpService(t, e, e.GCPVendor()).Projects.Locations.KeyRings.CryptoKeys
	for i := range 3 {
		_, err := vendor.Encrypt(key, &cloudkms.EncryptRequest{Plaintext: b64("x")}).Do()
		if i < 2 && (gcpStatus(t, err, 403) != "PERMISSION_DENIED" || !strings.Contains(err.Error(), "cloudkms.cryptoKeyVersions.useToEncrypt")) || i == 2 && err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
}

// gcpRaw sends a request as curl would, with id's access token, and
// returns the status and the decoded JSON body.
func gcpRaw(t *testing.T, e *fakecloudtest.Env, id fakecloud.GCPIdentity, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, e.Server.GCPKMSEndpoint()+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+id.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: the body is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, out
}

// TestGCPWire checks shapes on the wire as Google's documentation shows
// them (the REST create-key example: proto names in the query string,
// timestamps with nanoseconds, durations in seconds), the exact error
// envelope, and the CRC32C integrity fields gcloud relies on.
func TestGCPWire(t *testing.T) {
	t.Parallel()
	e, _ := newGCPEnv(t)
	admin := e.GCPCustomer()
	loc := "v1/projects/" + fakecloud.GCPProject + "/locations/" + fakecloud.GCPLocation
	code, ring := gcpRaw(t, e, admin, "POST", loc+"/keyRings?key_ring_id=my-key-ring", "{}")
	if code != 200 || ring["name"] != "projects/rekwiz-demo/locations/us-east1/keyRings/my-key-ring" || len(ring) != 2 {
		t.Fatalf("create key ring: %d %v", code, ring)
	}
	code, key := gcpRaw(t, e, admin, "POST", loc+"/keyRings/my-key-ring/cryptoKeys?crypto_key_id=my-key", `{"purpose":"ENCRYPT_DECRYPT"}`)
	primary, _ := key["primary"].(map[string]any)
	ct, _ := key["createTime"].(string)
	if code != 200 || key["purpose"] != "ENCRYPT_DECRYPT" || primary["state"] != "ENABLED" || primary["algorithm"] != "GOOGLE_SYMMETRIC_ENCRYPTION" ||
		primary["protectionLevel"] != "SOFTWARE" || key["destroyScheduledDuration"] != "2592000s" || len(ct) != len("2023-03-14T15:52:55.358979323Z") || key["labels"] != nil {
		t.Fatalf("create key: %d %v", code, key)
	}
	code, body := gcpRaw(t, e, admin, "GET", loc+"/keyRings/nope", "")
	want := map[string]any{"error": map[string]any{"code": 404.0, "message": "KeyRing projects/rekwiz-demo/locations/us-east1/keyRings/nope not found.", "status": "NOT_FOUND"}}
	if code != 404 || !jsonEqual(body, want) {
		t.Fatalf("get a missing key ring: %d %v", code, body)
	}
	code, body = gcpRaw(t, e, e.GCPVendor(), "GET", loc+"/keyRings/nope", "")
	if errBody, _ := body["error"].(map[string]any); code != 403 || errBody["status"] != "PERMISSION_DENIED" ||
		errBody["message"] != "Permission 'cloudkms.keyRings.get' denied on resource 'projects/rekwiz-demo/locations/us-east1/keyRings/nope' (or it may not exist)." {
		t.Fatalf("the vendor gets a missing key ring: %d %v", code, body)
	}

	// Encrypt with checksums: verified, and the ciphertext's CRC32C sent back.
	pt := []byte("rekwiz")
	crc := func(b []byte) string {
		return strconv.FormatUint(uint64(crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli))), 10)
	}
	code, enc := gcpRaw(t, e, admin, "POST", loc+"/keyRings/my-key-ring/cryptoKeys/my-key:encrypt",
		`{"plaintext":"`+b64(string(pt))+`","plaintextCrc32c":"`+crc(pt)+`"}`)
	blob, _ := base64.StdEncoding.DecodeString(enc["ciphertext"].(string))
	if code != 200 || enc["verifiedPlaintextCrc32c"] != true || enc["verifiedAdditionalAuthenticatedDataCrc32c"] != false || enc["ciphertextCrc32c"] != crc(blob) {
		t.Fatalf("encrypt with a checksum: %d %v", code, enc)
	}
	code, body = gcpRaw(t, e, admin, "POST", loc+"/keyRings/my-key-ring/cryptoKeys/my-key:encrypt",
		`{"plaintext":"`+b64(string(pt))+`","plaintextCrc32c":"1"}`)
	if code != 400 || body["error"].(map[string]any)["status"] != "INVALID_ARGUMENT" {
		t.Fatalf("encrypt with a wrong checksum: %d %v", code, body)
	}
	// The ciphertext in the URL-safe alphabet, as gcloud sends bytes.
	code, dec := gcpRaw(t, e, admin, "POST", loc+"/keyRings/my-key-ring/cryptoKeys/my-key:decrypt",
		`{"ciphertext":"`+base64.URLEncoding.EncodeToString(blob)+`","ciphertextCrc32c":"`+crc(blob)+`"}`)
	if code != 200 || dec["plaintext"] != b64(string(pt)) || dec["plaintextCrc32c"] != crc(pt) {
		t.Fatalf("decrypt: %d %v", code, dec)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestGCPProjectPolicy: the project's IAM policy through Resource
// Manager's client, as a check that looks for a binding on the project
// would read it; a project binding reaches every key in the project.
func TestGCPProjectPolicy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, _ := newGCPEnv(t)
	key := e.SeedGCPDemo()
	crm := func(id fakecloud.GCPIdentity) *cloudresourcemanager.Service {
		svc, err := cloudresourcemanager.NewService(ctx, option.WithEndpoint(e.Server.GCPKMSEndpoint()),
			option.WithAuthCredentialsFile(option.ServiceAccount, e.GCPCredentialsFile(t, id)))
		if err != nil {
			t.Fatal(err)
		}
		return svc
	}
	admin := crm(e.GCPCustomer())
	pol, err := admin.Projects.GetIamPolicy(fakecloud.GCPProject, &cloudresourcemanager.GetIamPolicyRequest{}).Do()
	if err != nil || len(pol.Bindings) != 1 || pol.Bindings[0].Role != fakecloud.RoleOwner || pol.Bindings[0].Members[0] != e.GCPCustomer().Member() {
		t.Fatalf("the project's policy: %v %+v", err, pol)
	}
	pol.Bindings = append(pol.Bindings, &cloudresourcemanager.Binding{Role: fakecloud.RoleKMSViewer, Members: []string{e.GCPVendor().Member()}})
	if _, err := admin.Projects.SetIamPolicy(fakecloud.GCPProject, &cloudresourcemanager.SetIamPolicyRequest{Policy: pol}).Do(); err != nil {
		t.Fatal(err)
	}
	if _, err := gcpService(t, e, e.GCPVendor()).Projects.Locations.KeyRings.CryptoKeys.Get(key).Do(); err != nil {
		t.Fatalf("cloudkms.viewer on the project does not reach the key: %v", err)
	}
	_, err = crm(e.GCPVendor()).Projects.GetIamPolicy(fakecloud.GCPProject, &cloudresourcemanager.GetIamPolicyRequest{}).Do()
	if st := gcpStatus(t, err, 403); st != "PERMISSION_DENIED" {
		t.Fatalf("the vendor read the project's policy: %s %v", st, err)
	}
	_, err = admin.Projects.GetIamPolicy("someone-else", &cloudresourcemanager.GetIamPolicyRequest{}).Do()
	if st := gcpStatus(t, err, 403); st != "PERMISSION_DENIED" {
		t.Fatalf("another project's policy: %s %v", st, err)
	}
}
