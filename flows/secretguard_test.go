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
