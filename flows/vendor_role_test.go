package flows

import (
	"strings"
	"testing"
)

// TestVendorAzureRole: a profile may ask for the Encryption User (the
// default) or Crypto User, and nothing else; the error names the field.
func TestVendorAzureRole(t *testing.T) {
	v := Vendor{Name: "Acme", Slug: "acme", AWSAccountID: "111122223333", AzureAppID: "11111111-2222-3333-4444-555555555555"}
	if err := v.Validate(); err != nil || v.AzureRoleName() != "Managed HSM Crypto Service Encryption User" {
		t.Fatalf("default: %v %q", err, v.AzureRoleName())
	}
	v.AzureRole = AzureRoleCryptoUser
	if err := v.Validate(); err != nil || v.AzureRoleName() != "Managed HSM Crypto User" {
		t.Fatalf("crypto user: %v", err)
	}
	for _, bad := range []string{"Managed HSM Crypto Officer", "Managed HSM Administrator", "managed hsm crypto user"} {
		v.AzureRole = bad
		if err := v.Validate(); err == nil || !strings.Contains(err.Error(), "azureRole: expected") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
