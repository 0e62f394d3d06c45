package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// startTimeout bounds how long a child may take to print its ready line.
const startTimeout = 60 * time.Second

// node is one `authd serve` child process.
type node struct {
	name string
	addr string // 127.0.0.1:port, from the ready line
	base string // http://addr
	log  string // path of its stderr file
	// started is the time from starting the process to its ready line.
	started time.Duration

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	once sync.Once
}

// procs tracks every child a run started, so that all of them die with it
// however the run ends.
type procs struct {
	mu    sync.Mutex
	nodes map[*node]struct{}
}

func (p *procs) add(n *node) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.nodes == nil {
		p.nodes = map[*node]struct{}{}
	}
	p.nodes[n] = struct{}{}
}

func (p *procs) remove(n *node) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.nodes, n)
}

// killAll kills every child still tracked.
func (p *procs) killAll() {
	p.mu.Lock()
	ns := make([]*node, 0, len(p.nodes))
	for n := range p.nodes {
		ns = append(ns, n)
	}
	p.mu.Unlock()
	for _, n := range ns {
		n.kill()
		p.remove(n)
	}
}

// startNode runs `exe serve args…` with its stderr in logPath and waits for
// its "authd listening on ADDR" line. A child that exits first is reported
// with the last line of its stderr (authd's one-line error).
func startNode(ctx context.Context, pr *procs, name, exe string, env []string, logPath string, args []string) (*node, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child holds its own descriptor
	cmd := exec.Command(exe, append([]string{"serve"}, args...)...)
	cmd.Env = env
	cmd.Stderr = logf
	cmd.SysProcAttr = childAttr()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", exe, err)
	}
	n := &node{name: name, log: logPath, cmd: cmd, done: make(chan struct{})}
	pr.add(n)
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "authd listening on "); ok {
				select {
				case ready <- strings.TrimSpace(a):
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
		cmd.Wait()
		close(n.done)
	}()
	t := time.NewTimer(startTimeout)
	defer t.Stop()
	select {
	case a := <-ready:
		n.started = time.Since(t0)
		n.addr, n.base = a, "http://"+a
		return n, nil
	case <-n.done:
		pr.remove(n)
		return nil, fmt.Errorf("%s exited at start: %s", name, lastLine(logPath))
	case <-t.C:
		n.kill()
		pr.remove(n)
		return nil, fmt.Errorf("%s not ready after %s: %s", name, startTimeout, lastLine(logPath))
	case <-ctx.Done():
		n.kill()
		pr.remove(n)
		return nil, ctx.Err()
	}
}

// stop asks the child to stop (SIGTERM: authd finishes in-flight requests
// and closes its stores) and kills its process group if it has not exited
// within a few seconds.
func (n *node) stop() {
	n.once.Do(func() {
		terminate(n.cmd)
		n.waitExit()
		killGroup(n.cmd)
		<-n.done
	})
}

// kill kills the child's process group at once.
func (n *node) kill() {
	n.once.Do(func() {
		killGroup(n.cmd)
		n.waitExit()
	})
}

// waitExit waits for the child to exit, for 5 s at most.
func (n *node) waitExit() {
	t := time.NewTimer(5 * time.Second)
	defer t.Stop()
	select {
	case <-n.done:
	case <-t.C:
	}
}

func (n *node) pid() int { return n.cmd.Process.Pid }

// exited reports whether the child has died.
func (n *node) exited() bool {
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// lastLine returns the last non-empty line of a file, or a note that it
// has none.
func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no stderr: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return l
	}
	return "(nothing on stderr)"
}

// clockTick is the unit of utime and stime in /proc/PID/stat: USER_HZ,
// which is 100 on every Linux that Go supports.
const clockTick = 10 * time.Millisecond

// cpuTime returns the user plus system CPU time the process has used so
// far, from /proc/PID/stat (fields 14 and 15); ok is false where there is
// no such file.
func cpuTime(pid int) (d time.Duration, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields from the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, false
	}
	return time.Duration(ut+st) * clockTick, true
}

// cpuOf sums cpuTime over nodes; ok is false if any could not be read.
func cpuOf(nodes []*node) (time.Duration, bool) {
	var sum time.Duration
	for _, n := range nodes {
		d, ok := cpuTime(n.pid())
		if !ok {
			return 0, false
		}
		sum += d
	}
	return sum, true
}

// resetPeakRSS resets the process's peak resident set size (VmHWM) to its
// current one, by writing 5 to /proc/PID/clear_refs (Linux 4.0 and later,
// the process's owner only); false where it cannot.
func resetPeakRSS(pid int) bool {
	return os.WriteFile("/proc/"+strconv.Itoa(pid)+"/clear_refs", []byte("5"), 0) == nil
}

// peakRSS returns the process's peak resident set size in bytes, VmHWM of
// /proc/PID/status; ok is false where there is no such file.
func peakRSS(pid int) (int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	return parseVmHWM(string(b))
}

// fileRSS returns the file-backed part of the process's resident set in
// bytes, RssFile of /proc/PID/status: mostly the binary's code, shared
// and given back under memory pressure.
func fileRSS(pid int) (int64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, false
	}
	return statusKB(string(b), "RssFile:")
}

// parseVmHWM reads the "VmHWM:   1234 kB" line of a /proc/PID/status.
func parseVmHWM(status string) (int64, bool) { return statusKB(status, "VmHWM:") }

// statusKB reads the "KEY   1234 kB" line of a /proc/PID/status in bytes.
func statusKB(status, key string) (int64, bool) {
	for line := range strings.SplitSeq(status, "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}

// childEnv is the environment of the children: this process's, less every
// AUTHD_ variable (the children get their settings as flags only), plus
// extra.
func childEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AUTHD_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}
