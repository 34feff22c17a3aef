package azurehsm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"reflect"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/rekwiz/rekwiz/flows"
)

// problem is an Azure error said for a person.
type problem struct {
	detail, remedy string
	fix            flows.Step
	denied         bool // 403: the role assignment is missing or not applied yet
}

// explain turns an SDK error into one sentence and a fix.
func (r *run) explain(err error, t flows.Target) problem {
	u := t.KeyURL
	msg := err.Error()
	roleCmd := fmt.Sprintf("az keyvault role assignment create --hsm-name %s --role %q --assignee %s --scope /keys/%s",
		u.HSM, t.Vendor.AzureRoleName(), t.Vendor.AzureAppID, u.Name)
	var (
		re  *azcore.ResponseError
		dns *net.DNSError
	)
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		// Azure has no "no such HSM" reply: the name does not resolve.
		return problem{detail: fmt.Sprintf("no Managed HSM named %s (%s does not resolve)", u.HSM, dns.Name),
			remedy: "check the HSM name in the key URL (az keyvault list --resource-type hsm --query [].name lists yours), then paste the key URL the script printed", fix: flows.StepPaste}
	case errors.Is(err, errChanged):
		return problem{detail: err.Error(), remedy: "report this to the vendor's support with this output"}
	case strings.Contains(msg, "isn't configured to acquire tokens for tenant"):
		other := between(msg, `tenant "`, `"`)
		return problem{detail: fmt.Sprintf("the Managed HSM %s is in tenant %s, not %s", u.HSM, other, t.TenantID),
			remedy: "paste the Tenant ID the script printed (az account show --query tenantId)", fix: flows.StepPaste}
	case strings.Contains(msg, "AADSTS90002"):
		return problem{detail: "tenant " + t.TenantID + " does not exist", remedy: "paste the Tenant ID the script printed (az account show --query tenantId)", fix: flows.StepPaste}
	case strings.Contains(msg, "AADSTS700016"):
		return problem{detail: "the vendor's application " + t.Vendor.AzureAppID + " has no service principal in tenant " + t.TenantID,
			remedy: "az ad sp create --id " + t.Vendor.AzureAppID + " (the setup script does it)", fix: flows.StepScript}
	case strings.Contains(msg, "AADSTS7000215"):
		return problem{detail: "the application's client secret was refused", remedy: "check the client secret, or sign in again"}
	case notSignedIn(err) != nil:
		ns := notSignedIn(err)
		return problem{detail: ns.What(), remedy: ns.Fix()}
	case errors.As(err, &re):
		switch {
		case re.StatusCode == 404:
			return problem{detail: fmt.Sprintf("no key %s in Managed HSM %s (tried %s)", u.Name, u.HSM, u.String()),
				remedy: "paste the key URL the script printed", fix: flows.StepPaste}
		case strings.Contains(msg, "KeyDisabled"):
			return problem{detail: "the key is disabled", remedy: fmt.Sprintf("az keyvault key set-attributes --hsm-name %s --name %s --enabled true", u.HSM, u.Name)}
		case strings.Contains(msg, "KeyOperationForbidden"):
			return problem{detail: "the key does not allow this operation", remedy: "see the key type check above"}
		case (re.StatusCode == 403 || re.StatusCode == 401) && r.asCustomer:
			return problem{detail: fmt.Sprintf("your sign-in may not use key %s (%s); the check runs as you, not as the vendor", u.Name, re.ErrorCode),
				remedy: fmt.Sprintf("run it signed in as someone who may read and wrap with the key, or give yourself the role: az keyvault role assignment create --hsm-name %s --role %q --assignee \"$(az ad signed-in-user show --query id -o tsv)\" --scope /keys/%s",
					u.HSM, flows.AzureRoleEncryptionUser, u.Name), denied: true}
		case re.StatusCode == 403 || re.StatusCode == 401:
			return problem{detail: fmt.Sprintf("the vendor's application %s may not use key %s (%s)", t.Vendor.AzureAppID, u.Name, re.ErrorCode),
				remedy: roleCmd, fix: flows.StepScript, denied: true}
		case re.StatusCode == 429:
			return problem{detail: "Managed HSM is throttling requests (429)", remedy: "wait a minute and retry"}
		}
		return problem{detail: fmt.Sprintf("%s (%d)", re.ErrorCode, re.StatusCode)}
	case errors.Is(err, context.DeadlineExceeded):
		return problem{detail: "Azure did not answer in time", remedy: "check the network and retry"}
	}
	return problem{detail: firstLine(msg)}
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return "another tenant"
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// unavailableType is the type of azidentity's "credential unavailable"
// error (no sign-in where the credential looks: no az login, no
// environment, no managed identity), which azidentity does not export:
// the error its exported constructor makes tells it.
var unavailableType = reflect.TypeOf(azidentity.NewCredentialUnavailableError(""))

// notSignedIn is err said as not signed in, or nil when err is not a
// missing or refused sign-in: azidentity's typed errors (a credential
// unavailable, authentication required, authentication failed, as when
// a sign-in expired). A tenant or application the sign-in does not know
// is explain's to say, before this.
func notSignedIn(err error) *flows.NotSignedInError {
	var ns *flows.NotSignedInError
	if errors.As(err, &ns) {
		return ns
	}
	var (
		failed   *azidentity.AuthenticationFailedError
		required *azidentity.AuthenticationRequiredError
	)
	unavailable := reflect.New(unavailableType)
	if errors.As(err, &failed) || errors.As(err, &required) || errors.As(err, unavailable.Interface()) {
		return &flows.NotSignedInError{Cloud: flows.CloudAzure, Err: err}
	}
	return nil
}

// SignedIn reports whether the customer's sign-in can get a token for
// t's Managed HSM: nil, or a *flows.NotSignedInError. A check that runs
// as the vendor's application (the sandbox) needs no sign-in here; other
// failures are left for the check to report.
func (p *Pairing) SignedIn(ctx context.Context, t flows.Target) error {
	if !p.cfg.AsCustomer {
		return nil
	}
	cred, err := p.cfg.Credential(t.TenantID)
	if err == nil {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err = cred.GetToken(cctx, policy.TokenRequestOptions{Scopes: []string{cloudOf(t.KeyURL.Suffix).hsmScope}, TenantID: t.TenantID})
		cancel()
	}
	if err == nil || ctx.Err() != nil {
		return nil
	}
	if ns := notSignedIn(err); ns != nil && !tenantProblem(err.Error()) {
		return ns
	}
	return nil
}

// tenantProblem: the sign-in works, but not for this tenant or
// application (explain says which).
func tenantProblem(msg string) bool {
	for _, s := range []string{"isn't configured to acquire tokens for tenant", "AADSTS90002", "AADSTS700016", "AADSTS7000215"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
