package fakecloud

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Server is a running sandbox, listening on loopback. It answers AWS API
// requests sent to it directly (AWS_ENDPOINT_URL, or the SDK's
// BaseEndpoint) and is also an HTTPS proxy for *.amazonaws.com, for AWS
// CLIs too old to read AWS_ENDPOINT_URL: with HTTPS_PROXY set to URL and
// AWS_CA_BUNDLE to a file holding CACert, the CLI talks to the real host
// names and reaches the sandbox, with no flag added to the script.
type Server struct {
	// URL is the sandbox's address, http://127.0.0.1:PORT.
	URL string
	// CACert is the PEM certificate the proxy's TLS certificates chain to.
	CACert []byte

	// hasHSM says whether a Managed HSM name resolves (nil: all do).
	hasHSM func(string) bool

	http     *http.Server
	tunnels  *connListener
	tunnelWG sync.WaitGroup

	// conns are the open connections (tunnelled ones by their TLS
	// connection) and their state; closing says Close has begun.
	connsMu sync.Mutex
	conns   map[net.Conn]http.ConnState
	closing bool
}

// Start listens on addr, which must be a loopback address ("127.0.0.1:0"
// for any free port), and serves until Close.
func (s *Sandbox) Start(addr string) (*Server, error) {
	srv, err := serve(addr, s)
	if srv != nil {
		srv.hasHSM = s.HasHSM
	}
	return srv, err
}

// StartProxy serves on addr what Start does, but forwards every API
// request to another AWS endpoint (such as moto_server at upstream), so a
// CLI that only knows HTTPS_PROXY reaches it with the scripts unchanged.
func StartProxy(addr, upstream string) (*Server, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("proxy upstream %q: expected http://HOST:PORT", upstream)
	}
	return serve(addr, &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(u)
		r.Out.Host = r.In.Host // the AWS host name the client signed
	}, ErrorLog: quiet()}) // the client gets a 502 (or, cut by Close, nothing)
}

func serve(addr string, api http.Handler) (*Server, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("sandbox address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("sandbox address %q: the sandbox listens on loopback only (127.0.0.1)", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	ca, err := newCA()
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := &Server{
		URL:     "http://" + ln.Addr().String(),
		CACert:  ca.certPEM,
		tunnels: newConnListener(ln.Addr()),
		conns:   map[net.Conn]http.ConnState{},
	}
	srv.http = &http.Server{
		Handler:           srv.route(api, ca),
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{GetCertificate: ca.certFor, NextProtos: []string{"http/1.1"}},
		ConnState:         srv.track,
		// A connection Close ends mid-handshake is no news; the
		// sandbox runs under the wizard's screen and writes nothing to
		// stderr.
		ErrorLog: quiet(),
	}
	srv.tunnelWG.Add(2)
	go func() { defer srv.tunnelWG.Done(); _ = srv.http.Serve(ln) }()
	go func() { defer srv.tunnelWG.Done(); _ = srv.http.ServeTLS(srv.tunnels, "", "") }()
	return srv, nil
}

// route sends CONNECT requests to the proxy and everything else to the
// AWS APIs.
func (srv *Server) route(api http.Handler, ca *authority) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			api.ServeHTTP(w, r)
			return
		}
		host, _, _ := net.SplitHostPort(r.Host)
		if !servesHost(host) {
			http.Error(w, "the rekwiz sandbox proxies *.amazonaws.com and Azure's key hosts only", http.StatusForbidden)
			return
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		if _, err := conn.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n")); err != nil {
			conn.Close()
			return
		}
		srv.tunnels.push(conn) // TLS is terminated by ServeTLS with the sandbox CA
	})
}

// quiet is an error log that keeps nothing.
func quiet() *log.Logger { return log.New(io.Discard, "", 0) }

// closeGrace is how long Close lets requests being answered finish.
// The sandbox answers from memory in microseconds; only an injected
// delay (a Fault) or a proxied upstream is slower, and is cut off.
const closeGrace = 50 * time.Millisecond

// Close stops the sandbox and every connection to it, in well under
// 100 ms: idle connections, tunnelled or not, and those that have not
// sent a request yet (an HTTP server's graceful shutdown waits for
// these), are closed at once; requests being answered get closeGrace
// to finish.
func (srv *Server) Close() error {
	srv.connsMu.Lock()
	srv.closing = true
	for c, st := range srv.conns {
		if st != http.StateActive {
			closeNow(c)
		}
	}
	srv.connsMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), closeGrace)
	defer cancel()
	err := srv.http.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.http.Close()
	}
	srv.tunnels.Close()
	srv.tunnelWG.Wait()
	return err
}

// track follows each connection's state, and once Close has begun
// closes any that is new or idle.
func (srv *Server) track(c net.Conn, st http.ConnState) {
	srv.connsMu.Lock()
	defer srv.connsMu.Unlock()
	switch st {
	case http.StateHijacked, http.StateClosed:
		delete(srv.conns, c)
	case http.StateNew, http.StateIdle:
		if srv.closing {
			delete(srv.conns, c)
			closeNow(c)
			return
		}
		srv.conns[c] = st
	default:
		srv.conns[c] = st
	}
}

// closeNow closes a connection without a word: a tunnelled one's TLS
// close alert could wait on a client that does not read.
func closeNow(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	c.Close()
}

// connListener hands tunnelled connections to an http.Server.
type connListener struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newConnListener(addr net.Addr) *connListener {
	return &connListener{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *connListener) push(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.closed:
		c.Close()
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }

// authority is the sandbox's own certificate authority, made at start and
// never written anywhere but where the caller puts CACert.
type authority struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte

	mu    sync.Mutex
	leafs map[string]*tls.Certificate
}

func newCA() (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "rekwiz sandbox CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &authority{
		cert: cert, key: key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		leafs:   map[string]*tls.Certificate{},
	}, nil
}

// certFor issues (once per host) a certificate for the host the client
// asked for, so kms.us-east-1.amazonaws.com verifies against the CA.
func (a *authority) certFor(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	host := hello.ServerName
	if !servesHost(host) {
		return nil, fmt.Errorf("the rekwiz sandbox has no certificate for %q", host)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.leafs[host]; ok {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der, a.cert.Raw}, PrivateKey: key}
	a.leafs[host] = c
	return c, nil
}

// servesHost reports whether the sandbox stands in for a host: AWS's, and
// Entra ID, Graph and Managed HSM for Azure.
func servesHost(host string) bool {
	return strings.HasSuffix(host, ".amazonaws.com") || isAzureHost(host)
}

// AzureHTTPClient is an HTTP client whose requests to Azure's hosts reach
// the sandbox (through it as a proxy) and trust its CA, and nothing else:
// it is for the Azure SDK's transport in sandbox mode only.
func (srv *Server) AzureHTTPClient() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(srv.CACert)
	proxy, _ := url.Parse(srv.URL)
	return &http.Client{Transport: &http.Transport{
		// A Managed HSM the sandbox does not have fails as its name
		// would on Azure: it does not resolve.
		Proxy: func(r *http.Request) (*url.URL, error) {
			host := r.URL.Hostname()
			if name, ok := strings.CutSuffix(host, hsmSuffix); ok && srv.hasHSM != nil && !srv.hasHSM(name) {
				return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
			}
			return proxy, nil
		},
		TLSClientConfig:   &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: false,
	}, Timeout: 30 * time.Second}
}

// Env is the environment that points the AWS CLI and SDKs at the sandbox
// as id: AWS_ENDPOINT_URL for current ones, HTTPS_PROXY and AWS_CA_BUNDLE
// (caFile must hold CACert) for CLIs that predate it.
func (srv *Server) Env(id Identity, region, caFile string) []string {
	env := []string{
		"AWS_ACCESS_KEY_ID=" + id.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + id.SecretAccessKey,
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_ENDPOINT_URL=" + srv.URL,
		"HTTPS_PROXY=" + srv.URL,
		"https_proxy=" + srv.URL,
		"NO_PROXY=127.0.0.1,localhost",
		"no_proxy=127.0.0.1,localhost",
		"AWS_PAGER=",
	}
	if id.SessionToken != "" {
		env = append(env, "AWS_SESSION_TOKEN="+id.SessionToken)
	}
	if caFile != "" {
		env = append(env, "AWS_CA_BUNDLE="+caFile)
	}
	return env
}

// AWSConfig is an SDK configuration that reaches the sandbox as id. It is
// built, not loaded: no profile, shared file or environment variable of
// the machine it runs on can point it anywhere else.
func (srv *Server) AWSConfig(id Identity, region string) aws.Config {
	return aws.Config{
		Region:       region,
		Credentials:  credentials.NewStaticCredentialsProvider(id.AccessKeyID, id.SecretAccessKey, id.SessionToken),
		BaseEndpoint: aws.String(srv.URL),
	}
}
