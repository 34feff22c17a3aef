package domainapi_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/domainapi"
)

const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

func serviceAccount(t *testing.T) flows.Target {
	t.Helper()
	a, _, err := flows.ParseAliasARN("arn:aws:kms:us-east-1:111122223333:alias/" + domain + "/acme/Example")
	if err != nil {
		t.Fatal(err)
	}
	return flows.Target{Provider: flows.AWSServiceAccount, Domain: domain, AliasARN: a, AccessKeyID: "AKIAIOSFODNN7EXAMPLE", SecretAccessKey: secret}
}

func noSleep(context.Context, time.Duration) error { return nil }

// TestRedirectsAreNotFollowed: a 3xx is an error naming the status and
// where it pointed, and nothing reaches the place it points to.
func TestRedirectsAreNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(200)
		fmt.Fprint(w, `{"rekID":"rek-stolen"}`)
	}))
	defer other.Close()
	for _, status := range []int{301, 302, 303, 307, 308} {
		api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+r.URL.Path, status)
		}))
		c, err := domainapi.New(api.URL, "rkw_live_token_0123456789", domainapi.WithRetries(1, noSleep))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Register(context.Background(), serviceAccount(t))
		host := strings.TrimPrefix(other.URL, "http://")
		if err == nil || !strings.Contains(err.Error(), fmt.Sprint(status)) || !strings.Contains(err.Error(), host) || !strings.Contains(err.Error(), "follows no redirect") {
			t.Errorf("%d: %v", status, err)
		}
		api.Close()
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("the redirect target got %d requests", n)
	}
}

func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080", "http://127.0.0.2:8080/v2", "http://[::1]:8080", "http://localhost:1", "https://api.example.com"} {
		if _, err := domainapi.New(u, "tok"); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	for _, u := range []string{"http://10.0.0.1", "http://127.example.com", "http://localhost.example.com", "http://[::2]:80", "http://0.0.0.0:80", "ftp://127.0.0.1", "https://user:pw@api.example.com"} {
		if _, err := domainapi.New(u, "tok"); err == nil || !strings.Contains(err.Error(), "--api-url") {
			t.Errorf("%s: %v", u, err)
		}
	}
}

// TestSilentEndpointTimesOut: an API that accepts the connection and
// never answers is given up on, with a message naming it.
func TestSilentEndpointTimesOut(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // held open, never answered
		}
	}()
	c, err := domainapi.New("http://"+ln.Addr().String(), "tok", domainapi.WithTimeout(200*time.Millisecond), domainapi.WithRetries(1, noSleep))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Test(context.Background(), domain, "rek-1")
	if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("gave up after %s", d)
	}
	// Cancelling (ctrl+c) ends it at once, as cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	c, _ = domainapi.New("http://"+ln.Addr().String(), "tok")
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	if _, err := c.Test(ctx, domain, "rek-1"); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("cancel: %v after %s", err, time.Since(start))
	}
}

func rawTerminalBytes(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if r == 0x1b || r == 0x07 || (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return true
		}
	}
	return false
}

// TestServerTextIsEscaped: error bodies, rekIDs and the vendor's test
// message reach the caller escaped.
func TestServerTextIsEscaped(t *testing.T) {
	hostile := `\u001b]52;c;ZWNobyBwd25lZA==\u0007\u001b[2J\u009b31m\u202eevil`
	for name, h := range map[string]http.HandlerFunc{
		"400 message": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"message":"%s","field":"%s"}`, hostile, hostile)
		},
		"500 raw body": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			fmt.Fprint(w, "\x1b]0;title\x07\x9b2J oops")
		},
		"409 rekID": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(409)
			fmt.Fprintf(w, `{"rekID":"%s"}`, hostile)
		},
		"rekID": func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `{"rekID":"%s"}`, hostile)
		},
		"test message": func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/test") {
				fmt.Fprintf(w, `{"status":"%s","statusMessage":"%s"}`, hostile, hostile)
				return
			}
			fmt.Fprint(w, `{"rekID":"rek-1"}`)
		},
	} {
		api := httptest.NewServer(h)
		c, err := domainapi.New(api.URL, "tok", domainapi.WithRetries(1, noSleep))
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Register(context.Background(), serviceAccount(t))
		got := fmt.Sprint(r, err)
		if rawTerminalBytes(got) || (err == nil && name != "test message") {
			t.Errorf("%s: %q", name, got)
		}
		api.Close()
	}
}

func TestAnswerWithCaseTwinIsRefused(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"rekID":"rek-1","RekID":"rek-2"}`)
	}))
	defer api.Close()
	c, _ := domainapi.New(api.URL, "tok", domainapi.WithRetries(1, noSleep))
	if _, err := c.Register(context.Background(), serviceAccount(t)); err == nil || !strings.Contains(err.Error(), `"RekID": given twice`) {
		t.Fatalf("err = %v", err)
	}
}

// TestRetryAfterHonoursInterrupt: a server asking to wait 60 s does not
// hold ctrl+c up.
func TestRetryAfterHonoursInterrupt(t *testing.T) {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(503)
	}))
	defer api.Close()
	c, err := domainapi.New(api.URL, "tok")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	if _, err := c.Test(ctx, domain, "rek-1"); !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("%v after %s", err, time.Since(start))
	}
}
