package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildRekwiz builds the command once per test binary (TestMain removes
// it): a link of every dependency, seconds of CPU, paid once however many
// tests run the binary.
func buildRekwiz(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "rekwiz-test-bin-")
		if err != nil {
			built.err = err
			return
		}
		built.dir = dir
		bin := filepath.Join(dir, "rekwiz")
		if out, err := osexec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		built.bin = bin
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

var built struct {
	once     sync.Once
	dir, bin string
	err      error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// TestBinarySignalsAndEnvironment runs the built binary as a customer
// would: the sandbox exits 130 on SIGINT and SIGTERM and removes its CA
// bundle directory on those and on SIGHUP; TEA_TRACE and TEA_DEBUG are
// dropped, with one line saying so, before anything runs.
func TestBinarySignalsAndEnvironment(t *testing.T) {
	t.Parallel()
	bin := buildRekwiz(t)
	t.Run("sandbox", func(t *testing.T) {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP} {
			t.Run(sig.String(), func(t *testing.T) {
				cmd := osexec.Command(bin, "sandbox")
				cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
				stdout, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				defer cmd.Process.Kill() //nolint:errcheck
				ca := ""
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					line := sc.Text()
					if _, v, ok := strings.Cut(line, "AWS_CA_BUNDLE="); ok {
						ca = strings.Fields(v)[0]
					}
					if strings.HasPrefix(line, "# Requests are logged") {
						break
					}
				}
				if ca == "" || !fileExists(ca) {
					t.Fatalf("no CA bundle printed: %q", ca)
				}
				go func() {
					_ = sc.Err()
					for sc.Scan() {
					}
				}()
				start := time.Now()
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				waited := make(chan error, 1)
				go func() { waited <- cmd.Wait() }()
				select {
				case err = <-waited:
				case <-time.After(5 * time.Second):
					t.Fatalf("%s: the sandbox did not stop", sig)
				}
				var ee *osexec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
					t.Errorf("%s: %v, want exit %d; stderr %s", sig, err, exitInterrupted, stderr.String())
				}
				if d := time.Since(start); d > 1500*time.Millisecond {
					t.Errorf("%s: took %s to stop", sig, d)
				}
				if _, err := os.Stat(filepath.Dir(ca)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s: the CA bundle directory %s is left behind (%v)", sig, filepath.Dir(ca), err)
				}
			})
		}
	})
	t.Run("debug variables", func(t *testing.T) {
		trace := filepath.Join(t.TempDir(), "trace.log")
		cmd := osexec.Command(bin, "--version")
		cmd.Env = append(os.Environ(), "TEA_TRACE="+trace, "TEA_DEBUG=1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], "TEA_TRACE") || !strings.Contains(lines[0], "TEA_DEBUG") {
			t.Fatalf("stderr %q", stderr.String())
		}
	})
}

// TestDebugVariablesAreRemoved: after dropDebugEnv nothing in the
// process (bubbletea reads os.Getenv at NewProgram) sees them.
func TestDebugVariablesAreRemoved(t *testing.T) {
	t.Setenv("TEA_TRACE", filepath.Join(t.TempDir(), "trace"))
	t.Setenv("TEA_DEBUG", "true")
	t.Setenv("UV_DEBUG", filepath.Join(t.TempDir(), "uv"))
	var w bytes.Buffer
	dropDebugEnv(&w)
	for _, k := range []string{"TEA_TRACE", "TEA_DEBUG", "UV_DEBUG"} {
		if _, ok := os.LookupEnv(k); ok {
			t.Errorf("%s still set", k)
		}
	}
	if n := strings.Count(w.String(), "\n"); n != 1 || !strings.Contains(w.String(), "TEA_TRACE, TEA_DEBUG, UV_DEBUG") {
		t.Errorf("said %q", w.String())
	}
	w.Reset()
	dropDebugEnv(&w)
	if w.Len() != 0 {
		t.Errorf("nothing set, yet said %q", w.String())
	}
}

// TestMaskedPromptHonoursInterruptAndEOF: ctrl+c at a masked prompt ends
// the wait at once (exit 130); ctrl+d is end of input (exit 2, said).
func TestMaskedPromptHonoursInterruptAndEOF(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	never := make(chan struct{})
	defer close(never)
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := readSecret(ctx, func() ([]byte, error) { <-never; return nil, nil }, io.Discard, "Secret: ", nil)
	if !errors.Is(err, context.Canceled) || time.Since(start) > time.Second {
		t.Fatalf("%v after %s", err, time.Since(start))
	}

	args := []string{"verify", "--provider", "aws-service-account", "--domain", "dm-LCAJVnUE94B",
		"--key-arn", "arn:aws:kms:us-east-1:123456789012:alias/dm-LCAJVnUE94B/sandbox/Example", "--access-key-id", "AKIAIOSFODNN7EXAMPLE"}
	for _, tc := range []struct {
		err  error
		code int
		say  string
	}{
		{io.EOF, exitUsage, "no secret access key given (end of input)"},
		{context.Canceled, exitInterrupted, ""},
	} {
		var errOut strings.Builder
		ios := &IOStreams{In: strings.NewReader(""), Out: io.Discard, Err: &errOut, Getenv: func(string) string { return "" },
			ReadSecret: func(ctx context.Context, _ string) ([]byte, error) { return nil, tc.err }}
		if code := run(context.Background(), ios, realDeps(), args); code != tc.code || !strings.Contains(errOut.String(), tc.say) {
			t.Errorf("%v: exit %d, %q", tc.err, code, errOut.String())
		}
	}
}

// TestWideConfigDirIsReported: a config directory others can read is
// named, with the command that fixes it.
func TestWideConfigDirIsReported(t *testing.T) {
	home := demoHome(t)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "none"))
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "none"))
	t.Setenv("REKWIZ_API_URL", "")
	dir := filepath.Join(home, ".config", "rekwiz")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var errOut strings.Builder
	ios := &IOStreams{In: strings.NewReader(""), Out: io.Discard, Err: &errOut, Terminal: true, Getenv: os.Getenv}
	w, err := newWizard(context.Background(), &wizardOptions{IO: ios, Global: &globalOptions{}, Deps: realDeps()})
	if err != nil {
		t.Fatal(err)
	}
	w.close()
	if !strings.Contains(errOut.String(), dir+" is readable by others") || !strings.Contains(errOut.String(), "chmod 700 "+dir) {
		t.Fatalf("stderr: %q", errOut.String())
	}
}
