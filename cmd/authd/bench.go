package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/authd/authd/bench"
)

var benchCmd = &command{
	name:    "bench",
	summary: "the session-vs-JWT and OIDC code-flow benchmark (or with --soak the soak test) on real authd processes",
	usage: `bench [--quick] [--out DIR] [--modes SUBSTR,…] [--postgres URL] [--redis URL] [--redis-cluster]
             [--concurrency N] [--phase D] [--revocations N] [--timeout D]
       authd bench --sessions N,… [--modes SUBSTR,…] [--postgres URL] [--redis URL] [--redis-cluster] [--out DIR]
       authd bench --users N,… [--modes users/sqlite,users/postgres] [--postgres URL] [--phase D] [--out DIR]
       authd bench --soak DURATION [--soak-store sqlite|postgres|redis|redis-cluster] [--out DIR]`,
	more: "The nodes are children of this binary (or --authd), each mode on fresh stores\nthat are removed after it; see docs/BENCHMARKS.md.",
}

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
		sessions  string
		users     string
	)
	f := newFlags(benchCmd)
	f.Bool(&cfg.Quick, "quick", false, "short phases and 20 revocations per mode: a smoke run of under a minute (CI)")
	f.String(&cfg.Out, "out", "bench-results", "DIR", "directory for results.md, results.json, results.svg and the nodes' logs")
	f.String(&modes, "modes", "", "SUBSTR,…", "run only the modes whose name contains one of these comma-separated substrings (session/sqlite/cache, jwt/EdDSA/nocache, oidc-code-flow/public, …)")
	f.Int(&cfg.Concurrency, "concurrency", 32, "keep-alive clients of each load phase, 1 to 4096")
	f.Duration(&cfg.Phase, "phase", 0, "measured duration of each load phase (0: 5s, 250ms with --quick)")
	f.Int(&cfg.Revocations, "revocations", 0, "revocation trials per mode (0: 500, 20 with --quick)")
	f.String(&cfg.Postgres, "postgres", "", "URL", "PostgreSQL for the postgres modes (default $AUTHD_TEST_POSTGRES); each mode gets a fresh schema, dropped after")
	f.String(&cfg.Redis, "redis", "", "URL", "Redis for the redis modes (default $AUTHD_TEST_REDIS); each mode writes under a fresh key prefix, deleted after")
	f.Bool(&cfg.RedisCluster, "redis-cluster", false, "start a 3-master Redis Cluster from redis-server for the redis-cluster modes")
	f.Duration(&cfg.Timeout, "timeout", 0, "deadline of the whole run (0: 3h, 5m with --quick; soak: its duration + 5m)")
	f.Duration(&soak, "soak", 0, "instead of the benchmark, run the soak test for this long against 3 nodes; exits non-zero if any check fails")
	f.Enum(&soakStore, "soak-store", "sqlite", "STORE", []string{"sqlite", "postgres", "redis", "redis-cluster"}, "session store of the soak")
	f.String(&sessions, "sessions", "", "N,…", "instead of the benchmark, measure GET /v1/me of the session modes with N live sessions in the store, for each N (10000,100000,1000000; k and M suffixes accepted)")
	f.String(&users, "users", "", "N,…", "instead of the benchmark, measure POST /v1/login and refresh rotations with N users (and N refresh families) in the SQLite and PostgreSQL stores, for each N (100k,1M; k and M suffixes accepted); writes scale-users.{md,json,csv}")
	f.String(&exe, "authd", "", "BINARY", "authd binary to start as the nodes (default: this one)")
	if err := f.parse(args, getenv, stdout); err != nil {
		return err
	}
	if cfg.Concurrency < 1 || cfg.Concurrency > 4096 {
		return fmt.Errorf("--concurrency %d: want 1 to 4096", cfg.Concurrency)
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

	var err error
	if cfg.Sessions, err = parseCounts("--sessions", sessions); err != nil {
		return err
	}
	if cfg.Users, err = parseCounts("--users", users); err != nil {
		return err
	}
	if len(cfg.Users) > 0 && (len(cfg.Sessions) > 0 || soak > 0) {
		return fmt.Errorf("--users: not with --sessions or --soak (one run at a time)")
	}
	if len(cfg.Users) > 0 {
		rep, err := bench.RunUsers(ctx, cfg)
		if rep != nil {
			fmt.Fprint(stdout, bench.UsersMarkdown(rep))
			fmt.Fprintf(stdout, "\nresults: %s/scale-users.md, %s/scale-users.json, %s/scale-users.csv\n", cfg.Out, cfg.Out, cfg.Out)
		}
		if err != nil {
			return fmt.Errorf("bench: %v", err)
		}
		return nil
	}
	if len(cfg.Sessions) > 0 {
		rep, err := bench.RunScale(ctx, cfg)
		if rep != nil {
			fmt.Fprint(stdout, bench.ScaleMarkdown(rep))
			fmt.Fprintf(stdout, "\nresults: %s/scale.md, %s/scale.json, %s/scale.csv, %s/scale.svg\n", cfg.Out, cfg.Out, cfg.Out, cfg.Out)
		}
		if err != nil {
			return fmt.Errorf("bench: %v", err)
		}
		return nil
	}
	if soak > 0 {
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

// parseCounts parses the comma-separated counts of flag name.
func parseCounts(name, list string) ([]int, error) {
	var out []int
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := parseCount(s)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %v", name, list, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// parseCount parses a count such as 10000, 10k or 1M.
func parseCount(s string) (int, error) {
	mult := 1
	switch {
	case strings.HasSuffix(s, "k"), strings.HasSuffix(s, "K"):
		mult, s = 1000, s[:len(s)-1]
	case strings.HasSuffix(s, "M"):
		mult, s = 1_000_000, s[:len(s)-1]
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 100_000_000/mult {
		return 0, fmt.Errorf("%q: want a count from 1 to 100M", s)
	}
	return n * mult, nil
}
