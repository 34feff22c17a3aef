// Package domainapitest is a domain API for tests: the vendor's side of
// the API shape rekwiz registers keys with, on loopback. Its test
// endpoint runs the real pairing check against the sandbox as the vendor
// would, with the key information it was given, so a registration is
// proven end to end.
package domainapitest

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/awskms"
	"github.com/rekwiz/rekwiz/providers/domainapi"
)

// Server is the in-test domain API.
type Server struct {
	*httptest.Server
	Token  string
	Vendor flows.Vendor
	// VendorAWS is the configuration the vendor's checks run with (the
	// sandbox's vendor identity); service accounts use their own keys.
	VendorAWS aws.Config

	mu       sync.Mutex
	domains  map[string]map[string]domainapi.KeyInfos // domain -> rekID -> key
	faults   []fault
	Requests []string // "METHOD PATH", in order
}

type fault struct {
	path       string // a suffix of the path; "" any
	status     int
	retryAfter string
	times      int
}

// New starts a domain API that knows the given domains.
func New(token string, vendor flows.Vendor, vendorAWS aws.Config, domains ...string) *Server {
	s := &Server{Token: token, Vendor: vendor, VendorAWS: vendorAWS, domains: map[string]map[string]domainapi.KeyInfos{}}
	for _, d := range domains {
		s.domains[d] = map[string]domainapi.KeyInfos{}
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Fail answers the next times requests whose path ends with suffix with
// status (and Retry-After, if given).
func (s *Server) Fail(suffix string, status int, retryAfter string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{suffix, status, retryAfter, times})
}

// Keys returns a domain's registered keys.
func (s *Server) Keys(domain string) map[string]domainapi.KeyInfos {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]domainapi.KeyInfos{}
	for k, v := range s.domains[domain] {
		out[k] = v
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.Requests = append(s.Requests, r.Method+" "+r.URL.Path)
	for i := range s.faults {
		f := &s.faults[i]
		if f.times > 0 && strings.HasSuffix(r.URL.Path, f.path) {
			f.times--
			s.mu.Unlock()
			if f.retryAfter != "" {
				w.Header().Set("Retry-After", f.retryAfter)
			}
			writeJSON(w, f.status, map[string]string{"message": http.StatusText(f.status)})
			return
		}
	}
	s.mu.Unlock()

	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(auth), []byte(s.Token)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "invalid or missing bearer token"})
		return
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 4 || parts[0] != "domains" || parts[2] != "control" || parts[3] != "encryption" {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "no such route"})
		return
	}
	domain := parts[1]
	s.mu.Lock()
	keys, known := s.domains[domain]
	s.mu.Unlock()
	if !known {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "domain " + domain + " not found"})
		return
	}
	switch rest := strings.Join(parts[4:], "/"); {
	case r.Method == http.MethodGet && rest == "providers":
		s.providers(w)
	case r.Method == http.MethodPost && rest == "keys":
		s.addKey(w, r, domain, keys)
	case r.Method == http.MethodPost && len(parts) == 7 && parts[4] == "keys" && parts[6] == "test":
		s.test(w, r, domain, parts[5])
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "no such route"})
	}
}

// providers lists the vendor's providers by the API's own names. This
// fake plays the vendor's side, so it writes them out rather than read
// flows' provider table, which it tests (an exception the branch count in
// flows/provider_table_test.go allows, as it does addKey's switch).
func (s *Server) providers(w http.ResponseWriter) {
	aws := s.Vendor.AWSAccountID
	if s.Vendor.AWSPrincipalARN != "" {
		aws = s.Vendor.AWSPrincipalARN
	}
	writeJSON(w, http.StatusOK, map[string]any{"providers": []map[string]string{
		{"type": "DelegatedRootEncryptionKeyProvider", "name": "AWS KMS (delegated)", "shortName": "aws_am", "description": "Delegate a KMS key to us", "accountDetails": aws},
		{"type": "ServiceAccountRootEncryptionKeyProvider", "name": "AWS KMS (service account)", "shortName": "aws_sa", "description": "Give us a service account"},
		{"type": "DelegatedRootEncryptionKeyProvider", "name": "Azure Managed HSM", "shortName": "azure_am", "description": "Delegate a Managed HSM key", "accountDetails": s.Vendor.AzureAppID},
		{"type": "DelegatedRootEncryptionKeyProvider", "name": "Google Cloud KMS", "shortName": "gcp_am", "description": "Delegate a Cloud KMS key to our service account", "accountDetails": s.Vendor.GCPServiceAccount},
	}})
}

func (s *Server) addKey(w http.ResponseWriter, r *http.Request, domain string, keys map[string]domainapi.KeyInfos) {
	var in domainapi.KeyInfos
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "body: " + err.Error()})
		return
	}
	ki := in.KeyInformation
	missing := func(field string) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"field": "keyInformation." + field, "message": "required for " + ki.ProviderName})
	}
	// The API's own names, as the vendor checks them (see providers).
	switch ki.ProviderName {
	case "aws_am":
		if ki.KeyARN == "" {
			missing("keyARN")
			return
		}
	case "aws_sa":
		switch {
		case ki.KeyARN == "":
			missing("keyARN")
			return
		case ki.AccessKeyID == "":
			missing("accessKeyID")
			return
		case ki.SecretAccessKey == "":
			missing("secretAccessKey")
			return
		}
	case "azure_am":
		if ki.KeyURL == "" || ki.TenantID == "" {
			missing("keyURL")
			return
		}
	case "gcp_am":
		for field, v := range map[string]string{"projectID": ki.ProjectID, "location": ki.Location, "keyringID": ki.KeyringID, "keyID": ki.KeyID} {
			if v == "" {
				missing(field)
				return
			}
		}
	default:
		writeJSON(w, http.StatusBadRequest, map[string]string{"field": "keyInformation.providerName", "message": fmt.Sprintf("unknown provider %q", ki.ProviderName)})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, k := range keys {
		if k.KeyInformation == ki {
			writeJSON(w, http.StatusConflict, map[string]string{"message": "this key is registered already", "rekID": id})
			return
		}
	}
	id := fmt.Sprintf("rek-%016x", len(keys)+1)
	keys[id] = in
	writeJSON(w, http.StatusOK, map[string]string{"rekID": id})
}

// test runs the pairing check as the vendor would, with what the key
// information gives it.
func (s *Server) test(w http.ResponseWriter, r *http.Request, domain, rekID string) {
	s.mu.Lock()
	in, ok := s.domains[domain][rekID]
	s.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "root encryption key " + rekID + " not found"})
		return
	}
	ki := in.KeyInformation
	p, err := flows.ParseProvider(ki.ProviderName)
	if err != nil || p.Cloud() != flows.CloudAWS {
		writeJSON(w, http.StatusOK, domainapi.TestResult{ID: rekID, Source: ki.ProviderName, Status: "error", StatusMessage: "this test server checks AWS keys only"})
		return
	}
	a, _, err := flows.ParseAliasARN(ki.KeyARN)
	if err != nil {
		writeJSON(w, http.StatusOK, domainapi.TestResult{ID: rekID, Source: ki.ProviderName, Status: "error", StatusMessage: err.Error()})
		return
	}
	t := flows.Target{Provider: p, Domain: domain, Vendor: s.Vendor, AliasARN: a, AccessKeyID: ki.AccessKeyID, SecretAccessKey: flows.Secret(ki.SecretAccessKey)}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	start := time.Now()
	checks := awskms.NewPairing(s.VendorAWS, awskms.WithWait(0)).Run(ctx, t, nil)
	res := domainapi.TestResult{ID: rekID, Source: ki.ProviderName, ResourcePath: ki.KeyARN, Description: in.Description,
		Status: "ok", StatusMessage: "wrapped and unwrapped a data key", LatencyMS: float64(time.Since(start).Milliseconds())}
	if !flows.Passed(checks) {
		res.Status = "error"
		for _, c := range checks {
			if c.Status == flows.StatusFail {
				res.StatusMessage = c.Name + ": " + c.Detail
				break
			}
		}
	}
	writeJSON(w, http.StatusOK, res)
}
