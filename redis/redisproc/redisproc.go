// Package redisproc runs redis-server processes on free loopback ports: a
// standalone server that can be killed, restarted, paused and resumed, and a
// Redis Cluster of n masters, plus a minimal RESP client to drive them. The
// tests use it through package redistest; `authd bench` uses it to start its
// own cluster.
package redisproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// ServerBinary returns the path of redis-server: from PATH, else
// /usr/bin/redis-server.
func ServerBinary() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server", nil
	}
	return "", errors.New("redis-server not found on PATH nor at /usr/bin/redis-server")
}

// freePort returns a loopback port that is free now; with bus, one whose
// cluster bus port (port+10000) is free too.
func freePort(bus bool) (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		if !bus {
			l.Close()
			return port, nil
		}
		if port+10000 > 65535 {
			l.Close()
			continue
		}
		l2, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port+10000))
		l.Close()
		if err != nil {
			continue
		}
		l2.Close()
		return port, nil
	}
	return 0, errors.New("redistest: no free port pair found")
}

// Command sends one command to addr over a fresh connection and returns
// the reply as text: a simple or bulk string, an integer, or an error for
// an error reply (arrays are not supported). It is enough for PING,
// CLUSTER, INFO and CONFIG SET, and needs nothing of the server but to
// listen.
func Command(ctx context.Context, addr string, args ...string) (string, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Second)
	}
	conn.SetDeadline(deadline)
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", err
		}
		buf := make([]byte, n+2)
		if _, err := ioReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}

func ioReadFull(r *bufio.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// ClusterURL is the redis-cluster:// URL of the nodes at addrs.
func ClusterURL(addrs []string) string {
	return "redis-cluster://" + strings.Join(addrs, ",")
}

// StandaloneURL is the redis:// URL of database 0 of the server at addr.
func StandaloneURL(addr string) string {
	return (&url.URL{Scheme: "redis", Host: addr, Path: "/0"}).String()
}
