// Package fakecloudtest starts a sandbox (the fake clouds) for a test and runs the real AWS
// CLI against it, isolated from the machine's own AWS configuration.
package fakecloudtest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rekwiz/rekwiz/flows"
	"github.com/rekwiz/rekwiz/providers/fakecloud"
)

// Region is the region tests work in.
const Region = "us-east-1"

// AWSCLIPath is the AWS CLI v2 from Debian's awscli package.
const AWSCLIPath = "/usr/bin/aws"

// Env is a running sandbox with its CA written to disk for the CLI.
type Env struct {
	*fakecloud.Sandbox
	Server *fakecloud.Server
	CAFile string
	// Home is the test's own empty directory: the AWS CLI's config and
	// credentials files are here, and it is the CLI's HOME unless the
	// CLI is forked (awsfork.go: then HOME is the fork's, empty too), so
	// no ~/.aws of the machine is read.
	Home string
}

// Start runs a sandbox for the test's lifetime.
func Start(t testing.TB, opts fakecloud.Options) *Env {
	t.Helper()
	sb := fakecloud.New(opts)
	srv, err := sb.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	ca := filepath.Join(dir, "sandbox-ca.pem")
	if err := os.WriteFile(ca, srv.CACert, 0o600); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	return &Env{Sandbox: sb, Server: srv, CAFile: ca, Home: home}
}

// CLIEnv is an environment in which the AWS CLI reaches the sandbox as id
// and nothing else: the machine's AWS variables and files are left out,
// and `aws` on PATH is the AWS CLI v2 at AWSCLIPath (a Python install's
// CLI v1 may come first on the machine's own PATH), imported once and
// forked for each command where that is the same program (awsfork.go),
// in an empty HOME.
func (e *Env) CLIEnv(id fakecloud.Identity) []string {
	return append(baseEnv(e.Home), e.Server.Env(id, Region, e.CAFile)...)
}

// SDKEnv is an environment in which the AWS SDK's default configuration
// reaches the sandbox as id and nothing else, as a customer's shell
// would point it: the endpoint, the credentials and the CA, and the AWS
// files in the test's own empty HOME. It runs no CLI: PATH is left as
// it is, and no forked CLI (awsfork.go) is started for it.
func (e *Env) SDKEnv(id fakecloud.Identity) []string {
	env := append([]string{"HOME=" + e.Home}, awsFiles(e.Home)...)
	return append(env, e.Server.Env(id, Region, e.CAFile)...)
}

// awsFiles puts the AWS config and credentials files in dir.
func awsFiles(dir string) []string {
	return []string{
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "aws-credentials"),
	}
}

func baseEnv(home string) []string {
	return append([]string{
		"HOME=" + awsHome(home),
		"PATH=" + awsPathDir() + string(os.PathListSeparator) + filepath.Dir(AWSCLIPath) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"LANG=C.UTF-8",
	}, awsFiles(home)...)
}

// AWSCLI returns the AWS CLI v2's path. Without it the test is skipped,
// except under CI (CI=true), where it fails: CI must install awscli.
// With -short it is skipped (see RealCLI).
func AWSCLI(t testing.TB) string {
	t.Helper()
	return RealCLI(t, AWSCLIPath, "awscli")
}

// RealCLI is Tool for the slow real tools (the AWS CLI, the Azure CLI,
// gcloud, moto_server: each start is a Python start, a second or more
// on a loaded machine): with -short (make test-short, the quick loop)
// the test is skipped whatever CI says; make test runs them all.
func RealCLI(t testing.TB, path, pkg string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("-short: skips what runs %s (make test runs it)", filepath.Base(path))
	}
	return Tool(t, path, pkg)
}

// Tool returns path if it is an executable, skips the test if not, and
// fails it under CI. pkg names the Debian package that provides it.
func Tool(t testing.TB, path, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(path); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing: .ci/run must install Debian's %s", path, pkg)
	}
	t.Skipf("%s is missing (apt-get install %s)", path, pkg)
	return ""
}

// Run runs a command in env and returns its stdout, stderr and error.
func Run(env []string, dir string, name string, args ...string) (stdout, stderr string, err error) {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	cmd.Dir = dir
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// MustRun runs a command and fails the test if it fails.
func MustRun(t testing.TB, env []string, name string, args ...string) string {
	t.Helper()
	out, errOut, err := Run(env, "", name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, errOut)
	}
	return strings.TrimSpace(out)
}

// Vendor is a vendor profile for tests.
var Vendor = flows.Vendor{
	Name: "Acme Security", Slug: "acme", AWSAccountID: "999988887777",
	AzureAppID:        "11111111-2222-3333-4444-555555555555",
	GCPServiceAccount: "acme-rek@acme-prod.iam.gserviceaccount.com",
}
