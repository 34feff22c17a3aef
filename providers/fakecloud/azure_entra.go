package fakecloud

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// --- Microsoft Entra ID -------------------------------------------------

func entraError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": desc})
}

func (s *Sandbox) serveEntra(w http.ResponseWriter, r *http.Request, body []byte) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	tenant := parts[0]
	s.mu.Lock()
	known := tenant == s.az.tenant
	s.mu.Unlock()
	if !known {
		s.logf("entra %s -> invalid tenant", r.URL.Path)
		entraError(w, http.StatusBadRequest, "invalid_tenant", fmt.Sprintf("AADSTS90002: Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	base := "https://" + azureLoginHost + "/" + tenant
	switch rest := strings.Join(parts[1:], "/"); {
	case r.Method == http.MethodGet && rest == "v2.0/.well-known/openid-configuration":
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"token_endpoint":         base + "/oauth2/v2.0/token",
			"authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"issuer":                 base + "/v2.0",
			"tenant_region_scope":    "EU",
		})
	case r.Method == http.MethodPost && rest == "oauth2/v2.0/token":
		s.token(w, body, tenant)
	default:
		entraError(w, http.StatusNotFound, "not_found", "The rekwiz sandbox does not serve "+r.URL.Path)
	}
}

// token issues an access token for the client credentials grant.
func (s *Sandbox) token(w http.ResponseWriter, body []byte, tenant string) {
	form, _ := url.ParseQuery(string(body))
	s.mu.Lock()
	defer s.mu.Unlock()
	if form.Get("grant_type") != "client_credentials" {
		entraError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The rekwiz sandbox supports the client_credentials grant only.")
		return
	}
	var app *AzureApp
	for _, a := range []*AzureApp{s.az.customer, s.az.vendor} {
		if a.ClientID == form.Get("client_id") {
			app = a
		}
	}
	switch {
	case app == nil || app == s.az.vendor && app.ObjectID == "":
		s.logf("entra token %s -> unknown application", form.Get("client_id"))
		entraError(w, http.StatusBadRequest, "unauthorized_client", fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant.", form.Get("client_id"), tenant))
		return
	case subtle.ConstantTimeCompare([]byte(form.Get("client_secret")), []byte(app.ClientSecret)) != 1:
		s.logf("entra token %s -> invalid secret", app.Name)
		entraError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
		return
	}
	// MSAL adds openid, offline_access and profile to the scope asked.
	scope, aud, ok := form.Get("scope"), "", false
	for _, sc := range strings.Fields(scope) {
		if a, found := strings.CutSuffix(sc, "/.default"); found {
			aud, ok = a, true
		}
	}
	if !ok || (aud != hsmResource && aud != graphResource) {
		entraError(w, http.StatusBadRequest, "invalid_scope", fmt.Sprintf("AADSTS70011: The provided value for scope %q is not valid.", scope))
		return
	}
	tok := s.jwt(app, tenant, aud)
	s.az.tokens[tok] = azToken{app: app, tenant: tenant, audience: aud, expires: s.now().Add(time.Hour)}
	s.logf("entra token %s %s -> ok", app.Name, aud)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
}

// jwt is an access token shaped as Entra ID's are: a JWT whose claims
// name the tenant (tid), the application (appid) and the object (oid) it
// was issued to. Its signature is random: only the sandbox checks it, by
// looking the token up.
func (s *Sandbox) jwt(app *AzureApp, tenant, aud string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	claims := map[string]any{"aud": aud, "iss": "https://sts.windows.net/" + tenant + "/", "tid": tenant,
		"appid": app.ClientID, "oid": app.ObjectID, "idtyp": "app", "exp": s.now().Add(time.Hour).Unix()}
	return enc(map[string]string{"typ": "JWT", "alg": "RS256"}) + "." + enc(claims) + "." + s.randString(43, secretChars)
}

// caller returns the application a request's bearer token belongs to,
// if the token is valid for audience in the customer's tenant.
func (s *Sandbox) azCaller(r *http.Request, audience string) *AzureApp {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil
	}
	t, ok := s.az.tokens[tok]
	if !ok || t.audience != audience || t.tenant != s.az.tenant || s.now().After(t.expires) {
		return nil
	}
	return t.app
}

// --- Microsoft Graph ----------------------------------------------------

func graphError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func (s *Sandbox) serveGraph(w http.ResponseWriter, r *http.Request, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if app := s.azCaller(r, graphResource); app != s.az.customer {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty or not valid for this tenant.")
		return
	}
	sp := func(status int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"id": s.az.vendor.ObjectID, "appId": s.az.vendor.ClientID, "displayName": "vendor application"})
	}
	path, _ := url.PathUnescape(r.URL.Path)
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/v1.0/servicePrincipals(appId='"):
		appID := strings.TrimSuffix(strings.TrimPrefix(path, "/v1.0/servicePrincipals(appId='"), "')")
		if appID != s.az.vendor.ClientID || s.az.vendor.ObjectID == "" {
			graphError(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", appID))
			return
		}
		sp(http.StatusOK)
	case r.Method == http.MethodPost && path == "/v1.0/servicePrincipals":
		var in struct{ AppID string }
		if json.Unmarshal(body, &in) != nil || in.AppID != s.az.vendor.ClientID {
			graphError(w, http.StatusBadRequest, "Request_BadRequest", "The appId does not name an application the rekwiz sandbox knows.")
			return
		}
		if s.az.vendor.ObjectID != "" {
			graphError(w, http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", "Another object with the same value for property servicePrincipalNames already exists.")
			return
		}
		s.createSP(in.AppID)
		s.logf("graph create service principal -> ok")
		sp(http.StatusCreated)
	default:
		graphError(w, http.StatusNotFound, "Request_UnsupportedQuery", "The rekwiz sandbox does not serve "+r.Method+" "+path)
	}
}
