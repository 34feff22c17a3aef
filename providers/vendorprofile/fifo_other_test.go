//go:build !unix

package vendorprofile

import "testing"

// mkfifo skips the rest of the test: there are no named pipes in the
// file system here.
func mkfifo(t *testing.T, _ string) {
	t.Skip("no named pipes in the file system on this system")
}
