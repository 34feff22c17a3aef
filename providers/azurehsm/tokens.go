package azurehsm

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// tokens shares a credential's access tokens among the clients of one
// attempt at the checks: one token request per resource and tenant,
// made by whoever asks first while the others wait for it.
//
// Without it the same token is fetched twice: azidentity keeps the
// tokens it got with Continuous Access Evaluation apart from those
// without, and azkeys (as every azcore bearer token policy) asks with
// it, so a token the credential check got without it was not reused;
// and two clients asking at once both miss azidentity's cache. Every
// token is asked for with CAE, as the SDK's clients do: they all answer
// a CAE claims challenge, which goes to the credential itself and
// replaces the shared token.
type tokens struct {
	cred azcore.TokenCredential
	// tenant is the credential's own, which a request without one gets.
	tenant string
	now    func() time.Time

	mu  sync.Mutex
	got map[string]*tokenCall
}

// tokenCall is one token request, done once done is closed.
type tokenCall struct {
	done chan struct{}
	tok  azcore.AccessToken
	err  error
	// abandoned: it failed because its caller's context ended, which
	// says nothing of the credential.
	abandoned bool
}

// shareTokens wraps cred, made for tenant, for one attempt.
func shareTokens(cred azcore.TokenCredential, tenant string) *tokens {
	return &tokens{cred: cred, tenant: tenant, now: time.Now, got: map[string]*tokenCall{}}
}

// tokenMargin is how long before it expires a shared token is fetched
// anew.
const tokenMargin = 2 * time.Minute

// GetToken returns the token of o's scopes and tenant, requesting it
// only if no other caller has or is. A request abandoned by its caller
// is not shared: the next caller asks again. A CAE claims challenge
// (o.Claims) always goes to the credential, and its token replaces the
// shared one.
func (s *tokens) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	o.EnableCAE = true
	scopes := slices.Clone(o.Scopes)
	slices.Sort(scopes)
	key := strings.ToLower(cmp.Or(o.TenantID, s.tenant)) + " " + strings.Join(scopes, " ")
	for {
		s.mu.Lock()
		c, ok := s.got[key]
		if !ok || o.Claims != "" {
			c = &tokenCall{done: make(chan struct{})}
			s.got[key] = c
			s.mu.Unlock()
			c.tok, c.err = s.cred.GetToken(ctx, o)
			c.abandoned = c.err != nil && ctx.Err() != nil
			close(c.done)
			return c.tok, c.err
		}
		s.mu.Unlock()
		select {
		case <-c.done:
		case <-ctx.Done():
			return azcore.AccessToken{}, ctx.Err()
		}
		switch {
		case c.err == nil && c.tok.ExpiresOn.Sub(s.now()) > tokenMargin:
			return c.tok, nil
		case c.err != nil && !c.abandoned:
			return azcore.AccessToken{}, c.err
		}
		// Expiring, or abandoned: the next turn asks again.
		s.mu.Lock()
		if s.got[key] == c {
			delete(s.got, key)
		}
		s.mu.Unlock()
	}
}
