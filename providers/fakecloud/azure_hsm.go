package fakecloud

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// --- Managed HSM --------------------------------------------------------

// hsmError writes a Managed HSM error body, {"error":{"code","message"}}.
// The codes are the ones the service sends (recordings named in
// azure_test.go): AccessDenied, KeyNotFound, BadParameter,
// RoleAssignmentNotFound, Forbidden with an inner KeyDisabled or
// KeyOperationForbidden. Where the sandbox needs an answer no recording
// shows, the code is marked so in a comment, and rekwiz matches on the
// status only.
func hsmError(w http.ResponseWriter, status int, code, msg, inner string) {
	w.Header().Set("Content-Type", hsmContentType)
	w.WriteHeader(status)
	e := map[string]any{"code": code, "message": msg}
	if inner != "" {
		e["innererror"] = map[string]string{"code": inner}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

const hsmContentType = "application/json; charset=utf-8"

// covers reports whether a role assigned at scope applies at target:
// "/" covers everything, "/keys" every key, "/keys/K" that key.
func covers(scope, target string) bool {
	return scope == "/" || scope == target || strings.HasPrefix(target, strings.TrimSuffix(scope, "/")+"/")
}

// allowed reports whether a principal holds a role granting the data
// action (without its prefix) at target.
func (h *managedHSM) allowed(principal, action, target string) bool {
	for _, a := range h.assignments {
		d := roleDef(a.RoleID)
		if a.PrincipalID == principal && d != nil && slices.Contains(d.DataActions, action) && covers(a.Scope, target) {
			return true
		}
	}
	return false
}

// denied answers as Managed HSM does when a caller's roles do not grant
// an action: 403, code AccessDenied, naming the action and the scope (as
// azure-cli issue 32719 quotes it).
func (s *Sandbox) denied(w http.ResponseWriter, app *AzureApp, action, target string) {
	s.logf("hsm %s on %s %s -> AccessDenied", action, target, app.Name)
	hsmError(w, http.StatusForbidden, "AccessDenied", fmt.Sprintf("Not authorized to access %s%s on %s (Activity ID: %s)", hsmActionPrefix, action, target, s.uuid()), "")
}

func (s *Sandbox) serveHSM(w http.ResponseWriter, r *http.Request, body []byte, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.az.hsms[name]
	if h == nil {
		// A client never gets here: the name of an HSM that does not
		// exist does not resolve (Server.AzureHTTPClient answers as DNS
		// would). The real service has no "no such HSM" reply.
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	app := s.azCaller(r, hsmResource)
	if app == nil {
		// The challenge azkeys answers by getting a token for the
		// tenant and resource it names. Managed HSM sends it with no
		// error body (test_keyvault_hsm_key_encrypt_AES.yaml).
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="https://%s/%s", resource="%s"`, azureLoginHost, s.az.tenant, hsmResource))
		w.Header().Set("Content-Type", hsmContentType)
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	s.mu.Unlock()
	err := s.applyFaults("hsm", r.Method+" "+r.URL.Path, app.Name) // takes the lock itself
	s.mu.Lock()
	if err != nil {
		if err.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		hsmError(w, err.Status, err.Code, err.Message, "")
		return
	}
	var parts []string
	for _, p := range strings.Split(r.URL.Path, "/") {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if i := slices.Index(parts, "providers"); i >= 0 {
		s.hsmRBAC(w, r, body, h, app, "/"+strings.Join(parts[:i], "/"), parts[i:])
		return
	}
	if len(parts) < 2 || parts[0] != "keys" {
		hsmError(w, http.StatusNotFound, "NotFound", "The rekwiz sandbox does not serve "+r.URL.Path, "") // marked: no recording shows this reply
		return
	}
	keyName, op := parts[1], ""
	if last := parts[len(parts)-1]; len(parts) > 2 && (last == "create" || last == "wrapkey" || last == "unwrapkey") {
		op = last
	}
	need := map[string]string{"": "keys/read/action", "create": "keys/create", "wrapkey": "keys/wrap/action", "unwrapkey": "keys/unwrap/action"}[op]
	if r.Method == http.MethodPatch {
		need = "keys/write/action"
	}
	target := "/keys/" + keyName
	if !h.allowed(app.ObjectID, need, target) {
		s.denied(w, app, need, target)
		return
	}
	k := h.keys[keyName]
	switch {
	case op == "create" && r.Method == http.MethodPost:
		s.createHSMKey(w, body, h, keyName)
		return
	case k == nil:
		hsmError(w, http.StatusNotFound, "KeyNotFound", fmt.Sprintf("A key with (name/id) %s was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command.", keyName), "")
		return
	case op == "" && r.Method == http.MethodGet:
		s.logf("hsm get key %s %s -> ok", keyName, app.Name)
		writeHSM(w, k.bundle(h.name))
	case op == "" && r.Method == http.MethodPatch:
		s.updateHSMKey(w, body, h, k)
	case op == "wrapkey" || op == "unwrapkey":
		s.wrap(w, body, h, k, op)
	default:
		hsmError(w, http.StatusMethodNotAllowed, "BadParameter", r.Method+" "+r.URL.Path+" is not supported.", "")
	}
}

func writeHSM(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", hsmContentType)
	_ = json.NewEncoder(w).Encode(v)
}

func (k *hsmKey) bundle(hsm string) map[string]any {
	attrs := map[string]any{"enabled": k.enabled, "created": k.created.Unix(), "updated": k.updated.Unix(), "recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90, "exportable": false}
	if k.nbf != nil {
		attrs["nbf"] = k.nbf.Unix()
	}
	if k.exp != nil {
		attrs["exp"] = k.exp.Unix()
	}
	b := map[string]any{
		"key":        map[string]any{"kid": kid(hsm, k), "kty": k.kty, "key_ops": k.ops},
		"attributes": attrs,
	}
	if len(k.tags) > 0 { // the service leaves "tags" out of a key with none
		b["tags"] = k.tags
	}
	return b
}

type hsmAttributes struct {
	Enabled *bool  `json:"enabled"`
	NBF     *int64 `json:"nbf"`
	Exp     *int64 `json:"exp"`
}

func (s *Sandbox) createHSMKey(w http.ResponseWriter, body []byte, h *managedHSM, name string) {
	var in struct {
		Kty        string            `json:"kty"`
		KeySize    int               `json:"key_size"`
		KeyOps     []string          `json:"key_ops"`
		Tags       map[string]string `json:"tags"`
		Attributes *hsmAttributes    `json:"attributes"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		hsmError(w, http.StatusBadRequest, "BadParameter", "The request body is not valid JSON: "+err.Error(), "")
		return
	}
	switch {
	case in.Kty == "oct-HSM" && (in.KeySize == 128 || in.KeySize == 192 || in.KeySize == 256):
	case in.Kty == "RSA-HSM" && (in.KeySize == 0 || in.KeySize == 2048 || in.KeySize == 3072 || in.KeySize == 4096):
	default:
		hsmError(w, http.StatusBadRequest, "BadParameter", fmt.Sprintf("Key type %q of size %d is not supported by this Managed HSM.", in.Kty, in.KeySize), "")
		return
	}
	if in.KeyOps == nil {
		in.KeyOps = []string{"encrypt", "decrypt", "wrapKey", "unwrapKey"}
	}
	k := s.newHSMKey(name, in.Kty, in.KeySize, in.KeyOps, in.Tags)
	if in.Attributes != nil && in.Attributes.Enabled != nil {
		k.enabled = *in.Attributes.Enabled
	}
	h.keys[name] = k
	s.logf("hsm create key %s -> ok", name)
	writeHSM(w, k.bundle(h.name))
}

func (s *Sandbox) updateHSMKey(w http.ResponseWriter, body []byte, h *managedHSM, k *hsmKey) {
	var in struct {
		KeyOps     []string           `json:"key_ops"`
		Tags       *map[string]string `json:"tags"`
		Attributes *hsmAttributes     `json:"attributes"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		hsmError(w, http.StatusBadRequest, "BadParameter", "The request body is not valid JSON: "+err.Error(), "")
		return
	}
	if in.KeyOps != nil {
		k.ops = in.KeyOps
	}
	if in.Tags != nil { // tags sent replace the key's tags, all of them
		k.tags = map[string]string{}
		for t, v := range *in.Tags {
			k.tags[t] = v
		}
	}
	if a := in.Attributes; a != nil {
		if a.Enabled != nil {
			k.enabled = *a.Enabled
		}
		if a.NBF != nil {
			t := time.Unix(*a.NBF, 0).UTC()
			k.nbf = &t
		}
		if a.Exp != nil {
			t := time.Unix(*a.Exp, 0).UTC()
			k.exp = &t
		}
	}
	k.updated = s.now().UTC().Truncate(time.Second)
	s.logf("hsm update key %s -> ok", k.name)
	writeHSM(w, k.bundle(h.name))
}

func (s *Sandbox) wrap(w http.ResponseWriter, body []byte, h *managedHSM, k *hsmKey, op string) {
	var in struct {
		Alg   string `json:"alg"`
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		hsmError(w, http.StatusBadRequest, "BadParameter", "The request body is not valid JSON.", "")
		return
	}
	opName := map[string]string{"wrapkey": "wrapKey", "unwrapkey": "unwrapKey"}[op]
	now := s.now()
	switch {
	case !k.enabled:
		// As for a disabled secret ("Operation get is not allowed on a
		// disabled secret.", inner code SecretDisabled: azure-sdk-for-js
		// issue 24756).
		hsmError(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("Operation %q is not allowed on a disabled key.", opName), "KeyDisabled")
		return
	case k.exp != nil && now.After(*k.exp):
		// marked: no recording shows this reply; the inner code is a
		// guess, and rekwiz reads the key's dates, not this code.
		hsmError(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("Operation %q is not allowed on an expired key.", opName), "KeyExpired")
		return
	case k.nbf != nil && now.Before(*k.nbf):
		// marked: no recording shows this reply (see KeyExpired).
		hsmError(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("Operation %q is not allowed on a key that is not yet valid.", opName), "KeyNotYetValid")
		return
	case !slices.Contains(k.ops, opName):
		// The body azure-sdk-for-net issue 11518 quotes.
		hsmError(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("Operation %s is not permitted on this key.", opName), "KeyOperationForbidden")
		return
	case k.kty != "oct-HSM":
		hsmError(w, http.StatusBadRequest, "BadParameter", fmt.Sprintf("Algorithm %s is not supported for key type %s.", in.Alg, k.kty), "")
		return
	}
	value, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(in.Value, "="))
	if err != nil {
		hsmError(w, http.StatusBadRequest, "BadParameter", "value is not base64url.", "")
		return
	}
	var out []byte
	switch want := map[string]int{"A128KW": 128, "A192KW": 192, "A256KW": 256}[in.Alg]; {
	case want != 0 && want != k.size:
		hsmError(w, http.StatusBadRequest, "BadParameter", fmt.Sprintf("Algorithm %s needs a %d-bit key; this key has %d bits.", in.Alg, want, k.size), "")
		return
	case want != 0 || in.Alg == "CKM_AES_KEY_WRAP":
		if op == "wrapkey" {
			out, err = aesKeyWrap(k.material, value)
		} else {
			out, err = aesKeyUnwrap(k.material, value)
		}
	case in.Alg == "CKM_AES_KEY_WRAP_PAD":
		if op == "wrapkey" {
			out, err = aesKeyWrapPad(k.material, value)
		} else {
			out, err = aesKeyUnwrapPad(k.material, value)
		}
	default:
		hsmError(w, http.StatusBadRequest, "BadParameter", fmt.Sprintf("Algorithm %q is not supported for oct-HSM keys.", in.Alg), "")
		return
	}
	if err != nil {
		hsmError(w, http.StatusBadRequest, "BadParameter", err.Error(), "")
		return
	}
	s.logf("hsm %s %s -> ok", op, k.name)
	writeHSM(w, map[string]string{"kid": kid(h.name, k), "value": base64.RawURLEncoding.EncodeToString(out)})
}
