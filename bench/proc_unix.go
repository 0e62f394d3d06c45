//go:build unix && !linux

package bench

import (
	"os/exec"
	"syscall"
)

// childAttr puts a child in a process group of its own. There is no
// parent-death signal here: a bench killed with SIGKILL leaves its
// children behind.
func childAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func terminate(cmd *exec.Cmd) { cmd.Process.Signal(syscall.SIGTERM) }

func killGroup(cmd *exec.Cmd) {
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	cmd.Process.Kill()
}
