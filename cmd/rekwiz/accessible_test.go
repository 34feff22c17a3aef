package main

import (
	"bufio"
	"bytes"
	"context"
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

// The package's tests run the full-screen wizard unless a test asks for
// the line-by-line one: an ACCESSIBLE or TERM=dumb in the environment
// the tests run in (an editor's build buffer, some CI) is not theirs.
func init() {
	os.Unsetenv("ACCESSIBLE")
	if strings.TrimSpace(os.Getenv("TERM")) == "dumb" {
		os.Setenv("TERM", "xterm")
	}
}

// runLines runs a command line as main does, its standard input the
// text given (a pipe: no terminal), with only the environment given.
func runLines(t *testing.T, ctx context.Context, input string, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	ios := &IOStreams{In: strings.NewReader(input), Out: &o, Err: &e, Getenv: func(k string) string { return env[k] }}
	code = run(ctx, ios, realDeps(), args)
	return code, o.String(), e.String()
}

// TestAccessibleDemoEveryProviderAndKey walks the demo line by line
// through a pipe, for every provider and both key choices, from the
// answers typed to "Paired" and Done: "set it up for me" (option 3, y)
// makes the key and fills the paste step in, the rest are enter.
func TestAccessibleDemoEveryProviderAndKey(t *testing.T) {
	tests := []struct {
		name  string
		input string // domain, provider, key, the key's details, then the script step and paste
		want  []string
	}{
		{"aws-delegated/existing", "\n1\n1\n\n\n3\ny\n1\n\n", []string{"✓ kms put-key-policy", "rekwiz-dm-LCAJVnUE94B-aws-delegated-existing.sh"}},
		{"aws-delegated/new", "\n1\n2\n\n3\ny\n1\n\n", []string{"✓ kms create-key", "rekwiz-dm-LCAJVnUE94B-aws-delegated-new.sh"}},
		{"aws-service-account/existing", "\n2\n1\n\n\nExample\n3\ny\n1\n\n\n\n", []string{"✓ iam create-access-key", "alias/dm-LCAJVnUE94B/sandbox/Example"}},
		{"aws-service-account/new", "\n2\n2\n\nExample\n3\ny\n1\n\n\n\n", []string{"✓ kms create-key", "✓ iam create-access-key", "Secret access key: ****"}},
		{"azure-delegated/existing", "\n3\n1\n\n\n3\ny\n1\n\n\n", []string{"keys/customer-rek/", "✓ PASS    Wrap and unwrap"}},
		{"azure-delegated/new", "\n3\n2\n\n\n3\ny\n1\n\n\n", []string{"✓ az keyvault key create", "keys/rek-dm-LCAJVnUE94B/"}},
		{"gcp-delegated/existing", "\n4\n1\n\n\n\n\n3\ny\n1\n\n", []string{"✓ gcloud kms keys add-iam-policy-binding",
			"Key resource name: projects/rekwiz-demo/locations/us-east1/keyRings/rekwiz-demo-ring/cryptoKeys/customer-rek", "dm-lcajvnue94b=allow"}},
		{"gcp-delegated/new", "\n4\n2\n\n\n\n\n\n3\ny\n1\n\n", []string{"✓ gcloud kms keys create",
			"cryptoKeys/rek-dm-LCAJVnUE94B", "✓ PASS"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			demoHome(t)
			t.Chdir(t.TempDir())
			code, out, errOut := runLines(t, context.Background(), tt.input, nil, "demo", "--accessible")
			if code != exitOK {
				t.Fatalf("exit %d; stderr %q\n%s", code, errOut, out)
			}
			want := append([]string{
				"Step 1 of 8: Domain", "Where will the key live?\n  1. AWS KMS, delegated key",
				"----- BEGIN SCRIPT ", "----- END SCRIPT ", "Go ahead? [y/n]: ", "✓ Done. The paste step is filled in with:",
				"✓ Registered", "Result: paired.", "✓ Paired. Sandbox Vendor can use your key", "\nDone.\n",
			}, tt.want...)
			for _, w := range want {
				if !strings.Contains(out, w) {
					t.Errorf("the output lacks %q:\n%s", w, out)
				}
			}
			if strings.ContainsRune(out+errOut, '\x1b') {
				t.Errorf("an escape sequence reached the output:\n%q", out)
			}
			if i, j := strings.Index(out, "----- BEGIN SCRIPT "), strings.Index(out, "----- END SCRIPT "); i < 0 || j < i || !strings.Contains(out[i:j], "#!/usr/bin/env bash\n") {
				t.Errorf("the script is not between its markers:\n%s", out)
			}
			// The secret the set-up made is shown masked only.
			if i := strings.Index(out, "Secret access key: ****"); i >= 0 {
				if line := out[i : i+strings.IndexByte(out[i:], '\n')]; len(line) != len("Secret access key: ****")+4 {
					t.Errorf("the secret is shown as %q", line)
				}
			}
		})
	}
}

// TestAccessibleBadAnswerAskedAgain: a wrong answer is said on a line of
// its own, with the validator's words, and the question asked again;
// the flow goes on once the answer is right.
func TestAccessibleBadAnswerAskedAgain(t *testing.T) {
	demoHome(t)
	t.Chdir(t.TempDir())
	code, out, errOut := runLines(t, context.Background(), "dm-nope\n\n7\n", nil, "demo", "--accessible")
	if code != exitUsage || !strings.Contains(errOut, "end of input at the provider step") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, w := range []string{
		"Domain ID [dm-LCAJVnUE94B]: \n✗ Domain ID: expected dm- followed by 11 letters or digits, e.g. dm-LCAJVnUE94B\nDomain ID [dm-LCAJVnUE94B]: \n",
		"Enter a number from 1 to 4 [1]: \n✗ that is not one of the choices: enter a number from 1 to 4.\nEnter a number from 1 to 4 [1]: \n",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("the output lacks %q:\n%s", w, out)
		}
	}
}

// TestAccessibleEndOfInput: input that ends before the wizard does
// exits 2 with a clear message on stderr, and says what stays as it is.
func TestAccessibleEndOfInput(t *testing.T) {
	demoHome(t)
	t.Chdir(t.TempDir())
	code, out, errOut := runLines(t, context.Background(), "", nil, "demo", "--accessible")
	if code != exitUsage {
		t.Fatalf("exit %d", code)
	}
	if want := "rekwiz: end of input at the domain step, before the wizard was done. Nothing was set up yet."; !strings.Contains(errOut, want) {
		t.Errorf("stderr %q lacks %q", errOut, want)
	}
	if !strings.Contains(out, "Domain ID [dm-LCAJVnUE94B]: ") {
		t.Errorf("the question was not asked:\n%s", out)
	}
}

// TestAccessibleSelectedBy: --accessible on the wizard and the demo,
// ACCESSIBLE set to anything, and TERM=dumb each run the line-by-line
// wizard, with no terminal; without any of them, no terminal is still
// refused.
func TestAccessibleSelectedBy(t *testing.T) {
	demoHome(t)
	t.Chdir(t.TempDir())
	tests := []struct {
		env  map[string]string
		args []string
	}{
		{nil, []string{"demo", "--accessible"}},
		{nil, []string{"--accessible"}},
		{map[string]string{"ACCESSIBLE": "1"}, []string{"demo"}},
		{map[string]string{"ACCESSIBLE": "yes"}, nil},
		{map[string]string{"TERM": "dumb"}, []string{"demo"}},
		{map[string]string{"TERM": "dumb"}, nil},
	}
	for _, tt := range tests {
		code, out, errOut := runLines(t, context.Background(), "", tt.env, tt.args...)
		if code != exitUsage || !strings.Contains(out, "Step 1 of 8: Domain\n") || !strings.Contains(errOut, "end of input at the domain step") {
			t.Errorf("%v %v: exit %d, stdout %q, stderr %q", tt.env, tt.args, code, out, errOut)
		}
		if strings.ContainsRune(out+errOut, '\x1b') {
			t.Errorf("%v %v: an escape sequence reached the output: %q", tt.env, tt.args, out)
		}
	}
	code, out, errOut := runLines(t, context.Background(), "", map[string]string{"TERM": "xterm-256color"}, "demo")
	if code != exitUsage || out != "" || !strings.Contains(errOut, "the wizard needs a terminal") || !strings.Contains(errOut, "rekwiz --accessible") {
		t.Errorf("without a terminal: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestAccessibleInterrupted: ctrl+c (the command's context cancelled)
// ends a question at once, exit 130, saying where it stopped.
func TestAccessibleInterrupted(t *testing.T) {
	demoHome(t)
	t.Chdir(t.TempDir())
	pr, pw := io.Pipe()
	defer pw.Close()
	var o, e syncBuffer
	ios := &IOStreams{In: pr, Out: &o, Err: &e, Getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, ios, realDeps(), []string{"demo", "--accessible"}) }()
	if _, err := io.WriteString(pw, "\n"); err != nil { // the domain
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(o.String(), "Enter a number from 1 to 4") {
		if time.Now().After(deadline) {
			t.Fatalf("the provider was never asked:\n%s", o.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-done:
		if code != exitInterrupted || !strings.Contains(e.String(), "rekwiz: interrupted at the provider step.") {
			t.Fatalf("exit %d, stderr %q", code, e.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the wizard did not end on ctrl+c")
	}
}

// TestAccessibleSavesScript: "Save it to a file" writes the script, as
// the full-screen wizard's save dialog does, and never replaces a file
// unasked.
func TestAccessibleSavesScript(t *testing.T) {
	demoHome(t)
	dir := t.TempDir()
	t.Chdir(dir)
	name := "rekwiz-dm-LCAJVnUE94B-aws-delegated-new.sh"
	if err := os.WriteFile(filepath.Join(dir, "taken.sh"), []byte("mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Save under the name offered; then as taken.sh, refused (n), then
	// as taken.sh again, replaced (y).
	code, out, errOut := runLines(t, context.Background(), "\n1\n2\n\n2\n\n2\ntaken.sh\nn\n<\n2\ntaken.sh\ny\n", nil, "demo", "--accessible")
	if code != exitUsage {
		t.Fatalf("exit %d; %s\n%s", code, errOut, out)
	}
	for _, w := range []string{"✓ Saved to " + name + ". Run it with: bash " + name, "taken.sh exists. Replace it? [y/n]: ", "✓ Saved to taken.sh."} {
		if !strings.Contains(out, w) {
			t.Errorf("the output lacks %q:\n%s", w, out)
		}
	}
	for _, f := range []string{name, "taken.sh"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !strings.HasPrefix(string(b), "#!/usr/bin/env bash\n") {
			t.Errorf("%s: %v %.40q", f, err, b)
		}
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v %v", f, fi.Mode(), err)
		}
	}
}

// TestAccessibleBinaryInterrupt runs the built binary through a pipe:
// SIGINT while it waits for an answer exits 130.
func TestAccessibleBinaryInterrupt(t *testing.T) {
	t.Parallel()
	bin := buildRekwiz(t)
	home := t.TempDir()
	cmd := osexec.Command(bin, "demo", "--accessible")
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"))
	cmd.Dir = t.TempDir()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
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
	r := bufio.NewReader(stdout)
	var seen strings.Builder
	for !strings.Contains(seen.String(), "Domain ID [") {
		b, err := r.ReadByte()
		if err != nil {
			t.Fatalf("%v; stdout %q, stderr %q", err, seen.String(), stderr.String())
		}
		seen.WriteByte(b)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	go io.Copy(io.Discard, r) //nolint:errcheck
	err = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != exitInterrupted {
		t.Fatalf("exit %d (%v); stderr %q", code, err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr %q", stderr.String())
	}
}

// syncBuffer is a buffer one goroutine writes while another reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAccessibleReplacesRegistration: a domain that has another key
// registered is asked about before the registration is replaced.
func TestAccessibleReplacesRegistration(t *testing.T) {
	demoHome(t)
	t.Chdir(t.TempDir())
	if code, out, errOut := runLines(t, context.Background(), "\n1\n2\n\n3\ny\n1\n\n", nil, "demo", "--accessible"); code != exitOK {
		t.Fatalf("first run: exit %d; %s\n%s", code, errOut, out)
	}
	// Azure, a new key, for the same domain: n goes back to the paste
	// step, nothing changed; then y replaces it.
	code, out, errOut := runLines(t, context.Background(), "\n3\n2\n\n\n3\ny\n1\n\n\nn\n\n\ny\n", nil, "demo", "--accessible")
	if code != exitOK {
		t.Fatalf("second run: exit %d; %s\n%s", code, errOut, out)
	}
	for _, w := range []string{
		"dm-LCAJVnUE94B has another key registered already:\n  Key ID     rek-",
		"  Provider   AWS KMS, delegated key\n  Key        arn:aws:kms:us-east-1:111122223333:alias/dm-LCAJVnUE94B/sandbox\n",
		"the old key itself stays as it is. [y/n]: \nNothing was changed.\n\nStep 5 of 8: Paste\n",
		"✓ Registered", "Result: paired.",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("the output lacks %q:\n%s", w, out)
		}
	}
}

// TestAccessibleSecretAtATerminal: at a terminal every answer of the
// paste step, which asks for the secret access key, is read through the
// prompt that does not echo, not from the line input (a pasted block of
// the script's lines holds the secret); each value taken is said after,
// the secret only masked.
func TestAccessibleSecretAtATerminal(t *testing.T) {
	demoHome(t)
	t.Chdir(t.TempDir())
	var o, e bytes.Buffer
	asked := 0
	ios := &IOStreams{In: strings.NewReader("\n2\n2\n\nExample\n3\ny\n1\n\n\n"), Out: &o, Err: &e, Getenv: func(string) string { return "" },
		ReadSecret: func(_ context.Context, prompt string) ([]byte, error) {
			asked++
			return []byte("\n"), nil // enter keeps what the set-up filled in
		}}
	if code := run(context.Background(), ios, realDeps(), []string{"demo", "--accessible"}); code != exitOK {
		t.Fatalf("exit %d; %s\n%s", code, e.String(), o.String())
	}
	if asked != 3 || !strings.Contains(o.String(), "Secret access key [****") || !strings.Contains(o.String(), "✓ Access key ID: AKIA") ||
		!strings.Contains(o.String(), "Result: paired.") {
		t.Errorf("asked %d times:\n%s", asked, o.String())
	}
}
