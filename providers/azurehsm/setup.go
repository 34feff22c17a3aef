package azurehsm

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"

	"github.com/rekwiz/rekwiz/flows"
)

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

	api := rest{s.Credential, s.Options, cloudOf("managedhsm.azure.net")}
	spID, err := api.servicePrincipal(ctx, spec.Vendor.AzureAppID)
	switch {
	case err != nil:
		return fail("az ad sp show", err)
	case spID != "":
		report(flows.SetupEvent{Call: "az ad sp show", Detail: "the vendor's service principal is " + spID})
	default:
		if spID, err = api.createServicePrincipal(ctx, spec.Vendor.AzureAppID); err != nil {
			return fail("az ad sp create", err)
		}
		report(flows.SetupEvent{Call: "az ad sp create", Detail: "created the service principal of application " + spec.Vendor.AzureAppID})
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
	assigned, err := api.roleAssignments(ctx, vault, scope)
	if err != nil {
		return fail("az keyvault role assignment list", err)
	}
	if slices.ContainsFunc(assigned, func(a assignment) bool {
		return a.Properties.Scope == scope && a.Properties.PrincipalID == spID && a.role() == CryptoUserRoleID
	}) {
		report(flows.SetupEvent{Call: "az keyvault role assignment list", Detail: "the vendor has " + Role + " at " + scope})
	} else {
		if err := api.assignRole(ctx, vault, scope, CryptoUserRoleID, spID); err != nil {
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
		detail := "tagged the key " + spec.Domain + "=allow"
		if len(tags) > 1 {
			detail += "; its other tags kept"
		}
		report(flows.SetupEvent{Call: "az keyvault key set-attributes", Detail: detail})
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

func newUUID() (string, error) {
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	id[6], id[8] = id[6]&0x0f|0x40, id[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:]), nil
}
