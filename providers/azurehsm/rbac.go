package azurehsm

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

// Built-in Managed HSM roles, by the IDs that are the same in every HSM.
const (
	// CryptoUserRoleID is "Managed HSM Crypto User".
	CryptoUserRoleID = "21dbd100-6940-42c2-9190-5d6cb909625b"
	// CryptoOfficerRoleID is "Managed HSM Crypto Officer".
	CryptoOfficerRoleID = "515eb02d-2335-4d2d-92f2-b1cbdf9c3778"
)

const rbacAPIVersion = "7.4"

// rest makes the calls azkeys has no client for, Microsoft Graph's
// service principals and Managed HSM's role assignments (the azadmin
// module is not on the module proxy), through an azcore pipeline with
// the SDK's retries and bearer tokens.
type rest struct {
	cred  azcore.TokenCredential
	opts  azcore.ClientOptions
	cloud cloud
}

// cloud is where an HSM's cloud has its token audience and Graph.
type cloud struct{ hsmScope, graph string }

// cloudOf is the cloud of a Managed HSM host suffix: the public cloud,
// Azure Government or Azure China.
func cloudOf(suffix string) cloud {
	switch suffix {
	case "managedhsm.usgovcloudapi.net":
		return cloud{"https://managedhsm.usgovcloudapi.net/.default", "https://graph.microsoft.us"}
	case "managedhsm.azure.cn":
		return cloud{"https://managedhsm.azure.cn/.default", "https://microsoftgraph.chinacloudapi.cn"}
	}
	return cloud{hsmScope, "https://graph.microsoft.com"}
}

func (r rest) pipeline(scope string) runtime.Pipeline {
	return runtime.NewPipeline("rekwiz", "", runtime.PipelineOptions{
		PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(r.cred, []string{scope}, &policy.BearerTokenOptions{})},
	}, &r.opts)
}

// do sends a request and decodes a 200 or 201 into out. A 404 is
// returned as its status with no error; any other status is an
// *azcore.ResponseError.
func (r rest) do(ctx context.Context, p runtime.Pipeline, method, u string, body any, out any) (int, error) {
	req, err := runtime.NewRequest(ctx, method, u)
	if err != nil {
		return 0, err
	}
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			return 0, err
		}
	}
	resp, err := p.Do(req)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode == http.StatusNotFound {
		return resp.StatusCode, nil
	}
	if !runtime.HasStatusCode(resp, http.StatusOK, http.StatusCreated) {
		return resp.StatusCode, runtime.NewResponseError(resp)
	}
	if out != nil {
		return resp.StatusCode, runtime.UnmarshalAsJSON(resp, out)
	}
	return resp.StatusCode, nil
}

// servicePrincipal is the object ID of an application's service
// principal in the caller's tenant; "" when it has none.
func (r rest) servicePrincipal(ctx context.Context, appID string) (string, error) {
	var sp struct {
		ID string `json:"id"`
	}
	graph := r.cloud.graph
	status, err := r.do(ctx, r.pipeline(graph+"/.default"), http.MethodGet, graph+"/v1.0/servicePrincipals(appId='"+url.PathEscape(appID)+"')", nil, &sp)
	if err != nil || status == http.StatusNotFound {
		return "", err
	}
	return sp.ID, nil
}

// createServicePrincipal makes the application's service principal in
// the caller's tenant and returns its object ID.
func (r rest) createServicePrincipal(ctx context.Context, appID string) (string, error) {
	var sp struct {
		ID string `json:"id"`
	}
	graph := r.cloud.graph
	_, err := r.do(ctx, r.pipeline(graph+"/.default"), http.MethodPost, graph+"/v1.0/servicePrincipals", map[string]string{"appId": appID}, &sp)
	return sp.ID, err
}

// assignment is a Managed HSM role assignment.
type assignment struct {
	Name       string `json:"name"`
	Properties struct {
		Scope            string `json:"scope"`
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
	} `json:"properties"`
}

// role is the assignment's role definition ID, without its path.
func (a assignment) role() string {
	id := a.Properties.RoleDefinitionID
	return id[strings.LastIndex(id, "/")+1:]
}

// roleAssignments lists the role assignments made at a scope of the HSM
// at vault ("/", "/keys" or "/keys/NAME").
func (r rest) roleAssignments(ctx context.Context, vault, scope string) ([]assignment, error) {
	var list struct {
		Value []assignment `json:"value"`
	}
	u := vault + scope + "/providers/Microsoft.Authorization/roleAssignments?api-version=" + rbacAPIVersion
	if _, err := r.do(ctx, r.pipeline(r.cloud.hsmScope), http.MethodGet, u, nil, &list); err != nil {
		return nil, err
	}
	for i := range list.Value {
		if list.Value[i].Properties.Scope == "" {
			list.Value[i].Properties.Scope = scope
		}
	}
	return list.Value, nil
}

// assignRole gives principal the role at scope, under a new name.
func (r rest) assignRole(ctx context.Context, vault, scope, roleID, principal string) error {
	name, err := newUUID()
	if err != nil {
		return err
	}
	body := map[string]any{"properties": map[string]string{
		"roleDefinitionId": "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/" + roleID,
		"principalId":      principal,
	}}
	_, err = r.do(ctx, r.pipeline(r.cloud.hsmScope), http.MethodPut, vault+scope+"/providers/Microsoft.Authorization/roleAssignments/"+name+"?api-version="+rbacAPIVersion, body, nil)
	return err
}
