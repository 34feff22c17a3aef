package flows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

var sprintf = fmt.Sprintf

func testVendor() Vendor {
	return Vendor{
		Name: "Acme Security", Slug: "acme", AWSAccountID: "999988887777",
		AzureAppID:        "11111111-2222-3333-4444-555555555555",
		GCPServiceAccount: "acme-rek@acme-prod.iam.gserviceaccount.com",
	}
}

const (
	domain   = "dm-LCAJVnUE94B"
	aliasARN = "arn:aws:kms:us-east-1:123456789012:alias/dm-LCAJVnUE94B/acme"
	keyARN   = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

func newState(t *testing.T, presets map[Field]string) *State {
	t.Helper()
	s, err := New(testVendor(), presets)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// answer sets the given answers and passes the current step.
func answer(t *testing.T, s *State, kv ...string) {
	t.Helper()
	for i := 0; i < len(kv); i += 2 {
		s.Set(Field(kv[i]), kv[i+1])
	}
	if err := s.Next(); err != nil {
		t.Fatalf("next from %s: %v", s.Step(), err)
	}
}

// walk records the steps visited from the first step until one can't be
// passed without work (apply) or more answers than given.
func TestWalkEveryProviderAndKeyChoice(t *testing.T) {
	tests := []struct {
		p       Provider
		k       KeyChoice
		details []string
		paste   []string
		fields  []Field // key details then paste fields, in order
	}{
		{AWSDelegated, KeyNew, []string{"region", "us-east-1"}, []string{"key-arn", aliasARN},
			[]Field{FieldRegion, FieldAliasARN}},
		{AWSDelegated, KeyExisting, []string{"region", "us-east-1", "key-id", keyARN}, []string{"key-arn", aliasARN},
			[]Field{FieldRegion, FieldKeyID, FieldAliasARN}},
		{AWSServiceAccount, KeyNew, []string{"region", "us-east-1", "company", "MyCo"},
			[]string{"key-arn", "arn:aws:kms:us-east-1:123456789012:alias/dm-LCAJVnUE94B/acme/MyCo",
				"access-key-id", "AKIA3ZMK73YH4FBPMAID", "secret-access-key", "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"},
			[]Field{FieldRegion, FieldCompany, FieldAliasARN, FieldAccessKeyID, FieldSecretAccessKey}},
		{AzureDelegated, KeyExisting, []string{"hsm-name", "contoso-hsm", "key-name", "rek"},
			[]string{"key-url", "https://contoso-hsm.managedhsm.azure.net/keys/rek", "tenant-id", "72f988bf-86f1-41af-91ab-2d7cd011db47"},
			[]Field{FieldHSMName, FieldKeyName, FieldKeyURL, FieldTenantID}},
		{AzureDelegated, KeyNew, []string{"hsm-name", "contoso-hsm", "key-name", "rek"},
			[]string{"key-url", "https://contoso-hsm.managedhsm.azure.net/keys/rek", "tenant-id", "72f988bf-86f1-41af-91ab-2d7cd011db47"},
			[]Field{FieldHSMName, FieldKeyName, FieldKeyURL, FieldTenantID}},
	}
	for _, tt := range tests {
		t.Run(string(tt.p)+"/"+string(tt.k), func(t *testing.T) {
			s := newState(t, nil)
			var visited []Step
			var fields []Field
			step := func(kv ...string) {
				visited = append(visited, s.Step())
				for _, f := range s.Fields() {
					if f.Kind != ChoiceField && f.Field != FieldDomain {
						fields = append(fields, f.Field)
					}
				}
				answer(t, s, kv...)
			}
			step("domain", domain)
			step("provider", string(tt.p))
			step("key", string(tt.k))
			step(tt.details...)
			step() // script
			step(tt.paste...)
			if s.Step() != StepApply {
				t.Fatalf("after paste: %s", s.Step())
			}
			if err := s.Next(); !errors.Is(err, ErrNotApplied) {
				t.Fatalf("next before apply = %v", err)
			}
			s.SetReceipt(Receipt{RekID: "rek-1"})
			step()
			if err := s.Next(); !errors.Is(err, ErrNotPaired) {
				t.Fatalf("next before pairing = %v", err)
			}
			s.SetPairing([]Check{{ID: "a", Status: StatusPass}, {ID: "b", Status: StatusWarn}})
			step()
			if s.Step() != StepDone {
				t.Fatalf("end: %s", s.Step())
			}
			if err := s.Next(); !errors.Is(err, ErrFinished) {
				t.Fatalf("next from done = %v", err)
			}
			want := []Step{StepDomain, StepProvider, StepKey, StepKeyDetails, StepScript, StepPaste, StepApply, StepCheck}
			if !slices.Equal(visited, want) {
				t.Errorf("visited %v, want %v", visited, want)
			}
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("asked for %v, want %v", fields, tt.fields)
			}
			if _, err := s.Target(); err != nil {
				t.Errorf("target: %v", err)
			}
		})
	}
}

func TestBadAnswersKeepTheStep(t *testing.T) {
	s := newState(t, nil)
	s.Set(FieldDomain, "dm-short")
	err := s.Next()
	var fe FieldErrors
	if !errors.As(err, &fe) || fe.For(FieldDomain) == nil {
		t.Fatalf("err = %v, want a domain field error", err)
	}
	if !strings.HasPrefix(err.Error(), "domain: expected dm-") {
		t.Errorf("error should name the field and the form: %q", err)
	}
	if s.Step() != StepDomain {
		t.Fatalf("moved to %s on a bad answer", s.Step())
	}
}

func TestBackKeepsAnswers(t *testing.T) {
	s := newState(t, nil)
	answer(t, s, "domain", domain)
	answer(t, s, "provider", "aws-delegated")
	answer(t, s, "key", "existing")
	answer(t, s, "region", "eu-west-2", "key-id", "1234abcd-12ab-34cd-56ef-1234567890ab")
	for _, want := range []Step{StepKeyDetails, StepKey, StepProvider, StepDomain} {
		if !s.Back() || s.Step() != want {
			t.Fatalf("back: at %s, want %s", s.Step(), want)
		}
	}
	if s.Back() {
		t.Fatal("back from the first step moved")
	}
	if s.Value(FieldDomain) != domain || s.Value(FieldRegion) != "eu-west-2" || s.KeyChoice() != KeyExisting {
		t.Fatalf("answers lost: %v", s.values)
	}
}

func TestPresetsSkipSteps(t *testing.T) {
	tests := []struct {
		name    string
		presets map[Field]string
		first   Step
		second  Step // after answering the first shown step
	}{
		{"nothing", nil, StepDomain, StepProvider},
		{"domain", map[Field]string{"domain": domain}, StepProvider, StepKey},
		{"domain+provider+key", map[Field]string{"domain": domain, "provider": "aws-delegated", "key": "new"}, StepKeyDetails, StepScript},
		{"everything before the script", map[Field]string{"domain": domain, "provider": "aws_am", "key": "new", "region": "us-east-1"}, StepScript, StepPaste},
		{"provider only", map[Field]string{"provider": "aws-delegated"}, StepDomain, StepKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState(t, tt.presets)
			if s.Step() != tt.first {
				t.Fatalf("first = %s, want %s", s.Step(), tt.first)
			}
			var kv []string
			for _, f := range s.Fields() {
				kv = append(kv, string(f.Field), map[Field]string{
					FieldDomain: domain, FieldProvider: "aws-delegated", FieldKey: "new", FieldRegion: "us-east-1",
				}[f.Field])
			}
			answer(t, s, kv...)
			if s.Step() != tt.second {
				t.Fatalf("second = %s, want %s", s.Step(), tt.second)
			}
			for s.Back() {
			}
			if s.Step() != tt.first {
				t.Fatalf("back to the start landed on %s, want %s", s.Step(), tt.first)
			}
		})
	}
}

func TestBadPresets(t *testing.T) {
	tests := []struct {
		presets map[Field]string
		want    string
	}{
		{map[Field]string{"domain": "dm-x"}, "domain: expected dm-"},
		{map[Field]string{"provider": "gcp"}, "provider: expected one of aws-delegated, aws-service-account, azure-delegated"},
		{map[Field]string{"provider": "aws-delegated", "hsm-name": "contoso-hsm"}, "hsm-name: not used by aws-delegated"},
		{map[Field]string{"region": "us-east-1", "key-id": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}, "key-id: this key is in eu-west-1, but the region is us-east-1"},
	}
	for _, tt := range tests {
		_, err := New(testVendor(), tt.presets)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("presets %v: err = %v, want %q", tt.presets, err, tt.want)
		}
	}
}

func toPaste(t *testing.T, p Provider, extra ...string) *State {
	t.Helper()
	s := newState(t, map[Field]string{"domain": domain, "provider": string(p), "key": "new"})
	answer(t, s, append([]string{"region", "us-east-1"}, extra...)...)
	answer(t, s) // script
	if s.Step() != StepPaste {
		t.Fatalf("at %s", s.Step())
	}
	return s
}

func TestAliasARNInContext(t *testing.T) {
	tests := []struct {
		name, in, wantErr, note string
	}{
		{"ours", aliasARN, "", ""},
		{"seed form", "arn:aws:kms:us-east-1:123456789012:key/alias/dm-LCAJVnUE94B/acme", "", "rewrote"},
		{"other domain", "arn:aws:kms:us-east-1:123456789012:alias/dm-XXXXXXXXXXX/acme", "this alias is for domain dm-XXXXXXXXXXX, not dm-LCAJVnUE94B", ""},
		{"other vendor", "arn:aws:kms:us-east-1:123456789012:alias/dm-LCAJVnUE94B/antimatter", "the alias must be alias/dm-LCAJVnUE94B/acme", ""},
		{"domain only (seed's other form)", "arn:aws:kms:us-east-1:123456789012:alias/dm-LCAJVnUE94B", "the alias must be alias/dm-LCAJVnUE94B/acme", ""},
		{"other region", "arn:aws:kms:eu-west-1:123456789012:alias/dm-LCAJVnUE94B/acme", "this alias is in eu-west-1, but the key is in us-east-1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := toPaste(t, AWSDelegated)
			v, err := s.Validate(FieldAliasARN, tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.Text != aliasARN || !strings.Contains(v.Note, tt.note) {
				t.Fatalf("got %+v", v)
			}
			answer(t, s, "key-arn", tt.in)
			if s.Value(FieldAliasARN) != aliasARN || (tt.note != "") != (s.Note(FieldAliasARN) != "") {
				t.Fatalf("stored %q note %q", s.Value(FieldAliasARN), s.Note(FieldAliasARN))
			}
		})
	}
}

func TestChangingAnAnswerForgetsApplyAndPairing(t *testing.T) {
	s := toPaste(t, AWSDelegated)
	answer(t, s, "key-arn", aliasARN)
	s.SetReceipt(Receipt{RekID: "rek-1"})
	answer(t, s)
	s.SetPairing([]Check{{Status: StatusPass}})
	if !s.Paired() {
		t.Fatal("not paired")
	}
	if !s.GoBackTo(StepPaste) {
		t.Fatal("could not go back to paste")
	}
	s.Set(FieldAliasARN, aliasARN) // unchanged: keeps the results
	if s.Receipt() == nil || !s.Paired() {
		t.Fatal("an unchanged answer forgot the results")
	}
	s.Set(FieldAliasARN, "arn:aws:kms:us-east-1:123456789012:alias/dm-LCAJVnUE94B/acme ") // same after trimming
	if s.Receipt() == nil {
		t.Fatal("whitespace forgot the results")
	}
	s.Set(FieldAliasARN, "arn:aws:kms:us-east-1:210987654321:alias/dm-LCAJVnUE94B/acme")
	if s.Receipt() != nil || s.Paired() {
		t.Fatal("a changed answer kept the old results")
	}
}

func TestGoBackToOnlyGoesBack(t *testing.T) {
	s := toPaste(t, AWSDelegated)
	if s.GoBackTo(StepCheck) {
		t.Fatal("went forward")
	}
	if s.GoBackTo(StepDomain) {
		t.Fatal("went to a skipped (preset) step")
	}
	if !s.GoBackTo(StepKeyDetails) || s.Step() != StepKeyDetails {
		t.Fatalf("at %s", s.Step())
	}
}

func TestSecretsAreKeptApart(t *testing.T) {
	const secret = "gYFUPA1bVIIb5FeRZouF9HlOqzX8/TLkbtPDkmNz"
	s := toPaste(t, AWSServiceAccount, "company", "MyCo")
	answer(t, s, "key-arn", "arn:aws:kms:us-east-1:123456789012:alias/dm-LCAJVnUE94B/acme/MyCo",
		"access-key-id", "AKIA3ZMK73YH4FBPMAID", "secret-access-key", secret)
	if s.Value(FieldSecretAccessKey) != "" || s.Secret(FieldSecretAccessKey) != secret {
		t.Fatal("secret stored with the plain answers")
	}
	if strings.Contains(fmt.Sprintf("%v %+v", s.values, s.notes), secret) {
		t.Fatal("secret in a dump of the answers")
	}
	tg, err := s.Target()
	if err != nil || tg.SecretAccessKey.Reveal() != secret {
		t.Fatalf("target: %v", err)
	}
}

func TestSetupSpec(t *testing.T) {
	s := newState(t, map[Field]string{"domain": domain, "provider": "aws-service-account", "key": "existing"})
	if _, err := s.SetupSpec(); !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "region: required") {
		t.Fatalf("incomplete spec: %v", err)
	}
	answer(t, s, "region", "us-east-1", "key-id", keyARN, "company", "MyCo")
	sp, err := s.SetupSpec()
	if err != nil {
		t.Fatal(err)
	}
	if sp.AliasName() != "alias/dm-LCAJVnUE94B/acme/MyCo" || sp.KeyID != keyARN || sp.Vendor.Slug != "acme" {
		t.Fatalf("spec = %+v alias %s", sp, sp.AliasName())
	}
}

func TestStages(t *testing.T) {
	var stages []int
	for _, st := range Steps() {
		stages = append(stages, st.Stage())
	}
	if want := []int{1, 2, 3, 3, 4, 5, 6, 7, 8}; !slices.Equal(stages, want) {
		t.Fatalf("stages %v, want %v", stages, want)
	}
	if StepCheck.String() != "pairing-check" || StepKeyDetails.Title() != "Key details" {
		t.Fatal(StepCheck.String())
	}
}

func TestVendorValidate(t *testing.T) {
	if err := testVendor().Validate(); err != nil {
		t.Fatal(err)
	}
	v := testVendor()
	v.Slug, v.AWSAccountID, v.AWSPrincipalARN = "Acme!", "1234", "arn:aws:iam::111122223333:role/x"
	err := v.Validate()
	for _, want := range []string{"vendor profile: slug: expected", "vendor profile: awsAccountID: expected a 12-digit", "awsPrincipalARN"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
	if got := testVendor().AWSPrincipal("aws-cn"); got != "arn:aws-cn:iam::999988887777:root" {
		t.Fatal(got)
	}
}

// TestAzureKeyNameFollowsTheKeyChoice: the key name is the key to use or
// the name of the key to make, so each choice asks for it afresh: an
// existing key gets what Suggest offered, a new one rek-DOMAIN, and
// neither is an answer until the step is passed.
func TestAzureKeyNameFollowsTheKeyChoice(t *testing.T) {
	s := newState(t, nil)
	s.Suggest(FieldKeyName, "customer-rek")
	answer(t, s, "domain", domain)
	answer(t, s, "provider", "azure-delegated")
	answer(t, s, "key", "existing")
	if got := s.Suggestion(FieldKeyName); got != "customer-rek" || s.Value(FieldKeyName) != "" {
		t.Fatalf("existing key: suggestion %q, value %q", got, s.Value(FieldKeyName))
	}
	if specs := s.Fields(); specs[1].Label != "Key name" {
		t.Fatalf("existing key: label %q", specs[1].Label)
	}
	answer(t, s, "hsm-name", "contoso-hsm", "key-name", "customer-rek")
	s.Back()
	s.Back()
	answer(t, s, "key", "new")
	if s.Value(FieldKeyName) != "" || s.Suggestion(FieldKeyName) != "rek-"+domain {
		t.Fatalf("new key: value %q, suggestion %q", s.Value(FieldKeyName), s.Suggestion(FieldKeyName))
	}
	if specs := s.Fields(); specs[1].Label != "Name for the new key" || s.Value(FieldHSMName) != "contoso-hsm" {
		t.Fatalf("new key: label %q, HSM %q", specs[1].Label, s.Value(FieldHSMName))
	}
}
