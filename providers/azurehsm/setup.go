package azurehsm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

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

// SetupPlan is what Setup would change, computed with reads only: who is
// signed in, the key, the role assignment and the tags to add, and what
// the signed-in customer lacks to make those changes.
type SetupPlan struct {
	Tenant, Signer, SignerID string
	HSM, Key                 string
	KeyExists                bool
	// CreateSP: the vendor's application has no service principal yet.
	CreateSP bool
	SPID     string
	// Role at Scope is the vendor's assignment; AddAssignment says it is
	// missing. Others are the vendor's other assignments that cover the
	// key: never changed or removed.
	Role, Scope   string
	AddAssignment bool
	Others        []string
	// TagsBefore and TagsAfter are the key's tags; equal when the domain's
	// tag is there.
	TagsBefore, TagsAfter map[string]string
	// Missing are the commands that grant the signed-in customer what it
	// lacks (an HSM administrator runs them); set up stops before any
	// change while there are some.
	Missing []string
}

// Lines are the plan for a person, one change or fact a line.
func (p SetupPlan) Lines() []string {
	l := []string{fmt.Sprintf("Signed in to tenant %s as %s (object %s)", p.Tenant, p.Signer, p.SignerID)}
	if p.KeyExists {
		l = append(l, fmt.Sprintf("Key %s in Managed HSM %s: exists, kept as it is", p.Key, p.HSM))
	} else {
		l = append(l, fmt.Sprintf("Key %s in Managed HSM %s: + create, oct-HSM 256 bits, wrapKey and unwrapKey", p.Key, p.HSM))
	}
	if p.CreateSP {
		l = append(l, "Vendor's service principal: + create it in this tenant")
	}
	if p.AddAssignment {
		l = append(l, fmt.Sprintf("Role assignment: + %q for the vendor's service principal at %s", p.Role, p.Scope))
	} else {
		l = append(l, fmt.Sprintf("Role assignment: %q at %s exists, kept", p.Role, p.Scope))
	}
	if p.Role == flows.AzureRoleCryptoUser {
		l = append(l, "  (the vendor's profile asks for Crypto User, which also lets it create, change and delete keys)")
	}
	for _, o := range p.Others {
		l = append(l, "  the vendor also holds "+o+": left as it is")
	}
	l = append(l, "Tags before: "+tagList(p.TagsBefore), "Tags after:  "+tagList(p.TagsAfter))
	for _, m := range p.Missing {
		l = append(l, "You lack a right it needs; an HSM administrator can grant it: "+m)
	}
	return l
}

func tagList(t map[string]string) string {
	if len(t) == 0 {
		return "(none)"
	}
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + t[k]
	}
	return strings.Join(keys, ", ")
}

func (s *Setup) clients(spec flows.SetupSpec) (*azkeys.Client, rest, string, error) {
	if !(Kit{}).Serves(spec.Provider) {
		return nil, rest{}, "", fmt.Errorf("%s is not an Azure provider", spec.Provider)
	}
	vault := "https://" + spec.HSMName + ".managedhsm.azure.net"
	opts := withoutUnknownHostRetries(s.Options)
	keys, err := azkeys.NewClient(vault, s.Credential, &azkeys.ClientOptions{ClientOptions: opts})
	return keys, rest{s.Credential, opts, cloudOf("managedhsm.azure.net")}, vault, err
}

// ReadPlan computes what Run would change, with reads only.
func (s *Setup) ReadPlan(ctx context.Context, spec flows.SetupSpec) (SetupPlan, error) {
	p, _, err := s.plan(ctx, spec)
	return p, err
}

// Plan is ReadPlan in the form the wizard shows before it asks: who is
// signed in, what changes and what is kept.
func (s *Setup) Plan(ctx context.Context, spec flows.SetupSpec) (flows.SetupPlan, error) {
	p, err := s.ReadPlan(ctx, spec)
	if err != nil {
		return flows.SetupPlan{}, err
	}
	return p.Flow(), nil
}

// Flow is the plan as changes and things kept, for the wizard.
func (p SetupPlan) Flow() flows.SetupPlan {
	out := flows.SetupPlan{Home: "tenant", Account: p.Tenant, Caller: p.Signer}
	if p.SignerID != "" {
		out.Caller += " (object " + p.SignerID + ")"
	}
	if p.KeyExists {
		out.Kept = append(out.Kept, fmt.Sprintf("the key %s in the Managed HSM %s", p.Key, p.HSM))
	} else {
		out.Changes = append(out.Changes, fmt.Sprintf("create the key %s in the Managed HSM %s: oct-HSM, 256 bits, wrapKey and unwrapKey", p.Key, p.HSM))
	}
	if p.CreateSP {
		out.Changes = append(out.Changes, "create the vendor's service principal in this tenant")
	}
	role := fmt.Sprintf("the role %q for the vendor's service principal at %s", p.Role, p.Scope)
	if p.Role == flows.AzureRoleCryptoUser {
		role += " (the vendor's profile asks for Crypto User, which also lets it create, change and delete keys)"
	}
	if p.AddAssignment {
		out.Changes = append(out.Changes, "assign "+role)
	} else {
		out.Kept = append(out.Kept, role)
	}
	for _, o := range p.Others {
		out.Kept = append(out.Kept, "the vendor's other assignment "+o)
	}
	if tagList(p.TagsBefore) != tagList(p.TagsAfter) {
		out.Changes = append(out.Changes, "set the key's tags from "+tagList(p.TagsBefore)+" to "+tagList(p.TagsAfter))
	} else {
		out.Kept = append(out.Kept, "the key's tags: "+tagList(p.TagsAfter))
	}
	for _, m := range p.Missing {
		out.Changes = append(out.Changes, "cannot go ahead: you lack a right it needs; an HSM administrator can grant it: "+m)
	}
	return out
}

func (s *Setup) plan(ctx context.Context, spec flows.SetupSpec) (SetupPlan, *azkeys.GetKeyResponse, error) {
	keys, api, vault, err := s.clients(spec)
	if err != nil {
		return SetupPlan{}, nil, err
	}
	role := spec.Vendor.AzureRoleName()
	p := SetupPlan{HSM: spec.HSMName, Key: spec.KeyName, Role: role, Scope: "/keys/" + spec.KeyName, Tenant: s.TenantID}
	me, err := whoAmI(ctx, s.Credential, api.cloud.hsmScope)
	if err != nil {
		return p, nil, fmt.Errorf("finding who is signed in: %w", err)
	}
	p.Signer, p.SignerID = me.Name, me.ObjectID
	if me.Tenant != "" {
		p.Tenant = me.Tenant
	}
	if p.SPID, err = api.servicePrincipal(ctx, spec.Vendor.AzureAppID); err != nil {
		return p, nil, fmt.Errorf("az ad sp show: %w", err)
	}
	p.CreateSP = p.SPID == ""

	var (
		key      *azkeys.GetKeyResponse
		re       *azcore.ResponseError
		cantRead bool
	)
	switch res, err := keys.GetKey(ctx, spec.KeyName, "", nil); {
	case err == nil:
		if res.Key == nil || res.Key.KID == nil {
			return p, nil, errors.New("az keyvault key show: the reply has no \"key.kid\"")
		}
		// Checked here, before anything changes (the service principal is
		// created first): a key the vendor cannot wrap with stops set-up.
		if res.Key.Kty == nil || *res.Key.Kty != azkeys.KeyTypeOctHSM || !hasOps(res.Key.KeyOps, "wrapKey", "unwrapKey") {
			return p, nil, fmt.Errorf("az keyvault key show: key %s is not an oct-HSM key that allows wrapKey and unwrapKey; nothing was changed", spec.KeyName)
		}
		key, p.KeyExists = &res, true
	case errors.As(err, &re) && re.StatusCode == http.StatusNotFound:
		if spec.Key != flows.KeyNew {
			return p, nil, fmt.Errorf("az keyvault key show: no key %s in Managed HSM %s", spec.KeyName, spec.HSMName)
		}
	case errors.As(err, &re) && re.StatusCode == http.StatusForbidden:
		cantRead = true
	default:
		return p, nil, fmt.Errorf("az keyvault key show: %w", err)
	}
	p.TagsBefore, p.TagsAfter = map[string]string{}, map[string]string{}
	if key != nil {
		for k, v := range key.Tags {
			if v != nil {
				p.TagsBefore[k], p.TagsAfter[k] = *v, *v
			}
		}
	}
	p.TagsAfter[spec.Domain] = "allow"

	// The customer's own rights: read and change the key (and create it),
	// and create the vendor's role assignment, at the key.
	grant := func(role string) string {
		return fmt.Sprintf("az keyvault role assignment create --hsm-name %s --role %q --assignee %s --scope %s", spec.HSMName, role, me.ObjectID, p.Scope)
	}
	all, err := api.roleAssignments(ctx, vault, "/")
	if err != nil {
		if !errors.As(err, &re) || re.StatusCode != http.StatusForbidden {
			return p, nil, fmt.Errorf("az keyvault role assignment list: %w", err)
		}
		// May not even read role assignments: neither create them.
		p.Missing = append(p.Missing, grant("Managed HSM Policy Administrator"))
		if cantRead {
			p.Missing = append(p.Missing, grant(flows.AzureRoleCryptoUser))
		}
		p.AddAssignment = true
		return p, key, nil
	}
	defs := api.definitions(ctx, vault)
	may := func(action string) bool {
		return slices.ContainsFunc(all, func(a assignment) bool {
			d, ok := defs[a.role()]
			return ok && a.Properties.PrincipalID == me.ObjectID && covers(a.Properties.Scope, p.Scope) && d.allows(action)
		})
	}
	keyRights := []string{"keys/read/action", "keys/write/action"}
	if !p.KeyExists {
		keyRights = append(keyRights, "keys/create")
	}
	if cantRead || slices.ContainsFunc(keyRights, func(a string) bool { return !may(a) }) {
		p.Missing = append(p.Missing, grant(flows.AzureRoleCryptoUser))
	}
	if !may("roleAssignments/write/action") {
		p.Missing = append(p.Missing, grant("Managed HSM Policy Administrator"))
	}
	p.AddAssignment = true
	for _, a := range all {
		if p.SPID == "" || a.Properties.PrincipalID != p.SPID || !covers(a.Properties.Scope, p.Scope) {
			continue
		}
		if a.role() == roleIDs[role] && "/"+strings.Trim(a.Properties.Scope, "/") == p.Scope {
			p.AddAssignment = false
			continue
		}
		name := "role " + a.role()
		if d, ok := defs[a.role()]; ok {
			name = d.Name
		}
		p.Others = append(p.Others, fmt.Sprintf("%s at %s (assignment %s)", name, a.Properties.Scope, a.Name))
	}
	sort.Strings(p.Others)
	return p, key, nil
}

// ErrMissingRights is returned when the signed-in customer may not make
// the changes; the error names the commands that grant them.
var ErrMissingRights = errors.New("your sign-in lacks rights the setup needs")

// Run sets the key up, reporting each call. It is safe to run again. It
// first computes the plan, and changes nothing when the customer lacks a
// right the plan needs. The vendor's existing assignments are never
// changed or removed; its own is added only when missing.
func (s *Setup) Run(ctx context.Context, spec flows.SetupSpec, report func(flows.SetupEvent)) (flows.SetupResult, error) {
	fail := func(call string, err error) (flows.SetupResult, error) {
		report(flows.SetupEvent{Call: call, Err: err})
		return flows.SetupResult{}, fmt.Errorf("%s: %w", call, err)
	}
	keys, api, vault, err := s.clients(spec)
	if err != nil {
		return fail("az keyvault key show", err)
	}
	plan, existing, err := s.plan(ctx, spec)
	if err != nil {
		return fail("az keyvault role assignment list", err)
	}
	if len(plan.Missing) > 0 {
		return fail("az keyvault role assignment list", fmt.Errorf("%w; nothing was changed. An HSM administrator can grant them:\n  %s", ErrMissingRights, strings.Join(plan.Missing, "\n  ")))
	}
	report(flows.SetupEvent{Call: "az account show", Detail: "signed in as " + plan.Signer + " in tenant " + plan.Tenant})

	spID := plan.SPID
	if spID != "" {
		report(flows.SetupEvent{Call: "az ad sp show", Detail: "the vendor's service principal is " + spID})
	} else {
		if spID, err = api.createServicePrincipal(ctx, spec.Vendor.AzureAppID); err != nil {
			return fail("az ad sp create", err)
		}
		if spID == "" {
			return fail("az ad sp create", errors.New("the reply of Microsoft Graph has no \"id\""))
		}
		report(flows.SetupEvent{Call: "az ad sp create", Detail: "created the service principal of application " + spec.Vendor.AzureAppID})
	}

	var key azkeys.GetKeyResponse
	if existing != nil {
		key = *existing
		report(flows.SetupEvent{Call: "az keyvault key show", Detail: "key " + spec.KeyName + " exists"})
	} else {
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
	}
	if key.Key == nil || key.Key.KID == nil {
		return fail("az keyvault key show", errors.New("the reply has no \"key.kid\""))
	}
	if key.Key.Kty == nil || *key.Key.Kty != azkeys.KeyTypeOctHSM || !hasOps(key.Key.KeyOps, "wrapKey", "unwrapKey") {
		return fail("az keyvault key show", fmt.Errorf("key %s is not an oct-HSM key that allows wrapKey and unwrapKey", spec.KeyName))
	}

	for _, o := range plan.Others {
		report(flows.SetupEvent{Call: "az keyvault role assignment list", Detail: "the vendor also holds " + o + "; left as it is"})
	}
	if !plan.AddAssignment {
		report(flows.SetupEvent{Call: "az keyvault role assignment list", Detail: "the vendor has " + plan.Role + " at " + plan.Scope})
	} else {
		if err := api.assignRole(ctx, vault, plan.Scope, roleIDs[plan.Role], spID); err != nil {
			return fail("az keyvault role assignment create", err)
		}
		report(flows.SetupEvent{Call: "az keyvault role assignment create", Detail: "gave the vendor " + plan.Role + " at " + plan.Scope})
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
