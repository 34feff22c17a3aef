package flows

import (
	"errors"
	"strings"
	"testing"
)

const testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

// TestNonSecretFieldsRefuseASecret: a secret typed or pasted into a field
// that is shown, saved and logged is refused without being repeated, and
// Set does not keep it.
func TestNonSecretFieldsRefuseASecret(t *testing.T) {
	s, err := New(testVendor(), map[Field]string{FieldDomain: "dm-LCAJVnUE94B", FieldProvider: "aws-service-account", FieldKey: "new", FieldRegion: "us-east-1", FieldCompany: "Example"})
	if err != nil {
		t.Fatal(err)
	}
	bearing := []string{
		testSecret,
		"  " + testSecret + "  ",
		"Secret access key (save this for next step): " + testSecret,
		"Key alias (save this for next step): arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/acme/Example\r" +
			"Access key ID (save this for next step): AKIAIOSFODNN7EXAMPLE\rSecret access key (save this for next step): " + testSecret,
		"arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/acme/Example\n" + testSecret,
		"aws_secret_access_key = " + testSecret,
		"AWS_SECRET_ACCESS_KEY=" + testSecret,
	}
	for f, spec := range fieldSpecs {
		if spec.Kind == SecretField {
			continue
		}
		for _, v := range bearing {
			_, err := s.Validate(f, v)
			if !errors.Is(err, ErrSecretInField) {
				t.Errorf("%s accepts or misreports %q: %v", f, v, err)
			}
			if err != nil && strings.Contains(err.Error(), testSecret) {
				t.Errorf("%s: the error repeats the secret: %v", f, err)
			}
			before := s.Value(f)
			s.Set(f, v)
			if got := s.Value(f); got != before || strings.Contains(got, testSecret) {
				t.Errorf("%s kept %q", f, got)
			}
		}
	}
	// The secret field takes it.
	if _, err := s.Validate(FieldSecretAccessKey, testSecret); err != nil {
		t.Fatal(err)
	}
	// What other fields legitimately hold is not mistaken for a secret.
	for _, v := range []string{
		"arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/acme/Example",
		"Key alias (save this for next step): arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/acme/Example",
		"https://contoso-hsm.managedhsm.azure.net/keys/rek-abcdefg/0123456789abcdef0123456789abcdef",
		"1234abcd-12ab-34cd-56ef-1234567890ab", "AKIAIOSFODNN7EXAMPLE", "72f988bf-86f1-41af-91ab-2d7cd011db47",
	} {
		if ContainsSecret(v) {
			t.Errorf("%q taken for a secret", v)
		}
	}
}

// TestKeyNameOfSecretShapeIsNoSecret: an Azure key name of 40 letters and
// digits is a key name, taken from the command line and from the form;
// the same shape in the alias ARN or the key URL still is a secret.
func TestKeyNameOfSecretShapeIsNoSecret(t *testing.T) {
	const name = "RootEncryptionKeyForProductionWorkloads1"
	s, err := New(testVendor(), map[Field]string{FieldDomain: "dm-LCAJVnUE94B", FieldProvider: "azure-delegated", FieldKey: "existing", FieldKeyName: name})
	if err != nil {
		t.Fatalf("--key-name %s refused: %v", name, err)
	}
	if got := s.Value(FieldKeyName); got != name {
		t.Fatalf("key name kept as %q", got)
	}
	if v, err := s.Validate(FieldKeyName, name); err != nil || v.Text != name {
		t.Fatalf("Validate(key-name) = %q, %v", v.Text, err)
	}
	for _, f := range []Field{FieldAliasARN, FieldKeyURL, FieldTenantID, FieldAccessKeyID} {
		if _, err := s.Validate(f, name); !errors.Is(err, ErrSecretInField) {
			t.Errorf("%s: %v", f, err)
		}
	}
	// A key name can never hold '/', '+' or '=': the secret shape with
	// them is still refused there, and Set says so.
	if _, err := s.Validate(FieldKeyName, testSecret); !errors.Is(err, ErrSecretInField) {
		t.Errorf("key-name takes a secret: %v", err)
	}
	if err := s.Set(FieldTenantID, testSecret); !errors.Is(err, ErrSecretInField) {
		t.Errorf("Set drops a secret without saying: %v", err)
	}
}
