package azurehsm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/rekwiz/rekwiz/flows"
)

// verdict is a check's result.
type verdict struct {
	status         flows.Status
	detail, remedy string
	fix            flows.Step
}

// vendorRole finds the vendor's service principal and its role
// assignments that cover the key, and judges them by what their roles
// grant (the HSM's own role definitions): read, wrap and unwrap at the
// key pass; more rights, or a scope wider than the key, are a warning
// naming the assignment; a role without them (Crypto Officer and
// Administrator have no key data actions) fails. What the customer may
// not read is a warning: the role is then unchecked, not missing. The
// service principal, the assignments and the definitions are read at
// the same time.
func vendorRole(ctx context.Context, api rest, t flows.Target) verdict {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	u, app := t.KeyURL, t.Vendor.AzureAppID
	want := t.Vendor.AzureRoleName()
	unread := func(what string, err error) verdict {
		return verdict{flows.StatusWarn, fmt.Sprintf("your sign-in may not read %s (%s), so the vendor's role was not checked", what, firstLine(codeOf(err))),
			fmt.Sprintf("an HSM administrator can check it: az keyvault role assignment list --hsm-name %s --assignee %s", u.HSM, app), 0}
	}
	grant := fmt.Sprintf("az keyvault role assignment create --hsm-name %s --role %q --assignee %s --scope /keys/%s", u.HSM, want, app, u.Name)
	vault := "https://" + u.HSM + "." + u.Suffix
	var (
		wg            sync.WaitGroup
		sp            string
		spErr, allErr error
		all           []assignment
		defs          map[string]roleDefinition
	)
	wg.Go(func() { sp, spErr = api.servicePrincipal(ctx, app) })
	// Listing at "/" returns every assignment in the HSM (az filters by
	// scope itself).
	wg.Go(func() { all, allErr = api.roleAssignments(ctx, vault, "/") })
	wg.Go(func() { defs = api.definitions(ctx, vault) })
	wg.Wait()
	switch {
	case spErr != nil:
		return unread("service principals in Microsoft Graph", spErr)
	case sp == "":
		return verdict{flows.StatusFail, "the vendor's application " + app + " has no service principal in tenant " + t.TenantID,
			"az ad sp create --id " + app + " (the setup script does it)", flows.StepScript}
	case allErr != nil:
		return unread("the HSM's role assignments", allErr)
	}
	target := "/keys/" + u.Name
	type held struct {
		name, scope string
		def         roleDefinition
	}
	var (
		at        []held
		elsewhere []string
	)
	for _, a := range all {
		if a.Properties.PrincipalID != sp {
			continue
		}
		d, ok := defs[a.role()]
		if !ok {
			d = roleDefinition{Name: "role " + a.role()}
		}
		scope := "/" + strings.Trim(a.Properties.Scope, "/")
		if !covers(scope, target) {
			elsewhere = append(elsewhere, d.Name+" at "+scope)
			continue
		}
		at = append(at, held{a.Name, scope, d})
	}
	sort.Strings(elsewhere)
	sort.Slice(at, func(i, j int) bool { return at[i].scope+at[i].def.Name < at[j].scope+at[j].def.Name })
	var missing []string
	for _, need := range vendorNeeds {
		if !slices.ContainsFunc(at, func(h held) bool { return h.def.allows(need) }) {
			missing = append(missing, strings.TrimSuffix(strings.TrimPrefix(need, "keys/"), "/action"))
		}
	}
	if len(missing) > 0 {
		detail := fmt.Sprintf("the vendor's application %s may not %s with key %s", app, strings.Join(missing, ", "), u.Name)
		var holds []string
		for _, h := range at {
			holds = append(holds, h.def.Name+" at "+h.scope)
		}
		if len(holds) > 0 {
			detail += " (it holds " + strings.Join(holds, ", ") + ", which grants no " + strings.Join(missing, ", ") + " of keys)"
		}
		if len(elsewhere) > 0 {
			detail += " (it has " + strings.Join(elsewhere, ", ") + ", which does not cover the key)"
		}
		return verdict{flows.StatusFail, detail, grant, flows.StepScript}
	}
	var warns, ok []string
	for _, h := range at {
		desc := fmt.Sprintf("%s at %s (assignment %s)", h.def.Name, h.scope, h.name)
		var why []string
		if extra := h.def.keyExtras(); len(extra) > 0 {
			why = append(why, "it also grants "+strings.Join(extra, ", "))
		}
		if h.scope != target {
			why = append(why, "it covers "+map[bool]string{true: "every key and role in the HSM", false: "every key in the HSM"}[h.scope == "/"]+", not only "+target)
		}
		if len(why) > 0 {
			warns = append(warns, desc+": "+strings.Join(why, "; "))
		} else {
			ok = append(ok, desc)
		}
	}
	if len(warns) > 0 {
		return verdict{flows.StatusWarn, "the vendor holds more than it needs: " + strings.Join(warns, " | "),
			fmt.Sprintf("if the vendor did not ask for it, give it %s at %s only (%s) and remove the other assignment (az keyvault role assignment delete --hsm-name %s --ids ...)",
				flows.AzureRoleEncryptionUser, target, strings.Replace(grant, strconv.Quote(want), strconv.Quote(flows.AzureRoleEncryptionUser), 1), u.HSM), 0}
	}
	return verdict{flows.StatusPass, strings.Join(ok, ", ") + " (service principal " + sp + ")", "", 0}
}

// codeOf is an Azure error's code, or its message.
func codeOf(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.ErrorCode != "" {
		return re.ErrorCode
	}
	return err.Error()
}
