//go:build !unix

package fakecloudtest

import (
	"os"
	"os/exec"
)

// Without Unix process groups (Windows, where moto_server is not run by
// these tests) the process itself is stopped.
func newProcessGroup(*exec.Cmd) {}

func stopProcessGroup(pid int, _ bool) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}
