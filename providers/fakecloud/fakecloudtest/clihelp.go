package fakecloudtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// CLI is a real command-line tool whose own help the tests read to vouch
// for the commands and flags a script uses (the Azure CLI, gcloud). Each
// start is a Python start, seconds on a loaded machine; Help and Cached
// read each text once per version of the tool.
type CLI struct {
	Path    string   // "/usr/bin/az"
	Version []string // the arguments that print its version, extensions included: {"version", "--output", "json"}
	Env     []string // the environment of every run (nil: the test process's)
}

// CLICacheEnv names the variable that turns the disk cache off
// (REKWIZ_TEST_CLI_CACHE=off). It is off under CI (CI=true) too: there
// every test process reads each text from the tool itself, once, and the
// version command is not run at all.
const CLICacheEnv = "REKWIZ_TEST_CLI_CACHE"

func diskCacheOn() bool {
	return os.Getenv(CLICacheEnv) != "off" && os.Getenv("CI") != "true"
}

// Help is what `Path args... --help` prints (stdout and stderr), read once
// per version of the tool (see Cached).
func (c CLI) Help(t testing.TB, args ...string) (string, error) {
	t.Helper()
	full := append(append([]string{}, args...), "--help")
	return c.Cached(t, full, func() (string, error) {
		cmd := exec.Command(c.Path, full...)
		cmd.Env = c.Env
		out, err := cmd.CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("%s %s: %v\n%s", filepath.Base(c.Path), strings.Join(full, " "), err, out)
		}
		return string(out), nil
	})
}

// Cached returns run's output, running it at most once per version of the
// tool: once in this test process, and across runs through a file under
// the user's cache directory (…/rekwiz-tests/cli; see CLICacheEnv). A
// file is found only by the tool's path, the exact output of its version
// command (so an upgrade, or an extension added or removed, reads
// everything again) and key, which must name everything else the output
// depends on: the exact arguments, and a mark for any other way of
// running the tool. A run that fails is never kept, so a failure is the
// test's every time.
func (c CLI) Cached(t testing.TB, key []string, run func() (string, error)) (string, error) {
	t.Helper()
	disk := diskCacheOn()
	version := ""
	if disk {
		v, err := c.version()
		if err != nil {
			return "", err
		}
		version = v
	}
	id := cacheID(c.Path, version, key)
	e := entryFor(id)
	e.once.Do(func() {
		file := ""
		if disk {
			file = cacheFile(c.Path, id)
		}
		if out, ok := readCached(file, c.Path, version, key); ok {
			e.out, e.fromDisk = out, true
			return
		}
		e.out, e.err = run()
		if e.err == nil && file != "" {
			writeCached(file, cacheEntry{Path: c.Path, Version: version, Key: key, Output: e.out})
		}
	})
	if e.fromDisk {
		t.Logf("%s %s: read from the cache of %s", filepath.Base(c.Path), strings.Join(key, " "), firstLine(version))
	}
	return e.out, e.err
}

type memo struct {
	once     sync.Once
	out      string
	err      error
	fromDisk bool
}

var (
	memoMu   sync.Mutex
	memos    = map[string]*memo{}
	versions = map[string]*memo{}
)

func entryFor(id string) *memo {
	memoMu.Lock()
	defer memoMu.Unlock()
	if memos[id] == nil {
		memos[id] = &memo{}
	}
	return memos[id]
}

// version runs the tool's version command once per test process.
func (c CLI) version() (string, error) {
	if len(c.Version) == 0 {
		return "", fmt.Errorf("%s: no version command to key its cache by", c.Path)
	}
	k := c.Path + "\x00" + strings.Join(c.Version, "\x00")
	memoMu.Lock()
	e := versions[k]
	if e == nil {
		e = &memo{}
		versions[k] = e
	}
	memoMu.Unlock()
	e.once.Do(func() {
		cmd := exec.Command(c.Path, c.Version...)
		cmd.Env = c.Env
		out, err := cmd.Output()
		if err != nil || len(strings.TrimSpace(string(out))) == 0 {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				out = append(out, ee.Stderr...)
			}
			e.err = fmt.Errorf("%s %s (the key of its help cache): %v\n%s", c.Path, strings.Join(c.Version, " "), err, out)
			return
		}
		e.out = string(out)
	})
	return e.out, e.err
}

func cacheID(path, version string, key []string) string {
	h := sha256.New()
	for _, s := range append([]string{path, version}, key...) {
		fmt.Fprintf(h, "%d:%s\x00", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// cacheEntry is one file of the disk cache; what it was made from is
// stored with it and compared on every read.
type cacheEntry struct {
	Path    string   `json:"path"`
	Version string   `json:"version"`
	Key     []string `json:"key"`
	Output  string   `json:"output"`
}

// cacheFile is where an entry lives, or "" with no cache directory.
func cacheFile(path, id string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "rekwiz-tests", "cli", filepath.Base(path), id+".json")
}

func readCached(file, path, version string, key []string) (string, bool) {
	if file == "" {
		return "", false
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", false
	}
	var e cacheEntry
	if json.Unmarshal(b, &e) != nil || e.Path != path || e.Version != version || strings.Join(e.Key, "\x00") != strings.Join(key, "\x00") || e.Output == "" {
		return "", false
	}
	return e.Output, true
}

// writeCached writes an entry whole or not at all (a temporary file
// renamed into place); a cache that cannot be written is no error.
func writeCached(file string, e cacheEntry) {
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(file), 0o700) != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b)
	if cerr := tmp.Close(); werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return
	}
	if os.Rename(tmp.Name(), file) != nil {
		os.Remove(tmp.Name())
	}
}

func firstLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}
