package azurehsm

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// countingCred hands out numbered tokens, after release is closed (nil:
// at once), and records what it was asked.
type countingCred struct {
	mu      sync.Mutex
	asked   []policy.TokenRequestOptions
	release chan struct{}
	fail    error
	expires time.Duration
}

func (c *countingCred) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.mu.Lock()
	c.asked = append(c.asked, o)
	n := len(c.asked)
	c.mu.Unlock()
	if c.release != nil {
		select {
		case <-c.release:
		case <-ctx.Done():
			return azcore.AccessToken{}, ctx.Err()
		}
	}
	if c.fail != nil {
		return azcore.AccessToken{}, c.fail
	}
	return azcore.AccessToken{Token: string(rune('0' + n)), ExpiresOn: time.Now().Add(c.expires)}, nil
}

func (c *countingCred) calls() []policy.TokenRequestOptions {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]policy.TokenRequestOptions(nil), c.asked...)
}

const hsmTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"

// TestTokensOneRequestPerResource: callers asking at once, with CAE and
// without, with the credential's tenant named or not, share one token
// request; another resource or tenant gets its own; every request asks
// with CAE.
func TestTokensOneRequestPerResource(t *testing.T) {
	t.Parallel()
	cred := &countingCred{release: make(chan struct{}), expires: time.Hour}
	s := shareTokens(cred, hsmTenant)
	asks := []policy.TokenRequestOptions{
		{Scopes: []string{hsmScope}, TenantID: hsmTenant},
		{Scopes: []string{hsmScope}, EnableCAE: true},
		{Scopes: []string{hsmScope}, TenantID: "72F988BF-86F1-41AF-91AB-2D7CD011DB47", EnableCAE: true},
		{Scopes: []string{"https://graph.microsoft.com/.default"}},
		{Scopes: []string{hsmScope}, TenantID: "another"},
	}
	got := make([]string, len(asks))
	var wg sync.WaitGroup
	for i, o := range asks {
		wg.Go(func() {
			tok, err := s.GetToken(context.Background(), o)
			if err != nil {
				t.Error(err)
			}
			got[i] = tok.Token
		})
	}
	for len(cred.calls()) < 3 {
		time.Sleep(time.Millisecond)
	}
	close(cred.release)
	wg.Wait()
	calls := cred.calls()
	if len(calls) != 3 {
		t.Fatalf("%d token requests, want 3 (HSM, Graph, HSM in another tenant): %+v", len(calls), calls)
	}
	for _, c := range calls {
		if !c.EnableCAE {
			t.Errorf("asked without CAE: %+v", c)
		}
	}
	if got[0] != got[1] || got[1] != got[2] || got[0] == got[3] || got[0] == got[4] || got[3] == got[4] {
		t.Errorf("tokens %q: the first three share one, the others have their own", got)
	}
	// Later callers get it without asking.
	if tok, _ := s.GetToken(context.Background(), asks[0]); tok.Token != got[0] || len(cred.calls()) != 3 {
		t.Errorf("a later caller got %q after %d requests", tok.Token, len(cred.calls()))
	}
}

// TestTokensFailuresAndChallenges: a failure is shared (it is the
// credential's); a request its caller gave up on is not (the next caller
// asks again); a CAE claims challenge always reaches the credential and
// its token replaces the shared one; a token about to expire is
// fetched anew.
func TestTokensFailuresAndChallenges(t *testing.T) {
	t.Parallel()
	o := policy.TokenRequestOptions{Scopes: []string{hsmScope}}
	denied := errors.New("AADSTS7000215: invalid client secret")
	cred := &countingCred{fail: denied}
	s := shareTokens(cred, hsmTenant)
	for range 2 {
		if _, err := s.GetToken(context.Background(), o); !errors.Is(err, denied) {
			t.Errorf("err = %v", err)
		}
	}
	if n := len(cred.calls()); n != 1 {
		t.Errorf("a failure was asked %d times, want once", n)
	}

	cred = &countingCred{release: make(chan struct{}), expires: time.Hour}
	s = shareTokens(cred, hsmTenant)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := s.GetToken(ctx, o); done <- err }()
	for len(cred.calls()) < 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	close(cred.release)
	tok, err := s.GetToken(context.Background(), o)
	if err != nil || tok.Token != "2" {
		t.Errorf("after an abandoned request: %q %v, want a second request", tok.Token, err)
	}

	claims := o
	claims.Claims = `{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`
	if tok, _ := s.GetToken(context.Background(), claims); tok.Token != "3" {
		t.Errorf("a claims challenge got %q, want a new token", tok.Token)
	}
	if tok, _ := s.GetToken(context.Background(), o); tok.Token != "3" || cred.calls()[2].Claims != claims.Claims {
		t.Errorf("after the challenge: %q, want the challenge's token", tok.Token)
	}

	cred = &countingCred{expires: time.Minute}
	s = shareTokens(cred, hsmTenant)
	s.GetToken(context.Background(), o)
	if tok, _ := s.GetToken(context.Background(), o); tok.Token != "2" {
		t.Errorf("a token a minute from expiry was reused: %q", tok.Token)
	}
}
