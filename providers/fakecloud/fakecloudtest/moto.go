package fakecloudtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/rekwiz/rekwiz/providers/fakecloud"
)

// MotoAccount is the account moto_server puts a caller in when nothing
// names another: the account of a StartMoto server.
const MotoAccount = "123456789012"

// Moto is an AWS account on moto_server (a full AWS emulator: KMS, STS,
// IAM), reached by the SDK at URL and by the AWS CLI v2 through
// HTTPS_PROXY, as the CLI reaches the sandbox.
type Moto struct {
	URL     string // for the SDK and AWS_ENDPOINT_URL; every request lands in Account
	Account string // the account every caller is in
	Proxy   *fakecloud.Server
	CAFile  string
	Home    string
}

// motoIdentity is any credential: moto accepts every signature.
var motoIdentity = fakecloud.Identity{AccessKeyID: "AKIAMOTOTESTING00000", SecretAccessKey: "motosecretmotosecretmotosecretmotosecret"}

// motoAccountHeader is moto's own way to put a request in an account:
// it outranks the account of the access key (moto/core/responses.py,
// get_current_account).
const motoAccountHeader = "x-moto-account-id"

// NewMotoAccount gives the test an account of its own, empty, on the
// test binary's one moto_server (started on first use; it ends with the
// test binary). moto keeps every service's state per account, so tests
// in parallel see nothing of each other, as if each had a server of its
// own: a reset (moto's POST /moto-api/reset) would wipe every account,
// a peer's in the middle of its run too. Without moto_server the test is
// skipped (failed under CI), and with -short as well.
func NewMotoAccount(t testing.TB) *Moto {
	t.Helper()
	bin := RealCLI(t, "moto_server", "moto (pip; on the machine)")
	srv, err := sharedMotoServer(bin)
	if err != nil {
		t.Fatal(err)
	}
	account := fmt.Sprintf("%012d", 200000000000+motoAccounts.Add(1))
	up, _ := url.Parse(srv.url)
	front, err := startFront(up, account)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(front.close)
	return newMoto(t, front.url, account)
}

// StartMoto gives the test a moto_server of its own for its lifetime,
// every caller in MotoAccount. Servers are pooled in the test binary: one
// a test has finished with is reset (moto's POST /moto-api/reset, which
// wipes every account) and handed to the next test; a new one starts only
// when every pooled server is in use, so no server ever serves two tests
// at once, and the binary starts as many as ran at the same time, not
// one per test (each start is a Python start: seconds on a loaded
// machine). NewMotoAccount shares one server among tests in parallel.
func StartMoto(t testing.TB) *Moto {
	t.Helper()
	bin := RealCLI(t, "moto_server", "moto (pip; on the machine)")
	srv, err := leaseMoto(bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { releaseMoto(srv) })
	return newMoto(t, srv.url, MotoAccount)
}

var motoPool struct {
	mu   sync.Mutex
	idle []*motoServer
}

// leaseMoto takes an idle pooled server, reset, or starts one.
func leaseMoto(bin string) (*motoServer, error) {
	for {
		motoPool.mu.Lock()
		var srv *motoServer
		if n := len(motoPool.idle); n > 0 {
			srv, motoPool.idle = motoPool.idle[n-1], motoPool.idle[:n-1]
		}
		motoPool.mu.Unlock()
		if srv == nil {
			return startMotoServer(bin)
		}
		if err := srv.reset(); err != nil {
			srv.stop() // it broke: the next idle one, or a new one
			continue
		}
		return srv, nil
	}
}

func releaseMoto(srv *motoServer) {
	motoPool.mu.Lock()
	defer motoPool.mu.Unlock()
	motoPool.idle = append(motoPool.idle, srv)
}

func newMoto(t testing.TB, url, account string) *Moto {
	t.Helper()
	proxy, err := fakecloud.StartProxy("127.0.0.1:0", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	dir := t.TempDir()
	ca := filepath.Join(dir, "proxy-ca.pem")
	if err := os.WriteFile(ca, proxy.CACert, 0o600); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	return &Moto{URL: url, Account: account, Proxy: proxy, CAFile: ca, Home: home}
}

var (
	sharedMoto struct {
		once sync.Once
		srv  *motoServer
		err  error
	}
	motoAccounts atomic.Int64
)

func sharedMotoServer(bin string) (*motoServer, error) {
	sharedMoto.once.Do(func() { sharedMoto.srv, sharedMoto.err = startMotoServer(bin) })
	return sharedMoto.srv, sharedMoto.err
}

// motoServer is a running moto_server.
type motoServer struct {
	url  string
	pid  int
	done chan struct{}
	log  *tailBuffer
}

// startMotoServer starts moto_server on a free loopback port and waits
// until it answers. It runs in a process group of its own, and the
// kernel kills it if the test binary dies first (Pdeathsig, armed from
// an OS thread that lives as long as the server), so no server outlives
// its tests, whichever way they end.
func startMotoServer(bin string) (*motoServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := &motoServer{url: "http://127.0.0.1:" + strconv.Itoa(port), done: make(chan struct{}), log: &tailBuffer{max: 64 << 10}}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the thread that started the child exits:
		// this goroutine keeps its thread until the child is gone.
		runtime.LockOSThread()
		cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		cmd.Stdout, cmd.Stderr = s.log, s.log
		newProcessGroup(cmd)
		dieWithParent(cmd)
		if err := cmd.Start(); err != nil {
			started <- err
			close(s.done)
			return
		}
		s.pid = cmd.Process.Pid
		started <- nil
		_ = cmd.Wait()
		close(s.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	if err := waitHTTP(s.url+"/moto-api/", s.done, 60*time.Second); err != nil {
		s.stop()
		return nil, fmt.Errorf("moto_server: %v\n%s", err, s.log.String())
	}
	return s, nil
}

// reset wipes every account's state (moto's own reset).
func (s *motoServer) reset() error {
	select {
	case <-s.done:
		return fmt.Errorf("moto_server exited:\n%s", s.log.String())
	default:
	}
	resp, err := http.Post(s.url+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("moto reset: %s", resp.Status)
	}
	return nil
}

func (s *motoServer) stop() {
	stopProcessGroup(s.pid, false)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		stopProcessGroup(s.pid, true)
		<-s.done
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - b.max; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// front is a loopback reverse proxy that puts every request it forwards
// to moto_server in one account.
type front struct {
	url string
	srv *http.Server
}

func startFront(moto *url.URL, account string) (*front, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(moto)
		r.Out.Host = r.In.Host // the host name the client signed
		r.Out.Header.Set(motoAccountHeader, account)
	}}}
	go func() { _ = srv.Serve(ln) }()
	return &front{url: "http://" + ln.Addr().String(), srv: srv}, nil
}

func (f *front) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if f.srv.Shutdown(ctx) != nil {
		f.srv.Close()
	}
}

func waitHTTP(url string, exited <-chan struct{}, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("exited before answering on %s", url)
		case <-ctx.Done():
			return fmt.Errorf("no answer on %s within %v", url, limit)
		case <-tick.C:
		}
	}
}

// CLIEnv is the environment in which the AWS CLI v2 reaches moto.
func (m *Moto) CLIEnv() []string {
	return append(baseEnv(m.Home), m.Proxy.Env(motoIdentity, Region, m.CAFile)...)
}

// AWSConfig is an SDK configuration that reaches moto (through the
// account's front, for NewMotoAccount).
func (m *Moto) AWSConfig() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(motoIdentity.AccessKeyID, motoIdentity.SecretAccessKey, ""),
		BaseEndpoint: aws.String(m.URL),
	}
}
