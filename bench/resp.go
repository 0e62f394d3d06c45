package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// respConn is the smallest Redis client the bench needs: one connection,
// one command at a time, replies as strings, integers, errors and arrays.
type respConn struct {
	c net.Conn
	r *bufio.Reader
}

// dialRedis connects to a redis:// URL (password and database number
// honoured) or to a plain host:port.
func dialRedis(ctx context.Context, target string) (*respConn, error) {
	addr, user, pass, db := target, "", "", ""
	if strings.Contains(target, "://") {
		u, err := url.Parse(target)
		if err != nil {
			return nil, err
		}
		addr = u.Host
		if u.User != nil {
			user = u.User.Username()
			pass, _ = u.User.Password()
		}
		db = strings.Trim(u.Path, "/")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	rc := &respConn{c: c, r: bufio.NewReader(c)}
	if pass != "" {
		args := []string{"AUTH", pass}
		if user != "" {
			args = []string{"AUTH", user, pass}
		}
		if _, err := rc.do(ctx, args...); err != nil {
			c.Close()
			return nil, err
		}
	}
	if db != "" && db != "0" {
		if _, err := rc.do(ctx, "SELECT", db); err != nil {
			c.Close()
			return nil, err
		}
	}
	return rc, nil
}

func (rc *respConn) Close() error { return rc.c.Close() }

// do sends one command and reads its reply.
func (rc *respConn) do(ctx context.Context, args ...string) (any, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Second)
	}
	rc.c.SetDeadline(deadline)
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(rc.c, b.String()); err != nil {
		return nil, err
	}
	return rc.read()
}

// redisError is an error reply.
type redisError string

func (e redisError) Error() string { return "redis: " + string(e) }

func (rc *respConn) read() (any, error) {
	line, err := rc.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return nil, errors.New("redis: empty reply")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return nil, redisError(line[1:])
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$', '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil {
			return nil, err
		}
		if n < 0 {
			return nil, nil // a null bulk string or array
		}
		if line[0] == '$' {
			return rc.readBulk(n)
		}
		return rc.readArray(n)
	}
	return nil, fmt.Errorf("redis: unexpected reply %q", line)
}

// readBulk reads a bulk string of n bytes and its CRLF.
func (rc *respConn) readBulk(n int) (string, error) {
	buf := make([]byte, n+2)
	if _, err := io.ReadFull(rc.r, buf); err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// readArray reads the n replies of an array.
func (rc *respConn) readArray(n int) ([]any, error) {
	out := make([]any, n)
	for i := range out {
		var err error
		if out[i], err = rc.read(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// redisCommand sends one command to target over a fresh connection.
func redisCommand(ctx context.Context, target string, args ...string) (any, error) {
	rc, err := dialRedis(ctx, target)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return rc.do(ctx, args...)
}

// deletePrefix deletes every key under prefix on target (one server, or
// one master of a cluster) with SCAN and UNLINK: with batch, one UNLINK
// per SCAN page (one server); without, one key per UNLINK, so that keys of
// different cluster slots never share a command. It never flushes
// anything.
func deletePrefix(ctx context.Context, target, prefix string, batch bool) error {
	if prefix == "" || strings.ContainsAny(prefix, `*?[]\`) {
		return fmt.Errorf("refusing to delete by prefix %q", prefix)
	}
	rc, err := dialRedis(ctx, target)
	if err != nil {
		return err
	}
	defer rc.Close()
	cursor := "0"
	for {
		r, err := rc.do(ctx, "SCAN", cursor, "MATCH", prefix+"*", "COUNT", "10000")
		if err != nil {
			return err
		}
		arr, ok := r.([]any)
		if !ok || len(arr) != 2 {
			return fmt.Errorf("redis: unexpected SCAN reply %v", r)
		}
		cursor, _ = arr[0].(string)
		keys, _ := arr[1].([]any)
		if batch && len(keys) > 0 {
			args := []string{"UNLINK"}
			for _, k := range keys {
				if ks, ok := k.(string); ok {
					args = append(args, ks)
				}
			}
			if _, err := rc.do(ctx, args...); err != nil {
				return err
			}
			keys = nil
		}
		for _, k := range keys {
			if ks, ok := k.(string); ok {
				if _, err := rc.do(ctx, "UNLINK", ks); err != nil {
					return err
				}
			}
		}
		if cursor == "0" || cursor == "" {
			return nil
		}
	}
}
