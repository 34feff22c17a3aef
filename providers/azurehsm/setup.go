package azurehsm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/rekwiz/rekwiz/flows"
)

// CryptoUserRoleID is the ID of the built-in role "Managed HSM Crypto
// User", the same in every Managed HSM.
const CryptoUserRoleID = "21dbd100-6940-42c2-9190-5d6cb909625b"

// Setup does through the SDK what the Azure setup script does with az,
// as the customer: the vendor's service principal (Microsoft Graph), the
// key (azkeys), the role assignment at /keys/NAME (Managed HSM's RBAC
// API), and the domain's tag, the key's other tags kept.
type Setup struct {
	// Credential is the customer's; TenantID is the tenant it is in.
	Credential azcore.TokenCredential
	TenantID   string
	Options    azcore.ClientOptions
}

// Run sets the key up, reporting each call. It is safe to run again.
func (s *Setup) Run(ctx context.Context, spec flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error) {
	if spec.Provider != flows.AzureDelegated {
		return flows.SetupResult{}, fmt.Errorf("%s is not an Azure provider", spec.Provider)
	}
	fail := func(call string, err error) (flows.SetupResult, error) {
		report(flows.SetupEvent{Call: call, Err: err})
		return flows.SetupResult{}, fmt.Errorf("%s: %w", call, err)
	}
	vault := "https://" + spec.HSMName + ".managedhsm.azure.net"
	keys, err := azkeys.NewClient(vault, s.Credential, &azkeys.ClientOptions{ClientOptions: s.Options})
	if err != nil {
		return fail("az keyvault key show", err)
	}

	spID, created, err := s.servicePrincipal(ctx, spec.Vendor.AzureAppID)
	if err != nil {
		return fail("az ad sp show", err)
	}
	if created {
		report(flows.SetupEvent{Call: "az ad sp create", Detail: "created the service principal of application " + spec.Vendor.AzureAppID})
	} else {
		report(flows.SetupEvent{Call: "az ad sp show", Detail: "the vendor's service principal is " + spID})
	}

	key, err := keys.GetKey(ctx, spec.KeyName, "", nil)
	var re *azcore.ResponseError
	switch {
	case err == nil:
		report(flows.SetupEvent{Call: "az keyvault key show", Detail: "key " + spec.KeyName + " exists"})
	case spec.Key == flows.KeyNew && errors.As(err, &re) && re.StatusCode == http.StatusNotFound:
		kty := azkeys.KeyTypeOctHSM
		res, err := keys.CreateKey(ctx, spec.KeyName, azkeys.CreateKeyParameters{
			Kty: &kty, KeySize: to.Ptr[int32](256),
			KeyOps: []*azkeys.KeyOperation{to.Ptr(azkeys.KeyOperationWrapKey), to.Ptr(azkeys.KeyOperationUnwrapKey)},
		}, nil)
		if err != nil {
			return fail("az keyvault key create", err)
		}
		key = azkeys.GetKeyResponse(res)
		report(flows.SetupEvent{Call: "az keyvault key create", Detail: "created oct-HSM key " + spec.KeyName + " (256 bits, wrapKey and unwrapKey)"})
	default:
		return fail("az keyvault key show", err)
	}
	if key.Key == nil || key.Key.Kty == nil || *key.Key.Kty != azkeys.KeyTypeOctHSM || !hasOps(key.Key.KeyOps, "wrapKey", "unwrapKey") {
		return fail("az keyvault key show", fmt.Errorf("key %s is not an oct-HSM key that allows wrapKey and unwrapKey", spec.KeyName))
	}

	scope := "/keys/" + spec.KeyName
	assigned, err := s.hasRole(ctx, vault, scope, spID)
	if err != nil {
		return fail("az keyvault role assignment list", err)
	}
	if assigned {
		report(flows.SetupEvent{Call: "az keyvault role assignment list", Detail: "the vendor has " + Role + " at " + scope})
	} else {
		if err := s.assignRole(ctx, vault, scope, spID); err != nil {
			return fail("az keyvault role assignment create", err)
		}
		report(flows.SetupEvent{Call: "az keyvault role assignment create", Detail: "gave the vendor " + Role + " at " + scope})
	}

	if v := key.Tags[spec.Domain]; v != nil && *v == "allow" {
		report(flows.SetupEvent{Call: "az keyvault key show", Detail: "the key has the tag " + spec.Domain + "=allow"})
	} else {
		tags := map[string]*string{}
		for k, v := range key.Tags {
			tags[k] = v
		}
		tags[spec.Domain] = to.Ptr("allow")
		if _, err := keys.UpdateKey(ctx, spec.KeyName, "", azkeys.UpdateKeyParameters{Tags: tags}, nil); err != nil {
			return fail("az keyvault key set-attributes", err)
		}
		report(flows.SetupEvent{Call: "az keyvault key set-attributes", Detail: "tagged the key " + spec.Domain + "=allow; its other tags kept"})
	}
	return flows.SetupResult{Paste: map[flows.Field]string{flows.FieldKeyURL: string(*key.Key.KID), flows.FieldTenantID: s.TenantID}}, nil
}

func hasOps(ops []*azkeys.KeyOperation, want ...string) bool {
	var have []string
	for _, o := range ops {
		if o != nil {
			have = append(have, string(*o))
		}
	}
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// pipeline is an azcore pipeline with a bearer token for scope, in the
// customer's tenant.
func (s *Setup) pipeline(scope string) runtime.Pipeline {
	return runtime.NewPipeline("rekwiz", "", runtime.PipelineOptions{
		PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(s.Credential, []string{scope}, &policy.BearerTokenOptions{})},
	}, &s.Options)
}

func (s *Setup) do(ctx context.Context, p runtime.Pipeline, method, u string, body any, out any) (int, error) {
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

// servicePrincipal finds (or creates) the service principal of the
// vendor's application in the customer's tenant, through Graph.
func (s *Setup) servicePrincipal(ctx context.Context, appID string) (string, bool, error) {
	p := s.pipeline("https://graph.microsoft.com/.default")
	var sp struct {
		ID string `json:"id"`
	}
	status, err := s.do(ctx, p, http.MethodGet, "https://graph.microsoft.com/v1.0/servicePrincipals(appId='"+url.PathEscape(appID)+"')", nil, &sp)
	if err != nil {
		return "", false, err
	}
	if status != http.StatusNotFound {
		return sp.ID, false, nil
	}
	if _, err := s.do(ctx, p, http.MethodPost, "https://graph.microsoft.com/v1.0/servicePrincipals", map[string]string{"appId": appID}, &sp); err != nil {
		return "", false, err
	}
	return sp.ID, true, nil
}

const rbacAPIVersion = "7.4"

func (s *Setup) hasRole(ctx context.Context, vault, scope, principal string) (bool, error) {
	var list struct {
		Value []struct {
			Properties struct {
				RoleDefinitionID string `json:"roleDefinitionId"`
				PrincipalID      string `json:"principalId"`
			} `json:"properties"`
		} `json:"value"`
	}
	u := vault + scope + "/providers/Microsoft.Authorization/roleAssignments?api-version=" + rbacAPIVersion
	if _, err := s.do(ctx, s.pipeline(hsmScope), http.MethodGet, u, nil, &list); err != nil {
		return false, err
	}
	for _, a := range list.Value {
		if a.Properties.PrincipalID == principal && strings.HasSuffix(a.Properties.RoleDefinitionID, "/"+CryptoUserRoleID) {
			return true, nil
		}
	}
	return false, nil
}

func (s *Setup) assignRole(ctx context.Context, vault, scope, principal string) error {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return err
	}
	id[6], id[8] = id[6]&0x0f|0x40, id[8]&0x3f|0x80
	name := fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:])
	body := map[string]any{"properties": map[string]string{
		"roleDefinitionId": "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/" + CryptoUserRoleID,
		"principalId":      principal,
	}}
	_, err := s.do(ctx, s.pipeline(hsmScope), http.MethodPut, vault+scope+"/providers/Microsoft.Authorization/roleAssignments/"+name+"?api-version="+rbacAPIVersion, body, nil)
	return err
}
