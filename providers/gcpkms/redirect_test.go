package gcpkms

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"golang.org/x/oauth2"
)

// A redirect from the endpoint is never followed: the token the
// transport adds would go with it to wherever it points.
func TestRedirectIsNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		if r.Header.Get("Authorization") != "" {
			t.Error("the token reached the redirect's target")
		}
	}))
	defer other.Close()
	kms := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer ya29.secret" {
			t.Errorf("Authorization = %q", r.Header.Get("Authorization"))
		}
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer kms.Close()
	id := Identity{Name: "test", Tokens: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "ya29.secret"})}
	c := Config{Endpoint: kms.URL}.clientFor(id)
	_, err := c.getKey(context.Background(), "projects/my-project-123/locations/us-east1/keyRings/r/cryptoKeys/k")
	if !errors.Is(err, errRedirect) {
		t.Fatalf("err = %v, want the redirect refused", err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the redirect was followed %d times", n)
	}
}
