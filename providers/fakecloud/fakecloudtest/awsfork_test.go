//go:build linux

package fakecloudtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/rekwiz/rekwiz/providers/fakecloud"
)

// TestAWSForkIsTheCLI: the tests' `aws` (the AWS CLI forked from one
// import, awsfork.go) writes the same bytes to stdout and stderr and
// exits with the same code as /usr/bin/aws, for answers, API errors,
// usage errors, input from stdin and from the working directory, the
// caller's environment, models under HOME, the umask, ctrl+c and
// ignored signals; a caller killed takes its command with it; and where
// the caller's HOME or locale differs from the server's it runs
// /usr/bin/aws itself. Not parallel: it counts the server's forks, which
// no other test may add to meanwhile, and writes to the shared HOME.
func TestAWSForkIsTheCLI(t *testing.T) {
	cli := AWSCLI(t)
	dir, err := awsForkDir()
	if errors.Is(err, errAWSForkOff) && (os.Getenv("REKWIZ_TEST_AWS_FORK") == "off" || os.Getenv("CI") != "true") {
		t.Skipf("%v: the tests run %s itself", err, AWSCLIPath) // CI's Debian awscli must fork
	}
	if err != nil {
		t.Fatalf("the AWS CLI fork: %v", err)
	}
	fork := filepath.Join(dir, "bin", "aws")
	if got := lookPath(t, "aws", baseEnv(t.TempDir())); got != fork {
		t.Fatalf("`aws` on the tests' PATH is %s, want the fork's %s", got, fork)
	}

	e := Start(t, fakecloud.Options{Seed: 1, Vendor: Vendor})
	for range 2 {
		if _, err := kms.NewFromConfig(e.Server.AWSConfig(e.Customer(), Region)).CreateKey(context.Background(), &kms.CreateKeyInput{}); err != nil {
			t.Fatal(err)
		}
	}
	env := e.CLIEnv(e.Customer())
	work := t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "input.json"), []byte(`{"Limit": 1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	// A model of the customer's own under ~/.aws/models (the CLI finds
	// it through a constant its import makes from HOME): a service stsx.
	home := awsHome("")
	sts, err := filepath.Glob("/usr/lib/python3/dist-packages/awscli/botocore/data/sts/*/service-2.json")
	if err != nil || len(sts) != 1 {
		t.Fatalf("the CLI's STS model: %v %v", sts, err)
	}
	model, err := os.ReadFile(sts[0])
	if err != nil {
		t.Fatal(err)
	}
	models := filepath.Join(home, ".aws", "models")
	stsx := filepath.Join(models, "stsx", filepath.Base(filepath.Dir(sts[0])))
	if err := os.MkdirAll(stsx, 0o700); err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(filepath.Join(home, ".aws"))
	if err := os.WriteFile(filepath.Join(stsx, "service-2.json"), model, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		args   []string
		stdin  string
		env    []string
		umask  int
		forked bool // false: the client runs /usr/bin/aws itself
	}{
		{name: "version", args: []string{"--version"}, forked: true},
		{name: "answer", args: []string{"sts", "get-caller-identity"}, forked: true},
		{name: "API error", args: []string{"kms", "describe-key", "--key-id", "alias/nothing-here"}, forked: true},
		{name: "usage error", args: []string{"kms", "create-key", "--no-such-flag"}, forked: true},
		{name: "stdin", args: []string{"kms", "list-keys", "--cli-input-json", "file:///dev/stdin"}, stdin: `{"Limit": 1}`, forked: true},
		{name: "working directory", args: []string{"kms", "list-keys", "--cli-input-json", "file://input.json"}, forked: true},
		{name: "environment", args: []string{"sts", "get-caller-identity"}, env: []string{"AWS_DEFAULT_OUTPUT=text", "NOT_UTF8=\xff\xfe", "QUOTES='\"\n"}, forked: true},
		{name: "a model under HOME", args: []string{"stsx", "get-caller-identity", "--endpoint-url", "http://127.0.0.1:1"}, env: []string{"AWS_MAX_ATTEMPTS=1"}, forked: true},
		{name: "umask", args: []string{"configure", "set", "region", "eu-west-1"}, env: []string{"AWS_CONFIG_FILE=new/config"}, umask: 0o027, forked: true},
		{name: "another locale", args: []string{"sts", "get-caller-identity"}, env: []string{"LC_ALL=C"}, forked: false},
		{name: "another HOME", args: []string{"stsx", "get-caller-identity"}, env: []string{"HOME=" + t.TempDir()}, forked: false},
		{name: "OpenSSL's configuration", args: []string{"sts", "get-caller-identity"}, env: []string{"OPENSSL_CONF=/dev/null"}, forked: false},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := append(env[:len(env):len(env)], c.env...)
			run := func(bin string) cliResult {
				if c.umask == 0 {
					return runCLI(t, bin, env, work, c.stdin, c.args)
				}
				defer os.RemoveAll(filepath.Join(work, "new"))
				r := runCLI(t, "/bin/sh", env, work, c.stdin, append([]string{"-c", `umask "$0" && exec "$@"`, strconv.FormatInt(int64(c.umask), 8), bin}, c.args...))
				fi, err := os.Stat(filepath.Join(work, "new"))
				if err != nil {
					t.Fatalf("%s made no directory: %v %+v", bin, err, r)
				}
				r.stdout += fmt.Sprintf("[the directory it made: %v]", fi.Mode())
				return r
			}
			before := awsForks.Load()
			got := run(fork)
			if forks := awsForks.Load() - before; forks != map[bool]int64{true: 1, false: 0}[c.forked] {
				t.Errorf("%d forks, want forked=%v", forks, c.forked)
			}
			if !c.forked { // it ran /usr/bin/aws: the same program, by definition
				if got.code != 0 && got.code != 252 {
					t.Errorf("aws %v: %+v", c.args, got)
				}
				return
			}
			want := run(cli)
			if got != want {
				t.Errorf("aws %v:\nforked: %+v\n  real: %+v", c.args, got, want)
			}
			if want.code == -1 {
				t.Errorf("aws %v did not run: %+v", c.args, want)
			}
		})
	}

	// Signals, on a command that waits on an endpoint that never answers:
	// each way ends the same, and as soon (the CLI's read timeout is a
	// minute).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	hung := append(env[:len(env):len(env)], "AWS_MAX_ATTEMPTS=1")
	args := []string{"sts", "get-caller-identity", "--endpoint-url", "http://" + ln.Addr().String()}
	for _, c := range []struct {
		name   string
		shell  string // run through sh -c shell "$@"
		signal func(p *os.Process)
		want   string
	}{
		{name: "ctrl+c", shell: `exec "$@"`, signal: func(p *os.Process) { _ = p.Signal(syscall.SIGINT) }, want: "exit status 130"},
		{name: "ctrl+c ignored, then a SIGTERM", shell: `trap "" INT; exec "$@"`, signal: func(p *os.Process) {
			_ = p.Signal(syscall.SIGINT)
			time.Sleep(time.Second)
			_ = p.Signal(syscall.SIGTERM)
		}, want: "signal: terminated"},
		{name: "the caller killed", shell: `exec "$@"`, signal: func(p *os.Process) { _ = p.Kill() }, want: "signal: killed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ends []string
			for _, bin := range []string{cli, fork} {
				cmd := exec.Command("/bin/sh", append([]string{"-c", c.shell, "sh", bin}, args...)...)
				cmd.Env = hung
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				// Wait waits for the output's end too, which every
				// process that holds it must close (the forked child
				// too), or until WaitDelay after the caller ended.
				cmd.WaitDelay = 5 * time.Second
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				select {
				case conn := <-accepted:
					defer conn.Close()
				case <-time.After(30 * time.Second):
					_ = cmd.Process.Kill()
					t.Fatalf("%s never reached the endpoint", bin)
				}
				c.signal(cmd.Process)
				start := time.Now()
				err := cmd.Wait()
				if d := time.Since(start); d >= cmd.WaitDelay {
					t.Errorf("%s: its output stayed open %v after it ended: %s", bin, d.Round(time.Millisecond), out.String())
				}
				ends = append(ends, fmt.Sprint(err))
			}
			if ends[0] != c.want || ends[1] != ends[0] {
				t.Errorf("real: %s, forked: %s; want %s both", ends[0], ends[1], c.want)
			}
		})
	}
}

type cliResult struct {
	stdout, stderr string
	code           int
}

func runCLI(t *testing.T, bin string, env []string, dir, stdin string, args []string) cliResult {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env, cmd.Dir = env, dir
	cmd.Stdin = bytes.NewBufferString(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("%s: %v", bin, err)
	}
	return cliResult{o.String(), e.String(), cmd.ProcessState.ExitCode()}
}

// lookPath finds name on env's PATH.
func lookPath(t *testing.T, name string, env []string) string {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "command -v "+name)
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("command -v %s: %v", name, err)
	}
	return string(bytes.TrimSpace(out))
}
