package fakecloud_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/rekwiz/rekwiz/providers/fakecloud"
	"github.com/rekwiz/rekwiz/providers/fakecloud/fakecloudtest"
)

const hsmURL = "https://contoso-hsm.managedhsm.azure.net"

type azClient struct {
	t     *testing.T
	http  *http.Client
	token string
}

func vendorClient(t *testing.T, e *fakecloudtest.Env) *azClient {
	t.Helper()
	c := &azClient{t: t, http: e.Server.AzureHTTPClient()}
	app := e.AzureVendor()
	cred, err := azidentity.NewClientSecretCredential(e.AzureTenant(), app.ClientID, app.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: azcore.ClientOptions{Transport: c.http}, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://managedhsm.azure.net/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	c.token = tok.Token
	return c
}

// do sends a request and returns the status, the headers and the body.
func (c *azClient) do(method, path string, body any, auth bool) (int, http.Header, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	u := path
	if !strings.HasPrefix(u, "https://") {
		u = hsmURL + path
	}
	req, _ := http.NewRequest(method, u, rd)
	req.Header.Set("Content-Type", "application/json")
	if auth {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// TestHSMRoles: each built-in role allows exactly the key and RBAC
// operations rekwiz uses that its real definition grants (Administrator
// and Crypto Officer no key operation at all; Crypto Service Encryption
// User read, wrap and unwrap), checked over the wire.
func TestHSMRoles(t *testing.T) {
	t.Parallel()
	ops := []struct {
		name, method, path string
		body               any
	}{
		{"get key", "GET", "/keys/k?api-version=7.4", nil},
		{"create key", "POST", "/keys/new/create?api-version=7.4", map[string]any{"kty": "oct-HSM", "key_size": 256}},
		{"update tags", "PATCH", "/keys/k?api-version=7.4", map[string]any{"tags": map[string]string{"a": "b"}}},
		{"wrap", "POST", "/keys/k/wrapkey?api-version=7.4", map[string]string{"alg": "A256KW", "value": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		{"list role assignments", "GET", "/providers/Microsoft.Authorization/roleAssignments?api-version=7.4", nil},
		{"create role assignment", "PUT", "/keys/k/providers/Microsoft.Authorization/roleAssignments/0d0e0f00-0000-4000-8000-000000000001?api-version=7.4",
			map[string]any{"properties": map[string]string{"roleDefinitionId": "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/2c18b078-7c48-4d3a-af88-5a3a1b3f82b3", "principalId": "0d0e0f00-0000-4000-8000-0000000000aa"}}},
		{"list role definitions", "GET", "/providers/Microsoft.Authorization/roleDefinitions?api-version=7.4", nil},
	}
	want := map[string][]string{
		"Managed HSM Administrator":                  {"list role assignments", "create role assignment", "list role definitions"},
		"Managed HSM Crypto Officer":                 {"list role assignments", "create role assignment", "list role definitions"},
		"Managed HSM Policy Administrator":           {"list role assignments", "create role assignment", "list role definitions"},
		"Managed HSM Crypto User":                    {"get key", "create key", "update tags", "wrap", "list role assignments", "list role definitions"},
		"Managed HSM Crypto Auditor":                 {"get key", "list role assignments", "list role definitions"},
		"Managed HSM Crypto Service Encryption User": {"get key", "wrap"},
		"Managed HSM Crypto Service Release User":    nil,
		"Managed HSM Backup User":                    nil,
	}
	roles := fakecloud.HSMRoleNames()
	sort.Strings(roles)
	if len(roles) != len(want) {
		t.Fatalf("roles %v", roles)
	}
	for _, role := range roles {
		t.Run(role, func(t *testing.T) {
			e := fakecloudtest.Start(t, fakecloud.Options{Seed: 1, Vendor: fakecloudtest.Vendor})
			e.CreateHSM("contoso-hsm")
			e.CreateHSMKey("contoso-hsm", "k", fakecloud.HSMKeyOptions{})
			e.AssignHSMRole("contoso-hsm", e.CreateServicePrincipal(fakecloudtest.Vendor.AzureAppID), role, "/")
			c := vendorClient(t, e)
			var got []string
			for _, op := range ops {
				status, _, body := c.do(op.method, op.path, op.body, true)
				switch {
				case status < 300:
					got = append(got, op.name)
				case status != 403 || !strings.Contains(string(body), `"code":"AccessDenied"`):
					t.Errorf("%s: %d %s", op.name, status, body)
				}
			}
			if !slices.Equal(got, want[role]) {
				t.Errorf("%s may %v, want %v", role, got, want[role])
			}
		})
	}
}

// TestHSMConformance holds the sandbox's Managed HSM to the exchanges
// the real service has in the Azure SDKs' and CLI's recordings: status,
// header forms and JSON field names and shapes. The expectations are
// written from those recordings, named in each case.
func TestHSMConformance(t *testing.T) {
	t.Parallel()
	e := fakecloudtest.Start(t, fakecloud.Options{Seed: 2, Vendor: fakecloudtest.Vendor})
	e.CreateHSM("contoso-hsm")
	e.CreateHSMKey("contoso-hsm", "k", fakecloud.HSMKeyOptions{})
	sp := e.CreateServicePrincipal(fakecloudtest.Vendor.AzureAppID)
	e.AssignHSMRole("contoso-hsm", sp, "Managed HSM Crypto User", "/")
	e.AssignHSMRole("contoso-hsm", sp, "Managed HSM Policy Administrator", "/")
	e.SetHSMPageSize(2)
	c := vendorClient(t, e)
	fields := func(t *testing.T, body []byte) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		return m
	}
	keysOf := func(v any) []string {
		m, _ := v.(map[string]any)
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	jsonCT := func(t *testing.T, h http.Header) {
		if ct := h.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
	}

	// Azure/azure-cli test_keyvault_hsm_key_encrypt_AES.yaml (first
	// exchange): 401, no body, the challenge naming the tenant's
	// authority and the resource.
	t.Run("401 challenge", func(t *testing.T) {
		status, h, body := c.do("GET", "/keys/k?api-version=7.4", nil, false)
		re := regexp.MustCompile(`^Bearer authorization="https://login\.microsoftonline\.com/[0-9a-f-]{36}", resource="https://managedhsm\.azure\.net"$`)
		if status != 401 || !re.MatchString(h.Get("WWW-Authenticate")) || len(body) != 0 {
			t.Errorf("%d %q %q", status, h.Get("WWW-Authenticate"), body)
		}
	})
	// test_keyvault_hsm_key_encrypt_AES.yaml, create and get: 200, the
	// key bundle {attributes, key}, attributes with created, enabled,
	// exportable, recoverableDays, recoveryLevel, updated; key with
	// key_ops, kid, kty; no "tags" on a key without tags.
	bundle := func(t *testing.T, status int, h http.Header, body []byte) {
		t.Helper()
		jsonCT(t, h)
		m := fields(t, body)
		if status != 200 || !slices.Equal(keysOf(m), []string{"attributes", "key"}) ||
			!slices.Equal(keysOf(m["attributes"]), []string{"created", "enabled", "exportable", "recoverableDays", "recoveryLevel", "updated"}) ||
			!slices.Equal(keysOf(m["key"]), []string{"key_ops", "kid", "kty"}) {
			t.Errorf("%d %s", status, body)
		}
	}
	t.Run("create key", func(t *testing.T) {
		s, h, b := c.do("POST", "/keys/new/create?api-version=7.4", map[string]any{"kty": "oct-HSM", "key_size": 256, "key_ops": []string{"wrapKey", "unwrapKey"}}, true)
		bundle(t, s, h, b)
	})
	t.Run("get key", func(t *testing.T) {
		s, h, b := c.do("GET", "/keys/k/?api-version=7.4", nil, true)
		bundle(t, s, h, b)
	})
	// Key Vault's update (PATCH) answers the bundle with the tags sent
	// (azure-sdk-for-js keyvault-keys recordings of updateKeyProperties).
	t.Run("update tags", func(t *testing.T) {
		s, _, b := c.do("PATCH", "/keys/k?api-version=7.4", map[string]any{"tags": map[string]string{"dm-LCAJVnUE94B": "allow"}}, true)
		m := fields(t, b)
		if s != 200 || !slices.Equal(keysOf(m), []string{"attributes", "key", "tags"}) || m["tags"].(map[string]any)["dm-LCAJVnUE94B"] != "allow" {
			t.Errorf("%d %s", s, b)
		}
	})
	// test_keyvault_hsm_key_encrypt_AES.yaml's encrypt/decrypt replies
	// carry kid and value (base64url, no padding); wrap and unwrap
	// answer the same {kid, value}.
	t.Run("wrap and unwrap", func(t *testing.T) {
		in := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
		s, h, b := c.do("POST", "/keys/k/wrapkey?api-version=7.4", map[string]string{"alg": "A256KW", "value": in}, true)
		jsonCT(t, h)
		m := fields(t, b)
		if s != 200 || !slices.Equal(keysOf(m), []string{"kid", "value"}) || strings.ContainsAny(m["value"].(string), "=+/") {
			t.Fatalf("%d %s", s, b)
		}
		s, _, b = c.do("POST", "/keys/k/unwrapkey?api-version=7.4", map[string]string{"alg": "A256KW", "value": m["value"].(string)}, true)
		if m := fields(t, b); s != 200 || m["value"] != in {
			t.Errorf("%d %s", s, b)
		}
	})
	// azure-sdk-for-js keyvault-admin recording_can_create_read_and_delete_role_assignments.json:
	// PUT answers 201 {id, name, properties{principalId,
	// roleDefinitionId, scope}, type}; at "/" the id has no doubled slash.
	t.Run("role assignment create", func(t *testing.T) {
		s, h, b := c.do("PUT", "/providers/Microsoft.Authorization/roleAssignments/1a53457b-e855-469a-8bc6-3b5f450396b3?api-version=7.4",
			map[string]any{"properties": map[string]string{"roleDefinitionId": "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/2c18b078-7c48-4d3a-af88-5a3a1b3f82b3", "principalId": "01ea9a65-813e-4238-8204-bf7328d63fc6"}}, true)
		jsonCT(t, h)
		m := fields(t, b)
		if s != 201 || m["id"] != "/providers/Microsoft.Authorization/roleAssignments/1a53457b-e855-469a-8bc6-3b5f450396b3" ||
			!slices.Equal(keysOf(m), []string{"id", "name", "properties", "type"}) || m["type"] != "Microsoft.Authorization/roleAssignments" ||
			!slices.Equal(keysOf(m["properties"]), []string{"principalId", "roleDefinitionId", "scope"}) {
			t.Errorf("%d %s", s, b)
		}
	})
	// azure-cli test_keyvault_hsm_role.yaml: list answers {value: [...]};
	// the sandbox pages with nextLink (RoleAssignmentListResult).
	t.Run("role assignment list pages", func(t *testing.T) {
		u, n := "/providers/Microsoft.Authorization/roleAssignments?api-version=7.4", 0
		for pages := 0; u != ""; pages++ {
			s, _, b := c.do("GET", u, nil, true)
			m := fields(t, b)
			if s != 200 || pages > 10 {
				t.Fatalf("%d %s", s, b)
			}
			n += len(m["value"].([]any))
			u, _ = m["nextLink"].(string)
			if u != "" && !strings.HasPrefix(u, hsmURL+"/providers/Microsoft.Authorization/roleAssignments?") {
				t.Fatalf("nextLink %q", u)
			}
		}
		if n != 4 { // the customer's Administrator, the vendor's two, the auditor above
			t.Errorf("%d assignments", n)
		}
	})
	// recording_can_list_role_definitions.json: {value: [{id, name,
	// properties{assignableScopes, description, permissions[{actions,
	// dataActions, notActions, notDataActions}], roleName, type}, type}]},
	// Crypto Service Encryption User with exactly read, wrap, unwrap.
	t.Run("role definitions", func(t *testing.T) {
		var defs []any
		for u := "/providers/Microsoft.Authorization/roleDefinitions?api-version=7.4"; u != ""; {
			s, _, b := c.do("GET", u, nil, true)
			m := fields(t, b)
			if s != 200 {
				t.Fatalf("%d %s", s, b)
			}
			defs = append(defs, m["value"].([]any)...)
			u, _ = m["nextLink"].(string)
		}
		found := false
		for _, d := range defs {
			p := d.(map[string]any)["properties"].(map[string]any)
			if !slices.Equal(keysOf(d), []string{"id", "name", "properties", "type"}) ||
				!slices.Equal(keysOf(p), []string{"assignableScopes", "description", "permissions", "roleName", "type"}) {
				t.Errorf("definition %v", d)
			}
			if d.(map[string]any)["name"] == "33413926-3206-4cdd-b39a-83574fe37a17" {
				found = true
				perm := p["permissions"].([]any)[0].(map[string]any)
				if got, _ := json.Marshal(perm["dataActions"]); string(got) != `["Microsoft.KeyVault/managedHsm/keys/read/action","Microsoft.KeyVault/managedHsm/keys/wrap/action","Microsoft.KeyVault/managedHsm/keys/unwrap/action"]` {
					t.Errorf("Crypto Service Encryption User: %s", got)
				}
			}
		}
		if !found || len(defs) != 8 {
			t.Errorf("%d definitions, Encryption User found %v", len(defs), found)
		}
	})
	// Error bodies: {"error":{"code","message"}}. KeyNotFound (Key Vault
	// keys recordings of getKey on a deleted key); RoleAssignmentNotFound
	// (recording_can_create_read_and_delete_role_assignments.json);
	// AccessDenied "Not authorized to access <action> on <scope>"
	// (azure-cli issue 32719).
	t.Run("error bodies", func(t *testing.T) {
		for _, tc := range []struct {
			method, path string
			status       int
			code         string
		}{
			{"GET", "/keys/nope?api-version=7.4", 404, "KeyNotFound"},
			{"GET", "/providers/Microsoft.Authorization/roleAssignments/e64687c6-9920-45c3-aeac-91380893591c?api-version=7.4", 404, "RoleAssignmentNotFound"},
		} {
			s, h, b := c.do(tc.method, tc.path, nil, true)
			jsonCT(t, h)
			m := fields(t, b)
			if s != tc.status || !slices.Equal(keysOf(m), []string{"error"}) || m["error"].(map[string]any)["code"] != tc.code {
				t.Errorf("%s: %d %s", tc.path, s, b)
			}
		}
		e2 := fakecloudtest.Start(t, fakecloud.Options{Seed: 3, Vendor: fakecloudtest.Vendor})
		e2.CreateHSM("contoso-hsm")
		e2.CreateServicePrincipal(fakecloudtest.Vendor.AzureAppID)
		s, _, b := vendorClient(t, e2).do("GET", "/keys/k?api-version=7.4", nil, true)
		if m := fields(t, b); s != 403 || m["error"].(map[string]any)["code"] != "AccessDenied" ||
			!regexp.MustCompile(`^Not authorized to access Microsoft\.KeyVault/managedHsm/keys/read/action on /keys/k \(Activity ID: [0-9a-f-]{36}\)$`).MatchString(m["error"].(map[string]any)["message"].(string)) {
			t.Errorf("%d %s", s, b)
		}
	})
}
