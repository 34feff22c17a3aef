package checkruntest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// get requests path through c and reads the answer.
func get(t *testing.T, c *http.Client, base, path string) {
	t.Helper()
	resp, err := c.Get(base + path)
	if err != nil {
		t.Error(err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func serve(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.URL.Path) }))
	t.Cleanup(srv.Close)
	return srv.URL
}

func byPath(r *http.Request, _ []byte) string { return strings.TrimPrefix(r.URL.Path, "/") }

// TestCriticalPathFollowsTheNeedsNotTheOrder: requests made one after
// another count as a chain only as far as they need each other; the
// ones made at once count once; a name rules over its kind; the path
// names its calls in order.
func TestCriticalPathFollowsTheNeedsNotTheOrder(t *testing.T) {
	t.Parallel()
	const d = 20 * time.Millisecond
	base := serve(t)
	tr := &Transport{Delay: d, Kind: byPath}
	c := &http.Client{Transport: tr}

	// a, then b and c in series although they need only a, then d
	// twice: d#2 needs c.
	for _, p := range []string{"/a", "/b", "/c", "/d", "/d"} {
		get(t, c, base, p)
	}
	calls := tr.Calls()
	if len(calls) != 5 || calls[4].Name != "d#2" || calls[4].Kind != "d" || calls[3].Name != "d" {
		t.Fatalf("calls %+v", calls)
	}
	for _, call := range calls {
		if call.Took() < d || call.Status != http.StatusOK {
			t.Errorf("%s took %s (status %d), want at least the delay %s", call.Name, call.Took(), call.Status, d)
		}
	}
	p, err := tr.CriticalPath(Needs{"b": {"a"}, "c": {"a"}, "d": {"a"}, "d#2": {"c"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range p.Calls {
		names = append(names, c.Name)
	}
	want := calls[0].Took() + calls[2].Took() + calls[4].Took()
	if strings.Join(names, " ") != "a c d#2" || p.Length != want {
		t.Errorf("path %s, want a c d#2 (%s)", p, want)
	}

	// With no needs the path is the longest single call.
	p, _ = tr.CriticalPath(nil)
	if len(p.Calls) != 1 || p.Length > 3*d {
		t.Errorf("no needs: %s", p)
	}
	// A need of a kind never requested is none.
	if p2, _ := tr.CriticalPath(Needs{"a": {"token"}}); len(p2.Calls) != 1 {
		t.Errorf("absent need: %s", p2)
	}
	if _, err := tr.CriticalPath(Needs{"a": {"b"}, "b": {"a"}}); err == nil || !strings.Contains(err.Error(), "circle") {
		t.Errorf("circular needs: %v", err)
	}

	// Of several requests of a needed kind, the first to finish counts.
	tr.Reset()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { get(t, c, base, "/token") })
	}
	wg.Wait()
	get(t, c, base, "/use")
	p, _ = tr.CriticalPath(Needs{"use": {"token"}})
	first := tr.Calls()[0].Took()
	for _, call := range tr.Calls()[:3] {
		first = min(first, call.Took())
	}
	if len(p.Calls) != 2 || p.Length != first+tr.Calls()[3].Took() {
		t.Errorf("parallel tokens: %s (first token %s)", p, first)
	}
}

// TestTransportKeepsTheBodyAndHonoursTheContext: the body reaches the
// server and Kind, and a cancelled context ends the delay at once.
func TestTransportKeepsTheBodyAndHonoursTheContext(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(w, r.Body) }))
	t.Cleanup(srv.Close)
	var kinds []string
	tr := &Transport{Delay: time.Hour, Kind: func(r *http.Request, body []byte) string {
		kinds = append(kinds, string(body))
		return "x"
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, strings.NewReader("Action=Decrypt"))
	start := time.Now()
	_, err := (&http.Client{Transport: tr}).Do(req)
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 10*time.Second {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
	if len(kinds) != 1 || kinds[0] != "Action=Decrypt" || tr.Calls()[0].End.IsZero() {
		t.Errorf("kinds %q, calls %+v", kinds, tr.Calls())
	}

	tr.Delay = 0
	req, _ = http.NewRequest(http.MethodPost, srv.URL, strings.NewReader("Action=Encrypt"))
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "Action=Encrypt" {
		t.Errorf("the server got %q", b)
	}
	resp.Body.Close()
}

// TestAWSKind names requests of the JSON and query protocols.
func TestAWSKind(t *testing.T) {
	t.Parallel()
	sign := "AWS4-HMAC-SHA256 Credential=AKIA/20260101/us-east-1/%s/aws4_request, SignedHeaders=host, Signature=x"
	kms, _ := http.NewRequest(http.MethodPost, "https://kms.us-east-1.amazonaws.com/", nil)
	kms.Header.Set("Authorization", strings.Replace(sign, "%s", "kms", 1))
	kms.Header.Set("X-Amz-Target", "TrentService.Decrypt")
	iam, _ := http.NewRequest(http.MethodPost, "https://iam.amazonaws.com/", nil)
	iam.Header.Set("Authorization", strings.Replace(sign, "%s", "iam", 1))
	for r, want := range map[*http.Request]string{kms: "kms Decrypt", iam: "iam GetUserPolicy"} {
		if got := AWSKind(r, []byte("Action=GetUserPolicy&Version=2010-05-08")); got != want {
			t.Errorf("%s, want %s", got, want)
		}
	}
}
