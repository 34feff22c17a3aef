package fakecloud

import (
	"net/http"
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
