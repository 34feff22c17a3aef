package flows

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Value is a checked answer, normalised, and a note saying what
// normalising changed ("" when nothing did).
type Value struct {
	Text string
	Note string
}

// Validate checks one answer in the context of the answers before it (an
// alias ARN must name this domain and vendor). It does not record it, so
// an input can call it on every keystroke.
func (s *State) Validate(f Field, raw string) (Value, error) { return s.given().validate(f, raw) }

// given is what an answer is checked against: the vendor, and the
// answers taken before it (a flow's, or a spec's being checked).
type given struct {
	vendor Vendor
	value  func(Field) string
}

func (s *State) given() given {
	return given{s.vendor, func(f Field) string { return s.values[f] }}
}

func (g given) provider() Provider { return Provider(g.value(FieldProvider)) }

func (g given) validate(f Field, raw string) (Value, error) {
	if ContainsSecretFor(f, raw) {
		return Value{}, ErrSecretInField
	}
	switch f {
	case FieldDomain:
		return plain(ParseDomainID(raw))
	case FieldProvider:
		p, err := ParseProvider(raw)
		return Value{Text: string(p)}, err
	case FieldKey:
		k, err := ParseKeyChoice(raw)
		return Value{Text: string(k)}, err
	case FieldRegion:
		return plain(ParseRegion(raw))
	case FieldKeyID:
		return g.validateKeyID(raw)
	case FieldCompany:
		return plain(ParseCompany(raw))
	case FieldHSMName:
		return plain(ParseHSMName(raw))
	case FieldKeyName:
		return plain(g.provider().Cloud().ParseKeyName(raw))
	case FieldProject:
		return plain(ParseGCPProject(raw))
	case FieldLocation:
		return plain(ParseGCPLocation(raw))
	case FieldKeyRing:
		return plain(ParseKeyRingID(raw))
	case FieldProtection:
		return plain(ParseProtectionLevel(raw))
	case FieldKeyResource:
		return g.validateKeyResource(raw)
	case FieldAliasARN:
		return g.validateAliasARN(raw)
	case FieldAccessKeyID:
		return plain(ParseAccessKeyID(raw))
	case FieldSecretAccessKey:
		return plain(ParseSecretAccessKey(raw))
	case FieldKeyURL:
		return g.validateKeyURL(raw)
	case FieldTenantID:
		return plain(ParseTenantID(raw))
	}
	return Value{}, fmt.Errorf("unknown field %q", f)
}

// Checked is one field's value as ValidateForm found it.
type Checked struct {
	Value Value
	Err   error
}

// ValidateForm checks what a step's form holds now: each field on its
// own, then against the others as they are typed (a key ARN against the
// region beside it) and against the answers of earlier steps (an alias
// ARN against the key's account). It records nothing, so a form calls it
// on every change and a cross-field error goes as soon as either side is
// put right. A field that is wrong on its own takes no part in the
// others' checks: its own error says what is wrong.
func (s *State) ValidateForm(typed map[Field]string) map[Field]Checked {
	o := s.overlay()
	out := map[Field]Checked{}
	for _, f := range fieldOrder {
		raw, ok := typed[f]
		if !ok {
			continue
		}
		v, err := o.Validate(f, raw)
		out[f] = Checked{v, err}
		m := o.values
		if Spec(f).Kind == SecretField {
			m = o.secrets
		}
		if err != nil {
			delete(m, f)
		} else {
			m[f] = v.Text
		}
	}
	return out
}

// overlay is a copy of the answers that checking may change freely.
func (s *State) overlay() *State {
	o := *s
	o.values = make(map[Field]string, len(s.values))
	for f, v := range s.values {
		o.values[f] = v
	}
	o.secrets = map[Field]string{}
	return &o
}

func plain(s string, err error) (Value, error) {
	if err != nil {
		return Value{}, err
	}
	return Value{Text: s}, nil
}

func (g given) validateKeyID(raw string) (Value, error) {
	ref, err := ParseKeyRef(raw)
	if err != nil {
		return Value{}, err
	}
	if region := g.value(FieldRegion); ref.ARN != nil && region != "" && ref.ARN.Region != region {
		return Value{}, fmt.Errorf("this key is in %s, but the region is %s; change one so they agree", ref.ARN.Region, region)
	}
	return Value{Text: ref.String()}, nil
}

// AliasName is the alias the vendor expects for a domain:
// alias/DOMAIN/SLUG, and for a provider whose alias names the company
// (a service account) alias/DOMAIN/SLUG/COMPANY.
func AliasName(p Provider, domain, slug, company string) string {
	name := aliasBase(domain, slug)
	if p.NamesCompany() {
		name += "/" + company
	}
	return name
}

// aliasBase is the part of the alias every provider's alias starts with.
func aliasBase(domain, slug string) string { return "alias/" + domain + "/" + slug }

func (g given) validateAliasARN(raw string) (Value, error) {
	a, note, err := ParseAliasARN(raw)
	if err != nil {
		return Value{}, err
	}
	domain := g.value(FieldDomain)
	company := g.value(FieldCompany)
	got := a.AliasName()
	guessCompany := g.provider().NamesCompany() && company == ""
	if guessCompany {
		// The company is known only to the wizard; on its own (rekwiz
		// verify) any valid company name is the alias's own.
		if c, ok := strings.CutPrefix(got, aliasBase(domain, g.vendor.Slug)+"/"); ok {
			if _, err := ParseCompany(c); err == nil {
				company = c
			}
		}
	}
	want := AliasName(g.provider(), domain, g.vendor.Slug, company)
	if got != want {
		if guessCompany {
			want += "COMPANY"
		}
		parts := strings.Split(strings.TrimPrefix(got, "alias/"), "/")
		if domainRE().MatchString(parts[0]) && parts[0] != domain {
			return Value{}, fmt.Errorf("this alias is for domain %s, not %s; expected %s", parts[0], domain, want)
		}
		return Value{}, fmt.Errorf("the alias must be %s so the vendor can tell it is meant for this domain", want)
	}
	if region := g.value(FieldRegion); region != "" && a.Region != region {
		return Value{}, fmt.Errorf("this alias is in %s, but the key is in %s; paste the alias from %s", a.Region, region, region)
	}
	if ref, err := ParseKeyRef(g.value(FieldKeyID)); err == nil && ref.ARN != nil && ref.ARN.Account != a.Account {
		return Value{}, fmt.Errorf("this alias is in account %s, but the key is in account %s; paste the alias the script printed in %s", a.Account, ref.ARN.Account, ref.ARN.Account)
	}
	return Value{Text: a.String(), Note: note}, nil
}

// validateKeyURL checks a Managed HSM key URL, and that it names the HSM
// and the key the key step named (when it did: rekwiz verify asks for
// neither).
func (g given) validateKeyURL(raw string) (Value, error) {
	u, err := ParseKeyURL(raw)
	if err != nil {
		return Value{}, err
	}
	if hsm := g.value(FieldHSMName); hsm != "" && !strings.EqualFold(u.HSM, hsm) {
		return Value{}, fmt.Errorf("this key is in the Managed HSM %s, but the key step names %s; paste the URL the script printed, or go back and change the HSM name", u.HSM, hsm)
	}
	if name := g.value(FieldKeyName); name != "" && !strings.EqualFold(u.Name, name) {
		return Value{}, fmt.Errorf("this URL is for the key %s, but the key step names %s; paste the URL the script printed, or go back and change the key name", u.Name, name)
	}
	return Value{Text: u.String()}, nil
}

// validateKeyResource checks a Cloud KMS key's resource name, and that
// it names the project, location, key ring and key the key step named
// (when it did: rekwiz verify asks for none of them).
func (g given) validateKeyResource(raw string) (Value, error) {
	k, note, err := ParseKeyResource(raw)
	if err != nil {
		return Value{}, err
	}
	for _, c := range []struct {
		f         Field
		got, what string
	}{
		{FieldProject, k.Project, "project"},
		{FieldLocation, k.Location, "location"},
		{FieldKeyRing, k.KeyRing, "key ring"},
		{FieldKeyName, k.Key, "key"},
	} {
		if want := g.value(c.f); want != "" && c.got != want {
			return Value{}, fmt.Errorf("this key's %s is %s, but the key step names %s; paste the name the script printed, or go back and change the %s", c.what, c.got, want, c.what)
		}
	}
	return Value{Text: k.String(), Note: note}, nil
}

// SetupSpec is what the setup script, or the SDK doing the same work,
// needs: the answers of the first steps, checked.
type SetupSpec struct {
	Provider Provider
	Key      KeyChoice
	Domain   string
	Vendor   Vendor
	Region   string // AWS
	KeyID    string // AWS, existing key: key ID or key ARN
	Company  string // AWS service account
	HSMName  string // Azure
	KeyName  string // Azure, Google Cloud: the existing key, or the name for the new one
	// Google Cloud: where the key is, and a new key's protection level
	// (hsm or software).
	Project         string
	Location        string
	KeyRing         string
	ProtectionLevel string
}

// Validate checks a spec built outside a flow (rekwiz script, or a caller
// of the scripts package) with the flow's own validators, cross-field
// checks included, and the vendor profile.
func (sp SetupSpec) Validate() error {
	_, err := sp.Normalize()
	return err
}

// Normalize validates the spec as Validate does and returns it with each
// value in the form the flow keeps (trimmed; a key ARN's region checked
// against the region), which is the form a script may carry. Each field
// is checked in the flow's order against the fields before it, with the
// flow's own validators; a field the provider does not ask for is left
// out. Bad fields come back as FieldErrors.
func (sp SetupSpec) Normalize() (SetupSpec, error) {
	out := SetupSpec{Vendor: sp.Vendor}
	g := given{sp.Vendor, out.value}
	var errs FieldErrors
	check := func(fs []Field) {
		for _, f := range fieldOrder {
			if !slices.Contains(fs, f) {
				continue
			}
			v, err := g.validate(f, sp.value(f))
			if err != nil {
				errs = append(errs, &FieldError{f, err})
				continue
			}
			out.set(f, v.Text)
		}
	}
	check([]Field{FieldDomain, FieldProvider, FieldKey})
	// What the key needs is what the provider and key choice, as
	// checked, ask for.
	check(keyDetails(out.Provider, out.Key))
	if len(errs) > 0 {
		return SetupSpec{}, errs
	}
	if err := sp.Vendor.Validate(); err != nil {
		return SetupSpec{}, err
	}
	if err := out.Provider.VendorReady(sp.Vendor); err != nil {
		return SetupSpec{}, err
	}
	return out, nil
}

// value is one field of the spec ("" for a field it does not hold).
func (sp *SetupSpec) value(f Field) string {
	switch f {
	case FieldDomain:
		return sp.Domain
	case FieldProvider:
		return string(sp.Provider)
	case FieldKey:
		return string(sp.Key)
	case FieldRegion:
		return sp.Region
	case FieldKeyID:
		return sp.KeyID
	case FieldCompany:
		return sp.Company
	case FieldHSMName:
		return sp.HSMName
	case FieldKeyName:
		return sp.KeyName
	case FieldProject:
		return sp.Project
	case FieldLocation:
		return sp.Location
	case FieldKeyRing:
		return sp.KeyRing
	case FieldProtection:
		return sp.ProtectionLevel
	}
	return ""
}

// set puts one checked field into the spec.
func (sp *SetupSpec) set(f Field, v string) {
	switch f {
	case FieldDomain:
		sp.Domain = v
	case FieldProvider:
		sp.Provider = Provider(v)
	case FieldKey:
		sp.Key = KeyChoice(v)
	case FieldRegion:
		sp.Region = v
	case FieldKeyID:
		sp.KeyID = v
	case FieldCompany:
		sp.Company = v
	case FieldHSMName:
		sp.HSMName = v
	case FieldKeyName:
		sp.KeyName = v
	case FieldProject:
		sp.Project = v
	case FieldLocation:
		sp.Location = v
	case FieldKeyRing:
		sp.KeyRing = v
	case FieldProtection:
		sp.ProtectionLevel = v
	}
}

// KeyResource is the Cloud KMS key the spec names (Google Cloud).
func (sp SetupSpec) KeyResource() KeyResource {
	return KeyResource{Project: sp.Project, Location: sp.Location, KeyRing: sp.KeyRing, Key: sp.KeyName}
}

// AliasName is the alias the setup creates (AWS).
func (sp SetupSpec) AliasName() string {
	return AliasName(sp.Provider, sp.Domain, sp.Vendor.Slug, sp.Company)
}

// ServiceAccountUser is the IAM user a service-account setup makes:
// SLUG-rek-DOMAIN, at most 51 of IAM's 64 characters.
func (sp SetupSpec) ServiceAccountUser() string {
	return sp.Vendor.Slug + "-rek-" + sp.Domain
}

// ErrIncomplete is returned when a later step's inputs are asked for
// before the earlier steps are answered.
var ErrIncomplete = errors.New("earlier steps are not answered")

// SetupSpec returns the checked answers the script step needs.
func (s *State) SetupSpec() (SetupSpec, error) {
	if err := s.checkSteps(StepDomain, StepKeyDetails); err != nil {
		return SetupSpec{}, err
	}
	sp := SetupSpec{Vendor: s.vendor}
	for _, f := range fieldOrder {
		sp.set(f, s.values[f]) // a field no step asked for is "" here
	}
	return sp, nil
}

// checkSteps validates every field of the steps from first to last
// without recording anything.
func (s *State) checkSteps(first, last Step) error {
	var errs FieldErrors
	for st := first; st <= last; st++ {
		for _, spec := range s.specsOf(st) {
			if _, err := s.Validate(spec.Field, s.raw(spec.Field)); err != nil {
				errs = append(errs, &FieldError{spec.Field, err})
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrIncomplete, errs)
	}
	return nil
}

// Target is the key a pairing check and an apply are about: the values
// pasted after the script ran.
type Target struct {
	Provider        Provider
	Domain          string
	Vendor          Vendor
	AliasARN        ARN         // AWS
	AccessKeyID     string      // AWS service account
	SecretAccessKey Secret      // AWS service account
	KeyURL          KeyURL      // Azure
	TenantID        string      // Azure
	KeyResource     KeyResource // Google Cloud
}

// Target returns the pasted values, checked. It needs the domain, the
// provider and the paste step's values, not the key's details, so a
// target can be given on its own (rekwiz verify).
func (s *State) Target() (Target, error) {
	if err := s.checkSteps(StepDomain, StepProvider); err != nil {
		return Target{}, err
	}
	if err := s.checkSteps(StepPaste, StepPaste); err != nil {
		return Target{}, err
	}
	t := Target{Provider: s.Provider(), Domain: s.values[FieldDomain], Vendor: s.vendor}
	for _, f := range PasteFields(t.Provider) {
		if err := t.set(f, s.raw(f)); err != nil {
			return Target{}, err
		}
	}
	return t, nil
}

// Secret is a value that must never be shown, logged or stored: its
// String, GoString and JSON forms show at most its last four characters.
type Secret string

// Masked is the secret as the screen may show it: **** and its last four.
func (s Secret) Masked() string {
	if len(s) < 12 {
		return "****"
	}
	return "****" + string(s[len(s)-4:])
}

func (s Secret) String() string   { return s.Masked() }
func (s Secret) GoString() string { return `flows.Secret("` + s.Masked() + `")` }

// MarshalJSON keeps a secret out of any JSON it ends up in.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.Masked() + `"`), nil }

// Reveal returns the secret itself, for the one call that needs it.
func (s Secret) Reveal() string { return string(s) }
