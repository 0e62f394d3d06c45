package redisproc

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill the server when the test binary
// dies, so that a crashed or killed test leaves no redis-server behind.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
