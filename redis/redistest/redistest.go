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
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/redis/redisproc"

	"github.com/redis/rueidis"

	"github.com/authd/authd/internal/testenv"
)

// EnvURL names the variable that holds the URL of the shared standalone
// server, e.g. redis://127.0.0.1:6379/0.
const EnvURL = "AUTHD_TEST_REDIS"

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
		testenv.SkipOrFail(tb, "%s is not set: no Redis server to test against (e.g. %s=redis://127.0.0.1:6379/0)", EnvURL, EnvURL)
	}
	client, err := connect(redisURL)
	if err != nil {
		testenv.SkipOrFail(tb, "%s=%s is not reachable: %v", EnvURL, redisURL, err)
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

// requireBinary returns the redis-server path or skips tb (fails under CI).
func requireBinary(tb testing.TB) string {
	tb.Helper()
	bin, err := redisproc.ServerBinary()
	if err != nil {
		testenv.SkipOrFail(tb, "cannot start a Redis server for this test: %v", err)
	}
	return bin
}

// Server and Cluster are the processes package redisproc runs.
type (
	Server  = redisproc.Server
	Cluster = redisproc.Cluster
)

// StartServer starts a standalone redis-server for tb in a temporary
// directory, with extra redis-server arguments args (for example
// "--appendonly", "yes", "--appendfsync", "always" to keep data across
// Restart), waits until it answers PING, and kills it when tb ends. It skips
// tb when redis-server is missing (fails under CI=true).
func StartServer(tb testing.TB, args ...string) *Server {
	tb.Helper()
	requireBinary(tb)
	s, err := redisproc.NewServer(tb.TempDir(), args...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Kill() })
	return s
}

// StartCluster starts a Redis Cluster of masters nodes for tb (each a
// redis-server with cluster-enabled on a free loopback port, in tb's
// temporary directory), assigns the 16384 slots evenly, joins the nodes,
// waits until every node reports cluster_state:ok, and kills them when tb
// ends. It returns the nodes' addresses; ClusterURL makes the URL. It
// skips tb when redis-server is missing (fails under CI=true).
func StartCluster(tb testing.TB, masters int) []string {
	tb.Helper()
	requireBinary(tb)
	c, err := redisproc.NewCluster(tb.TempDir(), masters)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c.Addrs()
}
