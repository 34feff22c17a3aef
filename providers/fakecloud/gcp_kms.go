package fakecloud

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// --- errors ------------------------------------------------------------

// gcpError is a Google API error: the HTTP status, the canonical status
// name and the message, with optional details.
type gcpError struct {
	code    int
	status  string
	msg     string
	details []any
}

var gcpStatusCodes = map[string]int{
	"INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400,
	"UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404,
	"ALREADY_EXISTS": 409, "ABORTED": 409, "RESOURCE_EXHAUSTED": 429,
	"CANCELLED": 499, "INTERNAL": 500, "UNIMPLEMENTED": 501, "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504,
}

func gcpErr(status, format string, args ...any) *gcpError {
	return &gcpError{code: gcpStatusCodes[status], status: status, msg: fmt.Sprintf(format, args...)}
}

func writeGCPError(w http.ResponseWriter, e *gcpError) {
	body := map[string]any{"code": e.code, "message": e.msg, "status": e.status}
	if len(e.details) > 0 {
		body["details"] = e.details
	}
	if e.code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
	}
	writeGCPJSON(w, e.code, map[string]any{"error": body})
}

func writeGCPJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// permissionDenied is Cloud KMS's answer when IAM does not grant a
// permission, or the resource does not exist and the caller may not know
// that: 403 with an ErrorInfo naming the permission and the resource.
func permissionDenied(perm, resource string) *gcpError {
	e := gcpErr("PERMISSION_DENIED", "Permission '%s' denied on resource '%s' (or it may not exist).", perm, resource)
	e.details = []any{map[string]any{
		"@type":    "type.googleapis.com/google.rpc.ErrorInfo",
		"reason":   "IAM_PERMISSION_DENIED",
		"domain":   "cloudkms.googleapis.com",
		"metadata": map[string]string{"permission": perm, "resource": resource},
	}}
	return e
}

// --- formats -----------------------------------------------------------

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// gcpTime formats a timestamp as Google's JSON does: RFC 3339, UTC, nanoseconds.
func gcpTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000000Z")
}

// gcpDuration formats a duration as Google's JSON does: seconds, "7776000s".
func gcpDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	if d%time.Second == 0 {
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}

func parseGCPDuration(field, s string) (time.Duration, *gcpError) {
	n, ok := strings.CutSuffix(s, "s")
	f, err := strconv.ParseFloat(n, 64)
	// protobuf's Duration holds at most 10,000 years: 315,576,000,000 s.
	if !ok || err != nil || f < 0 || f > 315576000000 {
		return 0, gcpErr("INVALID_ARGUMENT", "Invalid value at '%s' (type.googleapis.com/google.protobuf.Duration), Field '%s', Illegal duration format; duration must end with 's'", field, field)
	}
	return time.Duration(f * float64(time.Second)), nil
}

func parseGCPTime(field, s string) (time.Time, *gcpError) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, gcpErr("INVALID_ARGUMENT", "Invalid value at '%s' (type.googleapis.com/google.protobuf.Timestamp), Field '%s', Invalid time format: %s", field, field, err)
	}
	return t.UTC(), nil
}

// crc32c is a CRC32C field: Google's JSON sends int64 as a string, but a
// number is accepted too.
type crc32c struct {
	set bool
	v   uint32
}

func (c *crc32c) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" {
		return nil
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return fmt.Errorf("invalid CRC32C %s", b)
	}
	c.set, c.v = true, uint32(n)
	return nil
}

// --- resource names ------------------------------------------------------

// gcpPath is a parsed request path: the resource it names, the collection
// it ends in (keyRings, cryptoKeys, cryptoKeyVersions) if any, and the
// custom verb after ':' if any.
type gcpPath struct {
	project, location, ring, key, version string
	coll, verb                            string
}

// gcpLocations are the locations Cloud KMS serves
// (https://cloud.google.com/kms/docs/locations): global, the
// multi-regions, the dual regions and Google Cloud's regions. A request
// for any other fails as Cloud KMS answers one it cannot route.
var gcpLocations = []string{
	"global", "us", "europe", "asia", "nam3", "nam4", "nam6", "nam7", "nam8", "nam9", "nam10", "nam11", "nam12", "nam13", "nam14",
	"eur3", "eur4", "eur5", "eur6", "asia1", "nam-eur-asia1",
	"africa-south1", "asia-east1", "asia-east2", "asia-northeast1", "asia-northeast2", "asia-northeast3",
	"asia-south1", "asia-south2", "asia-southeast1", "asia-southeast2", "australia-southeast1", "australia-southeast2",
	"europe-central2", "europe-north1", "europe-north2", "europe-southwest1", "europe-west1", "europe-west2", "europe-west3",
	"europe-west4", "europe-west6", "europe-west8", "europe-west9", "europe-west10", "europe-west12",
	"me-central1", "me-central2", "me-west1", "northamerica-northeast1", "northamerica-northeast2", "northamerica-south1",
	"southamerica-east1", "southamerica-west1", "us-central1", "us-east1", "us-east4", "us-east5", "us-south1",
	"us-west1", "us-west2", "us-west3", "us-west4",
}

var gcpIDRE = lazyRE(`^[a-zA-Z0-9_-]{1,63}$`)

// parseGCPPath reads /v1/projects/P/locations/L[/keyRings[/R[/cryptoKeys[/K[/cryptoKeyVersions[/V]]]]]][:verb].
func parseGCPPath(path string) (gcpPath, bool) {
	var p gcpPath
	rest, ok := strings.CutPrefix(path, "/v1/")
	if !ok {
		return p, false
	}
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		rest, p.verb = rest[:i], rest[i+1:]
	}
	seg := strings.Split(rest, "/")
	if len(seg) < 4 || seg[0] != "projects" || seg[2] != "locations" || seg[1] == "" || seg[3] == "" {
		return p, false
	}
	p.project, p.location = seg[1], seg[3]
	fields := []*string{&p.ring, &p.key, &p.version}
	colls := []string{"keyRings", "cryptoKeys", "cryptoKeyVersions"}
	for i, s := range seg[4:] {
		level := i / 2
		if level >= len(colls) {
			return p, false
		}
		if i%2 == 0 {
			if s != colls[level] {
				return p, false
			}
			p.coll = s
			continue
		}
		if s == "" {
			return p, false
		}
		*fields[level], p.coll = s, ""
	}
	if p.coll != "" && p.verb != "" {
		return p, false
	}
	return p, true
}

func (p gcpPath) locationName() string {
	return "projects/" + p.project + "/locations/" + p.location
}
func (p gcpPath) ringName() string { return p.locationName() + "/keyRings/" + p.ring }
func (p gcpPath) keyName() string  { return p.ringName() + "/cryptoKeys/" + p.key }
func (p gcpPath) versionName() string {
	return p.keyName() + "/cryptoKeyVersions/" + p.version
}

// name is the resource the path names (not the collection it lists).
func (p gcpPath) name() string {
	switch {
	case p.version != "":
		return p.versionName()
	case p.key != "":
		return p.keyName()
	case p.ring != "":
		return p.ringName()
	}
	return p.locationName()
}

// --- IAM -----------------------------------------------------------------

// gcpAllowed reports whether the policies from the project down to the
// resource p names grant id the permission; callers hold mu. Bindings with
// a condition grant nothing here: the sandbox does not evaluate CEL.
func (s *Sandbox) gcpAllowed(id *GCPIdentity, perm string, p gcpPath) bool {
	proj := s.gcp.projects[p.project]
	if proj == nil {
		return false
	}
	policies := []*gcpPolicy{proj}
	if r := s.gcp.rings[p.ringName()]; p.ring != "" && r != nil {
		policies = append(policies, &r.policy)
		if k := r.keys[p.key]; p.key != "" && k != nil {
			policies = append(policies, &k.policy)
		}
	}
	for _, pol := range policies {
		for _, b := range pol.Bindings {
			if b.Condition != nil || !GCPRoleGrants(b.Role, perm) {
				continue
			}
			if slices.Contains(b.Members, id.Member()) || slices.Contains(b.Members, "allAuthenticatedUsers") || slices.Contains(b.Members, "allUsers") {
				return true
			}
		}
	}
	return false
}

// faultError is an injected fault as Google would answer it: its code
// names the status (HTTP 400 unless it is a known one or Status says
// otherwise); a PERMISSION_DENIED without a message is IAM's own body
// for the permission and resource, as while a new binding has not yet
// applied.
func faultError(f *apiError, perm, resource string) *gcpError {
	e := gcpErr(f.Code, "%s", f.Message)
	if f.Code == "PERMISSION_DENIED" && f.Message == "" {
		e = permissionDenied(perm, resource)
	}
	if f.Status != 0 {
		e.code = f.Status
	}
	if e.code == 0 {
		e.code = http.StatusBadRequest
	}
	return e
}

// --- routing -------------------------------------------------------------

// gcpOp is one API method: its name (for the log and faults), the
// permission it needs, and whether it acts on the collection.
type gcpOp struct {
	name, perm string
	run        func(*GCPIdentity, gcpPath, *http.Request, []byte) (any, *gcpError)
}

// serveGCP serves Cloud KMS under /v1/ and the token endpoint.
func (s *Sandbox) serveGCP(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.URL.Path == gcpTokenPath {
		s.serveGCPToken(w, r, body)
		return
	}
	id, sent := s.gcpCaller(r)
	if id == nil {
		s.logf("cloudkms %s %s -> UNAUTHENTICATED", r.Method, r.URL.Path)
		if !sent {
			writeGCPError(w, gcpErr("UNAUTHENTICATED", "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."))
			return
		}
		writeGCPError(w, gcpErr("UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."))
		return
	}
	if project, verb, ok := crmProject(r.URL.Path); ok {
		s.serveCRM(w, r, body, id, project, verb)
		return
	}
	p, ok := parseGCPPath(r.URL.Path)
	op := s.gcpRoute(r.Method, p)
	if !ok || op == nil {
		s.logf("cloudkms %s %s -> no such method", r.Method, r.URL.Path)
		writeGCPError(w, gcpErr("NOT_FOUND", "The rekwiz sandbox does not serve %s %s.", r.Method, r.URL.Path))
		return
	}
	if f := s.applyFaults("cloudkms", op.name, id.Name); f != nil {
		s.logf("cloudkms %s %s %s -> injected %s", op.name, p.name(), id.Name, f.Code)
		writeGCPError(w, faultError(f, op.perm, p.name()))
		return
	}
	if !slices.Contains(gcpLocations, p.location) {
		s.logf("cloudkms %s %s %s -> no such location", op.name, p.name(), id.Name)
		writeGCPError(w, gcpErr("NOT_FOUND", "The request concerns location '%s' but was sent to location 'global'. Either Cloud KMS is not available in '%s' or the request was misrouted.", p.location, p.location))
		return
	}
	s.mu.Lock()
	var (
		out any
		err *gcpError
	)
	checked := p.name() // for create and list, the parent
	if op.perm != "" && !s.gcpAllowed(id, op.perm, p) {
		err = permissionDenied(op.perm, checked)
	} else {
		out, err = op.run(id, p, r, body)
	}
	s.mu.Unlock()
	if err != nil {
		s.logf("cloudkms %s %s %s -> %s", op.name, checked, id.Name, err.status)
		writeGCPError(w, err)
		return
	}
	s.logf("cloudkms %s %s %s -> ok", op.name, checked, id.Name)
	writeGCPJSON(w, http.StatusOK, out)
}

// gcpRoute finds the method a request calls.
func (s *Sandbox) gcpRoute(method string, p gcpPath) *gcpOp {
	get, post, patch := method == http.MethodGet, method == http.MethodPost, method == http.MethodPatch
	switch {
	// Key rings, in a location.
	case p.ring == "" && p.coll == "keyRings" && get:
		return &gcpOp{"ListKeyRings", permRingsList, s.listKeyRings}
	case p.ring == "" && p.coll == "keyRings" && post:
		return &gcpOp{"CreateKeyRing", permRingsCreate, s.createKeyRing}
	// A key ring.
	case p.ring != "" && p.key == "" && p.coll == "":
		switch {
		case p.verb == "" && get:
			return &gcpOp{"GetKeyRing", permRingsGet, s.getKeyRing}
		case p.verb == "getIamPolicy" && (get || post):
			return &gcpOp{"GetIamPolicy", permRingsGetIAM, s.getIamPolicy}
		case p.verb == "setIamPolicy" && post:
			return &gcpOp{"SetIamPolicy", permRingsSetIAM, s.setIamPolicy}
		case p.verb == "testIamPermissions" && post:
			return &gcpOp{"TestIamPermissions", "", s.testIamPermissions}
		}
	// Keys, in a key ring.
	case p.ring != "" && p.key == "" && p.coll == "cryptoKeys" && get:
		return &gcpOp{"ListCryptoKeys", permKeysList, s.listCryptoKeys}
	case p.ring != "" && p.key == "" && p.coll == "cryptoKeys" && post:
		return &gcpOp{"CreateCryptoKey", permKeysCreate, s.createCryptoKey}
	// A key.
	case p.key != "" && p.version == "" && p.coll == "":
		switch {
		case p.verb == "" && get:
			return &gcpOp{"GetCryptoKey", permKeysGet, s.getCryptoKey}
		case p.verb == "" && patch:
			return &gcpOp{"UpdateCryptoKey", permKeysUpdate, s.patchCryptoKey}
		case p.verb == "encrypt" && post:
			return &gcpOp{"Encrypt", permEncrypt, s.gcpEncrypt}
		case p.verb == "decrypt" && post:
			return &gcpOp{"Decrypt", permDecrypt, s.gcpDecrypt}
		case p.verb == "getIamPolicy" && (get || post):
			return &gcpOp{"GetIamPolicy", permKeysGetIAM, s.getIamPolicy}
		case p.verb == "setIamPolicy" && post:
			return &gcpOp{"SetIamPolicy", permKeysSetIAM, s.setIamPolicy}
		case p.verb == "testIamPermissions" && post:
			return &gcpOp{"TestIamPermissions", "", s.testIamPermissions}
		case p.verb == "updatePrimaryVersion" && post:
			return &gcpOp{"UpdateCryptoKeyPrimaryVersion", permKeysUpdate, s.updatePrimaryVersion}
		}
	// Versions, of a key.
	case p.key != "" && p.version == "" && p.coll == "cryptoKeyVersions" && get:
		return &gcpOp{"ListCryptoKeyVersions", permVersionsList, s.listVersions}
	case p.key != "" && p.version == "" && p.coll == "cryptoKeyVersions" && post:
		return &gcpOp{"CreateCryptoKeyVersion", permVersionsCreate, s.createVersion}
	// A version.
	case p.version != "" && p.coll == "":
		switch {
		case p.verb == "" && get:
			return &gcpOp{"GetCryptoKeyVersion", permVersionsGet, s.getVersion}
		case p.verb == "" && patch:
			return &gcpOp{"UpdateCryptoKeyVersion", permVersionsUpdate, s.patchVersion}
		case p.verb == "destroy" && post:
			return &gcpOp{"DestroyCryptoKeyVersion", permVersionsDestroy, s.destroyVersion}
		case p.verb == "restore" && post:
			return &gcpOp{"RestoreCryptoKeyVersion", permVersionsRestore, s.restoreVersion}
		case p.verb == "encrypt" && post:
			return &gcpOp{"Encrypt", permEncrypt, s.gcpEncrypt}
		}
	}
	return nil
}

// --- lookups (callers hold mu) -------------------------------------------

func (s *Sandbox) ringAt(p gcpPath) (*gcpKeyRing, *gcpError) {
	r := s.gcp.rings[p.ringName()]
	if r == nil {
		return nil, gcpErr("NOT_FOUND", "KeyRing %s not found.", p.ringName())
	}
	return r, nil
}

func (s *Sandbox) keyAt(p gcpPath) (*gcpKey, *gcpError) {
	r, err := s.ringAt(p)
	if err != nil {
		return nil, err
	}
	k := r.keys[p.key]
	if k == nil {
		return nil, gcpErr("NOT_FOUND", "CryptoKey %s not found.", p.keyName())
	}
	return k, nil
}

func (s *Sandbox) versionAt(p gcpPath) (*gcpKey, *gcpVersion, *gcpError) {
	k, err := s.keyAt(p)
	if err != nil {
		return nil, nil, err
	}
	n, perr := strconv.Atoi(p.version)
	v := k.version(n)
	if perr != nil || v == nil {
		return nil, nil, gcpErr("NOT_FOUND", "CryptoKeyVersion %s not found.", p.versionName())
	}
	return k, v, nil
}

// --- JSON shapes ---------------------------------------------------------

type keyRingJSON struct {
	Name       string `json:"name"`
	CreateTime string `json:"createTime"`
}

type versionTemplateJSON struct {
	ProtectionLevel string `json:"protectionLevel,omitempty"`
	Algorithm       string `json:"algorithm,omitempty"`
}

type versionJSON struct {
	Name             string `json:"name"`
	State            string `json:"state"`
	CreateTime       string `json:"createTime"`
	ProtectionLevel  string `json:"protectionLevel"`
	Algorithm        string `json:"algorithm"`
	GenerateTime     string `json:"generateTime,omitempty"`
	DestroyTime      string `json:"destroyTime,omitempty"`
	DestroyEventTime string `json:"destroyEventTime,omitempty"`
}

type cryptoKeyJSON struct {
	Name                     string               `json:"name"`
	Primary                  *versionJSON         `json:"primary,omitempty"`
	Purpose                  string               `json:"purpose"`
	CreateTime               string               `json:"createTime"`
	NextRotationTime         string               `json:"nextRotationTime,omitempty"`
	RotationPeriod           string               `json:"rotationPeriod,omitempty"`
	VersionTemplate          *versionTemplateJSON `json:"versionTemplate,omitempty"`
	Labels                   map[string]string    `json:"labels,omitempty"`
	DestroyScheduledDuration string               `json:"destroyScheduledDuration,omitempty"`
}

func ringJSON(r *gcpKeyRing) keyRingJSON {
	return keyRingJSON{Name: r.name, CreateTime: gcpTime(r.created)}
}

func verJSON(k *gcpKey, v *gcpVersion) *versionJSON {
	out := &versionJSON{
		Name: fmt.Sprintf("%s/cryptoKeyVersions/%d", k.name, v.id), State: v.state, CreateTime: gcpTime(v.created),
		ProtectionLevel: v.protection, Algorithm: v.algorithm,
	}
	if v.state != "PENDING_GENERATION" {
		out.GenerateTime = gcpTime(v.generated)
	}
	if v.state == "DESTROY_SCHEDULED" || v.state == "DESTROYED" {
		out.DestroyTime = gcpTime(v.destroyTime)
	}
	if v.state == "DESTROYED" {
		out.DestroyEventTime = gcpTime(v.destroyedAt)
	}
	return out
}

func keyJSON(k *gcpKey) cryptoKeyJSON {
	out := cryptoKeyJSON{
		Name: k.name, Purpose: k.purpose, CreateTime: gcpTime(k.created),
		NextRotationTime: gcpTime(k.nextRotation), RotationPeriod: gcpDuration(k.rotation),
		VersionTemplate:          &versionTemplateJSON{ProtectionLevel: k.protection, Algorithm: k.algorithm},
		DestroyScheduledDuration: gcpDuration(k.destroyScheduled),
	}
	if len(k.labels) > 0 {
		out.Labels = map[string]string{}
		for l, v := range k.labels {
			out.Labels[l] = v
		}
	}
	if v := k.version(k.primary); v != nil && k.purpose == "ENCRYPT_DECRYPT" {
		out.Primary = verJSON(k, v)
	}
	return out
}

// gcpPage cuts a list by pageSize and pageToken (an offset, base64).
func gcpPage[T any](r *http.Request, items []T) ([]T, string, *gcpError) {
	start := 0
	if t := queryParam(r, "pageToken"); t != "" {
		b, err := base64.RawURLEncoding.DecodeString(t)
		n, err2 := strconv.Atoi(string(b))
		if err != nil || err2 != nil || n < 0 || n > len(items) {
			return nil, "", gcpErr("INVALID_ARGUMENT", "Invalid page token.")
		}
		start = n
	}
	size := len(items)
	if ps := queryParam(r, "pageSize"); ps != "" {
		n, err := strconv.Atoi(ps)
		if err != nil || n < 0 {
			return nil, "", gcpErr("INVALID_ARGUMENT", "Invalid value at 'page_size' (TYPE_INT32), %q", ps)
		}
		if n > 0 {
			size = min(n, 1000)
		}
	}
	end := min(start+size, len(items))
	next := ""
	if end < len(items) {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	return items[start:end], next, nil
}

// gcpList is a list method's answer: a page of all under field, with
// totalSize and, when more follow, nextPageToken.
func gcpList[T any](r *http.Request, field string, all []T) (any, *gcpError) {
	items, next, err := gcpPage(r, all)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"totalSize": len(all)}
	if len(items) > 0 {
		out[field] = items
	}
	if next != "" {
		out["nextPageToken"] = next
	}
	return out, nil
}

// --- key rings -----------------------------------------------------------

func (s *Sandbox) listKeyRings(_ *GCPIdentity, p gcpPath, r *http.Request, _ []byte) (any, *gcpError) {
	prefix := p.locationName() + "/keyRings/"
	var all []keyRingJSON
	for name, ring := range s.gcp.rings {
		if strings.HasPrefix(name, prefix) {
			all = append(all, ringJSON(ring))
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return gcpList(r, "keyRings", all)
}

func (s *Sandbox) createKeyRing(_ *GCPIdentity, p gcpPath, r *http.Request, _ []byte) (any, *gcpError) {
	id := queryParam(r, "keyRingId")
	if !gcpIDRE().MatchString(id) {
		return nil, gcpErr("INVALID_ARGUMENT", "Invalid KeyRing ID %q: it must be 1 to 63 letters, digits, underscores or dashes.", id)
	}
	p.ring = id
	if s.gcp.rings[p.ringName()] != nil {
		return nil, gcpErr("ALREADY_EXISTS", "KeyRing %s already exists.", p.ringName())
	}
	ring := &gcpKeyRing{name: p.ringName(), created: s.now().UTC(), keys: map[string]*gcpKey{}, policy: emptyPolicy()}
	s.gcp.rings[ring.name] = ring
	return ringJSON(ring), nil
}

func (s *Sandbox) getKeyRing(_ *GCPIdentity, p gcpPath, _ *http.Request, _ []byte) (any, *gcpError) {
	ring, err := s.ringAt(p)
	if err != nil {
		return nil, err
	}
	return ringJSON(ring), nil
}

// --- keys ----------------------------------------------------------------

var gcpPurposes = []string{"ENCRYPT_DECRYPT", "ASYMMETRIC_SIGN", "ASYMMETRIC_DECRYPT", "RAW_ENCRYPT_DECRYPT", "MAC"}

type cryptoKeyIn struct {
	Purpose                  string               `json:"purpose"`
	VersionTemplate          *versionTemplateJSON `json:"versionTemplate"`
	RotationPeriod           string               `json:"rotationPeriod"`
	NextRotationTime         string               `json:"nextRotationTime"`
	Labels                   map[string]string    `json:"labels"`
	DestroyScheduledDuration string               `json:"destroyScheduledDuration"`
	ImportOnly               bool                 `json:"importOnly"`
}

func (s *Sandbox) listCryptoKeys(_ *GCPIdentity, p gcpPath, r *http.Request, _ []byte) (any, *gcpError) {
	ring, err := s.ringAt(p)
	if err != nil {
		return nil, err
	}
	var all []cryptoKeyJSON
	for _, k := range ring.keys {
		all = append(all, keyJSON(k))
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	return gcpList(r, "cryptoKeys", all)
}

func decodeGCP(body []byte, v any) *gcpError {
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return gcpErr("INVALID_ARGUMENT", "Invalid JSON payload received. %s", err)
	}
	return nil
}

func (s *Sandbox) createCryptoKey(_ *GCPIdentity, p gcpPath, r *http.Request, body []byte) (any, *gcpError) {
	ring, err := s.ringAt(p)
	if err != nil {
		return nil, err
	}
	id := queryParam(r, "cryptoKeyId")
	if !gcpIDRE().MatchString(id) {
		return nil, gcpErr("INVALID_ARGUMENT", "Invalid CryptoKey ID %q: it must be 1 to 63 letters, digits, underscores or dashes.", id)
	}
	var in cryptoKeyIn
	if err := decodeGCP(body, &in); err != nil {
		return nil, err
	}
	if !slices.Contains(gcpPurposes, in.Purpose) {
		return nil, gcpErr("INVALID_ARGUMENT", "Invalid value for crypto_key.purpose: %q. It must be one of %s.", in.Purpose, strings.Join(gcpPurposes, ", "))
	}
	tmpl := versionTemplateJSON{ProtectionLevel: "SOFTWARE", Algorithm: defaultAlgorithm(in.Purpose)}
	if in.VersionTemplate != nil {
		if in.VersionTemplate.ProtectionLevel != "" {
			tmpl.ProtectionLevel = in.VersionTemplate.ProtectionLevel
		}
		if in.VersionTemplate.Algorithm != "" {
			tmpl.Algorithm = in.VersionTemplate.Algorithm
		}
	}
	if tmpl.ProtectionLevel != "SOFTWARE" && tmpl.ProtectionLevel != "HSM" {
		return nil, gcpErr("INVALID_ARGUMENT", "The rekwiz sandbox makes SOFTWARE and HSM keys only, not %q.", tmpl.ProtectionLevel)
	}
	switch {
	case tmpl.Algorithm == "":
		return nil, gcpErr("INVALID_ARGUMENT", "crypto_key.version_template.algorithm must be specified.")
	case in.Purpose == "ENCRYPT_DECRYPT" && tmpl.Algorithm != "GOOGLE_SYMMETRIC_ENCRYPTION":
		return nil, gcpErr("INVALID_ARGUMENT", "Algorithm %s is not compatible with purpose ENCRYPT_DECRYPT.", tmpl.Algorithm)
	}
	if ring.keys[id] != nil {
		p.key = id
		return nil, gcpErr("ALREADY_EXISTS", "CryptoKey %s already exists.", p.keyName())
	}
	k := &gcpKey{purpose: in.Purpose, protection: tmpl.ProtectionLevel, algorithm: tmpl.Algorithm, labels: map[string]string{},
		destroyScheduled: 30 * 24 * time.Hour}
	if err := applyKeyFields(k, in, []string{"labels", "rotationPeriod", "nextRotationTime"}); err != nil {
		return nil, err
	}
	if in.DestroyScheduledDuration != "" {
		d, err := parseGCPDuration("crypto_key.destroy_scheduled_duration", in.DestroyScheduledDuration)
		if err != nil {
			return nil, err
		}
		k.destroyScheduled = d
	}
	made := s.newGCPKey(ring, id, in.Purpose, tmpl.ProtectionLevel, tmpl.Algorithm)
	made.labels, made.rotation, made.nextRotation, made.destroyScheduled = k.labels, k.rotation, k.nextRotation, k.destroyScheduled
	if skip, _ := strconv.ParseBool(queryParam(r, "skipInitialVersionCreation")); !skip && !in.ImportOnly {
		s.addVersion(made)
	}
	return keyJSON(made), nil
}

func (s *Sandbox) getCryptoKey(_ *GCPIdentity, p gcpPath, _ *http.Request, _ []byte) (any, *gcpError) {
	k, err := s.keyAt(p)
	if err != nil {
		return nil, err
	}
	return keyJSON(k), nil
}

// camel turns a field path's snake_case into camelCase: update masks may
// use either.
func camel(s string) string {
	var b strings.Builder
	up := false
	for _, c := range s {
		switch {
		case c == '_':
			up = true
		case up:
			b.WriteString(strings.ToUpper(string(c)))
			up = false
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// queryParam reads a query parameter by its JSON name or its proto name
// (cryptoKeyId or crypto_key_id): Google's front end takes both.
func queryParam(r *http.Request, name string) string {
	q := r.URL.Query()
	if v, ok := q[name]; ok && len(v) > 0 {
		return v[0]
	}
	var b strings.Builder
	for _, c := range name {
		if 'A' <= c && c <= 'Z' {
			b.WriteByte('_')
			c += 'a' - 'A'
		}
		b.WriteRune(c)
	}
	return q.Get(b.String())
}

func updateMask(raw string) []string {
	var out []string
	for _, f := range strings.Split(raw, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, camel(f))
		}
	}
	return out
}

func (s *Sandbox) patchCryptoKey(_ *GCPIdentity, p gcpPath, r *http.Request, body []byte) (any, *gcpError) {
	k, err := s.keyAt(p)
	if err != nil {
		return nil, err
	}
	mask := updateMask(queryParam(r, "updateMask"))
	if len(mask) == 0 {
		return nil, gcpErr("INVALID_ARGUMENT", "The request must include an update_mask naming the fields to update.")
	}
	var in cryptoKeyIn
	if err := decodeGCP(body, &in); err != nil {
		return nil, err
	}
	for _, f := range mask {
		if !slices.Contains([]string{"labels", "rotationPeriod", "nextRotationTime", "versionTemplate.algorithm", "destroyScheduledDuration"}, f) {
			return nil, gcpErr("INVALID_ARGUMENT", "The update_mask path %q is not supported: the rekwiz sandbox updates labels, rotationPeriod, nextRotationTime and versionTemplate.algorithm.", f)
		}
	}
	// Apply to a copy, so a bad field changes nothing.
	next := *k
	next.labels = map[string]string{}
	for l, v := range k.labels {
		next.labels[l] = v
	}
	if err := applyKeyFields(&next, in, mask); err != nil {
		return nil, err
	}
	if slices.Contains(mask, "versionTemplate.algorithm") && in.VersionTemplate != nil {
		if k.purpose == "ENCRYPT_DECRYPT" && in.VersionTemplate.Algorithm != "GOOGLE_SYMMETRIC_ENCRYPTION" {
			return nil, gcpErr("INVALID_ARGUMENT", "Algorithm %s is not compatible with purpose ENCRYPT_DECRYPT.", in.VersionTemplate.Algorithm)
		}
		next.algorithm = in.VersionTemplate.Algorithm
	}
	if slices.Contains(mask, "destroyScheduledDuration") {
		return nil, gcpErr("INVALID_ARGUMENT", "destroy_scheduled_duration is immutable.")
	}
	*k = next
	return keyJSON(k), nil
}

// applyKeyFields sets the fields of in named by mask (labels,
// rotationPeriod, nextRotationTime) on k, checking them as Cloud KMS does.
func applyKeyFields(k *gcpKey, in cryptoKeyIn, mask []string) *gcpError {
	if slices.Contains(mask, "labels") {
		if err := checkLabels(in.Labels); err != nil {
			return err
		}
		k.labels = map[string]string{}
		for l, v := range in.Labels {
			k.labels[l] = v
		}
	}
	if slices.Contains(mask, "rotationPeriod") {
		k.rotation = 0
		if in.RotationPeriod != "" {
			d, err := parseGCPDuration("crypto_key.rotation_period", in.RotationPeriod)
			if err != nil {
				return err
			}
			if k.purpose != "ENCRYPT_DECRYPT" {
				return gcpErr("INVALID_ARGUMENT", "Automatic rotation is supported for ENCRYPT_DECRYPT keys only.")
			}
			if d < 24*time.Hour || d > 876000*time.Hour {
				return gcpErr("INVALID_ARGUMENT", "crypto_key.rotation_period must be at least 24 hours and at most 876,000 hours.")
			}
			k.rotation = d
		}
	}
	if slices.Contains(mask, "nextRotationTime") {
		k.nextRotation = time.Time{}
		if in.NextRotationTime != "" {
			t, err := parseGCPTime("crypto_key.next_rotation_time", in.NextRotationTime)
			if err != nil {
				return err
			}
			if k.purpose != "ENCRYPT_DECRYPT" {
				return gcpErr("INVALID_ARGUMENT", "Automatic rotation is supported for ENCRYPT_DECRYPT keys only.")
			}
			k.nextRotation = t
		}
	}
	return nil
}

var (
	labelKeyRE   = lazyRE(`^[a-z][a-z0-9_-]{0,62}$`)
	labelValueRE = lazyRE(`^[a-z0-9_-]{0,63}$`)
)

// checkLabels applies Google's label rules: at most 64; keys 1 to 63
// lowercase letters, digits, underscores and dashes, starting with a
// letter; values the same, up to 63, possibly empty. (Google also allows
// international lowercase letters; the sandbox takes ASCII only.)
func checkLabels(labels map[string]string) *gcpError {
	if len(labels) > 64 {
		return gcpErr("INVALID_ARGUMENT", "A resource may have at most 64 labels, not %d.", len(labels))
	}
	for l, v := range labels {
		if !labelKeyRE().MatchString(l) {
			return gcpErr("INVALID_ARGUMENT", "Invalid label key %q: a key must start with a lowercase letter and contain at most 63 lowercase letters, digits, underscores and dashes.", l)
		}
		if !labelValueRE().MatchString(v) {
			return gcpErr("INVALID_ARGUMENT", "Invalid value %q for label %q: a value may contain at most 63 lowercase letters, digits, underscores and dashes.", v, l)
		}
	}
	return nil
}

func (s *Sandbox) updatePrimaryVersion(_ *GCPIdentity, p gcpPath, _ *http.Request, body []byte) (any, *gcpError) {
	k, err := s.keyAt(p)
	if err != nil {
		return nil, err
	}
	var in struct {
		CryptoKeyVersionID string `json:"cryptoKeyVersionId"`
	}
	if err := decodeGCP(body, &in); err != nil {
		return nil, err
	}
	n, _ := strconv.Atoi(in.CryptoKeyVersionID)
	v := k.version(n)
	switch {
	case k.purpose != "ENCRYPT_DECRYPT":
		return nil, gcpErr("FAILED_PRECONDITION", "%s does not have purpose ENCRYPT_DECRYPT, so it has no primary version.", k.name)
	case v == nil:
		return nil, gcpErr("NOT_FOUND", "CryptoKeyVersion %s/cryptoKeyVersions/%s not found.", k.name, in.CryptoKeyVersionID)
	case v.state != "ENABLED":
		return nil, gcpErr("FAILED_PRECONDITION", "%s/cryptoKeyVersions/%d is not enabled, current state is: %s.", k.name, v.id, v.state)
	}
	k.primary = v.id
	return keyJSON(k), nil
}

// --- versions ------------------------------------------------------------

func (s *Sandbox) listVersions(_ *GCPIdentity, p gcpPath, r *http.Request, _ []byte) (any, *gcpError) {
	k, err := s.keyAt(p)
	if err != nil {
		return nil, err
	}
	var all []*versionJSON
	for _, v := range k.versions {
		all = append(all, verJSON(k, v))
	}
	return gcpList(r, "cryptoKeyVersions", all)
}

func (s *Sandbox) createVersion(_ *GCPIdentity, p gcpPath, _ *http.Request, _ []byte) (any, *gcpError) {
	k, err := s.keyAt(p)
	if err != nil {
		return nil, err
	}
	// A version made by CreateCryptoKeyVersion is not the primary until
	// UpdatePrimaryVersion makes it so (unless the key had none).
	keep := k.primary
	v := s.addVersion(k)
	if keep != 0 {
		k.primary = keep
	}
	return verJSON(k, v), nil
}

func (s *Sandbox) getVersion(_ *GCPIdentity, p gcpPath, _ *http.Request, _ []byte) (any, *gcpError) {
	k, v, err := s.versionAt(p)
	if err != nil {
		return nil, err
	}
	return verJSON(k, v), nil
}

func (s *Sandbox) patchVersion(_ *GCPIdentity, p gcpPath, r *http.Request, body []byte) (any, *gcpError) {
	k, v, err := s.versionAt(p)
	if err != nil {
		return nil, err
	}
	mask := updateMask(queryParam(r, "updateMask"))
	if !slices.Equal(mask, []string{"state"}) {
		return nil, gcpErr("INVALID_ARGUMENT", "The update_mask must be \"state\": the rekwiz sandbox updates a version's state only.")
	}
	var in struct {
		State string `json:"state"`
	}
	if err := decodeGCP(body, &in); err != nil {
		return nil, err
	}
	switch {
	case in.State != "ENABLED" && in.State != "DISABLED":
		return nil, gcpErr("INVALID_ARGUMENT", "A version's state may be set to ENABLED or DISABLED only, not %q.", in.State)
	case v.state != "ENABLED" && v.state != "DISABLED":
		return nil, gcpErr("FAILED_PRECONDITION", "%s is in state %s; only an ENABLED or DISABLED version can be enabled or disabled.", verJSON(k, v).Name, v.state)
	}
	v.state = in.State
	return verJSON(k, v), nil
}

func (s *Sandbox) destroyVersion(_ *GCPIdentity, p gcpPath, _ *http.Request, _ []byte) (any, *gcpError) {
	k, v, err := s.versionAt(p)
	if err != nil {
		return nil, err
	}
	if v.state != "ENABLED" && v.state != "DISABLED" {
		return nil, gcpErr("FAILED_PRECONDITION", "%s is in state %s; only an ENABLED or DISABLED version can be destroyed.", verJSON(k, v).Name, v.state)
	}
	v.state, v.destroyTime = "DESTROY_SCHEDULED", s.now().UTC().Add(k.destroyScheduled)
	return verJSON(k, v), nil
}

func (s *Sandbox) restoreVersion(_ *GCPIdentity, p gcpPath, _ *http.Request, _ []byte) (any, *gcpError) {
	k, v, err := s.versionAt(p)
	if err != nil {
		return nil, err
	}
	if v.state != "DESTROY_SCHEDULED" {
		return nil, gcpErr("FAILED_PRECONDITION", "%s is in state %s; only a DESTROY_SCHEDULED version can be restored.", verJSON(k, v).Name, v.state)
	}
	v.state, v.destroyTime = "DISABLED", time.Time{}
	return verJSON(k, v), nil
}

// --- IAM policies ----------------------------------------------------------

// policyAt is the policy of the key ring or key p names.
func (s *Sandbox) policyAt(p gcpPath) (*gcpPolicy, *gcpError) {
	if p.key != "" {
		k, err := s.keyAt(p)
		if err != nil {
			return nil, err
		}
		return &k.policy, nil
	}
	r, err := s.ringAt(p)
	if err != nil {
		return nil, err
	}
	return &r.policy, nil
}

func policyJSON(p *gcpPolicy) gcpPolicy {
	out := *p
	out.Bindings = slices.Clone(p.Bindings)
	return out
}

func (s *Sandbox) getIamPolicy(_ *GCPIdentity, p gcpPath, r *http.Request, body []byte) (any, *gcpError) {
	pol, err := s.policyAt(p)
	if err != nil {
		return nil, err
	}
	requested := queryParam(r, "options.requestedPolicyVersion")
	if r.Method == http.MethodPost {
		var in struct {
			Options struct {
				RequestedPolicyVersion int `json:"requestedPolicyVersion"`
			} `json:"options"`
		}
		if err := decodeGCP(body, &in); err != nil {
			return nil, err
		}
		requested = strconv.Itoa(in.Options.RequestedPolicyVersion)
	}
	if requested != "" {
		n, err := strconv.Atoi(requested)
		if err != nil || n < 0 || n > 3 || n == 2 {
			return nil, gcpErr("INVALID_ARGUMENT", "Invalid requested policy version %s: it must be 0, 1 or 3.", requested)
		}
		if pol.Version == 3 && n < 3 {
			return nil, gcpErr("INVALID_ARGUMENT", "The policy has conditional role bindings: request policy version 3 to read it.")
		}
	} else if pol.Version == 3 {
		return nil, gcpErr("INVALID_ARGUMENT", "The policy has conditional role bindings: request policy version 3 to read it.")
	}
	return policyJSON(pol), nil
}

// sameEtag compares etags as the bytes they encode: a bytes field may come
// back in either base64 alphabet (gcloud's apitools sends URL-safe).
func sameEtag(a, b string) bool {
	dec := func(s string) []byte {
		s = strings.TrimRight(s, "=")
		if d, err := base64.RawStdEncoding.DecodeString(s); err == nil {
			return d
		}
		if d, err := base64.RawURLEncoding.DecodeString(s); err == nil {
			return d
		}
		return []byte("\x00invalid:" + s)
	}
	return string(dec(a)) == string(dec(b))
}

var memberPrefixes = []string{"user:", "serviceAccount:", "group:", "domain:", "principal://", "principalSet://",
	"deleted:user:", "deleted:serviceAccount:", "deleted:group:", "projectOwner:", "projectEditor:", "projectViewer:"}

func (s *Sandbox) setIamPolicy(_ *GCPIdentity, p gcpPath, _ *http.Request, body []byte) (any, *gcpError) {
	pol, err := s.policyAt(p)
	if err != nil {
		return nil, err
	}
	return s.setPolicy(pol, body, func(b gcpBinding) *gcpError { return checkBinding(b, p) })
}

// setPolicy applies a SetIamPolicyRequest to pol: the etag must be the
// current one (or absent), each binding must pass check, and a new etag is
// drawn; callers hold mu.
func (s *Sandbox) setPolicy(pol *gcpPolicy, body []byte, check func(gcpBinding) *gcpError) (any, *gcpError) {
	var in struct {
		Policy     *gcpPolicy `json:"policy"`
		UpdateMask string     `json:"updateMask"`
	}
	if err := decodeGCP(body, &in); err != nil {
		return nil, err
	}
	if in.Policy == nil {
		return nil, gcpErr("INVALID_ARGUMENT", "The request must include a policy.")
	}
	mask := updateMask(in.UpdateMask)
	if len(mask) == 0 {
		mask = []string{"bindings", "etag"}
	}
	// A stale etag fails as IAM's read-modify-write does.
	if in.Policy.Etag != "" && !sameEtag(in.Policy.Etag, pol.Etag) {
		return nil, gcpErr("ABORTED", "There were concurrent policy changes. Please retry the whole read-modify-write with exponential backoff.")
	}
	next := policyJSON(pol)
	if slices.Contains(mask, "bindings") {
		conditional := false
		next.Bindings = nil
		for _, b := range in.Policy.Bindings {
			if err := check(b); err != nil {
				return nil, err
			}
			conditional = conditional || b.Condition != nil
			var members []string
			for _, m := range b.Members {
				if !slices.Contains(members, m) {
					members = append(members, m)
				}
			}
			if len(members) > 0 {
				b.Members = members
				next.Bindings = append(next.Bindings, b)
			}
		}
		if conditional && in.Policy.Version < 3 {
			return nil, gcpErr("INVALID_ARGUMENT", "Conditions can be set only on policies of version 3; this policy's version is %d.", in.Policy.Version)
		}
		// A policy without conditions is version 1, whatever version it
		// was written as (gcloud writes 3).
		next.Version = 1
		if conditional {
			next.Version = 3
		}
	}
	if slices.Contains(mask, "auditConfigs") {
		next.AuditConfigs = in.Policy.AuditConfigs
	}
	next.Etag = s.gcpEtag()
	*pol = next
	return policyJSON(pol), nil
}

// checkBinding refuses what IAM refuses on a key ring or key: a role the
// resource does not support (basic roles among them) or a member that is
// not one.
func checkBinding(b gcpBinding, p gcpPath) *gcpError {
	custom := strings.HasPrefix(b.Role, "projects/") || strings.HasPrefix(b.Role, "organizations/")
	if !custom && !strings.HasPrefix(b.Role, "roles/cloudkms.") {
		return gcpErr("INVALID_ARGUMENT", "Role %s is not supported for this resource.", b.Role)
	}
	return checkMembers(b, p.name())
}

// checkMembers refuses a binding whose members are not principals.
func checkMembers(b gcpBinding, resource string) *gcpError {
	if !strings.HasPrefix(b.Role, "roles/") && !strings.HasPrefix(b.Role, "projects/") && !strings.HasPrefix(b.Role, "organizations/") {
		return gcpErr("INVALID_ARGUMENT", "Role %s is not a role name.", b.Role)
	}
	for _, m := range b.Members {
		ok := m == "allUsers" || m == "allAuthenticatedUsers"
		for _, pre := range memberPrefixes {
			ok = ok || strings.HasPrefix(m, pre) && len(m) > len(pre)
		}
		if !ok {
			return gcpErr("INVALID_ARGUMENT", "Invalid principal %q in the binding of %s on %s.", m, b.Role, resource)
		}
	}
	return nil
}

func (s *Sandbox) testIamPermissions(id *GCPIdentity, p gcpPath, _ *http.Request, body []byte) (any, *gcpError) {
	if _, err := s.policyAt(p); err != nil {
		return nil, err
	}
	var in struct {
		Permissions []string `json:"permissions"`
	}
	if err := decodeGCP(body, &in); err != nil {
		return nil, err
	}
	var held []string
	for _, perm := range in.Permissions {
		if !strings.HasPrefix(perm, "cloudkms.") {
			return nil, gcpErr("INVALID_ARGUMENT", "Permission %s is not valid for this resource.", perm)
		}
		if s.gcpAllowed(id, perm, p) {
			held = append(held, perm)
		}
	}
	out := map[string]any{}
	if len(held) > 0 {
		out["permissions"] = held
	}
	return out, nil
}
