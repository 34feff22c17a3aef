package gcpkms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// client calls Cloud KMS's REST API (v1) and, for a project's IAM
// policy, Resource Manager's, as one identity: its HTTP client adds that
// identity's OAuth 2.0 token to every request. Field names and enum
// values are the discovery document's (cloudkms/v1, google.golang.org/api
// v0.316.0); client_test.go checks each request against the one Google's
// generated client sends for the same call.
type client struct {
	http *http.Client
	kms  string // Cloud KMS's base URL, ending in /
	crm  string // Resource Manager's base URL, ending in /; "" reads no project policy
}

// callTimeout bounds each call, so a check never hangs on a network that
// drops packets.
const callTimeout = 20 * time.Second

// maxBody bounds what is read of an answer.
const maxBody = 4 << 20

// APIError is an error answer of a Google API: the HTTP status and the
// body's {"error":{"code","message","status","details"}}.
type APIError struct {
	HTTPStatus int
	Status     string // the canonical code: "PERMISSION_DENIED", "NOT_FOUND"…
	Message    string
	// Permission is the IAM permission refused, when the answer's
	// ErrorInfo names one.
	Permission string
}

func (e *APIError) Error() string {
	s := e.Status
	if s == "" {
		s = http.StatusText(e.HTTPStatus)
	}
	return fmt.Sprintf("%s (%d): %s", s, e.HTTPStatus, e.Message)
}

// status is err's canonical code, "" when err is no API error.
func status(err error) string {
	var e *APIError
	if errors.As(err, &e) {
		return e.Status
	}
	return ""
}

// call sends one request: in (when not nil) as the JSON body, the answer
// decoded into out (when not nil).
func (c *client) call(ctx context.Context, method, base, path string, query url.Values, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	u := base + "v1/" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		return apiError(res.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not the JSON expected: %w", method, path, err)
	}
	return nil
}

// apiError reads an error answer.
func apiError(code int, body []byte) error {
	var e struct {
		Error struct {
			Message string          `json:"message"`
			Status  string          `json:"status"`
			Details json.RawMessage `json:"details"`
		} `json:"error"`
	}
	out := &APIError{HTTPStatus: code}
	if json.Unmarshal(body, &e) == nil {
		out.Status, out.Message = e.Error.Status, e.Error.Message
		var details []struct {
			Type     string            `json:"@type"`
			Metadata map[string]string `json:"metadata"`
		}
		if json.Unmarshal(e.Error.Details, &details) == nil {
			for _, d := range details {
				if strings.HasSuffix(d.Type, "google.rpc.ErrorInfo") && d.Metadata["permission"] != "" {
					out.Permission = d.Metadata["permission"]
				}
			}
		}
	}
	if out.Message == "" {
		out.Message = strings.TrimSpace(string(body[:min(len(body), 200)]))
	}
	if out.Status == "" {
		out.Status = map[int]string{400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 503: "UNAVAILABLE"}[code]
	}
	return out
}

// cryptoKey is a CryptoKey as the API sends it, with what rekwiz reads
// and writes of it.
type cryptoKey struct {
	Name             string            `json:"name,omitempty"`
	Primary          *keyVersion       `json:"primary,omitempty"`
	Purpose          string            `json:"purpose,omitempty"`
	NextRotationTime string            `json:"nextRotationTime,omitempty"`
	RotationPeriod   string            `json:"rotationPeriod,omitempty"`
	VersionTemplate  *versionTemplate  `json:"versionTemplate,omitempty"`
	Labels           map[string]string `json:"labels,omitempty"`
}

type keyVersion struct {
	Name            string `json:"name"`
	State           string `json:"state"`
	ProtectionLevel string `json:"protectionLevel"`
	Algorithm       string `json:"algorithm"`
	DestroyTime     string `json:"destroyTime,omitempty"`
}

type versionTemplate struct {
	ProtectionLevel string `json:"protectionLevel,omitempty"`
	Algorithm       string `json:"algorithm"`
}

// policy is an IAM policy. Its bindings are kept as the JSON they came
// in, so a binding rekwiz does not change goes back as it came.
type policy struct {
	Version      int               `json:"version,omitempty"`
	Bindings     []json.RawMessage `json:"bindings,omitempty"`
	AuditConfigs json.RawMessage   `json:"auditConfigs,omitempty"`
	Etag         string            `json:"etag,omitempty"`
}

// binding is what rekwiz reads of a binding.
type binding struct {
	Role      string          `json:"role"`
	Members   []string        `json:"members"`
	Condition json.RawMessage `json:"condition,omitempty"`
}

// bindings decodes the policy's bindings (a binding that does not decode
// is left out: it is kept, but read as no grant).
func (p *policy) bindings() []binding {
	var out []binding
	for _, raw := range p.Bindings {
		var b binding
		if json.Unmarshal(raw, &b) == nil {
			out = append(out, b)
		}
	}
	return out
}

// policyVersion is the version asked for and written: 3, so a binding
// with a condition is read and written back whole.
const policyVersion = 3

func (c *client) getKey(ctx context.Context, name string) (*cryptoKey, error) {
	var k cryptoKey
	if err := c.call(ctx, http.MethodGet, c.kms, name, nil, nil, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

func (c *client) getKeyRing(ctx context.Context, name string) error {
	return c.call(ctx, http.MethodGet, c.kms, name, nil, nil, &struct{}{})
}

func (c *client) createKeyRing(ctx context.Context, parent, id string) error {
	return c.call(ctx, http.MethodPost, c.kms, parent+"/keyRings", url.Values{"keyRingId": {id}}, struct{}{}, &struct{}{})
}

func (c *client) createKey(ctx context.Context, ring, id string, k *cryptoKey) (*cryptoKey, error) {
	var out cryptoKey
	if err := c.call(ctx, http.MethodPost, c.kms, ring+"/cryptoKeys", url.Values{"cryptoKeyId": {id}}, k, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// patchLabels sets the key's labels (all of them: the update mask names
// the whole map).
func (c *client) patchLabels(ctx context.Context, name string, labels map[string]string) (*cryptoKey, error) {
	var out cryptoKey
	err := c.call(ctx, http.MethodPatch, c.kms, name, url.Values{"updateMask": {"labels"}}, &cryptoKey{Labels: labels}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// getPolicy reads a key ring's or key's IAM policy.
func (c *client) getPolicy(ctx context.Context, resource string) (*policy, error) {
	var p policy
	q := url.Values{"options.requestedPolicyVersion": {fmt.Sprint(policyVersion)}}
	if err := c.call(ctx, http.MethodGet, c.kms, resource+":getIamPolicy", q, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// setPolicy writes a key's IAM policy; its etag makes a write over a
// change made since the read fail (ABORTED).
func (c *client) setPolicy(ctx context.Context, resource string, p *policy) (*policy, error) {
	var out policy
	in := struct {
		Policy *policy `json:"policy"`
	}{p}
	if err := c.call(ctx, http.MethodPost, c.kms, resource+":setIamPolicy", nil, in, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// projectPolicy reads a project's IAM policy through Resource Manager;
// ok is false when the client reads none.
func (c *client) projectPolicy(ctx context.Context, project string) (p *policy, ok bool, err error) {
	if c.crm == "" {
		return nil, false, nil
	}
	var out policy
	in := map[string]any{"options": map[string]int{"requestedPolicyVersion": policyVersion}}
	if err := c.call(ctx, http.MethodPost, c.crm, "projects/"+project+":getIamPolicy", nil, in, &out); err != nil {
		return nil, true, err
	}
	return &out, true, nil
}

// testPermissions returns which of perms the caller holds on resource.
// Any caller may ask this about itself: it needs no permission.
func (c *client) testPermissions(ctx context.Context, resource string, perms []string) ([]string, error) {
	var out struct {
		Permissions []string `json:"permissions"`
	}
	in := struct {
		Permissions []string `json:"permissions"`
	}{perms}
	if err := c.call(ctx, http.MethodPost, c.kms, resource+":testIamPermissions", nil, in, &out); err != nil {
		return nil, err
	}
	return out.Permissions, nil
}

// encrypt encrypts with the key's primary version and returns the
// ciphertext and the version that made it.
func (c *client) encrypt(ctx context.Context, key string, plaintext, aad []byte) (ciphertext []byte, version string, err error) {
	var out struct {
		Name       string `json:"name"`
		Ciphertext []byte `json:"ciphertext"`
	}
	in := struct {
		Plaintext []byte `json:"plaintext"`
		AAD       []byte `json:"additionalAuthenticatedData,omitempty"`
	}{plaintext, aad}
	if err := c.call(ctx, http.MethodPost, c.kms, key+":encrypt", nil, in, &out); err != nil {
		return nil, "", err
	}
	return out.Ciphertext, out.Name, nil
}

func (c *client) decrypt(ctx context.Context, key string, ciphertext, aad []byte) ([]byte, error) {
	var out struct {
		Plaintext []byte `json:"plaintext"`
	}
	in := struct {
		Ciphertext []byte `json:"ciphertext"`
		AAD        []byte `json:"additionalAuthenticatedData,omitempty"`
	}{ciphertext, aad}
	if err := c.call(ctx, http.MethodPost, c.kms, key+":decrypt", nil, in, &out); err != nil {
		return nil, err
	}
	return out.Plaintext, nil
}
