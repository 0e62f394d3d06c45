package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ---- PostgreSQL: a fresh schema per mode, dropped after it.

func pgExec(ctx context.Context, dsn, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// pgSchema creates a schema with a random name in the database of dsn and
// returns a URL whose search_path is that schema.
func pgSchema(ctx context.Context, dsn string) (schema, schemaURL string, err error) {
	schema = "authd_bench_" + randomHex(6)
	if err := pgExec(ctx, dsn, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return "", "", err
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return schema, u.String(), nil
}

func pgDropSchema(dsn, schema string) error {
	return pgExec(context.Background(), dsn, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
}

// ---- Redis Cluster: masters started here from redis-server.

// clusterNode is one redis-server of a cluster the bench started.
type clusterNode struct {
	addr string
	cmd  *exec.Cmd
	done chan struct{}
}

// redisCluster is a Redis Cluster of masters without replicas.
type redisCluster struct{ nodes []*clusterNode }

func (c *redisCluster) url() string {
	addrs := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		addrs[i] = n.addr
	}
	return "redis-cluster://" + strings.Join(addrs, ",")
}

func (c *redisCluster) addrs() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.addr
	}
	return out
}

// close kills every node.
func (c *redisCluster) close() {
	for _, n := range c.nodes {
		killGroup(n.cmd)
		select {
		case <-n.done:
		case <-time.After(5 * time.Second):
		}
	}
}

// redisServerBinary finds redis-server on PATH or at /usr/bin.
func redisServerBinary() (string, error) {
	if p, err := exec.LookPath("redis-server"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/bin/redis-server"); err == nil {
		return "/usr/bin/redis-server", nil
	}
	return "", errors.New("redis-server is not on PATH nor at /usr/bin/redis-server")
}

// freeClusterPort returns a loopback port that is free now and whose
// cluster bus port (port+10000) is free too.
func freeClusterPort() (int, error) {
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
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
	return 0, errors.New("no free port pair for a cluster node")
}

// startCluster starts masters redis-server processes in cluster mode in
// dir, assigns the slots evenly, joins them and waits until every node
// reports cluster_state:ok.
func startCluster(ctx context.Context, dir string, masters int) (*redisCluster, error) {
	bin, err := redisServerBinary()
	if err != nil {
		return nil, err
	}
	c := &redisCluster{}
	fail := func(err error) (*redisCluster, error) {
		c.close()
		return nil, err
	}
	for i := range masters {
		n, err := startClusterNode(ctx, bin, filepath.Join(dir, "node"+strconv.Itoa(i)))
		if err != nil {
			return fail(err)
		}
		c.nodes = append(c.nodes, n)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for i, n := range c.nodes {
		lo, hi := i*16384/masters, (i+1)*16384/masters-1
		if _, err := redisCommand(ctx, n.addr, "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(lo), strconv.Itoa(hi)); err != nil {
			return fail(fmt.Errorf("CLUSTER ADDSLOTSRANGE on %s: %w", n.addr, err))
		}
		if _, err := redisCommand(ctx, n.addr, "CLUSTER", "SET-CONFIG-EPOCH", strconv.Itoa(i+1)); err != nil {
			return fail(fmt.Errorf("CLUSTER SET-CONFIG-EPOCH on %s: %w", n.addr, err))
		}
	}
	for _, n := range c.nodes[1:] {
		host, port, _ := strings.Cut(n.addr, ":")
		if _, err := redisCommand(ctx, c.nodes[0].addr, "CLUSTER", "MEET", host, port); err != nil {
			return fail(fmt.Errorf("CLUSTER MEET %s: %w", n.addr, err))
		}
	}
	want := []string{"cluster_state:ok", "cluster_slots_ok:16384", "cluster_known_nodes:" + strconv.Itoa(masters)}
	for {
		ready := true
		for _, n := range c.nodes {
			r, err := redisCommand(ctx, n.addr, "CLUSTER", "INFO")
			info, _ := r.(string)
			for _, w := range want {
				if err != nil || !strings.Contains(info, w+"\r\n") {
					ready = false
				}
			}
		}
		if ready {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return fail(errors.New("the Redis Cluster did not reach cluster_state:ok within 30s"))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func startClusterNode(ctx context.Context, bin, dir string) (*clusterNode, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var last error
	for range 5 { // a free port can be taken between choosing and binding it
		port, err := freeClusterPort()
		if err != nil {
			return nil, err
		}
		logPath := filepath.Join(dir, "redis.log")
		cmd := exec.Command(bin,
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir, "--logfile", logPath,
			"--save", "", "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no",
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", "5000", "--cluster-require-full-coverage", "yes")
		cmd.Dir = dir
		cmd.SysProcAttr = childAttr()
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", bin, err)
		}
		n := &clusterNode{addr: "127.0.0.1:" + strconv.Itoa(port), cmd: cmd, done: make(chan struct{})}
		go func() { cmd.Wait(); close(n.done) }()
		deadline := time.Now().Add(15 * time.Second)
		for {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			r, err := redisCommand(pctx, n.addr, "PING")
			cancel()
			if err == nil && r == "PONG" {
				return n, nil
			}
			select {
			case <-n.done:
				last = fmt.Errorf("redis-server on %s exited at start: %s", n.addr, lastLine(logPath))
			default:
				if time.Now().After(deadline) {
					killGroup(cmd)
					<-n.done
					last = fmt.Errorf("redis-server on %s not ready after 15s: %s", n.addr, lastLine(logPath))
				} else {
					time.Sleep(20 * time.Millisecond)
					continue
				}
			}
			break
		}
		if !strings.Contains(last.Error(), "in use") {
			return nil, last
		}
	}
	return nil, last
}
