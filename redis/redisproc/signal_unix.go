//go:build unix

package redisproc

import (
	"fmt"
	"os"
	"syscall"
)

// Pause stops the server with SIGSTOP: it keeps its connections open but
// answers nothing, like a hung or partitioned server. Resume undoes it.
func (s *Server) Pause() error { return s.signal(syscall.SIGSTOP) }

// Resume continues a paused server with SIGCONT.
func (s *Server) Resume() error { return s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig os.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return fmt.Errorf("redisproc: server %s is not running", s.Addr)
	}
	return s.cmd.Process.Signal(sig)
}
