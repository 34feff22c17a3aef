//go:build !unix

package fsutil

// Windows has neither flag: the Lstat before the open refuses a symlink,
// and opening a named pipe there does not wait for a writer.
const (
	openNoFollow = 0
	openNonBlock = 0
)

func isLoop(error) bool { return false }
