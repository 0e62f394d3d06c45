package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/authd/authd/bench"
)

const benchSynopsis = `bench [--quick] [--out DIR] [--modes SUBSTR,…] [--postgres URL] [--redis URL] [--redis-cluster]
             [--concurrency N] [--phase D] [--revocations N] [--timeout D]
       authd bench --soak DURATION [--soak-store sqlite|postgres|redis|redis-cluster] [--out DIR]`

// runBench is `authd bench` (issue #7): the session-vs-JWT benchmark, or
// with --soak the soak test, on children of this very binary. See package
// bench and docs/BENCHMARKS.md.
func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		cfg       bench.Config
		modes     string
		soak      time.Duration
		soakStore string
		exe       string
	)
	fs := flagSet("bench")
	fs.BoolVar(&cfg.Quick, "quick", false, "short phases and 20 revocations per mode: a smoke run of under a minute (CI)")
	fs.StringVar(&cfg.Out, "out", "bench-results", "`directory` for results.md, results.json, results.svg and the nodes' logs")
	fs.StringVar(&modes, "modes", "", "run only the modes whose name contains one of these comma-separated `substrings` (session/sqlite/cache, jwt/EdDSA/nocache, …)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 32, "keep-alive clients of each load phase")
	fs.DurationVar(&cfg.Phase, "phase", 0, "measured `duration` of each load phase (default 5s, 250ms with --quick)")
	fs.IntVar(&cfg.Revocations, "revocations", 0, "revocation trials per mode (default 500, 20 with --quick)")
	fs.StringVar(&cfg.Postgres, "postgres", "", "PostgreSQL `URL` for the postgres modes (default $AUTHD_TEST_POSTGRES); each mode gets a fresh schema, dropped after")
	fs.StringVar(&cfg.Redis, "redis", "", "Redis `URL` for the redis modes (default $AUTHD_TEST_REDIS); each mode writes under a fresh key prefix, deleted after")
	fs.BoolVar(&cfg.RedisCluster, "redis-cluster", false, "start a 3-master Redis Cluster from redis-server for the redis-cluster modes")
	fs.DurationVar(&cfg.Timeout, "timeout", 0, "deadline of the whole run (default 3h, 5m with --quick; soak: its duration + 5m)")
	fs.DurationVar(&soak, "soak", 0, "instead of the benchmark, run the soak test for this `duration` against 3 nodes; exits non-zero if any check fails")
	fs.StringVar(&soakStore, "soak-store", "sqlite", "session store of the soak: sqlite, postgres, redis or redis-cluster")
	fs.StringVar(&exe, "authd", "", "authd `binary` to start as the nodes (default: this one)")
	if err := parse(fs, args, getenv, stdout, benchSynopsis); err != nil {
		return err
	}
	if cfg.Concurrency < 1 || cfg.Concurrency > 4096 {
		return fmt.Errorf("bench: --concurrency must be between 1 and 4096")
	}
	if cfg.Postgres == "" {
		cfg.Postgres = getenv("AUTHD_TEST_POSTGRES")
	}
	if cfg.Redis == "" {
		cfg.Redis = getenv("AUTHD_TEST_REDIS")
	}
	for _, m := range strings.Split(modes, ",") {
		if m = strings.TrimSpace(m); m != "" {
			cfg.Modes = append(cfg.Modes, m)
		}
	}
	cfg.Exe = exe
	cfg.Progress = stderr
	cfg.Command = "authd bench " + strings.Join(args, " ")

	if soak > 0 {
		if !oneOf(soakStore, "sqlite", "postgres", "redis", "redis-cluster") {
			return fmt.Errorf("bench: --soak-store %q: use sqlite, postgres, redis or redis-cluster", soakStore)
		}
		rep, err := bench.Soak(ctx, cfg, soak, soakStore)
		if rep != nil {
			fmt.Fprint(stdout, bench.SoakMarkdown(rep))
			fmt.Fprintf(stdout, "\nresults: %s/soak.json, %s/soak.md\n", cfg.Out, cfg.Out)
		}
		if err != nil {
			return fmt.Errorf("bench: soak: %v", err)
		}
		if !rep.Passed {
			return fmt.Errorf("bench: soak failed: %s", strings.Join(rep.Failures, "; "))
		}
		return nil
	}
	rep, err := bench.Run(ctx, cfg)
	if rep != nil {
		fmt.Fprint(stdout, bench.Markdown(rep))
		fmt.Fprintf(stdout, "\nresults: %s/results.md, %s/results.json, %s/results.svg\n", cfg.Out, cfg.Out, cfg.Out)
	}
	if err != nil {
		return fmt.Errorf("bench: %v", err)
	}
	return nil
}
