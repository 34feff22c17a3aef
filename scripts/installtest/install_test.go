package installtest

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// testVersion is stamped into the archive the test builds, to find it in
// what the installed binary prints.
const testVersion = "v0.0.0-installtest"

// tool finds a program the test needs: missing, it skips the test, or
// fails it under CI=true.
func tool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (.ci/run installs it)", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// TestInstallScript builds the release archive for this machine with make
// dist, serves it on 127.0.0.1, and runs install.sh as the README says
// (curl -fsSL …/install.sh | sh) with an empty HOME: it installs a
// binary that runs; and it refuses a tampered archive, an unknown
// architecture, a SHA256SUMS without the archive's line and a wrong
// address, each with a one-line message, installing nothing.
func TestInstallScript(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("-short: builds a release archive with make dist (a cross-compile of rekwiz)")
	}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	switch platform {
	case "linux/amd64", "linux/arm64", "darwin/amd64", "darwin/arm64":
	default:
		t.Skipf("install.sh installs on Linux and macOS (amd64, arm64), not %s", platform)
	}
	for _, name := range []string{"make", "sh", "curl", "tar", "gzip"} {
		tool(t, name)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	installSh := filepath.Join(root, "scripts", "install.sh")
	archive := "rekwiz_" + runtime.GOOS + "_" + runtime.GOARCH + ".tar.gz"

	// The releases: as make dist writes them, one with the archive's
	// bytes changed, and one whose SHA256SUMS lacks the archive's line.
	good := t.TempDir()
	mk := exec.Command("make", "-C", root, "dist", "PLATFORMS="+platform, "DIST="+good, "VERSION="+testVersion)
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make dist: %v\n%s", err, out)
	}
	for _, f := range []string{archive, "SHA256SUMS", "install.sh"} {
		if _, err := os.Stat(filepath.Join(good, f)); err != nil {
			t.Fatalf("make dist wrote no %s: %v", f, err)
		}
	}
	tampered := copyDir(t, good)
	b, err := os.ReadFile(filepath.Join(tampered, archive))
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	write(t, filepath.Join(tampered, archive), b)
	noSum := copyDir(t, good)
	sums, err := os.ReadFile(filepath.Join(noSum, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(sums), "  "+archive+"\n") {
		t.Fatalf("SHA256SUMS has no line for %s:\n%s", archive, sums)
	}
	var kept []string
	for _, l := range strings.Split(strings.TrimSpace(string(sums)), "\n") {
		if !strings.HasSuffix(l, " "+archive) {
			kept = append(kept, l)
		}
	}
	write(t, filepath.Join(noSum, "SHA256SUMS"), []byte(strings.Join(kept, "\n")+"\n"))

	mux := http.NewServeMux()
	for prefix, dir := range map[string]string{"/good/": good, "/tampered/": tampered, "/nosum/": noSum} {
		mux.Handle(prefix, http.StripPrefix(strings.TrimSuffix(prefix, "/"), http.FileServer(http.Dir(dir))))
	}
	srv := httptest.NewServer(mux) // on 127.0.0.1
	t.Cleanup(srv.Close)

	// fakeUname is a uname first on PATH that says riscv64 for -m.
	fakeBin := t.TempDir()
	write(t, filepath.Join(fakeBin, "uname"), []byte("#!/bin/sh\ncase $1 in -m) echo riscv64 ;; *) echo Linux ;; esac\n"))
	if err := os.Chmod(filepath.Join(fakeBin, "uname"), 0o755); err != nil {
		t.Fatal(err)
	}

	type result struct {
		home           string
		code           int
		stdout, stderr string
	}
	// install runs script (a shell command line) with an empty HOME,
	// nothing but the system's PATH (plus pathFirst), and base as
	// REKWIZ_BASE_URL.
	install := func(t *testing.T, script, base string, pathFirst ...string) result {
		t.Helper()
		r := result{home: t.TempDir()}
		cmd := exec.Command("sh", "-c", script)
		path := strings.Join(append(pathFirst, os.Getenv("PATH")), string(os.PathListSeparator))
		cmd.Env = []string{"HOME=" + r.home, "PATH=" + path, "REKWIZ_BASE_URL=" + base, "LC_ALL=C"}
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		r.stdout, r.stderr = o.String(), e.String()
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		return r
	}
	refused := func(t *testing.T, r result, want string) {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if r.code != 1 || len(lines) != 1 || !strings.HasPrefix(lines[0], "rekwiz install: ") || !strings.Contains(lines[0], want) {
			t.Errorf("exit %d, stderr %q; want exit 1 and one line saying %q", r.code, r.stderr, want)
		}
		if entries, _ := os.ReadDir(filepath.Join(r.home, ".local", "bin")); len(entries) > 0 {
			t.Errorf("installed %v anyway", entries)
		}
	}
	sh := "sh " + shellQuote(installSh)

	t.Run("installs", func(t *testing.T) {
		t.Parallel()
		// As the README says, with the served copy of install.sh.
		r := install(t, "curl -fsSL "+srv.URL+"/good/install.sh | sh", srv.URL+"/good")
		bin := filepath.Join(r.home, ".local", "bin", "rekwiz")
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		for _, want := range []string{"checksum verified", "installed rekwiz " + testVersion + " (commit ", "as " + bin,
			"is not on your PATH", `export PATH="` + filepath.Dir(bin) + `:$PATH"`} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("stdout lacks %q", want)
			}
		}
		out, err := exec.Command(bin, "--version").Output()
		if err != nil || !strings.HasPrefix(string(out), "rekwiz "+testVersion+" (commit ") || strings.Contains(string(out), "unknown") {
			t.Errorf("the installed rekwiz --version: %q %v; want the stamped version, commit and date", out, err)
		}
		if fi, err := os.Stat(bin); err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("the binary: %v %v", fi, err)
		}
		if _, err := os.Stat(filepath.Join(r.home, ".local", "share", "man", "man1", "rekwiz-script.1")); err != nil {
			t.Errorf("man pages: %v", err)
		}
	})
	t.Run("on PATH, with wget", func(t *testing.T) {
		t.Parallel()
		wget := tool(t, "wget")
		// A PATH with wget and no curl: the script falls back to wget.
		noCurl := t.TempDir()
		for _, name := range []string{"sh", "uname", "mktemp", "rm", "awk", "cut", "tr", "sha256sum", "tar", "gzip", "mkdir", "cp", "chmod", "mv", "dirname", "cat"} {
			p := tool(t, name)
			if err := os.Symlink(p, filepath.Join(noCurl, name)); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(wget, filepath.Join(noCurl, "wget")); err != nil {
			t.Fatal(err)
		}
		r := result{home: t.TempDir()}
		bin := filepath.Join(r.home, ".local", "bin")
		cmd := exec.Command(filepath.Join(noCurl, "sh"), installSh)
		cmd.Env = []string{"HOME=" + r.home, "PATH=" + bin + ":" + noCurl, "REKWIZ_BASE_URL=" + srv.URL + "/good/"}
		out, err := cmd.CombinedOutput()
		t.Logf("%v\n%s", err, out)
		if err != nil || !strings.Contains(string(out), "installed rekwiz "+testVersion) || !strings.Contains(string(out), "run: rekwiz --help") ||
			strings.Contains(string(out), "not on your PATH") {
			t.Fatalf("%v: %s", err, out)
		}
	})
	t.Run("tampered archive", func(t *testing.T) {
		t.Parallel()
		refused(t, install(t, sh, srv.URL+"/tampered"), "checksum mismatch for "+archive)
	})
	t.Run("unknown architecture", func(t *testing.T) {
		t.Parallel()
		refused(t, install(t, sh, srv.URL+"/good", fakeBin), "unsupported architecture riscv64 (uname -m)")
	})
	t.Run("missing checksum", func(t *testing.T) {
		t.Parallel()
		refused(t, install(t, sh, srv.URL+"/nosum"), "SHA256SUMS has no checksum for "+archive)
	})
	t.Run("wrong address", func(t *testing.T) {
		t.Parallel()
		refused(t, install(t, sh, srv.URL+"/nothing-here"), "could not download "+srv.URL+"/nothing-here/SHA256SUMS (curl: (22) The requested URL returned error: 404)")
	})
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dst, e.Name()), b)
	}
	return dst
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
