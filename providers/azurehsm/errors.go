package azurehsm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
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
	case strings.Contains(msg, "CredentialUnavailable") || strings.Contains(msg, "az login") || strings.Contains(msg, "DefaultAzureCredential"):
		return problem{detail: "no Azure credential is available", remedy: "sign in with az login (Azure Cloud Shell is signed in already), then retry"}
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
