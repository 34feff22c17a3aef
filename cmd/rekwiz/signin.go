package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/rekwiz/rekwiz/flows"
)

// signInChecker is a pairing check that can say, before it runs,
// whether the customer is signed in to the cloud it runs in
// (awskms.Pairing, azurehsm.Pairing): nil, or a *flows.NotSignedInError.
type signInChecker interface {
	SignedIn(ctx context.Context, t flows.Target) error
}

// signedIn asks the check, when it can tell, whether it has a sign-in
// to run with; the answer "no" ends the command with exit code 4 and one
// sentence with the command that signs in (see run).
func signedIn(ctx context.Context, c any, t flows.Target) error {
	if s, ok := c.(signInChecker); ok {
		return s.SignedIn(ctx, t)
	}
	return nil
}

// notSignedIn maps an error that says the customer is not signed in to
// its exit: code 4 and the error's one sentence.
func notSignedIn(err error) (*exitError, bool) {
	var ns *flows.NotSignedInError
	if !errors.As(err, &ns) {
		return nil, false
	}
	return &exitError{code: exitSignIn, msg: ns.Error()}, true
}

// otherAccessKey is the mistake of a service account's verify run where
// the environment signs in as another access key: the flag names the
// service account's access key ID, while AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY are someone else's, so the secret taken from the
// environment is not the flag's key's and AWS would only answer
// "signature does not match". given are the fields given as flags;
// secretFromEnv, the secret fields taken from their variable.
func otherAccessKey(o *verifyOptions, given map[flows.Field]bool, secretFromEnv []flows.Field) error {
	if len(secretFromEnv) == 0 {
		return nil
	}
	for f, env := range fieldEnv {
		if flows.Spec(f).Kind == flows.SecretField || !given[f] {
			continue
		}
		if inEnv := o.IO.Getenv(env); inEnv != "" && inEnv != o.Presets[f] {
			return &exitError{code: exitUsage, msg: fmt.Sprintf(
				"--%s %s is not the access key in your environment (%s=%s), whose secret %s holds: unset %s and %s to be asked for this key's secret, or set both to this key's",
				f, o.Presets[f], env, inEnv, fieldEnv[secretFromEnv[0]], env, fieldEnv[secretFromEnv[0]])}
		}
	}
	return nil
}
