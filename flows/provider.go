package flows

import (
	"fmt"
	"strings"
)

// Provider is where the customer's Root Encryption Key lives and how the
// vendor is given access to it. Its string form is the command-line name.
type Provider string

// The providers rekwiz knows. APIName gives the name the domain API uses.
const (
	AWSDelegated      Provider = "aws-delegated"
	AWSServiceAccount Provider = "aws-service-account"
	AzureDelegated    Provider = "azure-delegated"
)

// Providers lists every provider in the order the wizard offers them.
func Providers() []Provider {
	return []Provider{AWSDelegated, AWSServiceAccount, AzureDelegated}
}

// ParseProvider accepts a provider's command-line name or its API name.
func ParseProvider(s string) (Provider, error) {
	s = strings.TrimSpace(s)
	for _, p := range Providers() {
		if s == string(p) || s == p.APIName() {
			return p, nil
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
func (p Provider) Title() string {
	switch p {
	case AWSDelegated:
		return "AWS KMS, delegated key"
	case AWSServiceAccount:
		return "AWS KMS, service account"
	case AzureDelegated:
		return "Azure Managed HSM, delegated key"
	}
	return string(p)
}

// Description says in one line what choosing the provider means.
func (p Provider) Description() string {
	switch p {
	case AWSDelegated:
		return "your key; its key policy lets the vendor use it"
	case AWSServiceAccount:
		return "an IAM user for the vendor, limited to the key"
	case AzureDelegated:
		return "an oct-HSM key the vendor's app may wrap with"
	}
	return ""
}

// APIName is the providerName the vendor's domain API uses.
func (p Provider) APIName() string {
	switch p {
	case AWSDelegated:
		return "aws_am"
	case AWSServiceAccount:
		return "aws_sa"
	case AzureDelegated:
		return "azure_am"
	}
	return ""
}

// IsAWS reports whether the key lives in AWS KMS.
func (p Provider) IsAWS() bool { return p == AWSDelegated || p == AWSServiceAccount }

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

// Title is the key choice as the wizard offers it (the seeds' wording).
func (k KeyChoice) Title() string {
	switch k {
	case KeyExisting:
		return "I have an existing key I wish to use for wrapping"
	case KeyNew:
		return "Guide me through creating a new key for wrapping"
	}
	return string(k)
}
