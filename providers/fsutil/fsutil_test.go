package fsutil_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rekwiz/rekwiz/providers/fsutil"
)

func TestReadFileRefusesWhatIsNotASmallRegularFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "profile.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.json")
	if err := os.WriteFile(huge, make([]byte, fsutil.MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		fifo:        "not a regular file (a named pipe)",
		"/dev/zero": "not a regular file (a character device)",
		dir:         "not a regular file (a directory)",
		huge:        "too large",
	} {
		done := make(chan error, 1)
		go func() { _, err := fsutil.ReadFile(path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
				t.Errorf("%s: %v, want %q and the path", path, err, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("%s: ReadFile hangs", path)
		}
	}
	ok := filepath.Join(dir, "ok.json")
	if err := os.WriteFile(ok, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := fsutil.ReadFile(ok); err != nil || string(b) != "{}" {
		t.Fatalf("%q %v", b, err)
	}
	if _, err := fsutil.ReadFile(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}

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
