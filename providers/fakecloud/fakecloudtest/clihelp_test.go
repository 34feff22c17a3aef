package fakecloudtest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// forget drops what this process read, as a new test process would.
func forget() {
	memoMu.Lock()
	defer memoMu.Unlock()
	memos, versions = map[string]*memo{}, map[string]*memo{}
}

// TestCLICacheIsKeyedByVersionAndCommand: a help text is read once; a
// new process finds it on disk; a new version of the tool, another
// command or another key reads it again; a failed read is never kept;
// with the cache off (CI=true) the version command is never run.
func TestCLICacheIsKeyedByVersionAndCommand(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	t.Setenv("CI", "")
	t.Setenv(CLICacheEnv, "")
	t.Cleanup(forget)
	log := filepath.Join(dir, "log")
	version := filepath.Join(dir, "version")
	tool := filepath.Join(dir, "tool")
	if err := os.WriteFile(tool, []byte(`#!/bin/sh
echo "$*" >>"`+log+`"
if [ "$1" = version ]; then cat "`+version+`"; exit; fi
[ "$1" = broken ] && { echo no such command >&2; exit 2; }
echo "help for $* from $(cat "`+version+`")"
`), 0o700); err != nil {
		t.Fatal(err)
	}
	setVersion := func(v string) {
		if err := os.WriteFile(version, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	runs := func() []string {
		b, _ := os.ReadFile(log)
		os.Remove(log)
		return strings.Fields(strings.ReplaceAll(string(b), " ", "_"))
	}
	cli := CLI{Path: tool, Version: []string{"version"}}
	help := func(args ...string) string {
		t.Helper()
		out, err := cli.Help(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	same := func(got []string, want ...string) {
		t.Helper()
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("the tool ran %v, want %v", got, want)
		}
	}

	setVersion("1.0")
	if out := help("kms", "keys"); out != "help for kms keys --help from 1.0\n" {
		t.Fatalf("help = %q", out)
	}
	help("kms", "keys")
	same(runs(), "version", "kms_keys_--help")

	forget() // a new test process: the version is asked, the help is on disk
	if out := help("kms", "keys"); !strings.Contains(out, "from 1.0") {
		t.Fatalf("help from disk = %q", out)
	}
	same(runs(), "version")

	forget()
	setVersion("1.1") // an upgrade reads it again
	if out := help("kms", "keys"); !strings.Contains(out, "from 1.1") {
		t.Fatalf("help after an upgrade = %q", out)
	}
	same(runs(), "version", "kms_keys_--help")

	help("kms") // another command
	if out, err := cli.Cached(t, []string{"kms", "keys", "--help", "another way"}, func() (string, error) { return "x", nil }); err != nil || out != "x" {
		t.Fatalf("another key: %q, %v", out, err)
	}
	same(runs(), "kms_--help")

	for range 2 { // a failure is never kept
		forget()
		if _, err := cli.Help(t, "broken"); err == nil || !strings.Contains(err.Error(), "no such command") {
			t.Fatalf("broken: %v", err)
		}
		same(runs(), "version", "broken_--help")
	}
	forget()
	if _, err := cli.Cached(t, []string{"x"}, func() (string, error) { return "", errors.New("no") }); err == nil {
		t.Fatal("an error was lost")
	}
	runs()

	forget()
	t.Setenv("CI", "true") // no disk, no version
	if out := help("kms", "keys"); !strings.Contains(out, "from 1.1") {
		t.Fatalf("help under CI = %q", out)
	}
	same(runs(), "kms_keys_--help")
}
