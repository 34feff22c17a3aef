// Package fsutil holds the file handling rekwiz's own files share:
// atomic writes (temp file, fsync, rename, fsync of the directory) with
// mode 0600 in a 0700 directory, and an advisory lock that keeps two
// rekwiz processes from interleaving a read-modify-write.
package fsutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gofrs/flock"
)

// WriteAtomic replaces path with data: a reader sees the old file or the
// new one, never a half-written one, and the rename survives a crash.
func WriteAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// ErrLocked is returned when another process holds the lock past the
// wait.
var ErrLocked = errors.New("another rekwiz is updating this file")

// Lock takes an exclusive advisory lock on path+".lock" (flock on Unix,
// LockFileEx on Windows, through github.com/gofrs/flock), waiting up to
// wait (and no longer than ctx) for another holder to let go. The
// returned function releases it.
func Lock(ctx context.Context, path string, wait time.Duration) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	lock := path + ".lock"
	// A symlink at the lock's path, dangling or not, is refused: it is
	// never followed to create or lock what it names (O_NOFOLLOW where
	// the system has it closes the gap between this check and the open).
	if fi, err := os.Lstat(lock); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, symlinkError(lock)
	} else if err == nil && !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file; remove it and try again", lock)
	}
	fl := flock.New(lock, flock.SetFlag(os.O_CREATE|os.O_RDWR|openNoFollow), flock.SetPermissions(0o600))
	ok, err := fl.TryLock()
	if err == nil && !ok {
		wctx, cancel := context.WithTimeout(ctx, wait)
		ok, err = fl.TryLockContext(wctx, 20*time.Millisecond)
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w (%s.lock is held); close the other rekwiz and try again", ErrLocked, path)
		}
	}
	if isLoop(err) {
		return nil, symlinkError(lock)
	}
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if !ok { // not reached: TryLockContext returns true or an error
		return nil, fmt.Errorf("%w (%s.lock is held); close the other rekwiz and try again", ErrLocked, path)
	}
	if fi, err := fl.Stat(); err != nil || !fi.Mode().IsRegular() {
		_ = fl.Unlock()
		return nil, fmt.Errorf("%s is not a regular file; remove it and try again", lock)
	}
	return func() { _ = fl.Unlock() }, nil
}

func symlinkError(lock string) error {
	return fmt.Errorf("%s is a symbolic link; rekwiz does not follow it. Remove it and try again", lock)
}

// MaxFileSize is the largest file rekwiz reads: profiles, the registry
// and session files are a few kilobytes.
const MaxFileSize = 1 << 20

// ReadFile reads a file rekwiz takes as input, only if it is a regular
// file of at most MaxFileSize bytes. A FIFO, a device, a directory or a
// huge file is refused at once, with an error naming the path: the file
// is opened without blocking (a FIFO with no writer would wait forever)
// and checked before anything is read. A missing file's error wraps
// fs.ErrNotExist.
func ReadFile(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNonBlock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s); expected a JSON file", path, kind(fi.Mode()))
	}
	if fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s: too large (%d bytes); expected at most %d", path, fi.Size(), MaxFileSize)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%s: too large (more than %d bytes)", path, MaxFileSize)
	}
	return b, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	}
	return m.Type().String()
}

// DirWarning says, when dir exists with access wider than 0700, that
// others may read what rekwiz keeps there, and how to fix it; "" when
// dir is private or does not exist.
func DirWarning(dir string) string {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return ""
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return ""
	}
	return fmt.Sprintf("%s is readable by others (mode %04o); run: chmod 700 %s", dir, fi.Mode().Perm(), dir)
}

// WriteExecutable saves a script the customer asked to keep, mode 0700.
// Without replace it never overwrites: the file is created exclusively,
// and exists reports one already there (nothing is written). With
// replace it writes a temporary file beside path and renames it into
// place. A failed write leaves no partial file.
func WriteExecutable(path, content string, replace bool) (exists bool, err error) {
	if !replace {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o700)
		if errors.Is(err, fs.ErrExist) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		_, err = f.WriteString(content)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".rekwiz-script-*")
	if err != nil {
		return false, err
	}
	_, err = tmp.WriteString(content)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o700)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return false, err
}

// ExpandPath makes a file name typed by the customer a path: ~/ is the
// home directory, and a relative name is in dir.
func ExpandPath(name, dir string) string {
	if rest, ok := strings.CutPrefix(name, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			name = filepath.Join(home, rest)
		}
	}
	if !filepath.IsAbs(name) {
		name = filepath.Join(dir, name)
	}
	return name
}
