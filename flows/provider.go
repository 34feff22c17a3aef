package flows

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Provider is where the customer's Root Encryption Key lives and how the
// vendor is given access to it. Its string form is the command-line name.
//
// Everything that differs from one provider to another is in the table
// below, providerTable: the rest of rekwiz asks the table (through the
// methods here) and never branches on which provider it is. A test,
// TestNoProviderBranchesOutsideTheTable, counts such branches.
type Provider string

// The providers rekwiz knows. APIName gives the name the domain API uses.
const (
	AWSDelegated      Provider = "aws-delegated"
	AWSServiceAccount Provider = "aws-service-account"
	AzureDelegated    Provider = "azure-delegated"
	GCPDelegated      Provider = "gcp-delegated"
)

// Cloud is where a provider's key lives. Providers of one cloud share
// its kit (the set-up and the pairing check a cloud package makes) and
// the wording the screens and scripts use for it.
type Cloud string

// The clouds.
const (
	CloudAWS   Cloud = "aws"
	CloudAzure Cloud = "azure"
	CloudGCP   Cloud = "gcp"
)

// Access is how the vendor reaches the key: a variant inside a cloud,
// for a cloud's kit to act on, not a provider.
type Access string

// The ways of access.
const (
	// AccessDelegated: the vendor's own identity is let use the key.
	AccessDelegated Access = "delegated"
	// AccessServiceAccount: an identity is made for the vendor in the
	// customer's account, limited to the key, and its credentials are
	// handed to the vendor.
	AccessServiceAccount Access = "service-account"
)

// providerRow is everything rekwiz knows about one provider.
type providerRow struct {
	provider    Provider
	apiName     string // the providerName of the vendor's domain API
	title       string // as a person reads it
	description string // what choosing it means, in one line
	cloud       Cloud
	access      Access
	// keyDetails are the fields the key-details step asks for, per key
	// choice, in order.
	keyDetails map[KeyChoice][]Field
	// paste are the fields the paste step asks for, in order: what the
	// provider's scripts print with pasteLine (each field's PasteLabel).
	paste []Field
	// keyField is the paste field that names the key: its value is the
	// registered key's string form (Target.Key).
	keyField Field
	// setup says what setting the key up changes, as the end of the
	// sentence "rekwiz will make the calls the script makes, WHO, …".
	setup func(SetupSpec) string
	// vendor says what the vendor profile must hold for this provider
	// (nil: nothing beyond what every profile holds).
	vendor func(Vendor) error
}

// providerTable is the one place a provider is declared, in the order the
// wizard offers them. It is filled in by init: its rows' functions use
// the methods that read it.
var providerTable []providerRow

func init() { providerTable = providerRows() }

func providerRows() []providerRow {
	return []providerRow{
		{
			provider: AWSDelegated, apiName: "aws_am",
			title:       "AWS KMS, delegated key",
			description: "your key; its key policy lets the vendor use it",
			cloud:       CloudAWS, access: AccessDelegated,
			keyDetails: map[KeyChoice][]Field{
				KeyExisting: {FieldRegion, FieldKeyID},
				KeyNew:      {FieldRegion},
			},
			paste:    []Field{FieldAliasARN},
			keyField: FieldAliasARN,
			setup: func(sp SetupSpec) string {
				return fmt.Sprintf("in %s: %s and the alias %s, and add %s's statement to the key policy, keeping every other statement.",
					sp.Region, findKey(sp.Key, "the key"), sp.AliasName(), sp.Vendor.Name)
			},
		},
		{
			provider: AWSServiceAccount, apiName: "aws_sa",
			title:       "AWS KMS, service account",
			description: "an IAM user for the vendor, limited to the key",
			cloud:       CloudAWS, access: AccessServiceAccount,
			keyDetails: map[KeyChoice][]Field{
				KeyExisting: {FieldRegion, FieldKeyID, FieldCompany},
				KeyNew:      {FieldRegion, FieldCompany},
			},
			paste:    []Field{FieldAliasARN, FieldAccessKeyID, FieldSecretAccessKey},
			keyField: FieldAliasARN,
			setup: func(sp SetupSpec) string {
				return fmt.Sprintf("in %s: %s and the alias %s, and create the IAM user %s with a policy limited to that alias, and one access key for %s.",
					sp.Region, findKey(sp.Key, "the key"), sp.AliasName(), sp.ServiceAccountUser(), sp.Vendor.Name)
			},
		},
		{
			provider: AzureDelegated, apiName: "azure_am",
			title:       "Azure Managed HSM, delegated key",
			description: "an oct-HSM key the vendor's app may wrap with",
			cloud:       CloudAzure, access: AccessDelegated,
			keyDetails: map[KeyChoice][]Field{
				KeyExisting: {FieldHSMName, FieldKeyName},
				KeyNew:      {FieldHSMName, FieldKeyName},
			},
			paste:    []Field{FieldKeyURL, FieldTenantID},
			keyField: FieldKeyURL,
			setup: func(sp SetupSpec) string {
				kept := "" // a new key has no other tags to keep
				if sp.Key == KeyExisting {
					kept = ", keeping the key's other tags"
				}
				return fmt.Sprintf("in the Managed HSM %s: %s, give %s's application the role %s on that key only, and add the tag %s=allow%s.",
					sp.HSMName, findKey(sp.Key, "the key "+sp.KeyName), sp.Vendor.Name, sp.Vendor.AzureRoleName(), sp.Domain, kept)
			},
		},
		{
			provider: GCPDelegated, apiName: "gcp_am",
			title:       "Google Cloud KMS, delegated key",
			description: "your key; an IAM binding on it lets the vendor's service account use it",
			cloud:       CloudGCP, access: AccessDelegated,
			keyDetails: map[KeyChoice][]Field{
				KeyExisting: {FieldProject, FieldLocation, FieldKeyRing, FieldKeyName},
				KeyNew:      {FieldProject, FieldLocation, FieldKeyRing, FieldKeyName, FieldProtection},
			},
			paste:    []Field{FieldKeyResource},
			keyField: FieldKeyResource,
			setup: func(sp SetupSpec) string {
				key := findKey(sp.Key, "the key "+sp.KeyName)
				if sp.Key == KeyNew {
					key = "find or create the key ring " + sp.KeyRing + " and " + findKey(sp.Key, "the "+sp.ProtectionLevel+" key "+sp.KeyName) + " with automatic rotation"
				}
				return fmt.Sprintf("in the project %s, %s: %s, give %s's service account %s the role %s on that key only, keeping every other binding, and add the label %s=%s, keeping the key's other labels.",
					sp.Project, sp.Location, key, sp.Vendor.Name, sp.Vendor.GCPServiceAccount, GCPVendorRole, GCPDomainLabel(sp.Domain), GCPLabelValue)
			},
			vendor: func(v Vendor) error {
				if v.GCPServiceAccount == "" {
					return fmt.Errorf("vendor profile: gcpServiceAccount: %s is set up for Google Cloud only with the vendor's service account (an email ending in .iam.gserviceaccount.com)", v.Name)
				}
				return nil
			},
		},
	}
}

// cloudRow is the wording a cloud's screens and scripts use.
type cloudRow struct {
	cli      string // the command-line tool, "AWS CLI"
	shell    string // the cloud's web shell, "AWS CloudShell"
	keyStore string // where its keys live, "AWS KMS"
	signIn   string // whose rights the set-up uses, "your AWS credentials"
	home     string // what the signed-in identity belongs to, "account"
	newKey   string // what kind of key a new key is, "a symmetric key"
	// parseKeyName checks a key name (FieldKeyName) the cloud's way.
	parseKeyName func(string) (string, error)
	// signInTo is what one signs in to, "AWS", and signInCommand the
	// command that signs in: NotSignedInError says them.
	signInTo, signInCommand string
	// keyDetailsIntro introduces the key-details step, per key choice.
	keyDetailsIntro map[KeyChoice]string
}

var cloudTable = map[Cloud]cloudRow{
	CloudAWS: {
		cli: "AWS CLI", shell: "AWS CloudShell", keyStore: "AWS KMS",
		signIn: "your AWS credentials", home: "account", newKey: "a symmetric key",
		signInTo: "AWS", signInCommand: "aws configure (access keys) or aws sso login (AWS SSO)",
		keyDetailsIntro: map[KeyChoice]string{
			KeyExisting: "The key to delegate, and the region it lives in.",
			KeyNew:      "The script creates a symmetric key in this region.",
		},
	},
	CloudAzure: {
		cli: "Azure CLI", shell: "Azure Cloud Shell", keyStore: "your Managed HSM",
		signIn: "your Azure sign-in", home: "tenant", newKey: "an oct-HSM key",
		parseKeyName: ParseKeyName,
		signInTo:     "Azure", signInCommand: "az login",
		keyDetailsIntro: map[KeyChoice]string{
			KeyExisting: "The Managed HSM that holds the key, and the key's name.",
			KeyNew:      "The Managed HSM to create the key in, and a name for it.",
		},
	},
	CloudGCP: {
		cli: "Google Cloud CLI", shell: "Cloud Shell", keyStore: "Cloud KMS",
		signIn: "your Google Cloud credentials", home: "project", newKey: "a symmetric encryption key",
		signInTo: "Google Cloud", signInCommand: "gcloud auth application-default login",
		parseKeyName: ParseCryptoKeyID,
		keyDetailsIntro: map[KeyChoice]string{
			KeyExisting: "The key to delegate: its project, location, key ring and name.",
			KeyNew:      "Where to create the key (the key ring is made if missing), its name and its protection level.",
		},
	},
}

// row is the provider's row; a provider the table does not have gets an
// empty row with its name as the title.
func (p Provider) row() providerRow {
	for _, r := range providerTable {
		if r.provider == p {
			return r
		}
	}
	return providerRow{provider: p, title: string(p)}
}

// Providers lists every provider in the order the wizard offers them.
func Providers() []Provider {
	out := make([]Provider, 0, len(providerTable))
	for _, r := range providerTable {
		out = append(out, r.provider)
	}
	return out
}

// ParseProvider accepts a provider's command-line name or its API name.
func ParseProvider(s string) (Provider, error) {
	s = strings.TrimSpace(s)
	for _, r := range providerTable {
		if s == string(r.provider) || s == r.apiName {
			return r.provider, nil
		}
	}
	return "", fmt.Errorf("expected one of %s", strings.Join(providerNames(), ", "))
}

func providerNames() []string {
	var names []string
	for _, p := range Providers() {
		names = append(names, string(p))
	}
	return names
}

// Title is the provider as a person reads it.
func (p Provider) Title() string { return p.row().title }

// Description says in one line what choosing the provider means.
func (p Provider) Description() string { return p.row().description }

// APIName is the providerName the vendor's domain API uses.
func (p Provider) APIName() string { return p.row().apiName }

// Cloud is the cloud the provider's key lives in ("" for a provider the
// table does not have).
func (p Provider) Cloud() Cloud { return p.row().cloud }

// Access is how the vendor reaches the key.
func (p Provider) Access() Access { return p.row().access }

// KeyField is the paste field that names the provider's key.
func (p Provider) KeyField() Field { return p.row().keyField }

// SecretField is the paste field that holds a secret (a service
// account's secret access key), which is never saved and so is asked
// again on resume; ok is false when the provider pastes no secret.
func (p Provider) SecretField() (f Field, ok bool) {
	for _, f := range p.row().paste {
		if Spec(f).Kind == SecretField {
			return f, true
		}
	}
	return "", false
}

// NamesCompany reports whether the provider's key alias carries the
// company's name (it asks for FieldCompany).
func (p Provider) NamesCompany() bool { return UsedBy(FieldCompany, p) }

// CLI is the cloud's command-line tool, "AWS CLI".
func (c Cloud) CLI() string { return cloudTable[c].cli }

// Shell is the cloud's web shell, where the script also runs:
// "AWS CloudShell".
func (c Cloud) Shell() string { return cloudTable[c].shell }

// KeyStore is where the cloud's keys live, as the key step says it:
// "AWS KMS", "your Managed HSM".
func (c Cloud) KeyStore() string { return cloudTable[c].keyStore }

// SignIn is whose rights the set-up uses: "your AWS credentials".
func (c Cloud) SignIn() string { return cloudTable[c].signIn }

// SignInCommand is the command that signs in to the cloud:
// "az login".
func (c Cloud) SignInCommand() string { return cloudTable[c].signInCommand }

// NotSignedInError is a cloud's credentials that could not be had: no
// sign-in at all, or one that expired. Its text is one sentence and the
// command that fixes it; the SDK's own text (a credential chain, each
// source's failure) stays in Err, never shown.
type NotSignedInError struct {
	Cloud Cloud
	// Command fixes it when the SDK said which sign-in expired ("aws sso
	// login"); "" is the cloud's SignInCommand.
	Command string
	Err     error
}

func (e *NotSignedInError) Error() string { return e.What() + ": " + e.Fix() }

// What says what is wrong: "you are not signed in to AWS here".
func (e *NotSignedInError) What() string {
	return "you are not signed in to " + cloudTable[e.Cloud].signInTo + " here"
}

// Fix is the command that fixes it, and where no sign-in is needed.
func (e *NotSignedInError) Fix() string {
	row := cloudTable[e.Cloud]
	cmd := cmp.Or(e.Command, row.signInCommand)
	return fmt.Sprintf("run %s, then try again (%s is signed in already)", cmd, row.shell)
}

func (e *NotSignedInError) Unwrap() error { return e.Err }

// Home is what the signed-in identity belongs to: "account", "tenant".
func (c Cloud) Home() string { return cloudTable[c].home }

// NewKeyKind is what kind of key a new key is: "an oct-HSM key".
func (c Cloud) NewKeyKind() string { return cloudTable[c].newKey }

// ParseKeyName checks a key name the cloud's way (a Managed HSM's names
// are not Cloud KMS's).
func (c Cloud) ParseKeyName(s string) (string, error) {
	if f := cloudTable[c].parseKeyName; f != nil {
		return f(s)
	}
	return ParseKeyName(s)
}

// VendorReady says what the vendor profile lacks for the provider, if
// anything.
func (p Provider) VendorReady(v Vendor) error {
	if f := p.row().vendor; f != nil {
		return f(v)
	}
	return nil
}

// KeyDetailsIntro introduces the key-details step for a key choice.
func (c Cloud) KeyDetailsIntro(k KeyChoice) string {
	if k != KeyNew {
		k = KeyExisting
	}
	return cloudTable[c].keyDetailsIntro[k]
}

// Describe says what setting the spec up changes, as the end of the
// sentence "rekwiz will make the calls the script makes, WHO, …": where,
// then each change.
func (sp SetupSpec) Describe() string {
	if f := sp.Provider.row().setup; f != nil {
		return f(sp)
	}
	return ""
}

// findKey is what the set-up does about the key: an existing key is
// found; a new one is created, or found if an earlier run made it.
func findKey(k KeyChoice, key string) string {
	if k == KeyExisting {
		return "find " + key
	}
	return "find or create " + key
}

// Key is the registered key as one string: the value of the provider's
// key field (the alias ARN, the key URL).
func (t Target) Key() string { return t.Value(t.Provider.KeyField()) }

// Value is a field of the target as the paste step took it ("" for a
// field the target does not have, and for a secret, which Value never
// gives).
func (t Target) Value(f Field) string {
	switch f {
	case FieldDomain:
		return t.Domain
	case FieldProvider:
		return string(t.Provider)
	case FieldAliasARN:
		if t.AliasARN == (ARN{}) {
			return ""
		}
		return t.AliasARN.String()
	case FieldAccessKeyID:
		return t.AccessKeyID
	case FieldKeyURL:
		if t.KeyURL == (KeyURL{}) {
			return ""
		}
		return t.KeyURL.String()
	case FieldTenantID:
		return t.TenantID
	case FieldKeyResource:
		return t.KeyResource.String()
	}
	return ""
}

// set puts one pasted value, checked already, into the target in its
// typed form.
func (t *Target) set(f Field, v string) error {
	switch f {
	case FieldAliasARN:
		a, _, err := ParseAliasARN(v) // the note was shown when the value was taken
		if err != nil {
			return &FieldError{f, err}
		}
		t.AliasARN = a
	case FieldAccessKeyID:
		t.AccessKeyID = v
	case FieldSecretAccessKey:
		t.SecretAccessKey = Secret(v)
	case FieldKeyURL:
		u, err := ParseKeyURL(v)
		if err != nil {
			return &FieldError{f, err}
		}
		t.KeyURL = u
	case FieldTenantID:
		t.TenantID = v
	case FieldKeyResource:
		k, _, err := ParseKeyResource(v) // the note was shown when the value was taken
		if err != nil {
			return &FieldError{f, err}
		}
		t.KeyResource = k
	default:
		return &FieldError{f, fmt.Errorf("not a field of a target")}
	}
	return nil
}

// keyDetails lists what the key-details step asks for a provider and key
// choice; before the key is chosen, what a new key needs.
func keyDetails(p Provider, k KeyChoice) []Field {
	if k != KeyExisting {
		k = KeyNew
	}
	return slices.Clone(p.row().keyDetails[k])
}

// KeyDetails lists what the key-details step asks for a provider and
// key choice, in order.
func KeyDetails(p Provider, k KeyChoice) []Field { return keyDetails(p, k) }

// pasteFields lists what the paste step asks for a provider.
func pasteFields(p Provider) []Field { return slices.Clone(p.row().paste) }

// KeyChoice is whether the customer brings an existing key or has one made.
type KeyChoice string

// The two key choices.
const (
	KeyExisting KeyChoice = "existing"
	KeyNew      KeyChoice = "new"
)

// KeyChoices lists the key choices in the order the wizard offers them.
func KeyChoices() []KeyChoice { return []KeyChoice{KeyExisting, KeyNew} }

// ParseKeyChoice accepts "existing" or "new".
func ParseKeyChoice(s string) (KeyChoice, error) {
	switch KeyChoice(strings.TrimSpace(s)) {
	case KeyExisting:
		return KeyExisting, nil
	case KeyNew:
		return KeyNew, nil
	}
	return "", fmt.Errorf("expected existing or new")
}

// Title is the key choice as the wizard offers it (the wording of the vendor's own setup instructions).
func (k KeyChoice) Title() string {
	switch k {
	case KeyExisting:
		return "I have an existing key I wish to use for wrapping"
	case KeyNew:
		return "Guide me through creating a new key for wrapping"
	}
	return string(k)
}
