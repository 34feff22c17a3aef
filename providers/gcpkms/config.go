package gcpkms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// Scopes are the OAuth 2.0 scopes rekwiz asks Google for: Cloud KMS,
// and reading the project's IAM policy (Resource Manager takes no
// narrower scope for it).
var Scopes = []string{"https://www.googleapis.com/auth/cloudkms", "https://www.googleapis.com/auth/cloud-platform.read-only"}

// EndpointEnv names the variable that points rekwiz at another Cloud KMS
// (the sandbox's, for `rekwiz verify` against `rekwiz sandbox`): its base
// URL, such as http://127.0.0.1:PORT/.
const EndpointEnv = "REKWIZ_GCP_KMS_ENDPOINT"

// The real services' base URLs.
const (
	DefaultEndpoint                = "https://cloudkms.googleapis.com/"
	DefaultResourceManagerEndpoint = "https://cloudresourcemanager.googleapis.com/"
)

// Identity is one set of Google credentials: who they are, for the
// screens, and where their tokens come from.
type Identity struct {
	// Name says who the credentials are, as a person reads it: "the
	// service account a@b.iam.gserviceaccount.com", "your gcloud
	// application-default sign-in".
	Name string
	// Email is the service account's email, when the credentials are
	// one's ("" for a user's sign-in).
	Email  string
	Tokens oauth2.TokenSource
}

// Config is how rekwiz reaches Cloud KMS.
type Config struct {
	// HTTP carries the calls (nil: http.DefaultClient): the sandbox's
	// transport in tests.
	HTTP *http.Client
	// Endpoint is Cloud KMS's base URL ("": DefaultEndpoint).
	Endpoint string
	// ResourceManager is Resource Manager's base URL, for a project's
	// IAM policy; "" reads none.
	ResourceManager string
	// Customer finds the customer's credentials: they read the key, its
	// labels and IAM policies, set the key up, and run the round trip
	// when there is no Vendor. It is called when the credentials are
	// first needed, not before: finding Application Default Credentials
	// may ask the metadata server, which start-up must not wait for.
	Customer func(ctx context.Context) (Identity, error)
	// Vendor, when set, finds the vendor's service account's credentials
	// (the demo's): the round trip then runs as the vendor, and the vendor
	// asks which permissions it holds on the key. They never read the
	// key's metadata: the vendor's role does not allow it.
	Vendor func(ctx context.Context) (Identity, error)
}

// DefaultConfig is the customer's own configuration: Application Default
// Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth
// application-default login, Cloud Shell's or a VM's metadata server),
// found when first needed, and Cloud KMS (and Resource Manager) at
// REKWIZ_GCP_KMS_ENDPOINT when that is set. getenv reads the environment
// (os.Getenv).
func DefaultConfig(getenv func(string) string) Config {
	cfg := Config{Customer: ADC(), ResourceManager: DefaultResourceManagerEndpoint}
	if e := strings.TrimSpace(getenv(EndpointEnv)); e != "" {
		// The sandbox serves Resource Manager's project policy at the
		// same base URL as its Cloud KMS.
		cfg.Endpoint, cfg.ResourceManager = e, e
	}
	return cfg
}

// ErrNoCredentials says no Application Default Credentials were found.
var ErrNoCredentials = errors.New("no Google Cloud sign-in found")

// ADC finds Application Default Credentials on first use, and keeps
// them once found (a failed lookup is tried again next time: the
// customer may have signed in since).
func ADC() func(ctx context.Context) (Identity, error) {
	var (
		mu   sync.Mutex
		done bool
		id   Identity
	)
	return func(ctx context.Context) (Identity, error) {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return id, nil
		}
		type found struct {
			c   *google.Credentials
			err error
		}
		ch := make(chan found, 1)
		// The lookup may ask the metadata server, with its own timeouts:
		// it runs aside, so a cancelled check does not wait for it.
		go func() {
			c, err := google.FindDefaultCredentials(context.WithoutCancel(ctx), Scopes...)
			ch <- found{c, err}
		}()
		select {
		case <-ctx.Done():
			return Identity{}, ctx.Err()
		case f := <-ch:
			if f.err != nil {
				return Identity{}, errors.Join(ErrNoCredentials, f.err)
			}
			done, id = true, identityOf(f.c)
			return id, nil
		}
	}
}

// FromJSON is the credentials of a key file's JSON (a service account's
// key, or gcloud's application-default file), their tokens from the
// token_uri the file names (the sandbox's, in the demo).
func FromJSON(ctx context.Context, b []byte) (Identity, error) {
	c, err := google.CredentialsFromJSONWithType(context.WithoutCancel(ctx), b, google.ServiceAccount, Scopes...)
	if err != nil {
		return Identity{}, err
	}
	return identityOf(c), nil
}

// StaticToken is an identity with a fixed access token.
func StaticToken(name, email, token string) Identity {
	return Identity{Name: name, Email: email, Tokens: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token, TokenType: "Bearer"})}
}

// Fixed is a finder that always gives id (credentials made beforehand,
// such as the sandbox's tokens), for Config.Customer and Config.Vendor.
func Fixed(id Identity) func(context.Context) (Identity, error) {
	return func(context.Context) (Identity, error) { return id, nil }
}

// identityOf says who credentials are, from their JSON.
func identityOf(c *google.Credentials) Identity {
	var f struct {
		Type        string `json:"type"`
		ClientEmail string `json:"client_email"`
		Account     string `json:"account"`
	}
	_ = json.Unmarshal(c.JSON, &f)
	id := Identity{Tokens: c.TokenSource}
	switch {
	case f.ClientEmail != "":
		id.Name, id.Email = "the service account "+f.ClientEmail, f.ClientEmail
	case f.Type == "authorized_user" && f.Account != "":
		id.Name = "your gcloud application-default sign-in (" + f.Account + ")"
	case f.Type == "authorized_user":
		id.Name = "your gcloud application-default sign-in"
	case f.Type == "external_account" || f.Type == "impersonated_service_account":
		id.Name = "Application Default Credentials (" + strings.ReplaceAll(f.Type, "_", " ") + ")"
	case len(c.JSON) == 0:
		id.Name = "the metadata server's account (Cloud Shell or a Google Cloud VM)"
	default:
		id.Name = "Application Default Credentials"
	}
	return id
}

// errRedirect is a redirect answered by the endpoint, which rekwiz does
// not follow.
var errRedirect = errors.New("the Cloud KMS endpoint answered with a redirect, which rekwiz does not follow with your credentials")

// clientFor is a client that calls as id.
func (cfg Config) clientFor(id Identity) *client {
	base := cfg.HTTP
	if base == nil {
		base = http.DefaultClient
	}
	hc := &http.Client{
		Transport: &oauth2.Transport{Source: oauth2.ReuseTokenSource(nil, id.Tokens), Base: base.Transport},
		Timeout:   base.Timeout,
		// The transport puts the token on every request, a redirected one
		// too: a redirect is never followed, so the token goes to Cloud KMS
		// only.
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			return fmt.Errorf("%w to %s", errRedirect, req.URL.Host)
		},
	}
	return &client{http: hc, kms: withSlash(cfg.Endpoint, DefaultEndpoint), crm: withSlash(cfg.ResourceManager, "")}
}

func withSlash(u, def string) string {
	if u == "" {
		return def
	}
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}
