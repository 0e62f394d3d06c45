package redisproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ReadyTimeout bounds how long a started server may take to answer PING.
const ReadyTimeout = 15 * time.Second

// Server is a redis-server process owned by its starter.
type Server struct {
	Addr string // 127.0.0.1:port
	Dir  string // its working directory: log, AOF and RDB files

	bin  string
	port int
	args []string
	log  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when the current process has exited
}

// NewServer starts a standalone redis-server in dir with extra arguments
// args (for example "--appendonly", "yes" to keep data across Restart) on a
// free loopback port, and waits until it answers PING. The caller must Kill
// it.
func NewServer(dir string, args ...string) (*Server, error) {
	bin, err := ServerBinary()
	if err != nil {
		return nil, err
	}
	return newServer(bin, dir, false, args...)
}

func newServer(bin, dir string, cluster bool, args ...string) (*Server, error) {
	var lastErr error
	for range 5 { // a free port can be taken between choosing and binding it
		port, err := freePort(cluster)
		if err != nil {
			return nil, err
		}
		s := &Server{
			Addr: "127.0.0.1:" + strconv.Itoa(port),
			Dir:  dir,
			bin:  bin,
			port: port,
			args: args,
			log:  filepath.Join(dir, "redis.log"),
		}
		if lastErr = s.start(); lastErr == nil {
			return s, nil
		}
		if !strings.Contains(lastErr.Error(), "in use") {
			return nil, lastErr
		}
	}
	return nil, lastErr
}

// URL is the redis:// URL of the server's database 0.
func (s *Server) URL() string { return StandaloneURL(s.Addr) }

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("redisproc: server %s is already running", s.Addr)
	}
	argv := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.Dir,
		"--logfile", s.log,
		"--save", "",
		"--appendonly", "no",
		"--protected-mode", "no",
		"--daemonize", "no",
	}
	argv = append(argv, s.args...)
	cmd := exec.Command(s.bin, argv...)
	cmd.Dir = s.Dir
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("redisproc: start %s: %w", s.bin, err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		close(done)
	}()
	s.cmd, s.done = cmd, done

	ctx, cancel := context.WithTimeout(context.Background(), ReadyTimeout)
	defer cancel()
	var last error
	for {
		select {
		case <-done:
			s.cmd = nil
			return fmt.Errorf("redisproc: redis-server on %s exited at start (%s): %s\n%s", s.Addr, cmd.ProcessState, strings.TrimSpace(stderr.String()), s.LogTail(20))
		default:
		}
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		reply, err := Command(pctx, s.Addr, "PING")
		pcancel()
		if err == nil && reply == "PONG" {
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			cmd.Process.Kill()
			<-done
			s.cmd = nil
			return fmt.Errorf("redisproc: redis-server on %s not ready after %s (last: %v)\n%s", s.Addr, ReadyTimeout, last, s.LogTail(20))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Kill kills the server with SIGKILL (no shutdown save) and waits until it
// has exited. Killing a stopped server does nothing.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	err := s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
	if err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("redisproc: kill %s: %w", s.Addr, err)
	}
	return nil
}

// Restart starts the killed server again on the same port, in the same
// directory (so an AOF written before is loaded), and waits until it
// answers PING.
func (s *Server) Restart() error {
	if err := s.Kill(); err != nil {
		return err
	}
	var err error
	for range 50 { // the port may linger for a moment after the kill
		if err = s.start(); err == nil || !strings.Contains(err.Error(), "in use") {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

// LogTail returns the last n lines of the server's log file.
func (s *Server) LogTail(n int) string {
	b, err := os.ReadFile(s.log)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "log tail of " + s.log + ":\n\t" + strings.Join(lines, "\n\t")
}
