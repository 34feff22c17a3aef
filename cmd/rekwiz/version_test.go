package main

import (
	"os"
	osexec "os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolveVersion(t *testing.T) {
	t.Parallel()
	const rev = "0123456789abcdef0123456789abcdef01234567"
	settings := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	checkout := &debug.BuildInfo{
		Main:     debug.Module{Path: "github.com/rekwiz/rekwiz", Version: "v0.0.0-20261202150405-0123456789ab+dirty"},
		Settings: settings("-trimpath", "true", "vcs", "git", "vcs.revision", rev, "vcs.time", "2026-12-02T15:04:05Z", "vcs.modified", "true"),
	}
	for _, tc := range []struct {
		name                     string
		ldVersion, ldCommit, ldD string
		bi                       *debug.BuildInfo
		want                     string
	}{
		{"make dist: the stamped values win", "v1.2.0", rev, "2026-11-30T10:00:00Z", checkout,
			"rekwiz v1.2.0 (commit 0123456789ab, 2026-11-30T10:00:00Z)"},
		{"make build in a changed tree", "v1.2.0-3-g0123456-dirty", rev, "2026-11-30T10:00:00Z", nil,
			"rekwiz v1.2.0-3-g0123456-dirty (commit 0123456789ab, modified, 2026-11-30T10:00:00Z)"},
		{"go install …@v1.2.0: the module version, no VCS", "dev", "", "",
			&debug.BuildInfo{Main: debug.Module{Path: "github.com/rekwiz/rekwiz", Version: "v1.2.0"}},
			"rekwiz v1.2.0 (commit unknown, date unknown)"},
		{"go install …@main: a pseudo-version carries the commit and its time", "dev", "", "",
			&debug.BuildInfo{Main: debug.Module{Path: "github.com/rekwiz/rekwiz", Version: "v1.2.1-0.20261202150405-0123456789ab"}},
			"rekwiz v1.2.1-0.20261202150405-0123456789ab (commit 0123456789ab, 2026-12-02T15:04:05Z)"},
		{"go build or go install in a checkout: the VCS settings", "dev", "", "", checkout,
			"rekwiz v0.0.0-20261202150405-0123456789ab+dirty (commit 0123456789ab, modified, 2026-12-02T15:04:05Z)"},
		{"go run: (devel) and no VCS", "dev", "", "",
			&debug.BuildInfo{Main: debug.Module{Path: "github.com/rekwiz/rekwiz", Version: "(devel)"}},
			"rekwiz dev (commit unknown, date unknown)"},
		{"no build info at all", "dev", "", "", nil, "rekwiz dev (commit unknown, date unknown)"},
	} {
		if got := resolveVersion(tc.ldVersion, tc.ldCommit, tc.ldD, tc.bi).String(); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
	v := resolveVersion("dev", "", "", checkout)
	if v.Commit != rev || !v.Modified || v.Date != "2026-12-02T15:04:05Z" {
		t.Errorf("checkout: %+v", v)
	}
}

// TestBinaryBuiltWithoutLdflagsKnowsItsCommit: a plain go build (what
// go install does in a checkout) stamps no -X values, and --version
// still names the commit it was built from, read from the build info.
// (The stamped path is run end to end by the install test, on make
// dist's binary.)
func TestBinaryBuiltWithoutLdflagsKnowsItsCommit(t *testing.T) {
	head, err := osexec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not in a git checkout (%v): go build records no commit", err)
	}
	top, err := osexec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !fi.IsDir() {
		// A clone (CI's) has one; go build records nothing in a worktree.
		t.Skip("a git worktree: .git is a file, and go build reads VCS settings only where .git is a directory")
	}
	if testing.Short() {
		t.Skip("builds the binary")
	}
	// -buildvcs=true: go install's default, which GOFLAGS may turn off.
	bin := filepath.Join(t.TempDir(), "rekwiz")
	if out, err := osexec.Command("go", "build", "-buildvcs=true", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := osexec.Command(bin, "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	if strings.HasPrefix(got, "rekwiz dev") || !strings.Contains(got, "(commit "+string(head[:12])) || strings.Contains(got, "date unknown") {
		t.Fatalf("--version printed %q; want a version, commit %s and a date from the build info", got, head[:12])
	}
}
