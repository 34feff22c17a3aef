package azurehsm_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/azurehsm"
)

const (
	signInKeyURL = "https://contoso-hsm.managedhsm.azure.net/keys/rek-dm-LCAJVnUE94B"
	signInTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
)

// TestNotSignedInToAzure: azidentity's DefaultAzureCredential, with
// nothing to sign in with (only its environment source, and no AZURE_*
// variables, so no az call and no network), makes the check say, before
// it runs and in its credential check, one sentence with az login, and
// none of the credential chain's text.
func TestNotSignedInToAzure(t *testing.T) {
	for _, k := range []string{"AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID", "AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_USERNAME", "AZURE_FEDERATED_TOKEN_FILE"} {
		t.Setenv(k, "")
	}
	t.Setenv("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential")
	p := azurehsm.NewPairing(azurehsm.Config{Credential: azurehsm.DefaultCredential(azcore.ClientOptions{}), AsCustomer: true}, azurehsm.WithWait(0))
	tg := target(t, signInKeyURL, signInTenant)
	err := p.SignedIn(context.Background(), tg)
	var ns *flows.NotSignedInError
	if !errors.As(err, &ns) {
		t.Fatalf("SignedIn = %v, want a NotSignedInError", err)
	}
	wantAzureSignIn(t, err.Error())
	for _, c := range p.Run(context.Background(), tg, func(flows.Check) {}) {
		if c.ID == azurehsm.CheckCredential {
			wantAzureSignIn(t, c.Detail+"; "+c.Remedy)
		}
	}
}

// TestAzureSignInRefused: a sign-in Entra ID refused (azidentity's
// AuthenticationFailedError, as when it expired) is "not signed in" too;
// a tenant the sign-in does not know is not, and is left to the check.
func TestAzureSignInRefused(t *testing.T) {
	t.Parallel()
	tg := target(t, signInKeyURL, signInTenant)
	for _, c := range []struct {
		err    error
		signIn bool
	}{
		{&azidentity.AuthenticationFailedError{}, true},
		{azidentity.NewCredentialUnavailableError("AzureCLICredential: please run az login"), true},
		{errors.New(`AADSTS90002: Tenant '72f988bf' not found`), false},
	} {
		p := azurehsm.NewPairing(azurehsm.Config{Credential: func(string) (azcore.TokenCredential, error) { return nil, c.err }, AsCustomer: true})
		err := p.SignedIn(context.Background(), tg)
		if got := err != nil; got != c.signIn {
			t.Errorf("%v: SignedIn = %v, want not signed in: %v", c.err, err, c.signIn)
		}
	}
}

func wantAzureSignIn(t *testing.T, s string) {
	t.Helper()
	if !strings.Contains(s, "not signed in to Azure") || !strings.Contains(s, "run az login") || !strings.Contains(s, "Azure Cloud Shell is signed in already") {
		t.Errorf("%q does not say: not signed in, run az login", s)
	}
	for _, raw := range []string{"DefaultAzureCredential", "EnvironmentCredential", "missing environment variable", "\n"} {
		if strings.Contains(s, raw) {
			t.Errorf("%q has the SDK's text %q", s, raw)
		}
	}
}
