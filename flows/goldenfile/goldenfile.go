// Package goldenfile holds what the tests of several packages share: the
// golden files under the repository's testdata directory.
package goldenfile

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	// The golden package teatest uses registers -update; importing it
	// here makes `go test ./... -update` mean the same in every package
	// (a second flag of that name would panic).
	_ "github.com/charmbracelet/x/exp/golden"
)

// UpdateEnv names the variable that, like -update, rewrites golden files
// instead of comparing with them: REKWIZ_UPDATE_GOLDEN=1 go test ./...
const UpdateEnv = "REKWIZ_UPDATE_GOLDEN"

func updating() bool {
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		return true
	}
	return os.Getenv(UpdateEnv) == "1"
}

// Golden compares got with testdata/NAME at the repository's root.
func Golden(t testing.TB, name, got string) {
	t.Helper()
	path := filepath.Join(RepoRoot(t), "testdata", name)
	if updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Fatalf("%s differs (if the change is meant, run go test -update):\n%s", path, firstDiff(string(want), got))
	}
}

func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + strconv.Itoa(i+1) + ":\n- " + wl + "\n+ " + gl
		}
	}
	return ""
}

// RepoRoot is the directory holding go.mod, above the test's package.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
