// Package redistest starts and finds Redis servers for tests anywhere in
// the repository:
//
//   - URL returns the shared standalone server named by AUTHD_TEST_REDIS
//     with a fresh key prefix, and deletes the prefix's keys after the test;
//   - StartServer starts a standalone redis-server owned by the test, which
//     the test can Kill and Restart on the same port (fail-closed tests);
//   - StartCluster starts a real Redis Cluster of n masters; NewCluster does
//     the same for a TestMain that shares one cluster between tests.
//
// Everything skips the test with a message saying what is missing (the
// variable unset, the server unreachable, no redis-server binary), except
// under CI=true, where the same message fails it. Servers are started from
// the redis-server binary on PATH (or /usr/bin/redis-server) on free
// loopback ports in a temporary directory, waited for with a deadline, and
// killed in t.Cleanup; a server that does not come up is reported with the
// tail of its log.
package redistest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"
)

// EnvURL names the variable that holds the URL of the shared standalone
// server, e.g. redis://127.0.0.1:6379/0.
const EnvURL = "AUTHD_TEST_REDIS"

// SkipOrFail skips tb with msg, or fails it under CI=true, where a missing
// service is a broken CI and not a reason to skip.
func SkipOrFail(tb testing.TB, msg string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatal(msg + " (CI=true: failing instead of skipping)")
	}
	tb.Skip(msg)
}

// Prefix returns a fresh random key prefix, "authdtest:<16 hex digits>:".
func Prefix() string {
	var b [8]byte
	rand.Read(b[:])
	return "authdtest:" + hex.EncodeToString(b[:]) + ":"
}

// URL returns the URL of the shared standalone server (AUTHD_TEST_REDIS)
// and a fresh key prefix for this test. It skips the test when the
// variable is unset or the server does not answer PING (fails under
// CI=true), and deletes every key under the prefix when the test ends.
//
// NOTE: the server is shared with other tests and packages: never FLUSHDB
// it; write under the prefix only.
func URL(tb testing.TB) (redisURL, prefix string) {
	tb.Helper()
	redisURL = os.Getenv(EnvURL)
	if redisURL == "" {
		SkipOrFail(tb, EnvURL+" is not set: no Redis server to test against (e.g. "+EnvURL+"=redis://127.0.0.1:6379/0)")
	}
	client, err := connect(redisURL)
	if err != nil {
		SkipOrFail(tb, fmt.Sprintf("%s=%s is not reachable: %v", EnvURL, redisURL, err))
	}
	prefix = Prefix()
	tb.Cleanup(func() {
		defer client.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := DeletePrefix(ctx, client, prefix); err != nil {
			tb.Errorf("redistest: deleting keys under %q: %v", prefix, err)
		}
	})
	return redisURL, prefix
}

// connect opens a rueidis client on a redis:// URL and checks it answers.
func connect(redisURL string) (rueidis.Client, error) {
	opt, err := rueidis.ParseURL(redisURL)
	if err != nil {
		return nil, err
	}
	opt.ForceSingleClient = true
	opt.DisableCache = true
	opt.Dialer.Timeout = 2 * time.Second
	opt.ConnWriteTimeout = 5 * time.Second
	client, err := rueidis.NewClient(opt)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := client.Do(ctx, client.B().Ping().Build()).Error(); err != nil {
		client.Close()
		return nil, err
	}
	return client, nil
}

// DeletePrefix deletes every key whose name starts with prefix, on every
// node client knows (all masters of a cluster), with SCAN and UNLINK. The
// prefix must not contain glob characters (*?[]\), as Prefix's never do.
func DeletePrefix(ctx context.Context, client rueidis.Client, prefix string) error {
	if strings.ContainsAny(prefix, `*?[]\`) || prefix == "" {
		return fmt.Errorf("redistest: refusing to delete by prefix %q", prefix)
	}
	nodes := client.Nodes()
	if len(nodes) == 0 {
		nodes = map[string]rueidis.Client{"": client}
	}
	for _, n := range nodes {
		var cursor uint64
		for {
			e, err := n.Do(ctx, n.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
			if err != nil {
				return err
			}
			// UNLINK one key per command: on a cluster the keys of one
			// batch lie in different slots.
			cmds := make(rueidis.Commands, 0, len(e.Elements))
			for _, k := range e.Elements {
				cmds = append(cmds, n.B().Unlink().Key(k).Build())
			}
			for _, r := range n.DoMulti(ctx, cmds...) {
				if err := r.Error(); err != nil {
					return err
				}
			}
			if cursor = e.Cursor; cursor == 0 {
				break
			}
		}
	}
	return nil
}

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

// requireBinary returns the redis-server path or skips tb (fails under CI).
func requireBinary(tb testing.TB) string {
	tb.Helper()
	bin, err := ServerBinary()
	if err != nil {
		SkipOrFail(tb, "cannot start a Redis server for this test: "+err.Error())
	}
	return bin
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
