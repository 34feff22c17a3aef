package flows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// maxInput bounds every typed or pasted value; nothing rekwiz asks for is
// longer, and a 10 KB paste gets an error rather than a slow regexp.
const maxInput = 2048

var (
	domainRE    = lazyRE(`^dm-[A-Za-z0-9]{11}$`)
	tenantRE    = lazyRE(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	hsmNameRE   = lazyRE(`^[A-Za-z](?:[A-Za-z0-9]|-[A-Za-z0-9]){2,23}$`)
	keyNameRE   = lazyRE(`^[A-Za-z0-9-]+$`) // and at most 127
	companyRE   = lazyRE(`^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$`)
	accessKeyRE = lazyRE(`^(AKIA|ASIA)[A-Z0-9]{16}$`)
	secretKeyRE = lazyRE(`^[A-Za-z0-9/+=]{40}$`)
	keyVerRE    = lazyRE(`^[0-9a-f]{32}$`)
)

// checkText rejects what no field accepts: nothing, too much, or bytes
// that are not printable text.
func checkText(v string) error {
	switch {
	case v == "":
		return errors.New("required")
	case len(v) > maxInput:
		return fmt.Errorf("too long (%d bytes; nothing here is longer than %d)", len(v), maxInput)
	case !utf8.ValidString(v):
		return errors.New("not valid UTF-8 text")
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("contains a control character (%U)", r)
		}
	}
	return nil
}

// ParseDomainID checks a domain ID: dm- followed by 11 letters or digits.
func ParseDomainID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkText(s); err != nil {
		return "", err
	}
	if !domainRE().MatchString(s) {
		return "", errors.New("expected dm- followed by 11 letters or digits, e.g. dm-LCAJVnUE94B")
	}
	return s, nil
}

// ParseRegion checks an AWS region name such as us-east-1.
func ParseRegion(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkText(s); err != nil {
		return "", err
	}
	if !regionRE().MatchString(s) {
		return "", errors.New("expected an AWS region such as us-east-1 or eu-west-2")
	}
	return s, nil
}

// ParseTenantID checks an Azure tenant ID (a GUID).
func ParseTenantID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkText(s); err != nil {
		return "", err
	}
	if !tenantRE().MatchString(s) {
		return "", errors.New("expected a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47")
	}
	return strings.ToLower(s), nil
}

// ParseHSMName checks a Managed HSM name: 3 to 24 letters, digits and
// single hyphens, starting with a letter and ending with a letter or digit.
func ParseHSMName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkText(s); err != nil {
		return "", err
	}
	if !validHSMName(s) {
		return "", errors.New("expected a Managed HSM name: 3-24 letters, digits and single hyphens, starting with a letter, e.g. contoso-hsm")
	}
	return s, nil
}

func validHSMName(s string) bool {
	return len(s) >= 3 && len(s) <= 24 && hsmNameRE().MatchString(s)
}

// ParseKeyName checks a Managed HSM key name: 1 to 127 letters, digits, hyphens.
func ParseKeyName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkText(s); err != nil {
		return "", err
	}
	if !boundedMatch(keyNameRE, s, 127) {
		return "", errors.New("expected a key name of 1-127 letters, digits and hyphens, e.g. rek-2026")
	}
	return s, nil
}

// ParseCompany checks the company name used in service-account alias and
// user names: up to 32 letters, digits, _ and -, starting alphanumeric.
func ParseCompany(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkText(s); err != nil {
		return "", err
	}
	if !companyRE().MatchString(s) {
		return "", errors.New("expected up to 32 letters, digits, _ and -, starting with a letter or digit, e.g. MyCompany")
	}
	return s, nil
}

// ParseAccessKeyID checks an AWS access key ID (AKIA… or ASIA…, 20 characters).
func ParseAccessKeyID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkText(s); err != nil {
		return "", err
	}
	if !accessKeyRE().MatchString(s) {
		return "", errors.New("expected an access key ID: AKIA followed by 16 capital letters or digits")
	}
	return s, nil
}

// ParseSecretAccessKey checks the shape of an AWS secret access key. The
// error never repeats the value.
func ParseSecretAccessKey(s string) (string, error) {
	s = strings.TrimSpace(s)
	if err := checkText(s); err != nil {
		return "", err
	}
	if !secretKeyRE().MatchString(s) {
		return "", errors.New("expected 40 characters of letters, digits, / + and =")
	}
	return s, nil
}

// KeyURL names a key in an Azure Managed HSM.
type KeyURL struct {
	HSM     string // the HSM's name, the first label of the host
	Suffix  string // managedhsm.azure.net or a sovereign cloud's suffix
	Name    string
	Version string // "" for the current version
}

func (k KeyURL) String() string {
	if k == (KeyURL{}) {
		return ""
	}
	s := "https://" + k.HSM + "." + k.Suffix + "/keys/" + k.Name
	if k.Version != "" {
		s += "/" + k.Version
	}
	return s
}

var hsmSuffixes = []string{"managedhsm.azure.net", "managedhsm.azure.cn", "managedhsm.usgovcloudapi.net"}
var vaultSuffixes = []string{"vault.azure.net", "vault.azure.cn", "vault.usgovcloudapi.net"}

const keyURLExample = "https://contoso-hsm.managedhsm.azure.net/keys/rek/0123456789abcdef0123456789abcdef"

// ParseKeyURL parses a Managed HSM key URL. A Key Vault URL is refused
// with the reason: symmetric oct-HSM keys exist only in Managed HSM.
func ParseKeyURL(s string) (KeyURL, error) {
	s = strings.TrimSpace(s)
	if err := checkText(s); err != nil {
		return KeyURL{}, err
	}
	want := fmt.Errorf("expected a Managed HSM key URL like %s", keyURLExample)
	rest, ok := strings.CutPrefix(s, "https://")
	if !ok {
		return KeyURL{}, want
	}
	host, path, _ := strings.Cut(rest, "/")
	hsm, suffix, _ := strings.Cut(host, ".")
	for _, v := range vaultSuffixes {
		if suffix == v {
			return KeyURL{}, errors.New("this is a Key Vault URL; symmetric oct-HSM keys exist only in Azure Managed HSM (https://NAME.managedhsm.azure.net/keys/KEY)")
		}
	}
	if !slices.Contains(hsmSuffixes, suffix) {
		return KeyURL{}, fmt.Errorf("the host is not a Managed HSM (NAME.%s); %w", strings.Join(hsmSuffixes, ", NAME."), want)
	}
	if !validHSMName(hsm) {
		return KeyURL{}, fmt.Errorf("HSM name %q is not 3-24 letters, digits and single hyphens starting with a letter; %w", hsm, want)
	}
	segs := strings.Split(strings.TrimSuffix(path, "/"), "/")
	if len(segs) < 2 || len(segs) > 3 || segs[0] != "keys" {
		return KeyURL{}, fmt.Errorf("the path is not /keys/KEY or /keys/KEY/VERSION; %w", want)
	}
	if !boundedMatch(keyNameRE, segs[1], 127) {
		return KeyURL{}, fmt.Errorf("key name %q is not 1-127 letters, digits and hyphens; %w", segs[1], want)
	}
	k := KeyURL{HSM: hsm, Suffix: suffix, Name: segs[1]}
	if len(segs) == 3 {
		if !keyVerRE().MatchString(segs[2]) {
			return KeyURL{}, fmt.Errorf("key version %q is not 32 hex digits; %w", segs[2], want)
		}
		k.Version = segs[2]
	}
	return k, nil
}
