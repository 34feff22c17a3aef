package fakecloud

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// idleConns opens to srv every kind of connection a client can leave
// idle: a keep-alive connection after a request; one that never sent a
// request; a CONNECT tunnel before its TLS handshake; one after it, with
// no request (what an HTTP client's spare dial leaves); one after a
// request. Each is returned with its name.
func idleConns(t testing.TB, srv *Server) map[string]net.Conn {
	t.Helper()
	addr := strings.TrimPrefix(srv.URL, "http://")
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CACert)
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	request := func(c net.Conn, host string) {
		if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: "+host+"\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	tunnel := func() net.Conn {
		c := dial()
		if _, err := io.WriteString(c, "CONNECT kms.us-east-1.amazonaws.com:443 HTTP/1.1\r\nHost: kms.us-east-1.amazonaws.com:443\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		// Read the reply byte by byte, so nothing of the tunnel is
		// buffered away.
		var head []byte
		for !strings.HasSuffix(string(head), "\r\n\r\n") {
			b := make([]byte, 1)
			if _, err := c.Read(b); err != nil {
				t.Fatal(err)
			}
			head = append(head, b[0])
		}
		if !strings.HasPrefix(string(head), "HTTP/1.1 200") {
			t.Fatalf("CONNECT: %q", head)
		}
		return c
	}
	handshake := func() net.Conn {
		c := tls.Client(tunnel(), &tls.Config{RootCAs: pool, ServerName: "kms.us-east-1.amazonaws.com"})
		if err := c.Handshake(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	keepAlive := dial()
	request(keepAlive, "127.0.0.1")
	used := handshake()
	request(used, "kms.us-east-1.amazonaws.com")
	conns := map[string]net.Conn{
		"keep-alive after a request":  keepAlive,
		"connected, no request":       dial(),
		"tunnel before its handshake": tunnel(),
		"tunnel after its handshake":  handshake(),
		"tunnel after a request":      used,
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns
}

// TestCloseClosesIdleConnections: Close closes every idle connection at
// once, tunnelled or not, instead of waiting for it to go away (an HTTP
// server's graceful shutdown waits on a connection that has not sent a
// request yet); each client sees its connection closed, not a timeout.
func TestCloseClosesIdleConnections(t *testing.T) {
	t.Parallel()
	srv, err := New(Options{Seed: 1}).Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := idleConns(t, srv)
	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	took := time.Since(start)
	for name, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Read(make([]byte, 1))
		if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%s: read %v, want it closed by the sandbox", name, err)
		}
	}
	// The target is 100 ms; the slack is for a loaded machine. Waiting
	// on any connection costs seconds.
	if took > 300*time.Millisecond {
		t.Errorf("Close took %s with idle connections open", took)
	}
}

// BenchmarkClose: starting a sandbox, leaving every kind of idle
// connection open, then closing it; close-ms is Close alone, on average,
// and close-max-ms the slowest.
func BenchmarkClose(b *testing.B) {
	var total, slowest time.Duration
	n := 0
	for b.Loop() {
		srv, err := New(Options{Seed: 1}).Start("127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		idleConns(b, srv)
		start := time.Now()
		srv.Close()
		took := time.Since(start)
		total, slowest = total+took, max(slowest, took)
		n++
	}
	b.ReportMetric(float64(total)/float64(time.Millisecond)/float64(n), "close-ms")
	b.ReportMetric(float64(slowest)/float64(time.Millisecond), "close-max-ms")
}

// TestCloseCutsSlowRequests: a request still being answered (here by an
// upstream that never answers) has the grace to finish, then its
// connection is closed; Close does not wait for it.
func TestCloseCutsSlowRequests(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer upstream.Close()
	defer close(release)
	srv, err := StartProxy("127.0.0.1:0", upstream.URL)
	if err != nil {
		t.Fatal(err)
	}
	answered := make(chan error, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/")
		if err == nil {
			resp.Body.Close()
		}
		answered <- err
	}()
	for {
		srv.connsMu.Lock()
		active := slices.Contains(slices.Collect(maps.Values(srv.conns)), http.StateActive)
		srv.connsMu.Unlock()
		if active {
			break
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	srv.Close()
	if took := time.Since(start); took < closeGrace || took > closeGrace+250*time.Millisecond {
		t.Errorf("Close took %s with a request being answered, want the grace of %s and little more", took, closeGrace)
	}
	if err := <-answered; err == nil {
		t.Error("the cut request got an answer")
	}
}
