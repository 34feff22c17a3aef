package fakecloud

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// The sandbox's Google Cloud: Cloud KMS's REST API (v1, JSON over HTTP,
// paths under /v1/), a project's IAM policy from Resource Manager
// (gcp_crm.go) and an OAuth 2.0 token endpoint (/token), served
// directly on the sandbox's address. gcloud reaches it with
// CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS=Server.GCPKMSEndpoint() and
// CLOUDSDK_AUTH_ACCESS_TOKEN; the Go SDK with the endpoint option and a
// service-account key whose token_uri is Server.GCPTokenURL().
//
// Field names, enum values and formats follow the published discovery
// document (google.golang.org/api cloudkms/v1/cloudkms-api.json, v0.316.0)
// and gcloud 528's own client (googlecloudsdk/generated_clients/apis/
// cloudkms/v1). Faults (Sandbox.Inject) match Service "cloudkms", the
// method's name as Operation (Encrypt, Decrypt, GetCryptoKey,
// UpdateCryptoKey, GetIamPolicy, SetIamPolicy, CreateKeyRing, …) and the
// identity's Name as Caller; a PERMISSION_DENIED fault without a message
// answers with the body IAM sends. Error bodies are Google's
// {"error":{"code","message","status","details"}}; their messages are the
// ones public recordings and bug reports quote (see gcpErr's callers).
//
// For the demo and tests:
//
//   - Options.GCPServiceAccount: the vendor's service account (the vendor
//     profile's); GCPVendor() is it, GCPCustomer() the customer's admin
//     (rekwiz-admin@rekwiz-demo.iam.gserviceaccount.com, roles/owner on
//     GCPProject). Each has an AccessToken good for the sandbox's life.
//   - GCPServiceAccountJSON(id, srv.GCPTokenURL()): a key file for id, for
//     option.WithAuthCredentialsJSON(option.ServiceAccount, …) or
//     GOOGLE_APPLICATION_CREDENTIALS; the SDK then gets tokens from the
//     sandbox's token endpoint, an hour each.
//   - srv.GCPKMSEndpoint(): Cloud KMS's (and Resource Manager's) base URL,
//     for option.WithEndpoint; srv.GCPEnv(id, dir) for gcloud.
//   - SeedGCPDemo, CreateGCPKeyRing, CreateGCPKey, GrantGCPRole,
//     SetGCPVersionState: state as a test or the demo needs it;
//     GCPKeyLabels and GCPPolicyJSON read it back.
//   - Not served: the authorized_user (refresh token) grant, key import,
//     asymmetric and MAC operations, EKM, Autokey, deleting keys; IAM
//     conditions are stored but grant nothing.

// The customer's Google Cloud project and the demo's location, key ring
// and existing key (made by SeedGCPDemo).
const (
	GCPProject     = "rekwiz-demo"
	GCPLocation    = "us-east1"
	GCPDemoKeyRing = "rekwiz-demo-ring"
	GCPDemoKey     = "customer-rek"
)

// GCP roles the sandbox knows, with the Cloud KMS permissions each grants
// (from the IAM roles reference, https://cloud.google.com/iam/docs/roles-permissions/cloudkms,
// and the basic roles). cloudkms.admin manages keys and their policies
// but may not encrypt or decrypt; cryptoKeyEncrypterDecrypter may only
// encrypt and decrypt: it may not read the key's metadata or policy.
const (
	RoleOwner                       = "roles/owner"
	RoleEditor                      = "roles/editor"
	RoleViewer                      = "roles/viewer"
	RoleKMSAdmin                    = "roles/cloudkms.admin"
	RoleKMSViewer                   = "roles/cloudkms.viewer"
	RoleCryptoKeyEncrypterDecrypter = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
	RoleCryptoKeyEncrypter          = "roles/cloudkms.cryptoKeyEncrypter"
	RoleCryptoKeyDecrypter          = "roles/cloudkms.cryptoKeyDecrypter"
)

// Cloud KMS permissions.
const (
	permRingsCreate     = "cloudkms.keyRings.create"
	permRingsGet        = "cloudkms.keyRings.get"
	permRingsList       = "cloudkms.keyRings.list"
	permRingsGetIAM     = "cloudkms.keyRings.getIamPolicy"
	permRingsSetIAM     = "cloudkms.keyRings.setIamPolicy"
	permKeysCreate      = "cloudkms.cryptoKeys.create"
	permKeysGet         = "cloudkms.cryptoKeys.get"
	permKeysList        = "cloudkms.cryptoKeys.list"
	permKeysUpdate      = "cloudkms.cryptoKeys.update"
	permKeysGetIAM      = "cloudkms.cryptoKeys.getIamPolicy"
	permKeysSetIAM      = "cloudkms.cryptoKeys.setIamPolicy"
	permVersionsCreate  = "cloudkms.cryptoKeyVersions.create"
	permVersionsGet     = "cloudkms.cryptoKeyVersions.get"
	permVersionsList    = "cloudkms.cryptoKeyVersions.list"
	permVersionsUpdate  = "cloudkms.cryptoKeyVersions.update"
	permVersionsDestroy = "cloudkms.cryptoKeyVersions.destroy"
	permVersionsRestore = "cloudkms.cryptoKeyVersions.restore"
	permEncrypt         = "cloudkms.cryptoKeyVersions.useToEncrypt"
	permDecrypt         = "cloudkms.cryptoKeyVersions.useToDecrypt"
	permLocationsGet    = "cloudkms.locations.get"
	permLocationsList   = "cloudkms.locations.list"
	permProjectsGet     = "resourcemanager.projects.get"
)

var (
	kmsManage = []string{
		permRingsCreate, permRingsGet, permRingsList, permRingsGetIAM, permRingsSetIAM,
		permKeysCreate, permKeysGet, permKeysList, permKeysUpdate, permKeysGetIAM, permKeysSetIAM,
		permVersionsCreate, permVersionsGet, permVersionsList, permVersionsUpdate, permVersionsDestroy, permVersionsRestore,
		permLocationsGet, permLocationsList, permProjectsGet,
	}
	kmsRead = []string{permRingsGet, permRingsList, permKeysGet, permKeysList, permVersionsGet, permVersionsList,
		permLocationsGet, permLocationsList}
	kmsUse = []string{permLocationsGet, permLocationsList, permProjectsGet}
)

var gcpRoles = map[string][]string{
	RoleOwner:  append(slices.Clone(kmsManage), permEncrypt, permDecrypt, permProjectsGetIAM, permProjectsSetIAM),
	RoleEditor: append(without(kmsManage, permRingsSetIAM, permKeysSetIAM), permEncrypt, permDecrypt, permProjectsGetIAM),
	RoleViewer: append(slices.Clone(kmsRead), permRingsGetIAM, permKeysGetIAM, permProjectsGet, permProjectsGetIAM),
	// cloudkms.admin holds useTo*ViaDelegation only, which no call here checks.
	RoleKMSAdmin:                     slices.Clone(kmsManage),
	RoleKMSViewer:                    slices.Clone(kmsRead),
	RoleCryptoKeyEncrypterDecrypter:  append(slices.Clone(kmsUse), permEncrypt, permDecrypt),
	RoleCryptoKeyEncrypter:           append(slices.Clone(kmsUse), permEncrypt),
	RoleCryptoKeyDecrypter:           append(slices.Clone(kmsUse), permDecrypt),
	"roles/cloudkms.cryptoOperator":  append(slices.Clone(kmsUse), permEncrypt, permDecrypt),
	"roles/cloudkms.publicKeyViewer": append(slices.Clone(kmsUse), "cloudkms.cryptoKeyVersions.viewPublicKey"),
	"roles/cloudkms.signer":          append(slices.Clone(kmsUse), "cloudkms.cryptoKeyVersions.useToSign"),
	"roles/cloudkms.signerVerifier":  append(slices.Clone(kmsUse), "cloudkms.cryptoKeyVersions.useToSign", "cloudkms.cryptoKeyVersions.useToVerify", "cloudkms.cryptoKeyVersions.viewPublicKey"),
	"roles/cloudkms.cryptoKeyEncrypterDecrypterViaDelegation": {"cloudkms.cryptoKeyVersions.useToEncryptViaDelegation", "cloudkms.cryptoKeyVersions.useToDecryptViaDelegation"},
}

func without(list []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(list), func(p string) bool { return slices.Contains(drop, p) })
}

// GCPRoleGrants reports whether a role grants a Cloud KMS permission.
func GCPRoleGrants(role, permission string) bool {
	return slices.Contains(gcpRoles[role], permission)
}

// GCPIdentity is a Google service account that can call the sandbox: the
// customer's admin (an owner of GCPProject) or the vendor's service
// account (which holds only what bindings give it).
type GCPIdentity struct {
	Name     string // "customer" or "vendor"
	Email    string // …@….iam.gserviceaccount.com
	ClientID string // the service account's numeric unique ID
	// AccessToken is a bearer token good for the sandbox's lifetime, for
	// gcloud's CLOUDSDK_AUTH_ACCESS_TOKEN or a static token source.
	AccessToken string
	// KeyID is the service-account key's ID (private_key_id).
	KeyID string

	key *rsa.PrivateKey // made on first use: RSA generation is slow
}

// Member is the identity as IAM policies name it.
func (id GCPIdentity) Member() string { return "serviceAccount:" + id.Email }

// gcpPolicy is an IAM policy as stored: bindings in the order set.
type gcpPolicy struct {
	Version      int          `json:"version,omitempty"`
	Bindings     []gcpBinding `json:"bindings,omitempty"`
	AuditConfigs []any        `json:"auditConfigs,omitempty"`
	Etag         string       `json:"etag,omitempty"`
}

type gcpBinding struct {
	Role      string   `json:"role"`
	Members   []string `json:"members"`
	Condition any      `json:"condition,omitempty"`
}

type gcpVersion struct {
	id                       int
	state                    string
	protection, algorithm    string
	created, generated       time.Time
	destroyTime, destroyedAt time.Time
}

type gcpKey struct {
	name                  string // the full resource name
	purpose               string
	protection, algorithm string // the version template
	rotation              time.Duration
	nextRotation          time.Time
	labels                map[string]string
	created               time.Time
	destroyScheduled      time.Duration
	primary               int // the primary version's ID; 0 none
	versions              []*gcpVersion
	policy                gcpPolicy
}

type gcpKeyRing struct {
	name    string
	created time.Time
	keys    map[string]*gcpKey // by key ID
	policy  gcpPolicy
}

type gcpToken struct {
	id      *GCPIdentity
	expires time.Time
}

type gcpState struct {
	customer, vendor *GCPIdentity
	// projects are the projects that exist, with their IAM policies.
	projects map[string]*gcpPolicy
	rings    map[string]*gcpKeyRing // by full name
	tokens   map[string]gcpToken
}

// newGCP makes the customer's project, with the customer's service
// account as its owner, and the vendor's service account.
func (s *Sandbox) newGCP(vendorEmail string) gcpState {
	st := gcpState{projects: map[string]*gcpPolicy{}, rings: map[string]*gcpKeyRing{}, tokens: map[string]gcpToken{}}
	st.customer = &GCPIdentity{Name: "customer", Email: "rekwiz-admin@" + GCPProject + ".iam.gserviceaccount.com"}
	st.vendor = &GCPIdentity{Name: "vendor", Email: vendorEmail}
	for _, id := range []*GCPIdentity{st.customer, st.vendor} {
		id.ClientID = "1" + s.randString(20, "0123456789")
		id.KeyID = s.randString(40, "0123456789abcdef")
		id.AccessToken = "ya29.c." + s.randString(160, tokenChars)
		st.tokens[id.AccessToken] = gcpToken{id: id}
	}
	st.projects[GCPProject] = &gcpPolicy{Version: 1, Bindings: []gcpBinding{{Role: RoleOwner, Members: []string{st.customer.Member()}}}, Etag: s.gcpEtag()}
	return st
}

const tokenChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// vendorServiceAccount is the vendor's service account: the one given,
// or one named after the vendor's slug.
func vendorServiceAccount(email, slug string) string {
	if email != "" {
		return email
	}
	if slug == "" {
		slug = "vendor"
	}
	return "rekwiz-pairing@" + slug + "-kms.iam.gserviceaccount.com"
}

// gcpEtag draws a new policy etag: 8 bytes, base64, as IAM's ("BwXhqDZ2Xes=").
func (s *Sandbox) gcpEtag() string {
	b := make([]byte, 8)
	for i := range b {
		b[i] = byte(s.rng.Uint32())
	}
	return b64(b)
}

// GCPCustomer is the customer's admin service account, an owner of
// GCPProject: it runs setup scripts and "set it up for me".
func (s *Sandbox) GCPCustomer() GCPIdentity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.gcp.customer
}

// GCPVendor is the vendor's service account, which the pairing check runs
// as: it holds nothing until a binding grants it.
func (s *Sandbox) GCPVendor() GCPIdentity {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.gcp.vendor
}

// GCPKeyName is a crypto key's resource name.
func GCPKeyName(project, location, ring, key string) string {
	return fmt.Sprintf("projects/%s/locations/%s/keyRings/%s/cryptoKeys/%s", project, location, ring, key)
}

// GCPKeyRingName is a key ring's resource name.
func GCPKeyRingName(project, location, ring string) string {
	return fmt.Sprintf("projects/%s/locations/%s/keyRings/%s", project, location, ring)
}

// GCPKeyOptions describe a key made directly in the sandbox, for tests.
type GCPKeyOptions struct {
	Purpose         string // "ENCRYPT_DECRYPT" by default
	ProtectionLevel string // "HSM" by default
	Algorithm       string // "GOOGLE_SYMMETRIC_ENCRYPTION" by default (for ENCRYPT_DECRYPT)
	Labels          map[string]string
	RotationPeriod  time.Duration // 0: no automatic rotation
	// NoVersion makes the key without a version (skipInitialVersionCreation).
	NoVersion bool
}

// CreateGCPKeyRing makes a key ring (if missing) in a project that exists.
func (s *Sandbox) CreateGCPKeyRing(project, location, ring string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := GCPKeyRingName(project, location, ring)
	if s.gcp.rings[name] == nil {
		s.gcp.rings[name] = &gcpKeyRing{name: name, created: s.now().UTC(), keys: map[string]*gcpKey{}, policy: emptyPolicy()}
	}
}

// CreateGCPKey makes a key in a key ring that exists (making the ring if
// it does not) and returns its resource name.
func (s *Sandbox) CreateGCPKey(project, location, ring, key string, o GCPKeyOptions) string {
	s.CreateGCPKeyRing(project, location, ring)
	s.mu.Lock()
	defer s.mu.Unlock()
	if o.Purpose == "" {
		o.Purpose = "ENCRYPT_DECRYPT"
	}
	if o.ProtectionLevel == "" {
		o.ProtectionLevel = "HSM"
	}
	if o.Algorithm == "" {
		o.Algorithm = defaultAlgorithm(o.Purpose) + testAlgorithms[o.Purpose]
	}
	r := s.gcp.rings[GCPKeyRingName(project, location, ring)]
	k := s.newGCPKey(r, key, o.Purpose, o.ProtectionLevel, o.Algorithm)
	for l, v := range o.Labels {
		k.labels[l] = v
	}
	if o.RotationPeriod > 0 {
		k.rotation, k.nextRotation = o.RotationPeriod, s.now().UTC().Add(o.RotationPeriod)
	}
	if !o.NoVersion {
		s.addVersion(k)
	}
	return k.name
}

// defaultAlgorithm is the algorithm a key of a purpose gets when none is
// asked for: Cloud KMS's own default for ENCRYPT_DECRYPT (the only one
// with a default); for the others, the one tests get from CreateGCPKey.
func defaultAlgorithm(purpose string) string {
	if purpose == "ENCRYPT_DECRYPT" {
		return "GOOGLE_SYMMETRIC_ENCRYPTION"
	}
	return ""
}

var testAlgorithms = map[string]string{
	"ASYMMETRIC_SIGN": "EC_SIGN_P256_SHA256", "ASYMMETRIC_DECRYPT": "RSA_DECRYPT_OAEP_2048_SHA256",
	"MAC": "HMAC_SHA256", "RAW_ENCRYPT_DECRYPT": "AES_256_GCM",
}

func emptyPolicy() gcpPolicy { return gcpPolicy{Version: 1, Etag: "ACAB"} }

func (s *Sandbox) newGCPKey(r *gcpKeyRing, id, purpose, protection, algorithm string) *gcpKey {
	k := &gcpKey{name: r.name + "/cryptoKeys/" + id, purpose: purpose, protection: protection, algorithm: algorithm,
		labels: map[string]string{}, created: s.now().UTC(), destroyScheduled: 30 * 24 * time.Hour, policy: emptyPolicy()}
	r.keys[id] = k
	return k
}

// addVersion makes the key's next version, ENABLED, and makes it the
// primary of an ENCRYPT_DECRYPT key; callers hold mu.
func (s *Sandbox) addVersion(k *gcpKey) *gcpVersion {
	now := s.now().UTC()
	v := &gcpVersion{id: len(k.versions) + 1, state: "ENABLED", protection: k.protection, algorithm: k.algorithm, created: now, generated: now}
	k.versions = append(k.versions, v)
	if k.purpose == "ENCRYPT_DECRYPT" {
		k.primary = v.id
	}
	return v
}

// SetGCPVersionState sets a key version's state (ENABLED, DISABLED,
// DESTROYED, DESTROY_SCHEDULED or PENDING_GENERATION), as time or an
// operator would; version 0 is the key's primary.
func (s *Sandbox) SetGCPVersionState(keyName string, version int, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.gcpKey(keyName)
	if k == nil {
		panic("sandbox: no GCP key " + keyName) // a test's typo
	}
	if version == 0 {
		version = k.primary
	}
	v := k.version(version)
	if v == nil {
		panic(fmt.Sprintf("sandbox: %s has no version %d", keyName, version))
	}
	v.state = state
	now := s.now().UTC()
	switch state {
	case "DESTROY_SCHEDULED":
		v.destroyTime = now.Add(k.destroyScheduled)
	case "DESTROYED":
		v.destroyTime, v.destroyedAt = now, now
	}
}

// GrantGCPRole adds member (such as GCPIdentity.Member()) to role's
// binding on a resource: a project ID, or a key ring's or key's resource
// name, as gcloud's add-iam-policy-binding does.
func (s *Sandbox) GrantGCPRole(resource, role, member string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.gcpPolicyOf(resource)
	if p == nil {
		panic("sandbox: no GCP resource " + resource)
	}
	p.Bindings = addMember(p.Bindings, role, member)
	p.Etag = s.gcpEtag()
}

func addMember(bs []gcpBinding, role, member string) []gcpBinding {
	for i := range bs {
		if bs[i].Role == role && bs[i].Condition == nil {
			if !slices.Contains(bs[i].Members, member) {
				bs[i].Members = append(bs[i].Members, member)
			}
			return bs
		}
	}
	return append(bs, gcpBinding{Role: role, Members: []string{member}})
}

// gcpPolicyOf finds the policy of a project ID or a resource name.
func (s *Sandbox) gcpPolicyOf(resource string) *gcpPolicy {
	if !strings.Contains(resource, "/") {
		return s.gcp.projects[resource]
	}
	if r := s.gcp.rings[resource]; r != nil {
		return &r.policy
	}
	if k := s.gcpKey(resource); k != nil {
		return &k.policy
	}
	return nil
}

// GCPPolicyJSON is the IAM policy of a project ID, key ring or key, as
// getIamPolicy answers it (nil if there is no such resource): tests
// compare a binding rekwiz must keep byte for byte.
func (s *Sandbox) GCPPolicyJSON(resource string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.gcpPolicyOf(resource)
	if p == nil {
		return nil
	}
	b, _ := json.Marshal(p)
	return b
}

// GCPKeyLabels returns a copy of a key's labels (nil if there is no key).
func (s *Sandbox) GCPKeyLabels(keyName string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.gcpKey(keyName)
	if k == nil {
		return nil
	}
	out := map[string]string{}
	for l, v := range k.labels {
		out[l] = v
	}
	return out
}

// gcpKey finds a key by resource name; callers hold mu.
func (s *Sandbox) gcpKey(name string) *gcpKey {
	ring, id, ok := strings.Cut(name, "/cryptoKeys/")
	if !ok {
		return nil
	}
	r := s.gcp.rings[ring]
	if r == nil {
		return nil
	}
	return r.keys[id]
}

func (k *gcpKey) version(id int) *gcpVersion {
	if id < 1 || id > len(k.versions) {
		return nil
	}
	return k.versions[id-1]
}

// SeedGCPDemo makes the demo's existing key: GCPDemoKey in GCPDemoKeyRing
// (GCPProject, GCPLocation), an HSM key with automatic rotation, a label
// and a binding of the customer's own that rekwiz must keep.
func (s *Sandbox) SeedGCPDemo() string {
	name := s.CreateGCPKey(GCPProject, GCPLocation, GCPDemoKeyRing, GCPDemoKey, GCPKeyOptions{
		Labels:         map[string]string{"owner": "platform-team"},
		RotationPeriod: 90 * 24 * time.Hour,
	})
	s.GrantGCPRole(name, RoleKMSViewer, "group:platform-team@example.com")
	return name
}

// isGCPRequest reports whether a request is for the sandbox's Google
// Cloud: Cloud KMS under /v1/ or the token endpoint, on its own address
// (AWS's APIs post to "/"; Azure's are told apart by host first).
func isGCPRequest(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/v1/") || strings.HasPrefix(r.URL.Path, "/v3/projects/") || r.URL.Path == gcpTokenPath
}

// GCPKMSEndpoint is the base URL of the sandbox's Cloud KMS, with the
// trailing slash gcloud wants in CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS;
// the Go SDK takes it as option.WithEndpoint.
func (srv *Server) GCPKMSEndpoint() string { return srv.URL + "/" }

// GCPTokenURL is the sandbox's OAuth 2.0 token endpoint, the token_uri of
// the service-account keys it issues.
func (srv *Server) GCPTokenURL() string { return srv.URL + gcpTokenPath }

// GCPEnv is the environment that points gcloud at the sandbox as id:
// Cloud KMS's and Resource Manager's endpoint, id's access token, the project, and configDir (an
// empty directory of the caller's) as gcloud's configuration, so the
// machine's own gcloud accounts and settings are never read. Prompts,
// update checks and usage reporting are off. (`gcloud auth list` shows no
// credentialed account with an access token; `gcloud config get-value
// account` and `gcloud auth print-access-token` answer.)
func (srv *Server) GCPEnv(id GCPIdentity, configDir string) []string {
	return []string{
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS=" + srv.GCPKMSEndpoint(),
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDRESOURCEMANAGER=" + srv.GCPKMSEndpoint(),
		"CLOUDSDK_AUTH_ACCESS_TOKEN=" + id.AccessToken,
		"CLOUDSDK_CONFIG=" + configDir,
		"CLOUDSDK_CORE_PROJECT=" + GCPProject,
		"CLOUDSDK_CORE_ACCOUNT=" + id.Email, // what `gcloud config get-value account` says
		"CLOUDSDK_CORE_DISABLE_PROMPTS=1",
		"CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=1",
		"CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=true",
	}
}
