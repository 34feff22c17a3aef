package fakecloud

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
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

// hsmRoleDef is a Managed HSM role definition: its ID, name and the data
// actions it grants (each after the prefix "Microsoft.KeyVault/managedHsm/").
type hsmRoleDef struct {
	ID, Name    string
	DataActions []string
}

// hsmRoleDefs are Managed HSM's built-in roles as the service lists them
// today (GET /providers/Microsoft.Authorization/roleDefinitions, api-version
// 7.3 and 7.4-preview.1, as recorded in Azure/azure-sdk-for-js
// sdk/keyvault/keyvault-admin/recordings/node/keyvaultaccesscontrolclient_role_definitions/recording_can_list_role_definitions.json).
// Administrator and Crypto Officer hold no key read, create, write, wrap or
// unwrap; Crypto Service Encryption User holds exactly read, wrap and
// unwrap. (Older definitions, recorded in 2020 by Azure/azure-cli's
// test_keyvault_hsm_role.yaml, gave Administrator and Officer key rights;
// the service changed them in 2021.)
var hsmRoleDefs = []hsmRoleDef{
	{"7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8", "Managed HSM Backup User", []string{
		"backup/start/action", "backup/status/action", "keys/backup/action"}},
	{"33413926-3206-4cdd-b39a-83574fe37a17", "Managed HSM Crypto Service Encryption User", []string{
		"keys/read/action", "keys/wrap/action", "keys/unwrap/action"}},
	{"21dbd100-6940-42c2-9190-5d6cb909625c", "Managed HSM Crypto Service Release User", []string{
		"keys/release/action"}},
	{"2c18b078-7c48-4d3a-af88-5a3a1b3f82b3", "Managed HSM Crypto Auditor", []string{
		"roleAssignments/read/action", "roleDefinitions/read/action", "keys/read/action", "keys/deletedKeys/read/action"}},
	{"4bd23610-cdcf-4971-bdee-bdc562cc28e4", "Managed HSM Policy Administrator", []string{
		"roleDefinitions/read/action", "roleDefinitions/write/action", "roleDefinitions/delete/action",
		"roleAssignments/read/action", "roleAssignments/write/action", "roleAssignments/delete/action"}},
	{"21dbd100-6940-42c2-9190-5d6cb909625b", "Managed HSM Crypto User", []string{
		"roleDefinitions/read/action", "roleAssignments/read/action",
		"keys/read/action", "keys/write/action", "keys/delete", "keys/create", "keys/rotate/action", "keys/import/action",
		"keys/release/action", "keys/backup/action", "keys/restore/action", "keys/encrypt/action", "keys/decrypt/action",
		"keys/wrap/action", "keys/unwrap/action", "keys/sign/action", "keys/verify/action", "keys/derive/action", "rng/action"}},
	{"515eb02d-2335-4d2d-92f2-b1cbdf9c3778", "Managed HSM Crypto Officer", []string{
		"roleAssignments/delete/action", "roleAssignments/read/action", "roleAssignments/write/action",
		"roleDefinitions/read/action", "roleDefinitions/write/action", "roleDefinitions/delete/action",
		"keys/deletedKeys/read/action", "keys/deletedKeys/delete", "keys/deletedKeys/recover/action", "keys/export/action"}},
	{"a290e904-7015-4bba-90c8-60543313cdb4", "Managed HSM Administrator", []string{
		"roleAssignments/delete/action", "roleAssignments/read/action", "roleAssignments/write/action",
		"roleDefinitions/read/action", "roleDefinitions/write/action", "roleDefinitions/delete/action",
		"securitydomain/download/action", "securitydomain/download/read", "securitydomain/upload/action",
		"securitydomain/upload/read", "securitydomain/transferkey/read", "backup/start/action", "restore/start/action",
		"backup/status/action", "restore/status/action", "settings/read/action", "settings/write/action"}},
}

// hsmActionPrefix begins every Managed HSM data action.
const hsmActionPrefix = "Microsoft.KeyVault/managedHsm/"

// hsmRoles are the built-in roles' IDs by name.
var hsmRoles = func() map[string]string {
	m := map[string]string{}
	for _, d := range hsmRoleDefs {
		m[d.Name] = d.ID
	}
	return m
}()

func roleDef(id string) *hsmRoleDef {
	id = id[strings.LastIndex(id, "/")+1:]
	for i := range hsmRoleDefs {
		if hsmRoleDefs[i].ID == id {
			return &hsmRoleDefs[i]
		}
	}
	return nil
}

func roleName(id string) string {
	if d := roleDef(id); d != nil {
		return d.Name
	}
	return ""
}

// HSMRoleNames are the built-in roles' names.
func HSMRoleNames() []string {
	var out []string
	for _, d := range hsmRoleDefs {
		out = append(out, d.Name)
	}
	return out
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
	// pageSize is how many role assignments or definitions one list
	// page holds; 0 is all of them.
	pageSize int
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

// CreateHSM makes a Managed HSM as Azure does: its creator, the customer,
// is its only "Managed HSM Administrator" (at "/"), a role that may manage
// role assignments but may not read, create or use keys.
func (s *Sandbox) CreateHSM(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := &managedHSM{name: name, keys: map[string]*hsmKey{}}
	h.assignments = append(h.assignments, roleAssignment{Name: s.uuid(), PrincipalID: s.az.customer.ObjectID, RoleID: hsmRoles["Managed HSM Administrator"], Scope: "/"})
	s.az.hsms[name] = h
}

// SetHSMPageSize makes role-assignment and role-definition lists answer n
// at a time, with a nextLink to the rest (0: all at once).
func (s *Sandbox) SetHSMPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.az.pageSize = n
}

// HasHSM reports whether the sandbox has a Managed HSM of that name; any
// other name does not resolve, as on Azure.
func (s *Sandbox) HasHSM(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.az.hsms[name] != nil
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
	id, ok := hsmRoles[role]
	if !ok {
		panic("sandbox: no Managed HSM role " + role) // a test's typo
	}
	h.assignments = append(h.assignments, roleAssignment{Name: s.uuid(), PrincipalID: principalID, RoleID: id, Scope: scope})
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
	tok := s.jwt(app, tenant, aud)
	s.az.tokens[tok] = azToken{app: app, tenant: tenant, audience: aud, expires: s.now().Add(time.Hour)}
	s.logf("entra token %s %s -> ok", app.Name, aud)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
}

// jwt is an access token shaped as Entra ID's are: a JWT whose claims
// name the tenant (tid), the application (appid) and the object (oid) it
// was issued to. Its signature is random: only the sandbox checks it, by
// looking the token up.
func (s *Sandbox) jwt(app *AzureApp, tenant, aud string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	claims := map[string]any{"aud": aud, "iss": "https://sts.windows.net/" + tenant + "/", "tid": tenant,
		"appid": app.ClientID, "oid": app.ObjectID, "idtyp": "app", "exp": s.now().Add(time.Hour).Unix()}
	return enc(map[string]string{"typ": "JWT", "alg": "RS256"}) + "." + enc(claims) + "." + s.randString(43, secretChars)
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

// hsmError writes a Managed HSM error body, {"error":{"code","message"}}.
// The codes are the ones the service sends (recordings named in
// azure_conformance_test.go): AccessDenied, KeyNotFound, BadParameter,
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

// hsmRBAC serves the Managed HSM RBAC data plane at a scope: role
// assignments (list, get, create with PUT, delete) and role definitions
// (list, get). Lists page when SetHSMPageSize asked, with nextLink.
func (s *Sandbox) hsmRBAC(w http.ResponseWriter, r *http.Request, body []byte, h *managedHSM, app *AzureApp, scope string, rest []string) {
	if len(rest) < 3 || rest[1] != "Microsoft.Authorization" || (rest[2] != "roleAssignments" && rest[2] != "roleDefinitions") {
		hsmError(w, http.StatusNotFound, "NotFound", "The rekwiz sandbox does not serve "+r.URL.Path, "") // marked: no recording shows this reply
		return
	}
	if rest[2] == "roleDefinitions" {
		s.roleDefinitions(w, r, h, app, scope, rest)
		return
	}
	action := map[string]string{http.MethodGet: "roleAssignments/read/action", http.MethodPut: "roleAssignments/write/action", http.MethodDelete: "roleAssignments/delete/action"}[r.Method]
	if action == "" {
		hsmError(w, http.StatusMethodNotAllowed, "BadParameter", r.Method+" is not supported here.", "")
		return
	}
	if !h.allowed(app.ObjectID, action, scope) {
		s.denied(w, app, action, scope)
		return
	}
	view := func(a roleAssignment) map[string]any {
		// The id is the scope's path, with no extra slash at "/":
		// "/providers/Microsoft.Authorization/roleAssignments/NAME".
		return map[string]any{"id": strings.TrimSuffix(a.Scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + a.Name, "name": a.Name, "type": "Microsoft.Authorization/roleAssignments",
			"properties": map[string]string{"scope": a.Scope, "roleDefinitionId": "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/" + a.RoleID, "principalId": a.PrincipalID}}
	}
	switch {
	case r.Method == http.MethodGet && len(rest) == 3:
		var list []any
		// Managed HSM lists the assignments at and below the scope;
		// az filters them by scope itself.
		sorted := slices.Clone(h.assignments)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
		for _, a := range sorted {
			if covers(scope, a.Scope) {
				list = append(list, view(a))
			}
		}
		s.page(w, r, list)
	case r.Method == http.MethodGet && len(rest) == 4:
		for _, a := range h.assignments {
			if a.Name == rest[3] && a.Scope == scope {
				writeHSM(w, view(a))
				return
			}
		}
		hsmError(w, http.StatusNotFound, "RoleAssignmentNotFound", "Requested role assignment not found (Activity ID: "+s.uuid()+")", "")
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
				// marked: no recording shows a duplicate assignment's
				// reply; ARM's code for it is RoleAssignmentExists.
				hsmError(w, http.StatusConflict, "RoleAssignmentExists", "The role assignment already exists.", "")
				return
			}
		}
		h.assignments = append(h.assignments, a)
		s.logf("hsm role assignment %s at %s -> ok", roleName(a.RoleID), scope)
		w.Header().Set("Content-Type", hsmContentType)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(view(a))
	case r.Method == http.MethodDelete && len(rest) == 4:
		for i, a := range h.assignments {
			if a.Name == rest[3] && a.Scope == scope {
				h.assignments = slices.Delete(h.assignments, i, i+1)
				writeHSM(w, view(a))
				return
			}
		}
		hsmError(w, http.StatusNotFound, "RoleAssignmentNotFound", "Requested role assignment not found (Activity ID: "+s.uuid()+")", "")
	default:
		hsmError(w, http.StatusMethodNotAllowed, "BadParameter", r.Method+" is not supported here.", "")
	}
}

// roleDefinitions lists the built-in role definitions, or gets one.
func (s *Sandbox) roleDefinitions(w http.ResponseWriter, r *http.Request, h *managedHSM, app *AzureApp, scope string, rest []string) {
	const action = "roleDefinitions/read/action"
	if r.Method != http.MethodGet || len(rest) > 4 {
		hsmError(w, http.StatusMethodNotAllowed, "BadParameter", r.Method+" is not supported here.", "")
		return
	}
	if !h.allowed(app.ObjectID, action, scope) {
		s.denied(w, app, action, scope)
		return
	}
	view := func(d hsmRoleDef) map[string]any {
		actions := []string{}
		for _, a := range d.DataActions {
			actions = append(actions, hsmActionPrefix+a)
		}
		return map[string]any{"id": "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/" + d.ID, "name": d.ID,
			"type": "Microsoft.Authorization/roleDefinitions",
			"properties": map[string]any{"assignableScopes": []string{"/"}, "description": "", "roleName": d.Name, "type": "AKVBuiltInRole",
				"permissions": []any{map[string]any{"actions": []string{}, "notActions": []string{}, "dataActions": actions, "notDataActions": []string{}}}}}
	}
	if len(rest) == 4 {
		if d := roleDef(rest[3]); d != nil {
			writeHSM(w, view(*d))
			return
		}
		hsmError(w, http.StatusNotFound, "RoleDefinitionNotFound", "Requested role definition not found (Activity ID: "+s.uuid()+")", "") // marked: code not seen in a recording
		return
	}
	var list []any
	for _, d := range hsmRoleDefs {
		list = append(list, view(d))
	}
	s.page(w, r, list)
}

// page writes one page of a list, {"value": [...], "nextLink": URL},
// nextLink carrying $skiptoken to the next page (absent on the last).
func (s *Sandbox) page(w http.ResponseWriter, r *http.Request, list []any) {
	from := 0
	if t := r.URL.Query().Get("$skiptoken"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > len(list) {
			hsmError(w, http.StatusBadRequest, "BadParameter", "The $skiptoken is not valid.", "")
			return
		}
		from = n
	}
	to := len(list)
	if s.az.pageSize > 0 && from+s.az.pageSize < to {
		to = from + s.az.pageSize
	}
	out := map[string]any{"value": append([]any{}, list[from:to]...)}
	if to < len(list) {
		q := r.URL.Query()
		q.Set("$skiptoken", strconv.Itoa(to))
		out["nextLink"] = "https://" + r.Host + r.URL.Path + "?" + q.Encode()
	}
	writeHSM(w, out)
}
