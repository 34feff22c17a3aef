package main

import (
	"context"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/domainapi"
)

// apiURL is where keys are registered: --api-url, REKWIZ_API_URL, or the
// vendor profile's apiURL; "" is the local registry.
func apiURL(g *globalOptions, ios *IOStreams, v flows.Vendor) string {
	switch {
	case g.APIURL != "":
		return g.APIURL
	case ios.Getenv("REKWIZ_API_URL") != "":
		return ios.Getenv("REKWIZ_API_URL")
	}
	return v.APIURL
}

// apiClient is the domain API client, or nil without an API URL. The
// token comes from REKWIZ_API_TOKEN or a masked prompt, never a flag.
func apiClient(ctx context.Context, g *globalOptions, ios *IOStreams, v flows.Vendor) (*domainapi.Client, error) {
	u := apiURL(g, ios, v)
	if u == "" {
		return nil, nil
	}
	token := ios.Getenv("REKWIZ_API_TOKEN")
	if token == "" && ios.ReadSecret != nil {
		b, err := ios.ReadSecret(ctx, "Domain API token (hidden): ")
		if err != nil {
			return nil, secretPromptError("API token", err)
		}
		token = string(b)
		clear(b)
	}
	c, err := domainapi.New(u, flows.Secret(token))
	if err != nil {
		return nil, &exitError{code: exitUsage, msg: err.Error()}
	}
	return c, nil
}

// vendorFromAPI puts the vendor's account details, as the domain API
// gives them for the domain, over the vendor profile.
func vendorFromAPI(ctx context.Context, c *domainapi.Client, v flows.Vendor, domain string) (flows.Vendor, error) {
	acc, err := c.VendorAccounts(ctx, domain)
	if err != nil {
		return flows.Vendor{}, &exitError{code: exitUsage, msg: "reading the vendor's accounts from the domain API: " + err.Error()}
	}
	v, err = acc.Apply(v)
	if err != nil {
		return flows.Vendor{}, &exitError{code: exitUsage, msg: err.Error()}
	}
	return v, nil
}
