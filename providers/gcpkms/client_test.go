package gcpkms

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"

	cloudkms "google.golang.org/api/cloudkms/v1"
	crm "google.golang.org/api/cloudresourcemanager/v1"
	"google.golang.org/api/option"
)

// request is what a call put on the wire, its JSON body decoded.
type request struct {
	Method, Path string
	Query        map[string][]string
	Body         any
}

// recorder answers every call with answer and records the requests.
type recorder struct {
	mu     sync.Mutex
	reqs   []request
	answer string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var body any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &body); err != nil {
			body = "not JSON: " + string(b)
		}
	}
	q := r.URL.Query()
	// The generated client asks for compact JSON; the answer is the same.
	q.Del("alt")
	q.Del("prettyPrint")
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, request{r.Method, r.URL.Path, q, body})
	answer := rc.answer
	rc.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, answer)
}

func (rc *recorder) take() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := rc.reqs
	rc.reqs = nil
	return out
}

// TestRequestsMatchGooglesClient: each call rekwiz makes puts on the wire
// what Google's generated client (google.golang.org/api/cloudkms/v1)
// puts there for the same call, and reads its answer the same way.
func TestRequestsMatchGooglesClient(t *testing.T) {
	t.Parallel()
	rc := &recorder{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	ctx := context.Background()
	sdk, err := cloudkms.NewService(ctx, option.WithEndpoint(srv.URL+"/"), option.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	rm, err := crm.NewService(ctx, option.WithEndpoint(srv.URL+"/"), option.WithHTTPClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}
	ours := &client{http: srv.Client(), kms: srv.URL + "/", crm: srv.URL + "/"}
	const (
		ringName = "projects/p-123456/locations/us-east1/keyRings/r"
		key      = ringName + "/cryptoKeys/k"
	)
	keys := sdk.Projects.Locations.KeyRings.CryptoKeys
	policyJSON := `{"version":3,"etag":"BwXhqDZ2Xes=","bindings":[{"role":"roles/cloudkms.viewer","members":["group:g@example.com"],"condition":{"title":"t","expression":"request.time < timestamp(\"2030-01-01T00:00:00Z\")"}}]}`
	var sdkPolicy cloudkms.Policy
	if err := json.Unmarshal([]byte(policyJSON), &sdkPolicy); err != nil {
		t.Fatal(err)
	}
	var ourPolicy policy
	if err := json.Unmarshal([]byte(policyJSON), &ourPolicy); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"dm-lcajvnue94b": "allow", "owner": "x"}
	cases := []struct {
		name   string
		answer string
		sdk    func() error
		ours   func() error
	}{
		{"get key", `{"name":"` + key + `","purpose":"ENCRYPT_DECRYPT","primary":{"name":"` + key + `/cryptoKeyVersions/2","state":"DISABLED","protectionLevel":"HSM"},"labels":{"a":"b"},"rotationPeriod":"7776000s"}`,
			func() error {
				k, err := keys.Get(key).Do()
				if err == nil && (k.Primary.State != "DISABLED" || k.Labels["a"] != "b" || k.RotationPeriod != "7776000s") {
					t.Errorf("the SDK read %+v", k)
				}
				return err
			},
			func() error {
				k, err := ours.getKey(ctx, key)
				if err == nil && (k.Primary.State != "DISABLED" || k.Labels["a"] != "b" || k.RotationPeriod != "7776000s" || k.Purpose != "ENCRYPT_DECRYPT") {
					t.Errorf("rekwiz read %+v", k)
				}
				return err
			}},
		{"get key IAM policy", policyJSON,
			func() error { _, err := keys.GetIamPolicy(key).OptionsRequestedPolicyVersion(3).Do(); return err },
			func() error {
				p, err := ours.getPolicy(ctx, key)
				if err == nil && (p.Etag != "BwXhqDZ2Xes=" || len(p.bindings()) != 1 || p.bindings()[0].Role != "roles/cloudkms.viewer") {
					t.Errorf("rekwiz read %+v", p)
				}
				return err
			}},
		{"get key ring IAM policy", policyJSON,
			func() error {
				_, err := sdk.Projects.Locations.KeyRings.GetIamPolicy(ringName).OptionsRequestedPolicyVersion(3).Do()
				return err
			},
			func() error { _, err := ours.getPolicy(ctx, ringName); return err }},
		{"get project IAM policy", policyJSON,
			func() error {
				_, err := rm.Projects.GetIamPolicy("p-123456", &crm.GetIamPolicyRequest{Options: &crm.GetPolicyOptions{RequestedPolicyVersion: 3}}).Do()
				return err
			},
			func() error {
				p, ok, err := ours.projectPolicy(ctx, "p-123456")
				if err == nil && (!ok || len(p.bindings()) != 1) {
					t.Errorf("rekwiz read %v %+v", ok, p)
				}
				return err
			}},
		{"set key IAM policy", policyJSON,
			func() error {
				_, err := keys.SetIamPolicy(key, &cloudkms.SetIamPolicyRequest{Policy: &sdkPolicy}).Do()
				return err
			},
			func() error { _, err := ours.setPolicy(ctx, key, &ourPolicy); return err }},
		{"patch labels", `{}`,
			func() error {
				_, err := keys.Patch(key, &cloudkms.CryptoKey{Labels: labels}).UpdateMask("labels").Do()
				return err
			},
			func() error { _, err := ours.patchLabels(ctx, key, labels); return err }},
		{"create key ring", `{}`,
			func() error {
				_, err := sdk.Projects.Locations.KeyRings.Create("projects/p-123456/locations/us-east1", &cloudkms.KeyRing{}).KeyRingId("r").Do()
				return err
			},
			func() error { return ours.createKeyRing(ctx, "projects/p-123456/locations/us-east1", "r") }},
		{"create key", `{}`,
			func() error {
				_, err := keys.Create(ringName, &cloudkms.CryptoKey{
					Purpose:         "ENCRYPT_DECRYPT",
					VersionTemplate: &cloudkms.CryptoKeyVersionTemplate{ProtectionLevel: "HSM", Algorithm: "GOOGLE_SYMMETRIC_ENCRYPTION"},
					RotationPeriod:  "7776000s", NextRotationTime: "2027-03-02T16:00:00Z", Labels: labels,
				}).CryptoKeyId("k").Do()
				return err
			},
			func() error {
				_, err := ours.createKey(ctx, ringName, "k", &cryptoKey{
					Purpose:         "ENCRYPT_DECRYPT",
					VersionTemplate: &versionTemplate{ProtectionLevel: "HSM", Algorithm: "GOOGLE_SYMMETRIC_ENCRYPTION"},
					RotationPeriod:  "7776000s", NextRotationTime: "2027-03-02T16:00:00Z", Labels: labels,
				})
				return err
			}},
		{"encrypt", `{"name":"` + key + `/cryptoKeyVersions/2","ciphertext":"AQID"}`,
			func() error {
				_, err := keys.Encrypt(key, &cloudkms.EncryptRequest{Plaintext: "c2VjcmV0", AdditionalAuthenticatedData: "ZG0tTENBSlZuVUU5NEI="}).Do()
				return err
			},
			func() error {
				ct, v, err := ours.encrypt(ctx, key, []byte("secret"), []byte("dm-LCAJVnUE94B"))
				if err == nil && (string(ct) != "\x01\x02\x03" || v != key+"/cryptoKeyVersions/2") {
					t.Errorf("rekwiz read %q %q", ct, v)
				}
				return err
			}},
		{"decrypt", `{"plaintext":"c2VjcmV0"}`,
			func() error {
				_, err := keys.Decrypt(key, &cloudkms.DecryptRequest{Ciphertext: "AQID", AdditionalAuthenticatedData: "ZG0tTENBSlZuVUU5NEI="}).Do()
				return err
			},
			func() error {
				pt, err := ours.decrypt(ctx, key, []byte{1, 2, 3}, []byte("dm-LCAJVnUE94B"))
				if err == nil && string(pt) != "secret" {
					t.Errorf("rekwiz read %q", pt)
				}
				return err
			}},
		{"test permissions", `{"permissions":["cloudkms.cryptoKeyVersions.useToEncrypt"]}`,
			func() error {
				_, err := keys.TestIamPermissions(key, &cloudkms.TestIamPermissionsRequest{Permissions: probed}).Do()
				return err
			},
			func() error {
				held, err := ours.testPermissions(ctx, key, probed)
				if err == nil && !reflect.DeepEqual(held, []string{permEncrypt}) {
					t.Errorf("rekwiz read %q", held)
				}
				return err
			}},
	}
	for _, tc := range cases {
		rc.answer = tc.answer
		if err := tc.sdk(); err != nil {
			t.Fatalf("%s: the SDK: %v", tc.name, err)
		}
		want := rc.take()
		if err := tc.ours(); err != nil {
			t.Fatalf("%s: rekwiz: %v", tc.name, err)
		}
		got := rc.take()
		if len(want) != 1 || !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\nGoogle's client sent %+v\nrekwiz sent          %+v", tc.name, want, got)
		}
	}
}

// TestErrorsAreRead: an error answer's status, message and refused
// permission are read from Google's error body.
func TestErrorsAreRead(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"error":{"code":403,"message":"Permission 'cloudkms.cryptoKeyVersions.useToEncrypt' denied on resource 'k' (or it may not exist).","status":"PERMISSION_DENIED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"IAM_PERMISSION_DENIED","domain":"cloudkms.googleapis.com","metadata":{"permission":"cloudkms.cryptoKeyVersions.useToEncrypt","resource":"k"}}]}}`)
	}))
	defer srv.Close()
	c := &client{http: srv.Client(), kms: srv.URL + "/"}
	_, _, err := c.encrypt(context.Background(), "k", []byte("x"), nil)
	ae, ok := err.(*APIError)
	if !ok || ae.Status != "PERMISSION_DENIED" || ae.HTTPStatus != 403 || ae.Permission != "cloudkms.cryptoKeyVersions.useToEncrypt" {
		t.Fatalf("%T %+v", err, err)
	}
	if pr := explain(err, "the vendor"); !pr.denied || pr.detail != "the vendor lacks the permission cloudkms.cryptoKeyVersions.useToEncrypt (or the key does not exist)" {
		t.Errorf("explained as %+v", pr)
	}
}
