package fakecloud

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The sandbox's Google OAuth 2.0 token endpoint: the JWT bearer grant
// (RFC 7523) that service-account keys use, as oauth2.googleapis.com/token
// answers it. The assertion must be RS256-signed by the key the sandbox
// issued (GCPServiceAccountJSON), name the service account as iss, the
// token endpoint as aud, a cloud-platform or cloudkms scope, and live at
// most an hour. The access token it returns is good for an hour.

// gcpTokenPath is the token endpoint's path on the sandbox.
const gcpTokenPath = "/token"

// Scopes a Cloud KMS token may be asked for.
var gcpScopes = []string{"https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/cloudkms"}

// oauthError answers as Google's token endpoint does:
// {"error":"invalid_grant","error_description":"…"}.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// gcpKeyOf makes (once) the identity's RSA key; callers hold mu.
func (s *Sandbox) gcpKeyOf(id *GCPIdentity) (*rsa.PrivateKey, error) {
	if id.key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		id.key = k
	}
	return id.key, nil
}

// GCPServiceAccountJSON is a service-account key file for id, as the
// console or `gcloud iam service-accounts keys create` writes it, whose
// token_uri is tokenURL (Server.GCPTokenURL): the Go SDK and gcloud read
// it from GOOGLE_APPLICATION_CREDENTIALS and get their tokens from the
// sandbox. It holds a private key: keep it in a file only the user can read.
func (s *Sandbox) GCPServiceAccountJSON(id GCPIdentity, tokenURL string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var who *GCPIdentity
	for _, x := range []*GCPIdentity{s.gcp.customer, s.gcp.vendor} {
		if x.Email == id.Email {
			who = x
		}
	}
	if who == nil {
		return nil, fmt.Errorf("sandbox: no GCP service account %q", id.Email)
	}
	key, err := s.gcpKeyOf(who)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	project := GCPProject
	if who == s.gcp.vendor {
		project = strings.TrimSuffix(who.Email[strings.Index(who.Email, "@")+1:], ".iam.gserviceaccount.com")
	}
	return json.MarshalIndent(map[string]string{
		"type":                        "service_account",
		"project_id":                  project,
		"private_key_id":              who.KeyID,
		"private_key":                 string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email":                who.Email,
		"client_id":                   who.ClientID,
		"auth_uri":                    "https://accounts.google.com/o/oauth2/auth",
		"token_uri":                   tokenURL,
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"client_x509_cert_url":        "https://www.googleapis.com/robot/v1/metadata/x509/" + url.PathEscape(who.Email),
		"universe_domain":             "googleapis.com",
	}, "", "  ")
}

// serveGCPToken answers the token endpoint.
func (s *Sandbox) serveGCPToken(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, "invalid_request", "The token endpoint takes POST only.")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request body is not form-encoded.")
		return
	}
	if g := form.Get("grant_type"); g != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		s.logf("gcp token grant %q -> unsupported", g)
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: "+g)
		return
	}
	aud := "http://" + r.Host + gcpTokenPath
	id, errCode, errDesc := s.checkAssertion(form.Get("assertion"), aud)
	if id == nil {
		s.logf("gcp token -> %s", errCode)
		oauthError(w, http.StatusBadRequest, errCode, errDesc)
		return
	}
	s.mu.Lock()
	tok := "ya29.c." + s.randString(160, tokenChars)
	s.gcp.tokens[tok] = gcpToken{id: id, expires: s.now().Add(time.Hour)}
	s.mu.Unlock()
	s.logf("gcp token %s -> ok", id.Name)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "expires_in": 3599, "token_type": "Bearer"})
}

// checkAssertion verifies a JWT bearer assertion and returns whose it is,
// or the OAuth error code and description Google answers with.
func (s *Sandbox) checkAssertion(assertion, aud string) (*GCPIdentity, string, string) {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return nil, "invalid_request", "Invalid JWT: the assertion is not a signed JWT."
	}
	var hdr struct{ Alg, Kid string }
	var claims struct {
		Iss, Scope, Aud, Sub, TargetAudience string
		Iat, Exp                             int64
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(cb, &claims) != nil {
		return nil, "invalid_request", "Invalid JWT: the assertion is not a valid JWT."
	}
	s.mu.Lock()
	var id *GCPIdentity
	for _, x := range []*GCPIdentity{s.gcp.customer, s.gcp.vendor} {
		if x.Email == claims.Iss {
			id = x
		}
	}
	var pub *rsa.PublicKey
	if id != nil && id.key != nil {
		pub = &id.key.PublicKey
	}
	now := s.now()
	s.mu.Unlock()
	switch {
	case id == nil:
		return nil, "invalid_grant", "Invalid grant: account not found"
	case hdr.Alg != "RS256":
		return nil, "invalid_grant", "Invalid JWT Signature."
	case pub == nil || hdr.Kid != "" && hdr.Kid != id.KeyID:
		return nil, "invalid_grant", "Invalid JWT Signature."
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return nil, "invalid_grant", "Invalid JWT Signature."
	}
	if claims.Exp-claims.Iat > 3600 || claims.Exp <= now.Unix() || claims.Iat > now.Add(5*time.Minute).Unix() {
		return nil, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."
	}
	if claims.Aud != aud {
		return nil, "invalid_grant", "Invalid JWT: Failed audience check. The right audience is " + aud
	}
	if claims.Sub != "" && claims.Sub != claims.Iss {
		return nil, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."
	}
	ok := false
	for _, sc := range strings.Fields(claims.Scope) {
		ok = ok || slices.Contains(gcpScopes, sc)
	}
	if !ok {
		return nil, "invalid_scope", "Invalid OAuth scope or ID token audience provided."
	}
	return id, "", ""
}

// gcpCaller returns whose a request's bearer token is, or nil.
func (s *Sandbox) gcpCaller(r *http.Request) (*GCPIdentity, bool) {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return nil, auth != ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.gcp.tokens[tok]
	if !ok || !t.expires.IsZero() && s.now().After(t.expires) {
		return nil, true
	}
	return t.id, true
}
