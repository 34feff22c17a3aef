package fakecloudtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/rekwiz/rekwiz/providers/fakecloud"
)

// MotoAccount is the account moto_server puts every caller in.
const MotoAccount = "123456789012"

// Moto is a moto_server (a full AWS emulator: KMS, STS, IAM) running for
// one test on a free loopback port, behind a sandbox proxy so the AWS CLI
// v2 reaches it through HTTPS_PROXY as it reaches the sandbox.
type Moto struct {
	URL    string // moto_server itself, for the SDK
	Proxy  *fakecloud.Server
	CAFile string
	Home   string
}

// motoIdentity is any credential: moto accepts every signature.
var motoIdentity = fakecloud.Identity{AccessKeyID: "AKIAMOTOTESTING00000", SecretAccessKey: "motosecretmotosecretmotosecretmotosecret"}

// StartMoto starts moto_server (skipping the test without it, failing it
// under CI) and stops it when the test ends.
func StartMoto(t testing.TB) *Moto {
	t.Helper()
	bin := Tool(t, "moto_server", "moto (pip; on the machine)")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	logf, err := os.Create(filepath.Join(dir, "moto.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logf, logf
	newProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		stopProcessGroup(cmd, false)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			stopProcessGroup(cmd, true)
			<-done
		}
		logf.Close()
	})
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := waitHTTP(url+"/moto-api/", done, 30*time.Second); err != nil {
		log, _ := os.ReadFile(logf.Name())
		t.Fatalf("moto_server: %v\n%s", err, log)
	}
	proxy, err := fakecloud.StartProxy("127.0.0.1:0", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	ca := filepath.Join(dir, "proxy-ca.pem")
	if err := os.WriteFile(ca, proxy.CACert, 0o600); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	return &Moto{URL: url, Proxy: proxy, CAFile: ca, Home: home}
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

// AWSConfig is an SDK configuration that reaches moto directly.
func (m *Moto) AWSConfig() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider(motoIdentity.AccessKeyID, motoIdentity.SecretAccessKey, ""),
		BaseEndpoint: aws.String(m.URL),
	}
}
