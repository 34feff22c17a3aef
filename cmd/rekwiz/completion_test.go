package main

import (
	"io"
	"os"
	osexec "os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rekwiz/rekwiz/flows"
)

// complete runs cobra's hidden __complete command as the shells do and
// returns the values offered (descriptions dropped) and the directive line.
func complete(t *testing.T, args ...string) (values []string, withDesc []string, directive string) {
	t.Helper()
	code, out, errOut := exec(t, false, append([]string{"__complete"}, args...)...)
	if code != exitOK {
		t.Fatalf("__complete %q: exit %d, stderr %q", args, code, errOut)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	directive = lines[len(lines)-1]
	for _, l := range lines[:len(lines)-1] {
		withDesc = append(withDesc, l)
		v, _, _ := strings.Cut(l, "\t")
		values = append(values, v)
	}
	return values, withDesc, directive
}

const (
	noFileComp = ":4" // cobra.ShellCompDirectiveNoFileComp
	fileExt    = ":8" // cobra.ShellCompDirectiveFilterFileExt
)

func TestFlagValuesComplete(t *testing.T) {
	t.Parallel()
	var providers []string
	for _, p := range flows.Providers() {
		providers = append(providers, string(p))
	}
	for _, tc := range []struct {
		args      []string
		want      []string
		directive string
	}{
		{[]string{"script", "--provider", ""}, providers, noFileComp},
		{[]string{"verify", "--provider", ""}, providers, noFileComp},
		{[]string{"--provider", "aws-"}, []string{"aws-delegated", "aws-service-account"}, noFileComp},
		{[]string{"--provider=az"}, []string{"azure-delegated"}, noFileComp},
		{[]string{"script", "--key", ""}, []string{"existing", "new"}, noFileComp},
		{[]string{"demo", "--key", "n"}, []string{"new"}, noFileComp},
		{[]string{"script", "--region", "eu-west-"}, []string{"eu-west-1", "eu-west-2", "eu-west-3"}, noFileComp},
		{[]string{"script", "--region", "us-gov"}, []string{"us-gov-east-1", "us-gov-west-1"}, noFileComp},
		{[]string{"--region", "xx"}, nil, noFileComp},
		{[]string{"script", "--protection-level", ""}, []string{"hsm", "software"}, noFileComp},
		{[]string{"script", "--location", ""}, nil, noFileComp},
		{[]string{"script", "--domain", ""}, nil, noFileComp},
		{[]string{"verify", "--wait", ""}, nil, noFileComp},
		{[]string{"--vendor-profile", ""}, []string{"json"}, fileExt},
		{[]string{"script", "--vendor-profile", "x"}, []string{"json"}, fileExt},
	} {
		got, _, directive := complete(t, tc.args...)
		if !slices.Equal(got, tc.want) || directive != tc.directive {
			t.Errorf("__complete %q = %q %s, want %q %s", tc.args, got, directive, tc.want, tc.directive)
		}
	}
	// The provider and key choices say what they are, as the wizard's
	// lists do.
	_, desc, _ := complete(t, "script", "--provider", "")
	if want := "aws-delegated\t" + flows.AWSDelegated.Title(); !slices.Contains(desc, want) {
		t.Errorf("provider descriptions %q lack %q", desc, want)
	}
	_, desc, _ = complete(t, "--key", "")
	if want := "new\t" + flows.KeyNew.Title(); !slices.Contains(desc, want) {
		t.Errorf("key descriptions %q lack %q", desc, want)
	}
	all, _, _ := complete(t, "script", "--region", "")
	if !slices.Equal(all, flows.AWSRegions()) {
		t.Errorf("regions %q, want flows.AWSRegions()", all)
	}
}

// TestEveryValueFlagCompletes: each flag of each command that takes a
// value has a completion, so none falls back to file names by omission.
func TestEveryValueFlagCompletes(t *testing.T) {
	t.Parallel()
	root := newRootCmd(&IOStreams{In: strings.NewReader(""), Out: io.Discard, Err: io.Discard, Getenv: func(string) string { return "" }}, realDeps())
	n := 0
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if f.Value.Type() == "bool" {
				return
			}
			n++
			if _, ok := c.GetFlagCompletionFunc(f.Name); !ok {
				t.Errorf("%s --%s has no completion", c.CommandPath(), f.Name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	if n < 10 {
		t.Fatalf("only %d value flags seen: the walk misses commands", n)
	}
}

// TestDocsAreGenerated: `go run -tags gendocs ./cmd/rekwiz DIR`, as make
// man and make dist run it, writes a man page for every command and the
// four shells' completions, which bash, and fish or zsh where installed,
// read without a syntax error. (The released binary, built without the
// tag, links none of cobra/doc and its Markdown and YAML packages.)
func TestDocsAreGenerated(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the generator")
	}
	dir := t.TempDir()
	if out, err := osexec.Command("go", "run", "-tags", "gendocs", ".", dir).CombinedOutput(); err != nil {
		t.Fatalf("go run -tags gendocs . %s: %v\n%s", dir, err, out)
	}
	for _, page := range []string{"rekwiz.1", "rekwiz-demo.1", "rekwiz-script.1", "rekwiz-verify.1", "rekwiz-sandbox.1", "rekwiz-completion-bash.1"} {
		b, err := os.ReadFile(filepath.Join(dir, "man", "man1", page))
		if err != nil {
			t.Error(err)
			continue
		}
		if !strings.HasPrefix(string(b), ".nh\n.TH \"REKWIZ") || !strings.Contains(string(b), ".SH NAME") {
			t.Errorf("%s is not a man page: %.200q", page, b)
		}
	}
	script, err := os.ReadFile(filepath.Join(dir, "man", "man1", "rekwiz-script.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`\fB--provider\fP`, `\fB--region\fP`, "aws-delegated"} {
		if !strings.Contains(string(script), want) {
			t.Errorf("rekwiz-script.1 lacks %q", want)
		}
	}
	for shell, name := range completionFiles {
		p := filepath.Join(dir, "completions", name)
		b, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(b), "__complete") {
			t.Errorf("%s: %v, or it does not ask rekwiz __complete", p, err)
			continue
		}
		check := map[string][]string{"bash": {"bash", "-n"}, "zsh": {"zsh", "-n"}, "fish": {"fish", "--no-execute"}}[shell]
		if check == nil {
			continue
		}
		if _, err := osexec.LookPath(check[0]); err != nil {
			continue // bash is always there; zsh and fish may not be
		}
		if out, err := osexec.Command(check[0], append(check[1:], p)...).CombinedOutput(); err != nil {
			t.Errorf("%s %s: %v\n%s", check[0], p, err, out)
		}
	}
}
