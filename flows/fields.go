package flows

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
}

var fieldSpecs = map[Field]FieldSpec{
	FieldDomain:   {FieldDomain, "Domain ID", TextField, "dm-LCAJVnUE94B", "from the vendor's dashboard: Domain Configuration"},
	FieldProvider: {FieldProvider, "Provider", ChoiceField, "", ""},
	FieldKey:      {FieldKey, "Key", ChoiceField, "", ""},
	FieldRegion:   {FieldRegion, "AWS region", TextField, "us-east-1", "the region the key lives in (or is created in)"},
	FieldKeyID:    {FieldKeyID, "Key ID or key ARN", TextField, "1234abcd-12ab-34cd-56ef-1234567890ab", "aws kms list-keys, or the key's page in the KMS console"},
	FieldCompany:  {FieldCompany, "Company name", TextField, "MyCompany", "used in the alias and the IAM user's name"},
	FieldHSMName:  {FieldHSMName, "Managed HSM name", TextField, "contoso-hsm", "az keyvault list --resource-type hsm --query [].name"},
	FieldKeyName:  {FieldKeyName, "Key name", TextField, "rek", "the key in the HSM (for a new key: the name to give it)"},
	FieldAliasARN: {FieldAliasARN, "Key alias ARN", TextField, "arn:aws:kms:us-east-1:123456789012:alias/…", "printed by the script: Key alias (save this for next step)"},
	FieldAccessKeyID: {FieldAccessKeyID, "Access key ID", TextField, "AKIA…",
		"printed by the script"},
	FieldSecretAccessKey: {FieldSecretAccessKey, "Secret access key", SecretField, "", "printed once by the script; masked here, never saved"},
	FieldKeyURL:          {FieldKeyURL, "Key URL", TextField, "https://NAME.managedhsm.azure.net/keys/KEY/VERSION", "printed by the script: Key URL (save this for next step)"},
	FieldTenantID:        {FieldTenantID, "Tenant ID", TextField, "00000000-0000-0000-0000-000000000000", "printed by the script: Tenant ID (save this for next step)"},
}

// Spec returns the description of a field.
func Spec(f Field) FieldSpec { return fieldSpecs[f] }

// PasteFields lists, in the order the paste step asks for them, what a
// provider's script prints for the next step.
func PasteFields(p Provider) []Field { return fieldsOf(StepPaste, p, "") }

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
		switch p {
		case AWSDelegated:
			return []Field{FieldAliasARN}
		case AWSServiceAccount:
			return []Field{FieldAliasARN, FieldAccessKeyID, FieldSecretAccessKey}
		case AzureDelegated:
			return []Field{FieldKeyURL, FieldTenantID}
		}
	}
	return nil
}

func keyDetails(p Provider, k KeyChoice) []Field {
	var fs []Field
	switch p {
	case AWSDelegated, AWSServiceAccount:
		fs = append(fs, FieldRegion)
		if k == KeyExisting {
			fs = append(fs, FieldKeyID)
		}
		if p == AWSServiceAccount {
			fs = append(fs, FieldCompany)
		}
	case AzureDelegated:
		fs = append(fs, FieldHSMName, FieldKeyName)
	}
	return fs
}
