package awskms

import (
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials/ssocreds"
	"github.com/aws/smithy-go"

	"github.com/rekwiz/rekwiz/flows"
)

// problem is an AWS error said for a person: what is wrong, and the fix.
type problem struct {
	detail string
	remedy string
	action string // the KMS action refused, when the error names one
	denied bool   // AWS refused access (AccessDenied, in any service's spelling)
	// notFound: what the call named does not exist (NotFoundException).
	notFound bool
}

var notAuthorizedRE = regexp.MustCompile(`not authorized to perform: (kms:[A-Za-z]+)`)

// explain turns an SDK error into one sentence and a remedy. subject is
// what the call was about ("alias arn:…"), for the sentence.
func explain(err error, subject string) problem {
	if ns := notSignedIn(err); ns != nil {
		return problem{detail: ns.What(), remedy: ns.Fix()}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		// AccessDenied has no typed error in the SDK: the API error code
		// is what tells.
		code, msg := ae.ErrorCode(), ae.ErrorMessage()
		switch code {
		case "AccessDeniedException", "AccessDenied":
			p := problem{detail: "access denied: " + msg, denied: true}
			if m := notAuthorizedRE.FindStringSubmatch(msg); m != nil {
				p.action = m[1]
				p.detail = "the key policy does not allow " + m[1]
				switch {
				case strings.Contains(msg, "explicit deny"):
					p.detail = "an explicit Deny refuses " + m[1]
				case strings.Contains(msg, "identity-based policy"):
					p.detail = "no IAM policy of the caller allows " + m[1]
				}
			}
			return p
		case "NotFoundException":
			detail := subject + " was not found"
			if low := strings.ToLower(msg); !strings.Contains(low, "not found") && !strings.Contains(low, "does not exist") {
				detail += ": " + msg // AWS's says more than that it is not there
			}
			return problem{detail: detail, remedy: "check the alias ARN's region and account, or run the setup script (it creates the alias)", notFound: true}
		case "DisabledException":
			return problem{detail: "the key is disabled", remedy: "enable it: aws kms enable-key --key-id KEY_ID"}
		case "KMSInvalidStateException":
			return problem{detail: "the key is in a state that refuses use: " + msg, remedy: "see the key state check above"}
		case "KeyUnavailableException":
			return problem{detail: "the key is unavailable right now: " + msg, remedy: "retry in a minute; a custom key store may need reconnecting"}
		case "InvalidCiphertextException":
			return problem{detail: "KMS refused the data key's ciphertext (wrong encryption context, or not this key's)", remedy: "retry; if it persists, send this output to the vendor's support"}
		case "IncorrectKeyException":
			return problem{detail: "the ciphertext was made with another key than the alias names", remedy: "the alias may have moved between calls; retry"}
		case "ExpiredToken", "ExpiredTokenException":
			return problem{detail: "the AWS session token has expired (" + code + ")",
				remedy: "sign in again (aws sso login, or a fresh AWS_SESSION_TOKEN), then retry"}
		case "UnrecognizedClientException", "InvalidClientTokenId":
			return problem{detail: "AWS does not know this access key ID (" + code + ")",
				remedy: "check the access key ID; a key made seconds ago can take a moment to work"}
		case "InvalidSignatureException", "SignatureDoesNotMatch":
			return problem{detail: "the secret access key does not match the access key ID (" + code + ")",
				remedy: "paste the secret that was printed with this access key ID"}
		case "ThrottlingException", "Throttling", "RequestLimitExceeded", "TooManyRequestsException":
			return problem{detail: "AWS is throttling requests (" + code + ")", remedy: "wait a minute and retry"}
		}
		return problem{detail: code + ": " + msg}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return problem{detail: "AWS did not answer in time", remedy: "check the network and retry"}
	}
	var dns *net.DNSError
	var op *net.OpError
	if errors.As(err, &dns) || errors.As(err, &op) {
		return problem{detail: "could not reach AWS: " + err.Error(), remedy: "check the network, the region, and AWS_ENDPOINT_URL if set"}
	}
	return problem{detail: err.Error()}
}

// errMissing is a well-formed answer that lacks a field the check needs.
type errMissing struct{ call, field string }

func (e errMissing) Error() string {
	return "AWS answered " + e.call + " without " + e.field
}

// SignInAware is cfg with its credentials marked: when they cannot be
// had (no sign-in, an expired one), the calls made with cfg fail with a
// *flows.NotSignedInError, which says so in one sentence with the
// command that fixes it, rather than with the credential chain's text.
func SignInAware(cfg aws.Config) aws.Config {
	cfg.Credentials = signInCredentials{cfg.Credentials}
	return cfg
}

type signInCredentials struct{ p aws.CredentialsProvider }

func (s signInCredentials) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if s.p == nil {
		return aws.Credentials{}, &flows.NotSignedInError{Cloud: flows.CloudAWS, Err: errors.New("no AWS credentials configured")}
	}
	c, err := s.p.Retrieve(ctx)
	if err != nil && ctx.Err() == nil {
		return c, signInError(err)
	}
	return c, err
}

// signInError is a failure to get credentials, said as not signed in;
// an expired AWS SSO session names its own fix.
func signInError(err error) *flows.NotSignedInError {
	e := &flows.NotSignedInError{Cloud: flows.CloudAWS, Err: err}
	var sso *ssocreds.InvalidTokenError
	if errors.As(err, &sso) {
		e.Command = "aws sso login"
	}
	return e
}

// notSignedIn is err said as not signed in, or nil when err is not a
// failure to get credentials: marked by SignInAware, or, for
// credentials not so marked, the SDK's own errors (signing without
// credentials, an expired SSO session, the chain's "failed to retrieve
// credentials").
func notSignedIn(err error) *flows.NotSignedInError {
	var ns *flows.NotSignedInError
	if errors.As(err, &ns) {
		return ns
	}
	var (
		signing *v4.SigningError
		sso     *ssocreds.InvalidTokenError
	)
	msg := err.Error()
	switch {
	case errors.As(err, &sso),
		errors.As(err, &signing) && strings.Contains(msg, "failed to retrieve credentials"),
		strings.Contains(msg, "get identity: get credentials:"):
		return signInError(err)
	}
	return nil
}

// SignedIn reports whether the check of t has credentials to run with:
// nil, or a *flows.NotSignedInError. A service account's check runs with
// its own access key and needs no sign-in. Other failures are left for
// the check to report.
func (p *Pairing) SignedIn(ctx context.Context, t flows.Target) error {
	cfg := checkVariant(t).checkConfig(p.cfg, t)
	if cfg.Credentials == nil {
		return &flows.NotSignedInError{Cloud: flows.CloudAWS, Err: errors.New("no AWS credentials configured")}
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err := cfg.Credentials.Retrieve(cctx)
	if err == nil || ctx.Err() != nil {
		return nil
	}
	if ns := notSignedIn(err); ns != nil {
		return ns
	}
	return signInError(err)
}

// callError is a set-up call's failure as the wizard shows it: the call
// and the SDK's error; or, when it is a missing sign-in, just the
// sentence that says so.
func callError(call string, err error) error {
	if ns := notSignedIn(err); ns != nil {
		return ns
	}
	return fmt.Errorf("%s: %w", call, err)
}
