package gcpkms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"golang.org/x/oauth2"

	"github.com/rekwiz/rekwiz/flows"
)

// problem is a Google error said for a person: what is wrong, and the fix.
type problem struct {
	detail, remedy string
	fix            flows.Step
	denied         bool // PERMISSION_DENIED: a binding may be missing, or on its way
	notFound       bool
}

const signIn = "sign in with gcloud auth application-default login (Cloud Shell is signed in already), or set GOOGLE_APPLICATION_CREDENTIALS to a service account's key file"

// explain turns an error into one sentence and a remedy. who is whose
// call it was ("your credentials", "the vendor's service account X").
func explain(err error, who string) problem {
	var (
		ae  *APIError
		re  *oauth2.RetrieveError
		dns *net.DNSError
		op  *net.OpError
	)
	switch {
	case errors.Is(err, ErrNoCredentials):
		return problem{detail: "no Google Cloud sign-in found: " + signIn, remedy: "gcloud auth application-default login"}
	case errors.As(err, &re):
		code := re.ErrorCode
		if code == "" {
			// The JWT flow leaves the body unread: {"error": "…"}.
			var body struct {
				Error string `json:"error"`
			}
			if json.Unmarshal(re.Body, &body) == nil && body.Error != "" {
				code = body.Error
			} else if re.Response != nil {
				code = fmt.Sprint(re.Response.StatusCode)
			}
		}
		return problem{detail: fmt.Sprintf("Google refused the sign-in of %s (%s)", who, code),
			remedy: "sign in again: gcloud auth application-default login"}
	case errors.As(err, &ae):
		switch ae.Status {
		case "UNAUTHENTICATED":
			return problem{detail: "Google did not accept the credentials of " + who + " (UNAUTHENTICATED)", remedy: "sign in again: gcloud auth application-default login"}
		case "PERMISSION_DENIED":
			d := who + " may not do this"
			if ae.Permission != "" {
				d = who + " lacks the permission " + ae.Permission
			}
			return problem{detail: d + " (or the key does not exist)", denied: true}
		case "NOT_FOUND":
			return problem{detail: "not found: " + ae.Message, notFound: true}
		case "RESOURCE_EXHAUSTED":
			return problem{detail: "Cloud KMS is throttling requests (RESOURCE_EXHAUSTED)", remedy: "wait a minute and retry"}
		case "UNAVAILABLE":
			return problem{detail: "Cloud KMS is unavailable right now (UNAVAILABLE)", remedy: "retry in a minute"}
		}
		return problem{detail: ae.Status + ": " + firstLine(ae.Message)}
	case errors.Is(err, context.DeadlineExceeded):
		return problem{detail: "Google Cloud did not answer in time", remedy: "check the network and retry"}
	case errors.As(err, &dns) || errors.As(err, &op):
		return problem{detail: "could not reach Cloud KMS: " + firstLine(err.Error()), remedy: "check the network, and " + EndpointEnv + " if set"}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return problem{detail: firstLine(err.Error())}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// SignedIn reports whether there are Google Cloud credentials to run
// with: nil, or a *flows.NotSignedInError when no Application Default
// Credentials are found (`rekwiz verify` then ends with one sentence and
// the command that signs in). Credentials that are found but refused are
// left for the check to report.
func (p *Pairing) SignedIn(ctx context.Context, _ flows.Target) error {
	if p.cfg.Customer == nil {
		return nil
	}
	if _, err := p.cfg.Customer(ctx); errors.Is(err, ErrNoCredentials) {
		return &flows.NotSignedInError{Cloud: flows.CloudGCP, Err: err}
	}
	return nil
}
