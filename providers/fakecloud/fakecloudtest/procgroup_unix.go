//go:build unix

package fakecloudtest

import (
	"os/exec"
	"syscall"
)

// newProcessGroup starts cmd in a process group of its own, so that
// stopping it stops what it started too (moto_server's workers).
func newProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// stopProcessGroup sends SIGTERM, or SIGKILL when kill is set, to the
// process group of pid (which newProcessGroup made its leader).
func stopProcessGroup(pid int, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-pid, sig)
}
