package flows

import (
	"regexp"
	"strings"
)

// Field is one answer the flow asks for. Its string form is also the name
// of the command-line flag that gives it.
type Field string

// The fields, in the order the wizard asks for them.
const (
	FieldDomain          Field = "domain"
	FieldProvider        Field = "provider"
	FieldKey             Field = "key"
	FieldRegion          Field = "region"
	FieldKeyID           Field = "key-id"
	FieldCompany         Field = "company"
	FieldHSMName         Field = "hsm-name"
	FieldKeyName         Field = "key-name"
	FieldAliasARN        Field = "key-arn"
	FieldAccessKeyID     Field = "access-key-id"
	FieldSecretAccessKey Field = "secret-access-key"
	FieldKeyURL          Field = "key-url"
	FieldTenantID        Field = "tenant-id"
	FieldProject         Field = "project"
	FieldLocation        Field = "location"
	FieldKeyRing         Field = "keyring"
	FieldProtection      Field = "protection-level"
	FieldKeyResource     Field = "key-resource"
)

// FieldKind says how a field is entered.
type FieldKind int

// The field kinds.
const (
	TextField   FieldKind = iota // typed or pasted
	SecretField                  // typed or pasted, masked, never stored or logged
	ChoiceField                  // picked from a list
)

// FieldSpec describes a field for whoever asks for it.
type FieldSpec struct {
	Field   Field
	Label   string
	Kind    FieldKind
	Example string // shown as the input's placeholder
	Help    string // one line that says where to find the value
	// PasteLabel is the label a setup script prints before the value
	// ("Key alias"), for fields the paste step takes; "" for others. The
	// scripts print it through PasteLine and the paste step recognises
	// it through LabelledValues, so the two cannot drift apart.
	PasteLabel string
}

var fieldSpecs = map[Field]FieldSpec{
	FieldDomain:   {FieldDomain, "Domain ID", TextField, "dm-LCAJVnUE94B", "from the vendor's dashboard: Domain Configuration", ""},
	FieldProvider: {FieldProvider, "Provider", ChoiceField, "", "", ""},
	FieldKey:      {FieldKey, "Key", ChoiceField, "", "", ""},
	FieldRegion:   {FieldRegion, "AWS region", TextField, "us-east-1", "the region the key lives in (or is created in)", ""},
	FieldKeyID:    {FieldKeyID, "Key ID or key ARN", TextField, "1234abcd-12ab-34cd-56ef-1234567890ab", "aws kms list-keys, or the key's page in the KMS console", ""},
	FieldCompany:  {FieldCompany, "Company name", TextField, "MyCompany", "goes into the key alias: alias/DOMAIN/VENDOR/COMPANY", ""},
	FieldHSMName:  {FieldHSMName, "Managed HSM name", TextField, "contoso-hsm", "az keyvault list --resource-type hsm --query [].name", ""},
	FieldKeyName:  {FieldKeyName, "Key name", TextField, "rek", "the key's name (for a new key: the name to give it)", ""},
	FieldProject:  {FieldProject, "Project ID", TextField, "my-project-123", "gcloud config get-value project, or the project picker in the console", ""},
	FieldLocation: {FieldLocation, "Location", TextField, "us-east1", "the key ring's location: a region such as us-east1, a multi-region such as us, or global", ""},
	FieldKeyRing:  {FieldKeyRing, "Key ring", TextField, "rekwiz", "gcloud kms keyrings list --location LOCATION (a new key: created if missing)", ""},
	FieldProtection: {FieldProtection, "Protection level", TextField, "hsm",
		"hsm (the key lives in Cloud HSM) or software", ""},
	FieldAliasARN: {FieldAliasARN, "Key alias ARN", TextField, "arn:aws:kms:us-east-1:123456789012:alias/…",
		"printed by the script: " + pasteLabelText("Key alias"), "Key alias"},
	FieldAccessKeyID: {FieldAccessKeyID, "Access key ID", TextField, "AKIA…",
		"printed by the script: " + pasteLabelText("Access key ID"), "Access key ID"},
	FieldSecretAccessKey: {FieldSecretAccessKey, "Secret access key", SecretField, "",
		"printed once by the script; masked here, never saved", "Secret access key"},
	FieldKeyURL: {FieldKeyURL, "Key URL", TextField, "https://NAME.managedhsm.azure.net/keys/KEY/VERSION",
		"printed by the script: " + pasteLabelText("Key URL"), "Key URL"},
	FieldTenantID: {FieldTenantID, "Tenant ID", TextField, "00000000-0000-0000-0000-000000000000",
		"printed by the script: " + pasteLabelText("Tenant ID"), "Tenant ID"},
	FieldKeyResource: {FieldKeyResource, "Key resource name", TextField, "projects/PROJECT/locations/LOCATION/keyRings/RING/cryptoKeys/KEY",
		"printed by the script: " + pasteLabelText("Key resource name"), "Key resource name"},
}

// pasteSuffix follows every label a script prints before a value to
// paste, as the vendor's own setup instructions print it.
const pasteSuffix = " (save this for next step)"

func pasteLabelText(label string) string { return label + pasteSuffix }

// PasteLine is the start of the line a script prints before a field's
// value, "Key alias (save this for next step): "; "" for a field the
// paste step does not take.
func PasteLine(f Field) string {
	l := fieldSpecs[f].PasteLabel
	if l == "" {
		return ""
	}
	return pasteLabelText(l) + ": "
}

// labelledRE finds the lines PasteLine starts, whatever ends them.
var labelledRE = lazyRE(`^\s*([A-Za-z ]+?)` + regexp.QuoteMeta(pasteSuffix) + `:\s*(\S*)\s*$`)

// LabelledValue is the value on one line a script printed with
// PasteLine, and the field it is for. ok is false for any other line
// (and for a label no field has).
func LabelledValue(line string) (f Field, value string, ok bool) {
	m := labelledRE().FindStringSubmatch(line)
	if m == nil {
		return "", "", false
	}
	label := strings.ToLower(strings.TrimSpace(m[1]))
	for _, spec := range fieldSpecs {
		if spec.PasteLabel != "" && strings.ToLower(spec.PasteLabel) == label {
			return spec.Field, m[2], true
		}
	}
	return "", "", false
}

// LabelledValues picks the values out of pasted text: every line a
// script printed with PasteLine, whether the lines end in LF, CRLF or a
// lone CR (web terminals and tmux paste line breaks as CR). A later line
// for the same field wins.
func LabelledValues(text string) map[Field]string {
	out := map[Field]string{}
	for _, line := range SplitLines(text) {
		if f, v, ok := LabelledValue(line); ok && v != "" {
			out[f] = v
		}
	}
	return out
}

// SplitLines splits text at LF, CRLF and lone CR.
func SplitLines(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	return strings.Split(text, "\n")
}

// Spec returns the description of a field.
func Spec(f Field) FieldSpec { return fieldSpecs[f] }

// PasteFields lists, in the order the paste step asks for them, what a
// provider's script prints for the next step.
func PasteFields(p Provider) []Field { return pasteFields(p) }

// fieldsOf lists the fields a step asks for, given the provider and key
// choice made so far. Steps with no fields (script, apply, check, done) do
// work rather than ask.
func fieldsOf(step Step, p Provider, k KeyChoice) []Field {
	switch step {
	case StepDomain:
		return []Field{FieldDomain}
	case StepProvider:
		return []Field{FieldProvider}
	case StepKey:
		return []Field{FieldKey}
	case StepKeyDetails:
		return keyDetails(p, k)
	case StepPaste:
		return pasteFields(p)
	}
	return nil
}
