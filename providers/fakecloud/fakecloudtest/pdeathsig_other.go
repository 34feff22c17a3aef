//go:build !linux

package fakecloudtest

import "os/exec"

// dieWithParent has no equivalent outside Linux: there the cleanup of the
// test that leased moto_server stops it.
func dieWithParent(*exec.Cmd) {}
