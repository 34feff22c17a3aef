package fakecloud

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// --- Managed HSM role assignments and definitions ---------------------

// hsmRBAC serves the Managed HSM RBAC data plane at a scope: role
// assignments (list, get, create with PUT, delete) and role definitions
// (list, get). Lists page when SetHSMPageSize asked, with nextLink.
func (s *Sandbox) hsmRBAC(w http.ResponseWriter, r *http.Request, body []byte, h *managedHSM, app *AzureApp, scope string, rest []string) {
	if len(rest) < 3 || rest[1] != "Microsoft.Authorization" || (rest[2] != "roleAssignments" && rest[2] != "roleDefinitions") {
		hsmError(w, http.StatusNotFound, "NotFound", "The rekwiz sandbox does not serve "+r.URL.Path, "") // marked: no recording shows this reply
		return
	}
	if rest[2] == "roleDefinitions" {
		s.roleDefinitions(w, r, h, app, scope, rest)
		return
	}
	action := map[string]string{http.MethodGet: "roleAssignments/read/action", http.MethodPut: "roleAssignments/write/action", http.MethodDelete: "roleAssignments/delete/action"}[r.Method]
	if action == "" {
		hsmError(w, http.StatusMethodNotAllowed, "BadParameter", r.Method+" is not supported here.", "")
		return
	}
	if !h.allowed(app.ObjectID, action, scope) {
		s.denied(w, app, action, scope)
		return
	}
	view := func(a roleAssignment) map[string]any {
		// The id is the scope's path, with no extra slash at "/":
		// "/providers/Microsoft.Authorization/roleAssignments/NAME".
		return map[string]any{"id": strings.TrimSuffix(a.Scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + a.Name, "name": a.Name, "type": "Microsoft.Authorization/roleAssignments",
			"properties": map[string]string{"scope": a.Scope, "roleDefinitionId": "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/" + a.RoleID, "principalId": a.PrincipalID}}
	}
	switch {
	case r.Method == http.MethodGet && len(rest) == 3:
		var list []any
		// Managed HSM lists the assignments at and below the scope;
		// az filters them by scope itself.
		sorted := slices.Clone(h.assignments)
		sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
		for _, a := range sorted {
			if covers(scope, a.Scope) {
				list = append(list, view(a))
			}
		}
		s.page(w, r, list)
	case r.Method == http.MethodGet && len(rest) == 4:
		for _, a := range h.assignments {
			if a.Name == rest[3] && a.Scope == scope {
				writeHSM(w, view(a))
				return
			}
		}
		hsmError(w, http.StatusNotFound, "RoleAssignmentNotFound", "Requested role assignment not found (Activity ID: "+s.uuid()+")", "")
	case r.Method == http.MethodPut && len(rest) == 4:
		var in struct {
			Properties struct {
				RoleDefinitionID string `json:"roleDefinitionId"`
				PrincipalID      string `json:"principalId"`
			} `json:"properties"`
		}
		if json.Unmarshal(body, &in) != nil || roleName(in.Properties.RoleDefinitionID) == "" || in.Properties.PrincipalID == "" {
			hsmError(w, http.StatusBadRequest, "BadParameter", "roleDefinitionId must name a Managed HSM role, and principalId a principal.", "")
			return
		}
		if scope != "/" && scope != "/keys" && !strings.HasPrefix(scope, "/keys/") {
			hsmError(w, http.StatusBadRequest, "BadParameter", "Scope "+scope+" is not a Managed HSM scope.", "")
			return
		}
		a := roleAssignment{Name: rest[3], PrincipalID: in.Properties.PrincipalID, RoleID: in.Properties.RoleDefinitionID[strings.LastIndex(in.Properties.RoleDefinitionID, "/")+1:], Scope: scope}
		for _, old := range h.assignments {
			if old.PrincipalID == a.PrincipalID && old.RoleID == a.RoleID && old.Scope == a.Scope {
				// marked: no recording shows a duplicate assignment's
				// reply; ARM's code for it is RoleAssignmentExists.
				hsmError(w, http.StatusConflict, "RoleAssignmentExists", "The role assignment already exists.", "")
				return
			}
		}
		h.assignments = append(h.assignments, a)
		s.logf("hsm role assignment %s at %s -> ok", roleName(a.RoleID), scope)
		w.Header().Set("Content-Type", hsmContentType)
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(view(a))
	case r.Method == http.MethodDelete && len(rest) == 4:
		for i, a := range h.assignments {
			if a.Name == rest[3] && a.Scope == scope {
				h.assignments = slices.Delete(h.assignments, i, i+1)
				writeHSM(w, view(a))
				return
			}
		}
		hsmError(w, http.StatusNotFound, "RoleAssignmentNotFound", "Requested role assignment not found (Activity ID: "+s.uuid()+")", "")
	default:
		hsmError(w, http.StatusMethodNotAllowed, "BadParameter", r.Method+" is not supported here.", "")
	}
}

// roleDefinitions lists the built-in role definitions, or gets one.
func (s *Sandbox) roleDefinitions(w http.ResponseWriter, r *http.Request, h *managedHSM, app *AzureApp, scope string, rest []string) {
	const action = "roleDefinitions/read/action"
	if r.Method != http.MethodGet || len(rest) > 4 {
		hsmError(w, http.StatusMethodNotAllowed, "BadParameter", r.Method+" is not supported here.", "")
		return
	}
	if !h.allowed(app.ObjectID, action, scope) {
		s.denied(w, app, action, scope)
		return
	}
	view := func(d hsmRoleDef) map[string]any {
		actions := []string{}
		for _, a := range d.DataActions {
			actions = append(actions, hsmActionPrefix+a)
		}
		return map[string]any{"id": "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/" + d.ID, "name": d.ID,
			"type": "Microsoft.Authorization/roleDefinitions",
			"properties": map[string]any{"assignableScopes": []string{"/"}, "description": "", "roleName": d.Name, "type": "AKVBuiltInRole",
				"permissions": []any{map[string]any{"actions": []string{}, "notActions": []string{}, "dataActions": actions, "notDataActions": []string{}}}}}
	}
	if len(rest) == 4 {
		if d := roleDef(rest[3]); d != nil {
			writeHSM(w, view(*d))
			return
		}
		hsmError(w, http.StatusNotFound, "RoleDefinitionNotFound", "Requested role definition not found (Activity ID: "+s.uuid()+")", "") // marked: code not seen in a recording
		return
	}
	var list []any
	for _, d := range hsmRoleDefs {
		list = append(list, view(d))
	}
	s.page(w, r, list)
}

// page writes one page of a list, {"value": [...], "nextLink": URL},
// nextLink carrying $skiptoken to the next page (absent on the last).
func (s *Sandbox) page(w http.ResponseWriter, r *http.Request, list []any) {
	from := 0
	if t := r.URL.Query().Get("$skiptoken"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 || n > len(list) {
			hsmError(w, http.StatusBadRequest, "BadParameter", "The $skiptoken is not valid.", "")
			return
		}
		from = n
	}
	to := len(list)
	if s.az.pageSize > 0 && from+s.az.pageSize < to {
		to = from + s.az.pageSize
	}
	out := map[string]any{"value": append([]any{}, list[from:to]...)}
	if to < len(list) {
		q := r.URL.Query()
		q.Set("$skiptoken", strconv.Itoa(to))
		out["nextLink"] = "https://" + r.Host + r.URL.Path + "?" + q.Encode()
	}
	writeHSM(w, out)
}
