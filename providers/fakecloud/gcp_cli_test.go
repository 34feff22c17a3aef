package fakecloud_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

// logBuffer collects the sandbox's request log for a test's failure message.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, strings.TrimSpace(string(p)))
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// gcpTestSA is the vendor's service account in these tests.
const gcpTestSA = "rekwiz-pairing@acme-kms.iam.gserviceaccount.com"

// TestGcloud drives the sandbox's Cloud KMS with the real gcloud CLI, as
// the generated scripts do (endpoint override, access token, a fresh
// configuration directory), in one walk to keep gcloud starts few; each
// step's result is checked through the sandbox's own state or the API.
func TestGcloud(t *testing.T) {
	t.Parallel()
	gcloud := fakecloudtest.Gcloud(t)
	log := &logBuffer{}
	e := fakecloudtest.Start(t, fakecloud.Options{Seed: 1, Vendor: testVendor, GCPServiceAccount: gcpTestSA, Log: log})
	env := e.GcloudEnv(t, e.GCPCustomer())
	run := func(args ...string) string {
		t.Helper()
		out, errOut, err := fakecloudtest.Run(env, "", gcloud, args...)
		if err != nil {
			t.Fatalf("gcloud %s: %v\n%s\nsandbox log:\n%s", strings.Join(args, " "), err, errOut, log)
		}
		return out
	}
	loc := []string{"--location", fakecloud.GCPLocation}
	keyArgs := append([]string{"--keyring", "ring-1"}, loc...)
	key := fakecloud.GCPKeyName(fakecloud.GCPProject, fakecloud.GCPLocation, "ring-1", "rek-1")

	run(append([]string{"kms", "keyrings", "create", "ring-1"}, loc...)...)
	run(append([]string{"kms", "keys", "create", "rek-1", "--purpose=encryption", "--protection-level=hsm",
		"--rotation-period=90d", "--next-rotation-time=2030-01-01T00:00:00Z", "--labels=owner=platform"}, keyArgs...)...)

	var d struct {
		Name, Purpose, RotationPeriod, NextRotationTime string
		Labels                                          map[string]string
		Primary                                         struct{ State, ProtectionLevel string }
	}
	if err := json.Unmarshal([]byte(run(append([]string{"kms", "keys", "describe", "rek-1", "--format=json"}, keyArgs...)...)), &d); err != nil {
		t.Fatal(err)
	}
	if d.Name != key || d.Purpose != "ENCRYPT_DECRYPT" || d.RotationPeriod != "7776000s" || d.Primary.State != "ENABLED" || d.Primary.ProtectionLevel != "HSM" || d.Labels["owner"] != "platform" {
		t.Fatalf("describe = %+v", d)
	}

	// Labels: gcloud reads the key, then patches with updateMask=labels.
	run(append([]string{"kms", "keys", "update", "rek-1", "--update-labels=dm-lcajvnue94b=allow"}, keyArgs...)...)
	if l := e.GCPKeyLabels(key); l["dm-lcajvnue94b"] != "allow" || l["owner"] != "platform" {
		t.Fatalf("labels after --update-labels: %v", l)
	}
	run(append([]string{"kms", "keys", "update", "rek-1", "--remove-labels=dm-lcajvnue94b"}, keyArgs...)...)
	if l := e.GCPKeyLabels(key); len(l) != 1 || l["owner"] != "platform" {
		t.Fatalf("labels after --remove-labels: %v", l)
	}

	// IAM: gcloud's read-modify-write with the policy's etag.
	e.GrantGCPRole(key, fakecloud.RoleKMSViewer, "group:auditors@example.com") // a foreign binding to keep
	member := "serviceAccount:" + gcpTestSA
	run(append([]string{"kms", "keys", "add-iam-policy-binding", "rek-1", "--member=" + member,
		"--role=" + fakecloud.RoleCryptoKeyEncrypterDecrypter}, keyArgs...)...)
	var pol struct {
		Etag     string
		Bindings []struct {
			Role    string
			Members []string
		}
	}
	if err := json.Unmarshal([]byte(run(append([]string{"kms", "keys", "get-iam-policy", "rek-1", "--format=json"}, keyArgs...)...)), &pol); err != nil {
		t.Fatal(err)
	}
	roles := map[string][]string{}
	for _, b := range pol.Bindings {
		roles[b.Role] = b.Members
	}
	if pol.Etag == "" || !slices.Equal(roles[fakecloud.RoleCryptoKeyEncrypterDecrypter], []string{member}) ||
		!slices.Equal(roles[fakecloud.RoleKMSViewer], []string{"group:auditors@example.com"}) {
		t.Fatalf("policy after add-iam-policy-binding: %+v", pol)
	}

	// The vendor, through gcloud: encrypt and decrypt yes, describe no.
	vendorEnv := e.GcloudEnv(t, e.GCPVendor())
	dir := t.TempDir()
	plain, cipher, back := filepath.Join(dir, "plain"), filepath.Join(dir, "cipher"), filepath.Join(dir, "back")
	if err := os.WriteFile(plain, []byte("rekwiz pairing check"), 0o600); err != nil {
		t.Fatal(err)
	}
	fakecloudtest.MustRun(t, vendorEnv, gcloud, append([]string{"kms", "encrypt", "--key", "rek-1", "--plaintext-file", plain,
		"--ciphertext-file", cipher, "--additional-authenticated-data-file", plain}, keyArgs...)...)
	fakecloudtest.MustRun(t, vendorEnv, gcloud, append([]string{"kms", "decrypt", "--key", "rek-1", "--plaintext-file", back,
		"--ciphertext-file", cipher, "--additional-authenticated-data-file", plain}, keyArgs...)...)
	if b, err := os.ReadFile(back); err != nil || string(b) != "rekwiz pairing check" {
		t.Fatalf("decrypted %q, %v", b, err)
	}
	_, errOut, err := fakecloudtest.Run(vendorEnv, "", gcloud, append([]string{"kms", "keys", "describe", "rek-1"}, keyArgs...)...)
	if err == nil || !strings.Contains(errOut, "PERMISSION_DENIED") || !strings.Contains(errOut, "cloudkms.cryptoKeys.get") {
		t.Fatalf("the vendor described the key: err=%v\n%s", err, errOut)
	}

	run(append([]string{"kms", "keys", "remove-iam-policy-binding", "rek-1", "--member=" + member,
		"--role=" + fakecloud.RoleCryptoKeyEncrypterDecrypter}, keyArgs...)...)
	_, errOut, err = fakecloudtest.Run(vendorEnv, "", gcloud, append([]string{"kms", "encrypt", "--key", "rek-1", "--plaintext-file", plain,
		"--ciphertext-file", cipher}, keyArgs...)...)
	if err == nil || !strings.Contains(errOut, "cloudkms.cryptoKeyVersions.useToEncrypt") {
		t.Fatalf("the vendor encrypted after remove-iam-policy-binding: err=%v\n%s", err, errOut)
	}

	var versions []struct{ Name, State string }
	if err := json.Unmarshal([]byte(run(append([]string{"kms", "keys", "versions", "list", "--key", "rek-1", "--format=json"}, keyArgs...)...)), &versions); err != nil {
		t.Fatal(err)
	}
	if len(versions) != 1 || versions[0].Name != key+"/cryptoKeyVersions/1" || versions[0].State != "ENABLED" {
		t.Fatalf("versions list = %+v", versions)
	}
	_, errOut, err = fakecloudtest.Run(env, "", gcloud, append([]string{"kms", "keys", "describe", "no-such-key"}, keyArgs...)...)
	if err == nil || !strings.Contains(errOut, "NOT_FOUND") {
		t.Fatalf("describe a missing key: err=%v\n%s", err, errOut)
	}
	// A script's "make the key ring only if missing": describe, then create.
	_, errOut, err = fakecloudtest.Run(env, "", gcloud, append([]string{"kms", "keyrings", "describe", "no-such-ring"}, loc...)...)
	if err == nil || !strings.Contains(errOut, "NOT_FOUND") || !strings.Contains(errOut, "keyRings/no-such-ring not found") {
		t.Fatalf("describe a missing key ring: err=%v\n%s", err, errOut)
	}
	_, errOut, err = fakecloudtest.Run(env, "", gcloud, append([]string{"kms", "keyrings", "create", "ring-1"}, loc...)...)
	if err == nil || !strings.Contains(errOut, "ALREADY_EXISTS") {
		t.Fatalf("create a key ring twice: err=%v\n%s", err, errOut)
	}
}
