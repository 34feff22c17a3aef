package flows

import (
	"errors"
	"fmt"
	"strings"
)

// Vendor is who the key is delegated to. Its values come from a vendor
// profile file or the domain API, never from constants in code.
type Vendor struct {
	// Name is the vendor's display name, shown on screen and in scripts.
	Name string `json:"name"`
	// Slug is the vendor's short name in alias names: alias/DOMAIN/SLUG.
	Slug string `json:"slug"`
	// AWSAccountID is the vendor's AWS account, granted use of the key.
	AWSAccountID string `json:"awsAccountID"`
	// AWSPrincipalARN narrows the grant to one role or user of that
	// account; empty means the account itself (its root principal).
	AWSPrincipalARN string `json:"awsPrincipalARN,omitempty"`
	// AzureAppID is the vendor's Azure application (client) ID.
	AzureAppID string `json:"azureAppID"`
	// AzureRole is the Managed HSM role the vendor's application is
	// given on the key: AzureRoleEncryptionUser (the default, when
	// empty) or AzureRoleCryptoUser, for a vendor whose service needs it.
	AzureRole string `json:"azureRole,omitempty"`
	// GCPServiceAccount is the vendor's Google service account (an
	// email ending in .iam.gserviceaccount.com), given the role
	// GCPVendorRole on the key. A profile without it cannot set up
	// Google Cloud.
	GCPServiceAccount string `json:"gcpServiceAccount,omitempty"`
	// APIURL is the vendor's domain API, if it has one.
	APIURL string `json:"apiURL,omitempty"`

	// Placeholder marks the embedded sandbox profile: it names no real
	// vendor, and granting it anything outside the demo is a mistake.
	Placeholder bool `json:"-"`
}

var (
	slugRE = lazyRE(`^[a-z0-9][a-z0-9-]{0,31}$`)
	// principalARNRE is an IAM root, role or user ARN; the role or user
	// name (group 2, with its path) is at most 512 characters: see
	// validPrincipalARN.
	principalARNRE = lazyRE(`^arn:(aws|aws-cn|aws-us-gov):iam::[0-9]{12}:(?:root|(?:role|user)/([A-Za-z0-9+=,.@_/-]+))$`)
	guidRE         = tenantRE
)

// The Managed HSM roles a vendor profile may ask for. What the vendor
// does (read the key, wrap, unwrap) is exactly the first; the second
// also lets it create, change and delete keys.
const (
	AzureRoleEncryptionUser = "Managed HSM Crypto Service Encryption User"
	AzureRoleCryptoUser     = "Managed HSM Crypto User"
)

// AzureRoleName is the Managed HSM role the vendor is given.
func (v Vendor) AzureRoleName() string {
	if v.AzureRole == "" {
		return AzureRoleEncryptionUser
	}
	return v.AzureRole
}

// GCPMember is the vendor's service account as an IAM policy binding
// names it: serviceAccount:EMAIL.
func (v Vendor) GCPMember() string { return "serviceAccount:" + v.GCPServiceAccount }

// AWSPrincipal is the principal the key policy grants, in the partition
// of the key.
func (v Vendor) AWSPrincipal(partition string) string {
	if v.AWSPrincipalARN != "" {
		return v.AWSPrincipalARN
	}
	return "arn:" + partition + ":iam::" + v.AWSAccountID + ":root"
}

// Validate checks every field and names the first that is wrong.
func (v Vendor) Validate() error {
	var errs []error
	bad := func(field, want string) {
		errs = append(errs, fmt.Errorf("vendor profile: %s: expected %s", field, want))
	}
	if err := checkText(v.Name); err != nil || len(v.Name) > 64 {
		bad("name", "a display name of 1-64 printable characters")
	}
	if !slugRE().MatchString(v.Slug) {
		bad("slug", "1-32 lowercase letters, digits and hyphens, e.g. acme")
	}
	if !accountRE().MatchString(v.AWSAccountID) {
		bad("awsAccountID", "a 12-digit AWS account ID")
	}
	if v.AWSPrincipalARN != "" {
		if !validPrincipalARN(v.AWSPrincipalARN) {
			bad("awsPrincipalARN", "an IAM ARN such as arn:aws:iam::111122223333:role/rek-access")
		} else if strings.Split(v.AWSPrincipalARN, ":")[4] != v.AWSAccountID {
			bad("awsPrincipalARN", "a principal in account awsAccountID")
		}
	}
	if !guidRE().MatchString(v.AzureAppID) {
		bad("azureAppID", "the application (client) ID, a GUID")
	}
	if v.AzureRole != "" && v.AzureRole != AzureRoleEncryptionUser && v.AzureRole != AzureRoleCryptoUser {
		bad("azureRole", fmt.Sprintf("%q (the default) or %q", AzureRoleEncryptionUser, AzureRoleCryptoUser))
	}
	if v.GCPServiceAccount != "" && !gcpServiceAccountRE().MatchString(v.GCPServiceAccount) {
		bad("gcpServiceAccount", "a service account email such as vendor-rek@vendor-prod.iam.gserviceaccount.com")
	}
	if v.APIURL != "" && !strings.HasPrefix(v.APIURL, "https://") && !strings.HasPrefix(v.APIURL, "http://127.0.0.1") && !strings.HasPrefix(v.APIURL, "http://localhost") {
		bad("apiURL", "an https:// URL")
	}
	return errors.Join(errs...)
}

// validPrincipalARN reports whether s is an IAM root, role or user ARN
// whose name and path are at most 512 characters.
func validPrincipalARN(s string) bool {
	m := principalARNRE().FindStringSubmatch(s)
	return m != nil && len(m[2]) <= 512
}
