package fakecloudtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// TestCachedHelpReadsOnce: a command's help is read once per CLI version,
// however many callers ask, at once or one after another; a failed read,
// or one that returns too few texts, is tried again.
func TestCachedHelpReadsOnce(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	reads := map[string]int{}
	read := func(cs []string) ([]string, error) {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, c := range cs {
			reads[c]++
			out = append(out, "help of "+c)
		}
		return out, nil
	}
	cli := fmt.Sprintf("fake-%p", &mu) // a CLI of this run only
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got, err := cachedHelp(cli, "1.0", []string{"a b", "c", "c"}, read)
			if err != nil || got["a b"] != "help of a b" || got["c"] != "help of c" || len(got) != 2 {
				t.Errorf("cachedHelp: %v, %v", got, err)
			}
		})
	}
	wg.Wait()
	if _, err := cachedHelp(cli, "2.0", []string{"c"}, read); err != nil {
		t.Fatal(err)
	}
	if reads["a b"] != 1 || reads["c"] != 2 {
		t.Errorf("reads: %v, want a b once and c once per version", reads)
	}
	fails := 0
	failing := func(cs []string) ([]string, error) { fails++; return nil, errors.New("no CLI") }
	short := func(cs []string) ([]string, error) { fails++; return nil, nil }
	for _, r := range []func([]string) ([]string, error){failing, failing, short, short} {
		if _, err := cachedHelp(cli, "3.0", []string{"d"}, r); err == nil {
			t.Fatal("a failed read returned no error")
		}
	}
	if fails != 4 {
		t.Errorf("a failed read was kept (%d reads of 4)", fails)
	}
}

// fakeSDK is a Google Cloud SDK of shell scripts: bin/gcloud prints a help
// text naming its arguments (and fails for "bogus"), and, with python,
// the bundled python3 prints the texts of all its commands as
// gcloudHelpDriver does. Each start is logged; starts returns the log.
func fakeSDK(t *testing.T, python string) (gcloud string, starts func() []string) {
	t.Helper()
	root := t.TempDir()
	log := filepath.Join(root, "starts")
	write := func(p, s string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "VERSION"), "528.0.0\n")
	gcloud = filepath.Join(root, "bin", "gcloud")
	write(gcloud, `#!/bin/sh
echo "gcloud $*" | tr ' ' _ >>"`+log+`"
case "$*" in *bogus*) echo "ERROR: (gcloud) Invalid choice: 'bogus'." >&2; exit 2;; esac
printf '\033[1mNAME\033[m\n    gcloud %s - help\n' "$*"
`)
	if python != "" {
		write(filepath.Join(root, "platform", "bundledpythonunix", "bin", "python3"), `#!/bin/sh
shift 3 # -c, the driver, the SDK's directory
echo "python $*" | tr ' ' _ >>"`+log+`"
`+python)
	}
	return gcloud, func() []string {
		b, _ := os.ReadFile(log)
		os.Remove(log)
		return strings.Fields(string(b))
	}
}

// TestGcloudHelpsReadInOneProcess: the help of the commands no test has
// read yet is read in one start of the SDK's bundled Python, each text
// apart and without its styling; an SDK without it, or whose Python
// fails, is asked once per command; a command gcloud refuses fails the
// test that asked (in the fallback, where gcloud says so).
func TestGcloudHelpsReadInOneProcess(t *testing.T) {
	t.Parallel()
	driver := `for c in "$@"; do printf '\033[1mNAME\033[m\n    gcloud %s --help - help\n' "$c"; printf '\n` + gcloudHelpSeparator + `\n'; done`
	same := func(t *testing.T, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("started %v, want %v", got, want)
		}
	}
	t.Run("bundled python", func(t *testing.T) {
		gcloud, starts := fakeSDK(t, driver)
		got := gcloudHelps(t, gcloud, []string{"kms keys create", "kms keyrings list"})
		if got["kms keys create"] != "NAME\n    gcloud kms keys create --help - help\n" || !strings.Contains(got["kms keyrings list"], "gcloud kms keyrings list --help") || len(got) != 2 {
			t.Errorf("helps: %q", got)
		}
		same(t, starts(), "python_kms_keys_create_kms_keyrings_list")
		gcloudHelps(t, gcloud, []string{"kms keyrings list", "auth login"})
		same(t, starts(), "python_auth_login")
	})
	for name, python := range map[string]string{"no bundled python": "", "a failing python": "exit 1", "a python that says too little": `printf 'NAME\n'`} {
		t.Run(name, func(t *testing.T) {
			gcloud, starts := fakeSDK(t, python)
			got := gcloudHelps(t, gcloud, []string{"kms keys create", "auth login"})
			if got["auth login"] != "NAME\n    gcloud auth login --help - help\n" {
				t.Errorf("helps: %q", got)
			}
			want := []string{"gcloud_kms_keys_create_--help", "gcloud_auth_login_--help"}
			if python != "" {
				want = append([]string{"python_kms_keys_create_auth_login"}, want...)
			}
			same(t, starts(), want...)
		})
	}
	t.Run("refused", func(t *testing.T) {
		gcloud, _ := fakeSDK(t, "")
		var err string
		ft := &fatalT{TB: t, fatal: &err}
		done := make(chan struct{})
		go func() {
			defer close(done)
			gcloudHelps(ft, gcloud, []string{"kms bogus"})
		}()
		<-done
		if !strings.Contains(err, "gcloud kms bogus --help: exit status 2") || !strings.Contains(err, "Invalid choice") {
			t.Errorf("the test was told %q", err)
		}
	})
}

// fatalT records what a helper fails its test with, and ends only the
// helper's goroutine.
type fatalT struct {
	testing.TB
	fatal *string
}

func (f *fatalT) Fatal(args ...any) {
	*f.fatal = fmt.Sprint(args...)
	runtime.Goexit()
}

func (f *fatalT) Fatalf(format string, args ...any) {
	*f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestGcloudHelpsAreGcloudsOwn: the help read in one Python process is
// the very text `gcloud COMMAND --help` prints, so the tests that check
// commands and flags against it check them against gcloud; a command
// gcloud does not know has no help.
func TestGcloudHelpsAreGcloudsOwn(t *testing.T) {
	t.Parallel()
	gcloud := Gcloud(t)
	got := GcloudHelps(t, []string{"kms keys create", "kms no-such-command"})
	out, errOut, err := Run(gcloudHelpEnv(t.TempDir()), "", gcloud, "kms", "keys", "create", "--help")
	if err != nil {
		t.Fatalf("gcloud kms keys create --help: %v\n%s", err, errOut)
	}
	if want := ansi.Strip(out); got["kms keys create"] != want {
		t.Errorf("the help read in one process:\n%s\ngcloud kms keys create --help:\n%s", got["kms keys create"], want)
	}
	if !strings.HasPrefix(got["kms keys create"], "NAME\n    gcloud kms keys create - ") {
		t.Errorf("gcloud kms keys create --help begins %.80q", got["kms keys create"])
	}
	if h := got["kms no-such-command"]; strings.Contains(h, "NAME") {
		t.Errorf("a command gcloud does not know has help: %.200q", h)
	}
}
