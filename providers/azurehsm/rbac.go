package azurehsm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/google/uuid"

	"github.com/rekwiz/rekwiz/flows"
)

// Built-in Managed HSM roles, by the IDs that are the same in every HSM.
const (
	// EncryptionUserRoleID is "Managed HSM Crypto Service Encryption
	// User": read, wrap and unwrap keys, nothing else.
	EncryptionUserRoleID = "33413926-3206-4cdd-b39a-83574fe37a17"
	// CryptoUserRoleID is "Managed HSM Crypto User".
	CryptoUserRoleID = "21dbd100-6940-42c2-9190-5d6cb909625b"
	// CryptoOfficerRoleID is "Managed HSM Crypto Officer".
	CryptoOfficerRoleID = "515eb02d-2335-4d2d-92f2-b1cbdf9c3778"
	// AdministratorRoleID is "Managed HSM Administrator".
	AdministratorRoleID = "a290e904-7015-4bba-90c8-60543313cdb4"
)

// roleIDs are the IDs of the roles rekwiz grants, by name.
var roleIDs = map[string]string{
	flows.AzureRoleEncryptionUser: EncryptionUserRoleID,
	flows.AzureRoleCryptoUser:     CryptoUserRoleID,
}

// builtinRoles are Managed HSM's built-in roles and the key and RBAC data
// actions they grant (after "Microsoft.KeyVault/managedHsm/"), as the
// service lists them today (recorded in Azure/azure-sdk-for-js
// sdk/keyvault/keyvault-admin/recordings/node/keyvaultaccesscontrolclient_role_definitions/recording_can_list_role_definitions.json).
// They are used when the HSM's own definitions cannot be read.
var builtinRoles = map[string]roleDefinition{
	EncryptionUserRoleID: {flows.AzureRoleEncryptionUser, []string{"keys/read/action", "keys/wrap/action", "keys/unwrap/action"}, nil},
	CryptoUserRoleID: {flows.AzureRoleCryptoUser, []string{"roleDefinitions/read/action", "roleAssignments/read/action",
		"keys/read/action", "keys/write/action", "keys/delete", "keys/create", "keys/rotate/action", "keys/import/action",
		"keys/release/action", "keys/backup/action", "keys/restore/action", "keys/encrypt/action", "keys/decrypt/action",
		"keys/wrap/action", "keys/unwrap/action", "keys/sign/action", "keys/verify/action", "keys/derive/action", "rng/action"}, nil},
	CryptoOfficerRoleID: {"Managed HSM Crypto Officer", []string{"roleAssignments/delete/action", "roleAssignments/read/action", "roleAssignments/write/action",
		"roleDefinitions/read/action", "roleDefinitions/write/action", "roleDefinitions/delete/action",
		"keys/deletedKeys/read/action", "keys/deletedKeys/delete", "keys/deletedKeys/recover/action", "keys/export/action"}, nil},
	AdministratorRoleID: {"Managed HSM Administrator", []string{"roleAssignments/delete/action", "roleAssignments/read/action", "roleAssignments/write/action",
		"roleDefinitions/read/action", "roleDefinitions/write/action", "roleDefinitions/delete/action",
		"securitydomain/download/action", "securitydomain/download/read", "securitydomain/upload/action", "securitydomain/upload/read",
		"securitydomain/transferkey/read", "backup/start/action", "restore/start/action", "backup/status/action", "restore/status/action",
		"settings/read/action", "settings/write/action"}, nil},
	"2c18b078-7c48-4d3a-af88-5a3a1b3f82b3": {"Managed HSM Crypto Auditor", []string{"roleAssignments/read/action", "roleDefinitions/read/action", "keys/read/action", "keys/deletedKeys/read/action"}, nil},
	"4bd23610-cdcf-4971-bdee-bdc562cc28e4": {"Managed HSM Policy Administrator", []string{"roleDefinitions/read/action", "roleDefinitions/write/action", "roleDefinitions/delete/action",
		"roleAssignments/read/action", "roleAssignments/write/action", "roleAssignments/delete/action"}, nil},
	"7b127d3c-77bd-4e3e-bbe0-dbb8971fa7f8": {"Managed HSM Backup User", []string{"backup/start/action", "backup/status/action", "keys/backup/action"}, nil},
	"21dbd100-6940-42c2-9190-5d6cb909625c": {"Managed HSM Crypto Service Release User", []string{"keys/release/action"}, nil},
}

// The data actions the vendor needs on the key.
var vendorNeeds = []string{"keys/read/action", "keys/wrap/action", "keys/unwrap/action"}

// roleDefinition is a role's name and data actions (prefix removed).
type roleDefinition struct {
	Name           string
	DataActions    []string
	NotDataActions []string
}

// allows reports whether the role grants a data action, wildcards
// ("keys/*", "*") included, less its notDataActions.
func (d roleDefinition) allows(action string) bool {
	match := func(pattern string) bool {
		if p, ok := strings.CutSuffix(pattern, "*"); ok {
			return strings.HasPrefix(action, p)
		}
		return pattern == action
	}
	return slices.ContainsFunc(d.DataActions, match) && !slices.ContainsFunc(d.NotDataActions, match)
}

// keyExtras are the data actions on keys the role grants beyond what
// the vendor needs.
func (d roleDefinition) keyExtras() []string {
	var out []string
	for _, a := range d.DataActions {
		if (strings.HasPrefix(a, "keys/") || a == "*") && !slices.Contains(vendorNeeds, a) {
			out = append(out, a)
		}
	}
	return out
}

// covers reports whether a role assigned at scope applies at target.
func covers(scope, target string) bool {
	scope = "/" + strings.Trim(scope, "/")
	return scope == "/" || scope == target || strings.HasPrefix(target, scope+"/")
}

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
	if sp.ID == "" {
		return "", errors.New("the service principal Microsoft Graph returned has no \"id\"")
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
	Properties *struct {
		Scope            string `json:"scope"`
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
	} `json:"properties"`
}

// role is the assignment's role definition ID, without its path.
func (a assignment) role() string {
	if a.Properties == nil {
		return ""
	}
	id := a.Properties.RoleDefinitionID
	return id[strings.LastIndex(id, "/")+1:]
}

// maxPages bounds how many nextLinks a list follows.
const maxPages = 100

// list gets every page of a Managed HSM list at u, following nextLink
// (which must stay on the HSM's own host), and decodes each item.
func list[T any](ctx context.Context, r rest, vault, u string) ([]T, error) {
	var out []T
	for page := 0; u != ""; page++ {
		if page == maxPages {
			return nil, fmt.Errorf("%s: more than %d pages", vault, maxPages)
		}
		var p struct {
			Value    []T     `json:"value"`
			NextLink *string `json:"nextLink"`
		}
		status, err := r.do(ctx, r.pipeline(r.cloud.hsmScope), http.MethodGet, u, nil, &p)
		if err != nil {
			return nil, err
		}
		if status == http.StatusNotFound {
			return nil, fmt.Errorf("%s answered 404 to a list", vault)
		}
		if p.Value == nil {
			return nil, fmt.Errorf("%s: the list reply has no \"value\"", vault)
		}
		out = append(out, p.Value...)
		u = ""
		if p.NextLink != nil && *p.NextLink != "" {
			if !strings.HasPrefix(*p.NextLink, vault+"/") {
				return nil, fmt.Errorf("%s: nextLink %q leaves the HSM", vault, *p.NextLink)
			}
			u = *p.NextLink
		}
	}
	return out, nil
}

// roleAssignments lists the role assignments made at and below a scope of
// the HSM at vault ("/", "/keys" or "/keys/NAME"), every page of them.
func (r rest) roleAssignments(ctx context.Context, vault, scope string) ([]assignment, error) {
	all, err := list[assignment](ctx, r, vault, vault+strings.TrimSuffix(scope, "/")+"/providers/Microsoft.Authorization/roleAssignments?api-version="+rbacAPIVersion)
	if err != nil {
		return nil, err
	}
	for i, a := range all {
		switch {
		case a.Name == "":
			return nil, errors.New("a role assignment in the list has no \"name\"")
		case a.Properties == nil || a.Properties.RoleDefinitionID == "" || a.Properties.PrincipalID == "":
			return nil, fmt.Errorf("role assignment %s has no \"properties.roleDefinitionId\" or \"properties.principalId\"", a.Name)
		case a.Properties.Scope == "":
			all[i].Properties.Scope = scope
		}
	}
	return all, nil
}

// roleDefinitions are the HSM's role definitions by ID, every page.
func (r rest) roleDefinitions(ctx context.Context, vault string) (map[string]roleDefinition, error) {
	type def struct {
		Name       string `json:"name"`
		Properties *struct {
			RoleName    string `json:"roleName"`
			Permissions []struct {
				DataActions    []string `json:"dataActions"`
				NotDataActions []string `json:"notDataActions"`
			} `json:"permissions"`
		} `json:"properties"`
	}
	all, err := list[def](ctx, r, vault, vault+"/providers/Microsoft.Authorization/roleDefinitions?api-version="+rbacAPIVersion)
	if err != nil {
		return nil, err
	}
	out := map[string]roleDefinition{}
	for _, d := range all {
		if d.Name == "" || d.Properties == nil {
			return nil, errors.New("a role definition in the list has no \"name\" or \"properties\"")
		}
		rd := roleDefinition{Name: d.Properties.RoleName}
		for _, p := range d.Properties.Permissions {
			for _, a := range p.DataActions {
				rd.DataActions = append(rd.DataActions, strings.TrimPrefix(a, "Microsoft.KeyVault/managedHsm/"))
			}
			for _, a := range p.NotDataActions {
				rd.NotDataActions = append(rd.NotDataActions, strings.TrimPrefix(a, "Microsoft.KeyVault/managedHsm/"))
			}
		}
		out[d.Name] = rd
	}
	return out, nil
}

// definitions are the HSM's role definitions, or the built-in ones when
// they cannot be read.
func (r rest) definitions(ctx context.Context, vault string) map[string]roleDefinition {
	defs, err := r.roleDefinitions(ctx, vault)
	if err != nil {
		return builtinRoles
	}
	for id, d := range builtinRoles {
		if _, ok := defs[id]; !ok {
			defs[id] = d
		}
	}
	return defs
}

// signer is who a credential signs in as, read from its access token's
// claims (for display and to find its own role assignments; nothing is
// trusted on it).
type signer struct {
	Tenant, ObjectID, Name string
}

// whoAmI reads the claims of an access token for the HSM.
func whoAmI(ctx context.Context, cred azcore.TokenCredential, scope string) (signer, error) {
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return signer{}, err
	}
	parts := strings.Split(tok.Token, ".")
	if len(parts) != 3 {
		return signer{}, errors.New("the access token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return signer{}, fmt.Errorf("the access token's claims: %w", err)
	}
	var c struct {
		TID        string `json:"tid"`
		OID        string `json:"oid"`
		UPN        string `json:"upn"`
		AppID      string `json:"appid"`
		UniqueName string `json:"unique_name"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return signer{}, fmt.Errorf("the access token's claims: %w", err)
	}
	if c.OID == "" {
		return signer{}, errors.New("the access token has no \"oid\" claim")
	}
	s := signer{Tenant: c.TID, ObjectID: c.OID, Name: c.UPN}
	switch {
	case s.Name == "" && c.UniqueName != "":
		s.Name = c.UniqueName
	case s.Name == "" && c.AppID != "":
		s.Name = "application " + c.AppID
	case s.Name == "":
		s.Name = "object " + c.OID
	}
	return s, nil
}

// assignRole gives principal the role at scope, under a new name.
func (r rest) assignRole(ctx context.Context, vault, scope, roleID, principal string) error {
	name := uuid.NewString()
	body := map[string]any{"properties": map[string]string{
		"roleDefinitionId": "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/" + roleID,
		"principalId":      principal,
	}}
	_, err := r.do(ctx, r.pipeline(r.cloud.hsmScope), http.MethodPut, vault+scope+"/providers/Microsoft.Authorization/roleAssignments/"+name+"?api-version="+rbacAPIVersion, body, nil)
	return err
}
