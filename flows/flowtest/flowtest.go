// Package flowtest holds what the tests of several packages share: the
// golden files under the repository's testdata directory.
package flowtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// UpdateEnv names the variable that rewrites golden files instead of
// comparing with them: REKWIZ_UPDATE_GOLDEN=1 go test ./...
const UpdateEnv = "REKWIZ_UPDATE_GOLDEN"

// Golden compares got with testdata/NAME at the repository's root.
func Golden(t testing.TB, name, got string) {
	t.Helper()
	path := filepath.Join(RepoRoot(t), "testdata", name)
	if os.Getenv(UpdateEnv) == "1" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run %s=1 go test to create it)", err, UpdateEnv)
	}
	if string(want) != got {
		t.Fatalf("%s differs (if the change is meant, run %s=1 go test):\n%s", path, UpdateEnv, firstDiff(string(want), got))
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
