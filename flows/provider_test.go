package flows

import (
	"errors"
	"slices"
	"testing"
)

// Every row of the table is whole: names, wording, the fields of each key
// choice and of the paste step, the key among them, a set-up sentence.
func TestProviderTableRowsAreWhole(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Providers() {
		r := p.row()
		for _, name := range []string{string(p), p.APIName()} {
			if seen[name] {
				t.Errorf("%s: the name %q is taken twice", p, name)
			}
			seen[name] = true
			if got, err := ParseProvider(name); err != nil || got != p {
				t.Errorf("ParseProvider(%q) = %q, %v", name, got, err)
			}
		}
		if r.title == "" || r.description == "" || r.apiName == "" || r.access == "" || r.setup == nil {
			t.Errorf("%s: row not filled in: %+v", p, r)
		}
		c := p.Cloud()
		if c.CLI() == "" || c.Shell() == "" || c.KeyStore() == "" || c.SignIn() == "" || c.Home() == "" {
			t.Errorf("%s: cloud %q has no wording", p, c)
		}
		for _, k := range KeyChoices() {
			if c.KeyDetailsIntro(k) == "" || len(keyDetails(p, k)) == 0 {
				t.Errorf("%s, %s: no key details or intro", p, k)
			}
		}
		paste := PasteFields(p)
		if !slices.Contains(paste, p.KeyField()) {
			t.Errorf("%s: key field %s is not a paste field %v", p, p.KeyField(), paste)
		}
		for _, f := range paste {
			if Spec(f).PasteLabel == "" {
				t.Errorf("%s: paste field %s has no paste label", p, f)
			}
		}
	}
}

// What the screens derive from the fields: the company in the alias, the
// secret asked again on resume.
func TestProviderFactsComeFromTheFields(t *testing.T) {
	for _, p := range Providers() {
		if p.NamesCompany() != UsedBy(FieldCompany, p) {
			t.Errorf("%s: NamesCompany = %v", p, p.NamesCompany())
		}
		f, ok := p.SecretField()
		if ok != slices.ContainsFunc(PasteFields(p), func(f Field) bool { return Spec(f).Kind == SecretField }) || ok && Spec(f).Kind != SecretField {
			t.Errorf("%s: SecretField = %s, %v", p, f, ok)
		}
	}
	if f, ok := AWSServiceAccount.SecretField(); !ok || f != FieldSecretAccessKey {
		t.Errorf("service account's secret = %s, %v", f, ok)
	}
	if _, ok := AWSDelegated.SecretField(); ok {
		t.Error("a delegated key pastes no secret")
	}
	if AliasName(AWSServiceAccount, domain, "acme", "MyCo") != "alias/"+domain+"/acme/MyCo" || AliasName(AWSDelegated, domain, "acme", "MyCo") != "alias/"+domain+"/acme" {
		t.Error("only the service account's alias carries the company")
	}
}

// The key's string form is the key field's value, as pasted and checked.
func TestTargetKeyIsTheKeyField(t *testing.T) {
	const gcpKey = "projects/my-project-123/locations/us-east1/keyRings/rekwiz/cryptoKeys/rek-1"
	keyURL := "https://contoso-hsm.managedhsm.azure.net/keys/rek-" + domain
	tenant := "72f988bf-86f1-41af-91ab-2d7cd011db47"
	tests := []struct {
		p       Provider
		paste   map[Field]string
		key     string
		noValue []Field
	}{
		{AWSDelegated, map[Field]string{FieldAliasARN: aliasARN}, aliasARN, []Field{FieldKeyURL, FieldTenantID, FieldAccessKeyID}},
		{AWSServiceAccount, map[Field]string{FieldAliasARN: aliasARN + "/MyCo", FieldAccessKeyID: "AKIAIOSFODNN7EXAMPLE", FieldSecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
			aliasARN + "/MyCo", []Field{FieldKeyURL, FieldTenantID, FieldSecretAccessKey}},
		{AzureDelegated, map[Field]string{FieldKeyURL: keyURL, FieldTenantID: tenant}, keyURL, []Field{FieldAliasARN, FieldAccessKeyID}},
		{GCPDelegated, map[Field]string{FieldKeyResource: gcpKey}, gcpKey, []Field{FieldAliasARN, FieldKeyURL, FieldTenantID}},
	}
	for _, tt := range tests {
		presets := map[Field]string{FieldDomain: domain, FieldProvider: string(tt.p)}
		for f, v := range tt.paste {
			presets[f] = v
		}
		tg, err := newState(t, presets).Target()
		if err != nil {
			t.Fatalf("%s: %v", tt.p, err)
		}
		if tg.Key() != tt.key {
			t.Errorf("%s: Key() = %q, want %q", tt.p, tg.Key(), tt.key)
		}
		for f, v := range tt.paste {
			if Spec(f).Kind != SecretField && tg.Value(f) != v {
				t.Errorf("%s: Value(%s) = %q, want %q", tt.p, f, tg.Value(f), v)
			}
		}
		for _, f := range tt.noValue {
			if tg.Value(f) != "" {
				t.Errorf("%s: Value(%s) = %q, want none", tt.p, f, tg.Value(f))
			}
		}
	}
	// The service account's secret is in the target, typed, and never a Value.
	presets := map[Field]string{FieldDomain: domain, FieldProvider: string(AWSServiceAccount), FieldAliasARN: aliasARN + "/MyCo",
		FieldAccessKeyID: "AKIAIOSFODNN7EXAMPLE", FieldSecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
	tg, err := newState(t, presets).Target()
	if err != nil || tg.SecretAccessKey.Reveal() != "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" || tg.AliasARN.Account != "123456789012" {
		t.Fatalf("target = %#v, %v", tg, err)
	}
}

// Normalize checks a spec with the flow's validators and gives what the
// flow would: trimmed values, fields the provider does not ask for left
// out, bad fields as FieldErrors.
func TestNormalizeGivesWhatTheFlowGives(t *testing.T) {
	raw := SetupSpec{Domain: " " + domain + " ", Vendor: testVendor(), Region: " us-east-1 ", KeyID: keyARN + "\t",
		Company: " MyCo ", HSMName: " contoso-hsm ", KeyName: " rek-1 ",
		Project: " my-project-123 ", Location: " us-east1 ", KeyRing: " rekwiz ", ProtectionLevel: " HSM "}
	for _, p := range Providers() {
		for _, k := range KeyChoices() {
			sp := raw
			sp.Provider, sp.Key = p, k
			got, err := sp.Normalize()
			if err != nil {
				t.Fatalf("%s %s: %v", p, k, err)
			}
			presets := map[Field]string{FieldDomain: sp.Domain, FieldProvider: string(p), FieldKey: string(k)}
			for _, f := range keyDetails(p, k) {
				presets[f] = sp.value(f)
			}
			want, err := newState(t, presets).SetupSpec()
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s %s: Normalize = %+v\nflow gives %+v", p, k, got, want)
			}
			if got.Domain != domain || (got.Region != "" && got.Region != "us-east-1") || (got.Region == "") != !UsedBy(FieldRegion, p) {
				t.Errorf("%s %s: not trimmed, or a field it does not use kept: %+v", p, k, got)
			}
		}
	}
	bad := SetupSpec{Provider: AWSDelegated, Key: KeyExisting, Domain: domain, Vendor: testVendor(), Region: "eu-west-2", KeyID: keyARN}
	_, err := bad.Normalize()
	var fe FieldErrors
	if !errors.As(err, &fe) || fe.For(FieldKeyID) == nil || fe.For(FieldRegion) != nil {
		t.Fatalf("a key ARN in another region: %v", err)
	}
	if _, err := (SetupSpec{Provider: "aws_am", Key: KeyNew, Domain: domain, Vendor: testVendor()}).Normalize(); !errors.As(err, &fe) || fe.For(FieldRegion) == nil {
		t.Fatalf("the API's name for a provider still asks for its region: %v", err)
	}
	if _, err := (SetupSpec{Provider: "gcp", Key: KeyNew, Domain: domain, Vendor: testVendor()}).Normalize(); !errors.As(err, &fe) || fe.For(FieldProvider) == nil {
		t.Fatalf("an unknown provider: %v", err)
	}
	v := testVendor()
	v.AWSAccountID = "12"
	if _, err := (SetupSpec{Provider: AWSDelegated, Key: KeyNew, Domain: domain, Vendor: v, Region: "us-east-1"}).Normalize(); err == nil {
		t.Fatal("a bad vendor profile was accepted")
	}
}
