package domainapi

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rekwiz/rekwiz/flows"
)

// Accounts are the vendor's identities that a delegated key is given to.
type Accounts struct {
	AWSAccountID      string
	AWSPrincipalARN   string
	AzureAppID        string
	GCPServiceAccount string
}

// VendorAccounts reads, from the providers call, the account details of
// the delegated providers: the vendor's AWS account (or principal ARN)
// its Azure application ID and its Google service account.
func (c *Client) VendorAccounts(ctx context.Context, domain string) (Accounts, error) {
	var out struct {
		Providers []struct {
			Type           string `json:"type"`
			ShortName      string `json:"shortName"`
			AccountDetails string `json:"accountDetails"`
		} `json:"providers"`
	}
	if err := c.do(ctx, http.MethodGet, "/domains/"+url.PathEscape(domain)+"/control/encryption/providers", nil, domain, &out); err != nil {
		return Accounts{}, err
	}
	var a Accounts
	for _, p := range out.Providers {
		if p.Type != "DelegatedRootEncryptionKeyProvider" {
			continue
		}
		// Which cloud an account is in is the provider's, as the table
		// says; the API lists the delegated providers only here. The
		// account's form is the cloud's, so it is read per cloud (an
		// exception flows' TestNoProviderBranchesOutsideTheTable allows).
		pr, err := flows.ParseProvider(p.ShortName)
		if err != nil || pr.APIName() != p.ShortName || pr.Access() != flows.AccessDelegated {
			continue
		}
		switch pr.Cloud() {
		case flows.CloudAWS:
			if strings.HasPrefix(p.AccountDetails, "arn:") {
				a.AWSPrincipalARN = p.AccountDetails
				if parts := strings.Split(p.AccountDetails, ":"); len(parts) > 4 {
					a.AWSAccountID = parts[4]
				}
			} else {
				a.AWSAccountID = p.AccountDetails
			}
		case flows.CloudAzure:
			a.AzureAppID = p.AccountDetails
		case flows.CloudGCP:
			a.GCPServiceAccount = p.AccountDetails
		}
	}
	return a, nil
}

// Apply puts the accounts over a vendor profile and checks the result.
func (a Accounts) Apply(v flows.Vendor) (flows.Vendor, error) {
	if a.AWSAccountID != "" {
		v.AWSAccountID, v.AWSPrincipalARN = a.AWSAccountID, a.AWSPrincipalARN
	}
	if a.AzureAppID != "" {
		v.AzureAppID = a.AzureAppID
	}
	if a.GCPServiceAccount != "" {
		v.GCPServiceAccount = a.GCPServiceAccount
	}
	if err := v.Validate(); err != nil {
		return flows.Vendor{}, fmt.Errorf("the domain API's account details: %w", err)
	}
	// The name and slug still come from the profile: a placeholder
	// profile stays flagged, whatever accounts the API gives.
	return v, nil
}
