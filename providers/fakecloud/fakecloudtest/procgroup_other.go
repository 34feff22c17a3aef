//go:build !unix

package fakecloudtest

import "os/exec"

// Without Unix process groups (Windows, where moto_server is not run by
// these tests) the process itself is stopped.
func newProcessGroup(*exec.Cmd) {}

func stopProcessGroup(cmd *exec.Cmd, _ bool) { _ = cmd.Process.Kill() }
