package fakecloudtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// GcloudHelps returns what `gcloud COMMAND --help` prints for each of
// commands ("kms keys create": the words after gcloud, split at spaces),
// keyed by the command, with the terminal styling stripped (ansi.Strip:
// gcloud's help, run in gcloudHelpDriver's process, bolds its headings
// unless colour is off).
// A command gcloud does not know gets no help: its text has no NAME
// section, usually it is empty.
//
// Each gcloud start is a Python start that loads the SDK, about a CPU
// second, so the texts are read once per test process and SDK version,
// and the ones no test has read yet are read together in one Python
// process (see gcloudHelpDriver); an SDK without its bundled Python is
// asked once per command instead. The test is skipped or fails as
// Gcloud decides when gcloud is missing, and is skipped under -short.
func GcloudHelps(t testing.TB, commands []string) map[string]string {
	t.Helper()
	return gcloudHelps(t, Gcloud(t), commands)
}

// gcloudHelps is GcloudHelps with the gcloud of the SDK to read from.
func gcloudHelps(t testing.TB, gcloud string, commands []string) map[string]string {
	t.Helper()
	root, err := gcloudSDKRoot(gcloud)
	if err != nil {
		t.Fatalf("the Google Cloud SDK of %s: %v", gcloud, err)
	}
	// The SDK's VERSION file says what `gcloud version` would, without
	// the second it takes to ask.
	v, err := os.ReadFile(filepath.Join(root, "VERSION"))
	if err != nil {
		t.Fatalf("the Google Cloud SDK's version: %v", err)
	}
	texts, err := cachedHelp(root, strings.TrimSpace(string(v)), commands, func(cs []string) ([]string, error) {
		return readGcloudHelp(t, gcloud, root, gcloudHelpEnv(t.TempDir()), cs)
	})
	if err != nil {
		t.Fatal(err)
	}
	return texts
}

// gcloudSDKRoot is the Google Cloud SDK's directory: gcloud is
// ROOT/bin/gcloud, /usr/bin/gcloud a link to it.
func gcloudSDKRoot(gcloud string) (string, error) {
	p, err := filepath.EvalSymlinks(gcloud)
	if err != nil {
		return "", err
	}
	return filepath.Dir(filepath.Dir(p)), nil
}

// gcloudHelpEnv is an environment in which gcloud reads and writes only
// the configuration directory dir: no prompts, no update checks, no
// usage reports, no colour. Help needs no account or project, and the
// machine's must not change what it says.
func gcloudHelpEnv(dir string) []string {
	return []string{
		"HOME=" + dir,
		"PATH=" + filepath.Dir(GcloudPath) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"LANG=C.UTF-8",
		"CLOUDSDK_CONFIG=" + dir,
		"CLOUDSDK_CORE_DISABLE_PROMPTS=1",
		"CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=1",
		"CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=true",
		"CLOUDSDK_SURVEY_DISABLE_PROMPTS=1",
		"CLOUDSDK_CORE_DISABLE_COLOR=true",
	}
}

// gcloudHelpDriver renders `gcloud COMMAND --help` for several commands
// in one Python process: gcloud's own CLI object, loaded once, runs each
// command line with --help exactly as bin/gcloud would, writing the same
// text to stdout (TestGcloudHelpsAreGcloudsOwn compares them), followed
// by a separator line. What gcloud writes to stderr (an unknown
// command's error) is not part of the help, as it is not part of
// gcloud's stdout.
const gcloudHelpDriver = `
import os, sys
root = sys.argv[1]
sys.path.insert(0, os.path.join(root, 'lib', 'third_party'))
sys.path.insert(0, os.path.join(root, 'lib'))
from googlecloudsdk import gcloud_main
cli = gcloud_main.CreateCLI([])
for line in sys.argv[2:]:
    try:
        cli.Execute(line.split() + ['--help'])
    except SystemExit:
        pass
    sys.stdout.write('\n` + gcloudHelpSeparator + `\n')
    sys.stdout.flush()
`

const gcloudHelpSeparator = "=====rekwiz: end of help====="

// readGcloudHelp reads the help of each command: in one process through
// the SDK's bundled Python when it has one, else (or when that fails,
// which the test's log says) with one `gcloud COMMAND --help` each.
func readGcloudHelp(t testing.TB, gcloud, root string, env, commands []string) ([]string, error) {
	python := filepath.Join(root, "platform", "bundledpythonunix", "bin", "python3")
	if _, err := os.Stat(python); err == nil {
		cmd := exec.Command(python, append([]string{"-c", gcloudHelpDriver, root}, commands...)...)
		cmd.Env = env
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		texts := strings.Split(out.String(), "\n"+gcloudHelpSeparator+"\n")
		if err == nil && len(texts) == len(commands)+1 {
			for i := range commands {
				texts[i] = ansi.Strip(texts[i])
			}
			return texts[:len(commands)], nil
		}
		why := fmt.Sprintf("%d texts for %d commands", len(texts)-1, len(commands))
		if err != nil {
			why = err.Error()
		}
		t.Logf("reading gcloud's help in one process (%s) failed: %s; asking gcloud once per command\n%s", python, why, errOut.Bytes())
	}
	texts := make([]string, len(commands))
	for i, c := range commands {
		cmd := exec.Command(gcloud, append(strings.Fields(c), "--help")...)
		cmd.Env = env
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("gcloud %s --help: %v\n%s%s", c, err, out.Bytes(), errOut.Bytes())
		}
		texts[i] = ansi.Strip(out.String())
	}
	return texts, nil
}

// A CLI's help texts, read once per test process: reading one means
// starting the CLI, and several tests ask for the same commands. Entries
// are keyed by the CLI, its version and the command, so a CLI upgraded
// while the tests run is read again.
var (
	helpMu    sync.Mutex
	helpTexts = map[string]*helpEntry{}
)

type helpEntry struct {
	done chan struct{}
	text string
	err  error
}

var errHelpReadAborted = errors.New("the help read stopped before it returned")

// cachedHelp returns the help text of each command of cli (at version),
// reading the ones no caller has read yet with read, in one call: read
// gets the commands and returns their texts in the same order.
// Concurrent callers wait for a read in flight instead of starting their
// own. A failed read is not kept: the next caller tries again.
func cachedHelp(cli, version string, commands []string, read func([]string) ([]string, error)) (map[string]string, error) {
	key := func(c string) string { return cli + "\x00" + version + "\x00" + c }
	helpMu.Lock()
	var missing []string
	var mine []*helpEntry
	entries := make(map[string]*helpEntry, len(commands))
	for _, c := range commands {
		e, ok := helpTexts[key(c)]
		if !ok {
			e = &helpEntry{done: make(chan struct{})}
			helpTexts[key(c)] = e
			missing = append(missing, c)
			mine = append(mine, e)
		}
		entries[c] = e
	}
	helpMu.Unlock()

	if len(missing) > 0 {
		func() {
			texts, err := []string(nil), errHelpReadAborted
			// Deferred, so a read that panics or ends its test
			// (t.FailNow) still releases the callers waiting for it.
			defer func() {
				if err == nil && len(texts) != len(missing) {
					err = fmt.Errorf("%d help texts for %d commands", len(texts), len(missing))
				}
				if err != nil { // forgotten before anyone can wait for it again
					helpMu.Lock()
					for _, c := range missing {
						delete(helpTexts, key(c))
					}
					helpMu.Unlock()
				}
				for i, e := range mine {
					if err != nil {
						e.err = err
					} else {
						e.text = texts[i]
					}
					close(e.done)
				}
			}()
			texts, err = read(missing)
		}()
	}
	out := make(map[string]string, len(commands))
	for c, e := range entries {
		<-e.done
		if e.err != nil {
			return nil, e.err
		}
		out[c] = e.text
	}
	return out, nil
}
