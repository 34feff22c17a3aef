package sandbox

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// The sandbox's Azure: Microsoft Entra ID's token endpoint (client
// credentials), Microsoft Graph's service principals, and Managed HSM's
// keys and role assignments, served on the real host names to clients
// whose transport goes through the sandbox (Server.AzureHTTPClient), over
// TLS with the sandbox's own CA.

// Azure host names the sandbox answers for.
const (
	azureLoginHost = "login.microsoftonline.com"
	azureGraphHost = "graph.microsoft.com"
	hsmSuffix      = ".managedhsm.azure.net"
	hsmResource    = "https://managedhsm.azure.net"
	graphResource  = "https://graph.microsoft.com"
)

// Managed HSM's built-in roles the sandbox knows, by name and ID.
var hsmRoles = map[string]string{
	"Managed HSM Administrator":        "a290e904-7015-4bba-90c8-60543313cdb4",
	"Managed HSM Crypto Officer":       "515eb02d-2335-4d2d-92f2-b1cbdf9c3778",
	"Managed HSM Crypto User":          "21dbd100-6940-42c2-9190-5d6cb909625b",
	"Managed HSM Crypto Auditor":       "2c18b078-7c48-4d3a-af88-5a3a1b3f82b3",
	"Managed HSM Policy Administrator": "4bd23610-cdcf-4971-bdee-bdc562cc28e4",
}

func roleName(id string) string {
	id = id[strings.LastIndex(id, "/")+1:]
	for n, rid := range hsmRoles {
		if rid == id {
			return n
		}
	}
	return ""
}

// AzureApp is an application that can get tokens: the customer's admin
// (a service principal of the customer's tenant) or the vendor's
// multi-tenant application.
type AzureApp struct {
	Name         string
	TenantID     string // the tenant it signs in to (the customer's)
	ClientID     string
	ClientSecret string
	ObjectID     string // its service principal's object ID in the tenant; "" until one exists
}

type azToken struct {
	app      *AzureApp
	tenant   string
	audience string
	expires  time.Time
}

type hsmKey struct {
	name, version, kty string
	size               int
	ops                []string
	tags               map[string]string
	enabled            bool
	nbf, exp           *time.Time
	created, updated   time.Time
	material           []byte
}

type roleAssignment struct {
	Name, PrincipalID, RoleID, Scope string
}

type managedHSM struct {
	name        string
	keys        map[string]*hsmKey
	assignments []roleAssignment
}

type azureState struct {
	tenant   string
	customer *AzureApp
	vendor   *AzureApp
	tokens   map[string]azToken
	hsms     map[string]*managedHSM
}

func (s *Sandbox) newAzure(vendorAppID string) azureState {
	st := azureState{tenant: s.uuid(), tokens: map[string]azToken{}, hsms: map[string]*managedHSM{}}
	st.customer = &AzureApp{Name: "customer", TenantID: st.tenant, ClientID: s.uuid(), ClientSecret: s.randString(40, secretChars), ObjectID: s.uuid()}
	st.vendor = &AzureApp{Name: "vendor", TenantID: st.tenant, ClientID: vendorAppID, ClientSecret: s.randString(40, secretChars)}
	return st
}

// AzureTenant is the customer's tenant ID.
func (s *Sandbox) AzureTenant() string { return s.az.tenant }

// AzureCustomer is the customer's admin application.
func (s *Sandbox) AzureCustomer() AzureApp {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.az.customer
}

// AzureVendor is the vendor's application, signing in to the customer's
// tenant (it works there once a service principal exists for it).
func (s *Sandbox) AzureVendor() AzureApp {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.az.vendor
}

// CreateHSM makes a Managed HSM whose administrator is the customer
// (Administrator and Crypto Officer at "/").
func (s *Sandbox) CreateHSM(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := &managedHSM{name: name, keys: map[string]*hsmKey{}}
	for _, r := range []string{"Managed HSM Administrator", "Managed HSM Crypto Officer"} {
		h.assignments = append(h.assignments, roleAssignment{Name: s.uuid(), PrincipalID: s.az.customer.ObjectID, RoleID: hsmRoles[r], Scope: "/"})
	}
	s.az.hsms[name] = h
}

// HSMKeyOptions describe a key made directly in the sandbox, for tests.
type HSMKeyOptions struct {
	Kty                string // "oct-HSM" (default) or "RSA-HSM"
	Size               int    // bits; 256 by default
	Ops                []string
	Tags               map[string]string
	Disabled           bool
	NotBefore, Expires *time.Time
}

// CreateHSMKey makes a key in an HSM and returns its URL (kid).
func (s *Sandbox) CreateHSMKey(hsm, name string, o HSMKeyOptions) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.Kty == "" {
		o.Kty = "oct-HSM"
	}
	if o.Size == 0 {
		o.Size = 256
	}
	if o.Ops == nil {
		o.Ops = []string{"wrapKey", "unwrapKey"}
	}
	k := s.newHSMKey(name, o.Kty, o.Size, o.Ops, o.Tags)
	k.enabled, k.nbf, k.exp = !o.Disabled, o.NotBefore, o.Expires
	s.az.hsms[hsm].keys[name] = k
	return kid(hsm, k)
}

func (s *Sandbox) newHSMKey(name, kty string, size int, ops []string, tags map[string]string) *hsmKey {
	now := s.now().UTC().Truncate(time.Second)
	k := &hsmKey{name: name, version: strings.ReplaceAll(s.uuid(), "-", ""), kty: kty, size: size, ops: ops,
		tags: map[string]string{}, enabled: true, created: now, updated: now}
	for t, v := range tags {
		k.tags[t] = v
	}
	if kty == "oct-HSM" {
		k.material = make([]byte, size/8)
		for i := range k.material {
			k.material[i] = byte(s.rng.Uint32())
		}
	}
	return k
}

// AssignHSMRole gives a principal a role at a scope ("/", "/keys" or
// "/keys/NAME"), as az keyvault role assignment create does.
func (s *Sandbox) AssignHSMRole(hsm, principalID, role, scope string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.az.hsms[hsm]
	h.assignments = append(h.assignments, roleAssignment{Name: s.uuid(), PrincipalID: principalID, RoleID: hsmRoles[role], Scope: scope})
}

// CreateServicePrincipal makes the service principal of an application in
// the customer's tenant (az ad sp create) and returns its object ID.
func (s *Sandbox) CreateServicePrincipal(appID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.createSP(appID)
}

func (s *Sandbox) createSP(appID string) string {
	if s.az.vendor.ClientID == appID && s.az.vendor.ObjectID == "" {
		s.az.vendor.ObjectID = s.uuid()
	}
	return s.az.vendor.ObjectID
}

// SetHSMKeyEnabled enables or disables a key.
func (s *Sandbox) SetHSMKeyEnabled(hsm, name string, enabled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.az.hsms[hsm].keys[name].enabled = enabled
}

func kid(hsm string, k *hsmKey) string {
	return "https://" + hsm + hsmSuffix + "/keys/" + k.name + "/" + k.version
}

// isAzureHost reports whether the sandbox answers for host.
func isAzureHost(host string) bool {
	return host == azureLoginHost || host == azureGraphHost || strings.HasSuffix(host, hsmSuffix)
}

func (s *Sandbox) serveAzure(w http.ResponseWriter, r *http.Request, body []byte) {
	host := r.Host
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	switch {
	case host == azureLoginHost:
		s.serveEntra(w, r, body)
	case host == azureGraphHost:
		s.serveGraph(w, r, body)
	default:
		s.serveHSM(w, r, body, strings.TrimSuffix(host, hsmSuffix))
	}
}

// --- Microsoft Entra ID -------------------------------------------------

func entraError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": desc})
}

func (s *Sandbox) serveEntra(w http.ResponseWriter, r *http.Request, body []byte) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	tenant := parts[0]
	s.mu.Lock()
	known := tenant == s.az.tenant
	s.mu.Unlock()
	if !known {
		s.logf("entra %s -> invalid tenant", r.URL.Path)
		entraError(w, http.StatusBadRequest, "invalid_tenant", fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	base := "https://" + azureLoginHost + "/" + tenant
	switch rest := strings.Join(parts[1:], "/"); {
	case r.Method == http.MethodGet && rest == "v2.0/.well-known/openid-configuration":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"issuer":                 base + "/v2.0",
			"tenant_region_scope":    "EU",
		})
	case r.Method == http.MethodPost && rest == "oauth2/v2.0/token":
		s.token(w, body, tenant)
	default:
		entraError(w, http.StatusNotFound, "not_found", "The rekwiz sandbox does not serve "+r.URL.Path)
	}
}

// token issues an access token for the client credentials grant.
func (s *Sandbox) token(w http.ResponseWriter, body []byte, tenant string) {
	form, _ := url.ParseQuery(string(body))
	s.mu.Lock()
	defer s.mu.Unlock()
	if form.Get("grant_type") != "client_credentials" {
		entraError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The rekwiz sandbox supports the client_credentials grant only.")
		return
	}
	var app *AzureApp
	for _, a := range []*AzureApp{s.az.customer, s.az.vendor} {
		if a.ClientID == form.Get("client_id") {
			app = a
		}
	}
	switch {
	case app == nil || app == s.az.vendor && app.ObjectID == "":
		s.logf("entra token %s -> unknown application", form.Get("client_id"))
		entraError(w, http.StatusBadRequest, "unauthorized_client", fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant.", form.Get("client_id"), tenant))
		return
	case subtle.ConstantTimeCompare([]byte(form.Get("client_secret")), []byte(app.ClientSecret)) != 1:
		s.logf("entra token %s -> invalid secret", app.Name)
		entraError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
		return
	}
	// MSAL adds openid, offline_access and profile to the scope asked.
	scope, aud, ok := form.Get("scope"), "", false
	for _, sc := range strings.Fields(scope) {
		if a, found := strings.CutSuffix(sc, "/.default"); found {
			aud, ok = a, true
		}
	}
	if !ok || (aud != hsmResource && aud != graphResource) {
		entraError(w, http.StatusBadRequest, "invalid_scope", fmt.Sprintf("AADSTS70011: The provided value for scope %q is not valid.", scope))
		return
	}
	tok := "eyJ0eXAiOiJKV1Qi." + s.randString(64, secretChars)
	s.az.tokens[tok] = azToken{app: app, tenant: tenant, audience: aud, expires: s.now().Add(time.Hour)}
	s.logf("entra token %s %s -> ok", app.Name, aud)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
}

// caller returns the application a request's bearer token belongs to,
// if the token is valid for audience in the customer's tenant.
func (s *Sandbox) azCaller(r *http.Request, audience string) *AzureApp {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil
	}
	t, ok := s.az.tokens[tok]
	if !ok || t.audience != audience || t.tenant != s.az.tenant || s.now().After(t.expires) {
		return nil
	}
	return t.app
}

// --- Microsoft Graph ----------------------------------------------------

func graphError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (s *Sandbox) serveGraph(w http.ResponseWriter, r *http.Request, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if app := s.azCaller(r, graphResource); app != s.az.customer {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty or not valid for this tenant.")
		return
	}
	sp := func(status int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"id": s.az.vendor.ObjectID, "appId": s.az.vendor.ClientID, "displayName": "vendor application"})
	}
	path, _ := url.PathUnescape(r.URL.Path)
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/v1.0/servicePrincipals(appId='"):
		appID := strings.TrimSuffix(strings.TrimPrefix(path, "/v1.0/servicePrincipals(appId='"), "')")
		if appID != s.az.vendor.ClientID || s.az.vendor.ObjectID == "" {
			graphError(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", appID))
			return
		}
		sp(http.StatusOK)
	case r.Method == http.MethodPost && path == "/v1.0/servicePrincipals":
		var in struct{ AppID string }
		if json.Unmarshal(body, &in) != nil || in.AppID != s.az.vendor.ClientID {
			graphError(w, http.StatusBadRequest, "Request_BadRequest", "The appId does not name an application the rekwiz sandbox knows.")
			return
		}
		if s.az.vendor.ObjectID != "" {
			graphError(w, http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", "Another object with the same value for property servicePrincipalNames already exists.")
			return
		}
		s.createSP(in.AppID)
		s.logf("graph create service principal -> ok")
		sp(http.StatusCreated)
	default:
		graphError(w, http.StatusNotFound, "Request_UnsupportedQuery", "The rekwiz sandbox does not serve "+r.Method+" "+path)
	}
}

// --- Managed HSM --------------------------------------------------------

func hsmError(w http.ResponseWriter, status int, code, msg, inner string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	e := map[string]any{"code": code, "message": msg}
	if inner != "" {
		e["innererror"] = map[string]string{"code": inner}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

// role actions: what each role lets its holder do with keys.
var roleActions = map[string][]string{
	"Managed HSM Administrator":        {"roleAssignments"},
	"Managed HSM Policy Administrator": {"roleAssignments"},
	"Managed HSM Crypto Officer":       {"read", "write", "wrapKey", "unwrapKey"},
	"Managed HSM Crypto User":          {"read", "write", "wrapKey", "unwrapKey"},
	"Managed HSM Crypto Auditor":       {"read"},
}

// allowed reports whether a principal holds a role granting action on
// key (a scope of "/", "/keys" or "/keys/KEY" covers it).
func (h *managedHSM) allowed(principal, action, key string) bool {
	for _, a := range h.assignments {
		if a.PrincipalID != principal || !slices.Contains(roleActions[roleName(a.RoleID)], action) {
			continue
		}
		if a.Scope == "/" || a.Scope == "/keys" || (key != "" && a.Scope == "/keys/"+key) {
			return true
		}
	}
	return false
}

func (s *Sandbox) serveHSM(w http.ResponseWriter, r *http.Request, body []byte, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.az.hsms[name]
	if h == nil {
		hsmError(w, http.StatusNotFound, "HsmNotFound", fmt.Sprintf("The rekwiz sandbox has no Managed HSM named %q.", name), "")
		return
	}
	app := s.azCaller(r, hsmResource)
	if app == nil {
		// The challenge azkeys answers by getting a token for the
		// tenant and resource it names.
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer authorization="https://%s/%s", resource="%s"`, azureLoginHost, s.az.tenant, hsmResource))
		hsmError(w, http.StatusUnauthorized, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", "")
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
		s.roleAssignments(w, r, body, h, app, "/"+strings.Join(parts[:i], "/"), parts[i:])
		return
	}
	if len(parts) < 2 || parts[0] != "keys" {
		hsmError(w, http.StatusNotFound, "NotFound", "The rekwiz sandbox does not serve "+r.URL.Path, "")
		return
	}
	keyName, op := parts[1], ""
	if last := parts[len(parts)-1]; len(parts) > 2 && (last == "create" || last == "wrapkey" || last == "unwrapkey") {
		op = last
	}
	denied := func() {
		s.logf("hsm %s %s -> Forbidden", r.URL.Path, app.Name)
		hsmError(w, http.StatusForbidden, "Forbidden", "Caller is not authorized to perform action on resource.\r\nIf role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\nCaller: appid="+app.ClientID+";oid="+app.ObjectID+"\r\nAction: 'Microsoft.KeyVault/managedHsm/keys/"+op+"'\r\nResource: '/keys/"+keyName+"'", "AccessDenied")
	}
	need := map[string]string{"": "read", "create": "write", "wrapkey": "wrapKey", "unwrapkey": "unwrapKey"}[op]
	if r.Method == http.MethodPatch {
		need = "write"
	}
	if !h.allowed(app.ObjectID, need, keyName) {
		denied()
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
	w.Header().Set("Content-Type", "application/json")
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
	return map[string]any{
		"key":        map[string]any{"kid": kid(hsm, k), "kty": k.kty, "key_ops": k.ops},
		"attributes": attrs,
		"tags":       k.tags,
	}
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
		hsmError(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("Operation %q is not allowed on a disabled key.", opName), "KeyDisabled")
		return
	case k.exp != nil && now.After(*k.exp):
		hsmError(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("Operation %q is not allowed on an expired key.", opName), "KeyExpired")
		return
	case k.nbf != nil && now.Before(*k.nbf):
		hsmError(w, http.StatusForbidden, "Forbidden", fmt.Sprintf("Operation %q is not allowed on a key that is not yet valid.", opName), "KeyNotYetValid")
		return
	case !slices.Contains(k.ops, opName):
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

// roleAssignments serves the Managed HSM RBAC data plane at a scope:
// list, create (PUT) and delete.
func (s *Sandbox) roleAssignments(w http.ResponseWriter, r *http.Request, body []byte, h *managedHSM, app *AzureApp, scope string, rest []string) {
	if len(rest) < 3 || rest[1] != "Microsoft.Authorization" || rest[2] != "roleAssignments" {
		hsmError(w, http.StatusNotFound, "NotFound", "The rekwiz sandbox does not serve "+r.URL.Path, "")
		return
	}
	if !h.allowed(app.ObjectID, "roleAssignments", "") {
		hsmError(w, http.StatusForbidden, "Forbidden", "Caller is not authorized to manage role assignments.", "AccessDenied")
		return
	}
	view := func(a roleAssignment) map[string]any {
		return map[string]any{"id": a.Scope + "/providers/Microsoft.Authorization/roleAssignments/" + a.Name, "name": a.Name, "type": "Microsoft.Authorization/roleAssignments",
			"properties": map[string]string{"scope": a.Scope, "roleDefinitionId": "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/" + a.RoleID, "principalId": a.PrincipalID}}
	}
	switch {
	case r.Method == http.MethodGet && len(rest) == 3:
		list := []map[string]any{}
		// Managed HSM lists the assignments at and below the scope;
		// az filters them by scope itself.
		for _, a := range h.assignments {
			if scope == "/" || a.Scope == scope || strings.HasPrefix(a.Scope, scope+"/") {
				list = append(list, view(a))
			}
		}
		sort.Slice(list, func(i, j int) bool { return list[i]["name"].(string) < list[j]["name"].(string) })
		writeHSM(w, map[string]any{"value": list})
	case r.Method == http.MethodPut && len(rest) == 4:
		var in struct {
			Properties struct {
				RoleDefinitionID string `json:"roleDefinitionId"`
				PrincipalID      string `json:"principalId"`
			} `json:"properties"`
		}
		if json.Unmarshal(body, &in) != nil || roleName(in.Properties.RoleDefinitionID) == "" || in.Properties.PrincipalID == "" {
			hsmError(w, http.StatusBadRequest, "BadParameter", "roleDefinitionId must name a Managed HSM role, and principalId a principal.", "")
			return
		}
		if scope != "/" && scope != "/keys" && !strings.HasPrefix(scope, "/keys/") {
			hsmError(w, http.StatusBadRequest, "BadParameter", "Scope "+scope+" is not a Managed HSM scope.", "")
			return
		}
		a := roleAssignment{Name: rest[3], PrincipalID: in.Properties.PrincipalID, RoleID: in.Properties.RoleDefinitionID[strings.LastIndex(in.Properties.RoleDefinitionID, "/")+1:], Scope: scope}
		for _, old := range h.assignments {
			if old.PrincipalID == a.PrincipalID && old.RoleID == a.RoleID && old.Scope == a.Scope {
				hsmError(w, http.StatusConflict, "RoleAssignmentExists", "The role assignment already exists.", "")
				return
			}
		}
		h.assignments = append(h.assignments, a)
		s.logf("hsm role assignment %s at %s -> ok", roleName(a.RoleID), scope)
		w.WriteHeader(http.StatusCreated)
		writeHSM(w, view(a))
	case r.Method == http.MethodDelete && len(rest) == 4:
		for i, a := range h.assignments {
			if a.Name == rest[3] && a.Scope == scope {
				h.assignments = slices.Delete(h.assignments, i, i+1)
				writeHSM(w, view(a))
				return
			}
		}
		hsmError(w, http.StatusNotFound, "RoleAssignmentNotFound", "No role assignment "+rest[3]+" at "+scope+".", "")
	default:
		hsmError(w, http.StatusMethodNotAllowed, "BadParameter", r.Method+" is not supported here.", "")
	}
}
