package redisproc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ClusterReadyTimeout bounds how long a new cluster may take to reach
// cluster_state:ok on every node.
const ClusterReadyTimeout = 30 * time.Second

// Cluster is a Redis Cluster of masters without replicas.
type Cluster struct {
	Nodes []*Server
}

// NewCluster starts a Redis Cluster of masters nodes (each a redis-server
// with cluster-enabled on a free loopback port, in dir), assigns the 16384
// slots evenly, joins the nodes and waits until every node reports
// cluster_state:ok. The caller must Close it.
func NewCluster(dir string, masters int) (*Cluster, error) {
	if masters < 1 {
		return nil, errors.New("redisproc: a cluster needs at least one master")
	}
	bin, err := ServerBinary()
	if err != nil {
		return nil, err
	}
	c := &Cluster{}
	fail := func(err error) (*Cluster, error) {
		c.Close()
		return nil, err
	}
	for i := range masters {
		d := filepath.Join(dir, "node"+strconv.Itoa(i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fail(err)
		}
		s, err := newServer(bin, d, true,
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(d, "nodes.conf"),
			"--cluster-node-timeout", "5000",
			"--cluster-require-full-coverage", "yes")
		if err != nil {
			return fail(err)
		}
		c.Nodes = append(c.Nodes, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), ClusterReadyTimeout)
	defer cancel()
	for i, s := range c.Nodes {
		lo, hi := i*16384/masters, (i+1)*16384/masters-1
		if _, err := Command(ctx, s.Addr, "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(lo), strconv.Itoa(hi)); err != nil {
			return fail(fmt.Errorf("redisproc: CLUSTER ADDSLOTSRANGE on %s: %w\n%s", s.Addr, err, s.LogTail(20)))
		}
		// Distinct config epochs spare the nodes the collision dance.
		if _, err := Command(ctx, s.Addr, "CLUSTER", "SET-CONFIG-EPOCH", strconv.Itoa(i+1)); err != nil {
			return fail(fmt.Errorf("redisproc: CLUSTER SET-CONFIG-EPOCH on %s: %w\n%s", s.Addr, err, s.LogTail(20)))
		}
	}
	for _, s := range c.Nodes[1:] {
		host, port, _ := strings.Cut(s.Addr, ":")
		if _, err := Command(ctx, c.Nodes[0].Addr, "CLUSTER", "MEET", host, port); err != nil {
			return fail(fmt.Errorf("redisproc: CLUSTER MEET %s: %w\n%s", s.Addr, err, c.Nodes[0].LogTail(20)))
		}
	}
	if err := c.waitReady(ctx); err != nil {
		return fail(err)
	}
	return c, nil
}

// waitReady polls CLUSTER INFO on every node until each reports the
// cluster ok, every slot assigned and every node known.
func (c *Cluster) waitReady(ctx context.Context) error {
	want := []string{
		"cluster_state:ok",
		"cluster_slots_assigned:16384",
		"cluster_slots_ok:16384",
		"cluster_known_nodes:" + strconv.Itoa(len(c.Nodes)),
	}
	for {
		var notReady *Server
		var info string
		for _, s := range c.Nodes {
			var err error
			info, err = Command(ctx, s.Addr, "CLUSTER", "INFO")
			if err != nil {
				info = err.Error()
			}
			for _, w := range want {
				if !strings.Contains(info, w+"\r\n") {
					notReady = s
					break
				}
			}
			if notReady != nil {
				break
			}
		}
		if notReady == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redisproc: cluster not ready after %s: node %s says:\n%s\n%s",
				ClusterReadyTimeout, notReady.Addr, strings.TrimSpace(info), notReady.LogTail(20))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Addrs returns the nodes' addresses.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Nodes))
	for i, s := range c.Nodes {
		addrs[i] = s.Addr
	}
	return addrs
}

// URL is the redis-cluster:// URL of the cluster.
func (c *Cluster) URL() string { return ClusterURL(c.Addrs()) }

// Close kills every node.
func (c *Cluster) Close() error {
	var errs []error
	for _, s := range c.Nodes {
		errs = append(errs, s.Kill())
	}
	return errors.Join(errs...)
}
