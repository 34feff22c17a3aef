package fsutil_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rekwiz/rekwiz/providers/fsutil"
)

func TestLockRefusesASymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	for name, link := range map[string]string{"dangling": target, "existing": filepath.Join(dir, "real")} {
		path := filepath.Join(dir, name+".json")
		if name == "existing" {
			if err := os.WriteFile(link, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(link, path+".lock"); err != nil {
			t.Fatal(err)
		}
		unlock, err := fsutil.Lock(context.Background(), path, time.Second)
		if err == nil {
			unlock()
			t.Fatalf("%s: a symlinked lock was followed", name)
		}
		if !strings.Contains(err.Error(), "symbolic link") || !strings.Contains(err.Error(), path+".lock") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the dangling link's target was created: %v", err)
	}
	unlock, err := fsutil.Lock(context.Background(), filepath.Join(dir, "plain.json"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
}

func TestDirWarningNamesAWideConfigDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "rekwiz")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if w := fsutil.DirWarning(dir); w != "" {
		t.Fatalf("0700: %q", w)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if w := fsutil.DirWarning(dir); !strings.Contains(w, dir) || !strings.Contains(w, "chmod 700 "+dir) {
		t.Fatalf("0755: %q", w)
	}
	if w := fsutil.DirWarning(filepath.Join(dir, "missing")); w != "" {
		t.Fatalf("missing: %q", w)
	}
}

// TestLockWaitsThenSaysItIsHeld: a second Lock on the same file waits
// for the holder, gives up after its wait with ErrLocked, returns at once
// with ctx's error when ctx ends first, and gets the lock once it is let go.
func TestLockWaitsThenSaysItIsHeld(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "rekwiz", "registry.json")
	unlock, err := fsutil.Lock(context.Background(), path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + ".lock"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("lock file: %v %v", fi, err)
	}
	start := time.Now()
	if _, err := fsutil.Lock(context.Background(), path, 150*time.Millisecond); !errors.Is(err, fsutil.ErrLocked) || !strings.Contains(err.Error(), path+".lock is held") {
		t.Fatalf("held: %v", err)
	}
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Fatalf("gave up after %v, before its wait", waited)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := fsutil.Lock(ctx, path, time.Minute); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := fsutil.Lock(context.Background(), path, 0); !errors.Is(err, fsutil.ErrLocked) {
		t.Fatalf("no wait: %v", err)
	}
	got := make(chan error, 1)
	go func() {
		u, err := fsutil.Lock(context.Background(), path, 5*time.Second)
		if err == nil {
			u()
		}
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	unlock()
	if err := <-got; err != nil {
		t.Fatalf("after the holder let go: %v", err)
	}
}

func TestLockRefusesADirectory(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "registry.json")
	if err := os.Mkdir(path+".lock", 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := fsutil.Lock(context.Background(), path, time.Second); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("err = %v", err)
	}
}
