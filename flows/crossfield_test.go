package flows

import (
	"strings"
	"testing"
)

// TestValidateFormRecomputesCrossFieldErrors: the key ARN's region is
// checked against the region as typed beside it, not as recorded before,
// so fixing either side clears the error at once.
func TestValidateFormRecomputesCrossFieldErrors(t *testing.T) {
	s := newState(t, map[Field]string{"domain": domain, "provider": "aws-delegated", "key": "existing"})
	if s.Step() != StepKeyDetails {
		t.Fatalf("at %s", s.Step())
	}
	// The region was recorded as eu-west-1 (the customer went back).
	s.Set(FieldRegion, "eu-west-1")
	got := s.ValidateForm(map[Field]string{FieldRegion: "eu-west-1", FieldKeyID: keyARN})
	if err := got[FieldKeyID].Err; err == nil || !strings.Contains(err.Error(), "this key is in us-east-1, but the region is eu-west-1") {
		t.Fatalf("key ID error = %v", err)
	}
	got = s.ValidateForm(map[Field]string{FieldRegion: "us-east-1", FieldKeyID: keyARN})
	if got[FieldKeyID].Err != nil || got[FieldRegion].Err != nil {
		t.Fatalf("after fixing the region: %+v", got)
	}
	// A region that is wrong on its own says so itself; the key is not
	// also blamed.
	got = s.ValidateForm(map[Field]string{FieldRegion: "us-east", FieldKeyID: keyARN})
	if got[FieldRegion].Err == nil || got[FieldKeyID].Err != nil {
		t.Fatalf("bad region: %+v", got)
	}
	// Next uses the same check: the typed answers pass together.
	s.Set(FieldRegion, "us-east-1")
	s.Set(FieldKeyID, keyARN)
	if err := s.Next(); err != nil {
		t.Fatal(err)
	}
}

func TestAliasAccountAgainstKeyAccount(t *testing.T) {
	s := newState(t, map[Field]string{"domain": domain, "provider": "aws-delegated", "key": "existing", "region": "us-east-1", "key-id": keyARN})
	for s.Step() != StepPaste {
		if err := s.Next(); err != nil {
			t.Fatal(err)
		}
	}
	other := strings.Replace(aliasARN, "123456789012", "210987654321", 1)
	got := s.ValidateForm(map[Field]string{FieldAliasARN: other})
	if err := got[FieldAliasARN].Err; err == nil || !strings.Contains(err.Error(), "this alias is in account 210987654321, but the key is in account 123456789012") {
		t.Fatalf("err = %v", err)
	}
	if got := s.ValidateForm(map[Field]string{FieldAliasARN: aliasARN}); got[FieldAliasARN].Err != nil {
		t.Fatal(got[FieldAliasARN].Err)
	}
	// A bare key ID names no account: any account's alias is taken.
	s2 := newState(t, map[Field]string{"domain": domain, "provider": "aws-delegated", "key": "existing", "region": "us-east-1",
		"key-id": "1234abcd-12ab-34cd-56ef-1234567890ab"})
	if _, err := s2.Validate(FieldAliasARN, other); err != nil {
		t.Fatal(err)
	}
}

func TestKeyURLAgainstTheKeyStep(t *testing.T) {
	s := newState(t, map[Field]string{"domain": domain, "provider": "azure-delegated", "key": "existing", "hsm-name": "contoso-hsm", "key-name": "rek"})
	const ver = "/0123456789abcdef0123456789abcdef"
	tests := []struct{ url, wantErr string }{
		{"https://contoso-hsm.managedhsm.azure.net/keys/rek" + ver, ""},
		{"https://CONTOSO-hsm.managedhsm.azure.net/keys/REK" + ver, ""},
		{"https://other-hsm.managedhsm.azure.net/keys/rek" + ver, "this key is in the Managed HSM other-hsm, but the key step names contoso-hsm"},
		{"https://contoso-hsm.managedhsm.azure.net/keys/rek-2" + ver, "this URL is for the key rek-2, but the key step names rek"},
	}
	for _, tt := range tests {
		_, err := s.Validate(FieldKeyURL, tt.url)
		if (tt.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%s: err = %v, want %q", tt.url, err, tt.wantErr)
		}
	}
	// rekwiz verify asks for neither: any HSM and key are taken.
	v := newState(t, map[Field]string{"domain": domain, "provider": "azure-delegated"})
	if _, err := v.Validate(FieldKeyURL, tests[2].url); err != nil {
		t.Fatal(err)
	}
}

func TestLabelledValuesWhateverTheLineEndings(t *testing.T) {
	lines := []string{
		"Added statement rekwiz-acme to the key policy; other statements kept.",
		"",
		PasteLine(FieldAliasARN) + aliasARN,
		PasteLine(FieldAccessKeyID) + "AKIA3ZMK73YH4FBPMAID",
		PasteLine(FieldSecretAccessKey) + "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",
	}
	for name, sep := range map[string]string{"LF": "\n", "CR": "\r", "CRLF": "\r\n"} {
		got := LabelledValues(strings.Join(lines, sep) + sep)
		if got[FieldAliasARN] != aliasARN || got[FieldAccessKeyID] != "AKIA3ZMK73YH4FBPMAID" ||
			got[FieldSecretAccessKey] != "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" || len(got) != 3 {
			t.Errorf("%s: %v", name, got)
		}
	}
	if PasteLine(FieldAliasARN) != "Key alias (save this for next step): " {
		t.Fatalf("the label of the vendor's setup instructions changed: %q", PasteLine(FieldAliasARN))
	}
	if PasteLine(FieldRegion) != "" {
		t.Fatal("the region is not pasted")
	}
	for _, p := range Providers() {
		for _, f := range PasteFields(p) {
			if PasteLine(f) == "" {
				t.Errorf("%s: paste field %s has no label", p, f)
			}
		}
	}
}
