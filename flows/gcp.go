package flows

import (
	"errors"
	"fmt"
	"strings"
)

// Google Cloud KMS names. Their forms are Cloud KMS's own: a project ID
// is 6-30 lowercase letters, digits and hyphens starting with a letter;
// key ring and key IDs are 1-63 letters, digits, _ and -.
var (
	gcpProjectRE  = lazyRE(`^[a-z][a-z0-9-]*[a-z0-9]$`)
	gcpResourceRE = lazyRE(`^[A-Za-z0-9_-]+$`)
	// gcpLocationRE is a location's form: global, a multi-region (us,
	// eu, asia), a dual-region (nam4, eur3) or a region (us-east1,
	// europe-west2, northamerica-northeast1).
	gcpLocationRE = lazyRE(`^(global|[a-z]+|[a-z]+[0-9]|[a-z]+-[a-z]+[0-9]+)$`)
)

// GCPVendorRole is the role the vendor's service account is given on the
// key, and on nothing else: it may encrypt and decrypt with the key, not
// read its metadata or change it.
const GCPVendorRole = "roles/cloudkms.cryptoKeyEncrypterDecrypter"

// GCPLabelValue is the value of the label that marks a key for a domain.
const GCPLabelValue = "allow"

// GCPDomainLabel is the label key that marks a Google Cloud key for a
// domain: Google label keys allow only lowercase letters, digits, _ and
// -, so it is the domain ID lowercased (dm-lcajvnue94b).
func GCPDomainLabel(domain string) string { return strings.ToLower(domain) }

// ParseGCPProject checks a Google Cloud project ID.
func ParseGCPProject(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkText(s); err != nil {
		return "", err
	}
	if len(s) < 6 || len(s) > 30 || !gcpProjectRE().MatchString(s) {
		return "", errors.New("expected a project ID: 6-30 lowercase letters, digits and hyphens, starting with a letter, e.g. my-project-123")
	}
	return s, nil
}

// ParseGCPLocation checks a Cloud KMS location: global, a multi-region,
// a dual-region or a region.
func ParseGCPLocation(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkText(s); err != nil {
		return "", err
	}
	if len(s) > 40 || !gcpLocationRE().MatchString(s) {
		return "", errors.New("expected a Cloud KMS location such as us-east1, europe-west2, us or global")
	}
	return s, nil
}

// ParseKeyRingID checks a Cloud KMS key ring ID.
func ParseKeyRingID(s string) (string, error) {
	return parseGCPID(s, "key ring ID", "rekwiz")
}

// ParseCryptoKeyID checks a Cloud KMS key ID (the key's name in its ring).
func ParseCryptoKeyID(s string) (string, error) {
	return parseGCPID(s, "key name", "rek-2026")
}

func parseGCPID(s, what, example string) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkText(s); err != nil {
		return "", err
	}
	if len(s) > 63 || !gcpResourceRE().MatchString(s) {
		return "", fmt.Errorf("expected a %s of 1-63 letters, digits, _ and -, e.g. %s", what, example)
	}
	return s, nil
}

// The protection levels a new Cloud KMS key may have.
const (
	ProtectionHSM      = "hsm"
	ProtectionSoftware = "software"
)

// ParseProtectionLevel checks a new key's protection level: hsm or
// software (as gcloud's --protection-level takes it); none given is hsm.
func ParseProtectionLevel(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return ProtectionHSM, nil
	}
	if err := checkText(s); err != nil {
		return "", err
	}
	if s != ProtectionHSM && s != ProtectionSoftware {
		return "", errors.New("expected hsm (the key lives in Cloud HSM) or software")
	}
	return s, nil
}

// KeyResource names a Cloud KMS key:
// projects/P/locations/L/keyRings/R/cryptoKeys/K.
type KeyResource struct {
	Project  string
	Location string
	KeyRing  string
	Key      string
}

func (k KeyResource) String() string {
	if k == (KeyResource{}) {
		return ""
	}
	return "projects/" + k.Project + "/locations/" + k.Location + "/keyRings/" + k.KeyRing + "/cryptoKeys/" + k.Key
}

// KeyRingName is the key's ring: projects/P/locations/L/keyRings/R.
func (k KeyResource) KeyRingName() string {
	return "projects/" + k.Project + "/locations/" + k.Location + "/keyRings/" + k.KeyRing
}

const keyResourceExample = "projects/my-project/locations/us-east1/keyRings/rekwiz/cryptoKeys/rek"

// ParseKeyResource parses a Cloud KMS key's resource name. A key
// version's name (…/cryptoKeyVersions/N) is taken as its key, with a
// note saying so: the vendor uses the key's primary version.
func ParseKeyResource(s string) (k KeyResource, note string, err error) {
	s = strings.TrimSpace(s)
	if err := checkText(s); err != nil {
		return KeyResource{}, "", err
	}
	want := fmt.Errorf("expected a key resource name like %s", keyResourceExample)
	segs := strings.Split(strings.TrimSuffix(s, "/"), "/")
	if len(segs) == 10 && segs[8] == "cryptoKeyVersions" {
		note = "this names the key version " + segs[9] + "; the vendor uses the key's primary version, so the version was trimmed"
		segs = segs[:8]
	}
	if len(segs) != 8 || segs[0] != "projects" || segs[2] != "locations" || segs[4] != "keyRings" || segs[6] != "cryptoKeys" {
		return KeyResource{}, "", want
	}
	k = KeyResource{Project: segs[1], Location: segs[3], KeyRing: segs[5], Key: segs[7]}
	if _, err := ParseGCPProject(k.Project); err != nil {
		return KeyResource{}, "", fmt.Errorf("project %q: %w", k.Project, err)
	}
	if _, err := ParseGCPLocation(k.Location); err != nil {
		return KeyResource{}, "", fmt.Errorf("location %q: %w", k.Location, err)
	}
	if _, err := ParseKeyRingID(k.KeyRing); err != nil {
		return KeyResource{}, "", fmt.Errorf("key ring %q: %w", k.KeyRing, err)
	}
	if _, err := ParseCryptoKeyID(k.Key); err != nil {
		return KeyResource{}, "", fmt.Errorf("key %q: %w", k.Key, err)
	}
	return k, note, nil
}

var gcpServiceAccountRE = lazyRE(`^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z][a-z0-9-]{4,28}[a-z0-9]\.iam\.gserviceaccount\.com$`)

// newKeySuggestion is what a field starts with when nothing else is
// offered: a new Cloud KMS key goes in the key ring rekwiz (made if
// missing) and is protected by Cloud HSM.
func newKeySuggestion(f Field, k KeyChoice) string {
	switch {
	case f == FieldProtection:
		return ProtectionHSM
	case f == FieldKeyRing && k == KeyNew:
		return "rekwiz"
	}
	return ""
}
