//go:build unix

package fsutil

import (
	"errors"
	"syscall"
)

// Flags for os.OpenFile where the system has them: a symlink is not
// followed, and a FIFO with no writer does not block the open (os.OpenFile
// sets O_CLOEXEC itself).
const (
	openNoFollow = syscall.O_NOFOLLOW
	openNonBlock = syscall.O_NONBLOCK
)

// isLoop reports the error O_NOFOLLOW gives for a symlink.
func isLoop(err error) bool { return errors.Is(err, syscall.ELOOP) }
