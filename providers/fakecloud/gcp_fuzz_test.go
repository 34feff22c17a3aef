package fakecloud_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rekwiz/rekwiz/providers/fakecloud"
)

// FuzzGCPRequest sends arbitrary Cloud KMS requests as the customer: the
// sandbox answers each with a Google error envelope or a JSON object, and
// never panics.
func FuzzGCPRequest(f *testing.F) {
	base := "/v1/projects/rekwiz-demo/locations/us-east1/keyRings/rekwiz-demo-ring"
	for _, c := range [][3]string{
		{"GET", base + "/cryptoKeys/customer-rek", ""},
		{"PATCH", base + "/cryptoKeys/customer-rek?updateMask=labels", `{"labels":{"a":"b"}}`},
		{"POST", base + "/cryptoKeys/customer-rek:encrypt", `{"plaintext":"eA==","plaintextCrc32c":"99"}`},
		{"POST", base + "/cryptoKeys/customer-rek:decrypt", `{"ciphertext":"RwAAAAE="}`},
		{"POST", base + "/cryptoKeys/customer-rek:setIamPolicy", `{"policy":{"bindings":[{"role":"roles/cloudkms.viewer","members":["user:a@b"]}],"etag":"ACAB"}}`},
		{"GET", base + "/cryptoKeys/customer-rek/cryptoKeyVersions?pageSize=1&pageToken=MQ", ""},
		{"POST", base + "/cryptoKeys?cryptoKeyId=k", `{"purpose":"ENCRYPT_DECRYPT","rotationPeriod":"1e309s"}`},
		{"POST", "/v1/projects/rekwiz-demo:getIamPolicy", `{}`},
		{"GET", "/v1/projects//locations/x/keyRings/:a", ""},
	} {
		f.Add(c[0], c[1], c[2])
	}
	sb := fakecloud.New(fakecloud.Options{Seed: 1})
	sb.SeedGCPDemo()
	token := sb.GCPCustomer().AccessToken
	f.Fuzz(func(t *testing.T, method, path, body string) {
		if !strings.HasPrefix(path, "/v1/") {
			path = "/v1/" + path
		}
		req, err := http.NewRequest(method, "http://127.0.0.1"+path, strings.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		sb.ServeHTTP(w, req)
		var out map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: %d, not a JSON object: %q", method, path, w.Code, w.Body.String())
		}
		if e, isErr := out["error"].(map[string]any); isErr != (w.Code != 200) || isErr && (e["status"] == "" || e["code"] != float64(w.Code)) {
			t.Fatalf("%s %s: %d %v", method, path, w.Code, out)
		}
	})
}
