package bench

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/authd/authd/redis/redisproc"
)

// cluster is the authd nodes of one mode and what tears them down.
type cluster struct {
	nodes   []*node
	cleanup []func()
	// storeArgs are the flags naming the store (--db …), for the
	// one-shot commands run against it (authd client add).
	storeArgs []string
}

func (c *cluster) stop() {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Go(n.stop)
	}
	wg.Wait()
	for i := len(c.cleanup) - 1; i >= 0; i-- {
		c.cleanup[i]()
	}
}

// nodeSettings are the serve flags that vary between uses.
type nodeSettings struct {
	accessTTL string
}

// benchIssuer is the nodes' --issuer: never resolved, only compared.
const benchIssuer = "http://authd-bench.test"

// nodeArgs are the serve flags of mode m's nodes, stores aside. The
// benchmark and the soak sign in with the password grant, which authd
// enables only under --password-grant (RFC 9700 forbids it by default).
func nodeArgs(m Mode, ns nodeSettings) []string {
	args := []string{"--dev", "--addr", "127.0.0.1:0", "--issuer", benchIssuer, "--log-level", "warn",
		"--password-grant",
		"--session-cache=" + fmt.Sprint(m.Model != "session" || m.Cache),
		"--token-cache=" + fmt.Sprint(m.Model != "jwt" || m.Cache)}
	if m.Alg != "" {
		args = append(args, "--jwt-alg", m.Alg)
	}
	if ns.accessTTL != "" {
		args = append(args, "--access-ttl", ns.accessTTL)
	}
	return args
}

// startRedisCluster starts the 3-master Redis Cluster of the redis-cluster
// modes and of a soak on redis-cluster; close stops it.
func (r *runner) startRedisCluster() error {
	r.prog.note("starting a 3-master Redis Cluster")
	c, err := redisproc.NewCluster(filepath.Join(r.tmp, "redis-cluster"), 3)
	if err != nil {
		return err
	}
	r.cluster = c
	return nil
}

// startCluster prepares a fresh store for m and starts n authd nodes on it.
func (r *runner) startCluster(ctx context.Context, m Mode, n int, ns nodeSettings) (*cluster, error) {
	slug := strings.ReplaceAll(m.Name, "/", "_")
	dir := filepath.Join(r.tmp, slug)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	storeArgs, cleanup, err := r.freshStore(ctx, m, dir)
	if err != nil {
		return nil, err
	}
	c := &cluster{cleanup: []func(){cleanup}, storeArgs: storeArgs}
	// Every node of the mode shares one encryption key, in the mode's
	// directory (never authd's default, the working directory).
	args := append(nodeArgs(m, ns), "--encryption-key-file", filepath.Join(dir, "authd.key"))
	if err := r.startNodes(ctx, c, slug, append(args, storeArgs...), n); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// stopCluster stops cl's nodes, closing this side's idle connections
// first: connections dialled but never used would hold up the nodes'
// graceful shutdown for 5 s (net/http treats them as active).
func (r *runner) stopCluster(cl *cluster) {
	r.hc.CloseIdleConnections()
	cl.stop()
}

// freshStore makes a store for m of its own (an SQLite file in dir, a
// PostgreSQL schema, a Redis key prefix) and returns the serve flags that
// name it and what removes it.
func (r *runner) freshStore(ctx context.Context, m Mode, dir string) (args []string, cleanup func(), err error) {
	sqlite := "sqlite:" + filepath.Join(dir, "authd.db")
	switch m.Store {
	case "postgres":
		schema, u, err := pgSchema(ctx, r.cfg.Postgres)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot create a PostgreSQL schema: %v", oneLine(err.Error()))
		}
		return []string{"--db", u}, func() { pgDropSchema(r.cfg.Postgres, schema) }, nil
	case "redis", "redis-cluster":
		prefix := "authd-bench-" + randomHex(4) + ":"
		target, masters := r.cfg.Redis, []string{r.cfg.Redis}
		if m.Store == "redis-cluster" {
			target, masters = r.cluster.URL(), r.cluster.Addrs()
		}
		cleanup := func() {
			if err := deletePrefixes(masters, prefix, m.Store == "redis"); err != nil {
				r.prog.note("could not delete the keys under %s: %v (delete them by hand: SCAN MATCH %s* and UNLINK)", prefix, err, prefix)
			}
		}
		return []string{"--db", sqlite, "--redis", target, "--redis-prefix", prefix}, cleanup, nil
	}
	return []string{"--db", sqlite}, func() {}, nil
}

// deletePrefixes deletes every key under prefix on every master; batch
// (one server, no slots) lets one UNLINK take a whole SCAN page.
//
// NOTE: a scale run leaves a million sessions and more under its prefix:
// at one UNLINK a key, 30 s was not enough, and the keys stayed behind
// (and slowed every later SCAN of the shared server). The deadline is
// generous and a failure is reported.
func deletePrefixes(masters []string, prefix string, batch bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var errs []error
	for _, a := range masters {
		errs = append(errs, deletePrefix(ctx, a, prefix, batch))
	}
	return errors.Join(errs...)
}

// startNodes starts n nodes with args into c. The first starts alone (it
// migrates the schema and makes the first signing key); the others start
// together after it. The nodes that started are in c even on error.
func (r *runner) startNodes(ctx context.Context, c *cluster, slug string, args []string, n int) error {
	env := childEnv(r.cfg.Env)
	start := func(i int) (*node, error) {
		name := fmt.Sprintf("node%d", i)
		return startNode(ctx, &r.procs, name, r.cfg.Exe, env, filepath.Join(r.logs, slug+"-"+name+".log"), args)
	}
	first, err := start(0)
	if err != nil {
		return err
	}
	c.nodes = append(c.nodes, first)
	rest := make([]*node, n-1)
	errs := make([]error, n-1)
	var wg sync.WaitGroup
	for i := range rest {
		wg.Go(func() { rest[i], errs[i] = start(i + 1) })
	}
	wg.Wait()
	for _, nd := range rest {
		if nd != nil {
			c.nodes = append(c.nodes, nd)
		}
	}
	return cmp.Or(errs...)
}
