package azurehsm

import (
	"errors"
	"net"
	"net/http"
	"slices"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// withoutUnknownHostRetries is opts with a policy that stops the SDK's
// retries when a host name does not resolve: a mistyped HSM name does not
// resolve on the second try either, and the SDK's three retries with
// backoff kept the customer waiting about 9 s for that answer.
func withoutUnknownHostRetries(opts azcore.ClientOptions) azcore.ClientOptions {
	opts.PerRetryPolicies = append(slices.Clip(opts.PerRetryPolicies), unknownHost{})
	return opts
}

// unknownHost marks a "no such host" error as not retriable (azcore's
// errorinfo.NonRetriable); errors.As still finds the *net.DNSError in it.
type unknownHost struct{}

func (unknownHost) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if dns, ok := errors.AsType[*net.DNSError](err); ok && dns.IsNotFound {
		return resp, notRetriable{err}
	}
	return resp, err
}

type notRetriable struct{ error }

func (notRetriable) NonRetriable()   {}
func (e notRetriable) Unwrap() error { return e.error }
