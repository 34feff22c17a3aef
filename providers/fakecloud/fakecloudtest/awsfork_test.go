//go:build linux

package fakecloudtest

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
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
// caller's environment, and ctrl+c; and where the caller's locale
// differs from the server's it runs /usr/bin/aws itself. Not parallel:
// it counts the server's forks, which no other test may add to meanwhile.
func TestAWSForkIsTheCLI(t *testing.T) {
	cli := AWSCLI(t)
	dir, err := awsForkDir()
	if errors.Is(err, errAWSForkOff) && (os.Getenv("REKWIZ_TEST_AWS_FORK") == "off" || os.Getenv("CI") != "true") {
		t.Skipf("%v: the tests run %s itself", err, AWSCLIPath) // CI's Debian awscli must fork
	}
	if err != nil {
		t.Fatalf("the AWS CLI fork: %v", err)
	}
	fork := filepath.Join(dir, "aws")
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
	for _, c := range []struct {
		name   string
		args   []string
		stdin  string
		env    []string
		forked bool // false: the client runs /usr/bin/aws itself
	}{
		{name: "version", args: []string{"--version"}, forked: true},
		{name: "answer", args: []string{"sts", "get-caller-identity"}, forked: true},
		{name: "query", args: []string{"kms", "list-keys", "--query", "Keys[].KeyId", "--output", "text"}, forked: true},
		{name: "API error", args: []string{"kms", "describe-key", "--key-id", "alias/nothing-here"}, forked: true},
		{name: "usage error", args: []string{"kms", "create-key", "--no-such-flag"}, forked: true},
		{name: "no command", forked: true},
		{name: "stdin", args: []string{"kms", "list-keys", "--cli-input-json", "file:///dev/stdin"}, stdin: `{"Limit": 1}`, forked: true},
		{name: "working directory", args: []string{"kms", "list-keys", "--cli-input-json", "file://input.json"}, forked: true},
		{name: "environment", args: []string{"sts", "get-caller-identity"}, env: []string{"AWS_DEFAULT_OUTPUT=text"}, forked: true},
		{name: "another locale", args: []string{"sts", "get-caller-identity"}, env: []string{"LC_ALL=C"}, forked: false},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := append(env[:len(env):len(env)], c.env...)
			want := runCLI(t, cli, env, work, c.stdin, c.args)
			before := awsForks.Load()
			got := runCLI(t, fork, env, work, c.stdin, c.args)
			if forks := awsForks.Load() - before; forks != map[bool]int64{true: 1, false: 0}[c.forked] {
				t.Errorf("%d forks, want forked=%v", forks, c.forked)
			}
			if got != want {
				t.Errorf("aws %v:\nforked: %+v\n  real: %+v", c.args, got, want)
			}
			if want.code == -1 {
				t.Errorf("aws %v did not run: %+v", c.args, want)
			}
		})
	}

	// ctrl+c: the signal reaches the forked CLI, which ends as the real
	// one does (130) instead of waiting on an endpoint that never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
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
	var codes []int
	for _, bin := range []string{cli, fork} {
		cmd := exec.Command(bin, "sts", "get-caller-identity", "--endpoint-url", "http://"+ln.Addr().String())
		cmd.Env = hung
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		select {
		case c := <-accepted:
			defer c.Close()
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("%s never reached the endpoint", bin)
		}
		_ = cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("%s went on after ctrl+c", bin)
		}
		codes = append(codes, cmd.ProcessState.ExitCode())
	}
	if codes[0] != codes[1] || codes[0] != 130 {
		t.Errorf("after ctrl+c: real exit %d, forked %d; want 130 both", codes[0], codes[1])
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
