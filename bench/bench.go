package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/authd/authd/internal/redact"
	"github.com/authd/authd/redis/redisproc"
)

// Config is what `authd bench` was asked for. Zero values take the
// defaults of Defaults.
type Config struct {
	// Exe is the authd binary started as `Exe serve …` (default: the
	// running executable); Env is extra environment for those children.
	Exe string
	Env []string

	Out         string        // directory of the results (default bench-results)
	Quick       bool          // short phases, fewer revocations: CI's smoke run
	Concurrency int           // keep-alive clients of each throughput phase
	Phase       time.Duration // measured window of each load phase
	Warmup      time.Duration // unmeasured load before each window
	Revocations int           // revocation trials per mode
	Modes       []string      // run the modes whose name contains one of these (all when empty)
	// Sessions, when set, makes RunScale's run: GET /v1/me measured with
	// this many live sessions in the store, each size in turn.
	Sessions []int
	// Users, when set, makes RunUsers's run: logins and refresh rotations
	// measured with this many users (and refresh families) in the store,
	// each size in turn.
	Users []int

	Postgres     string // PostgreSQL URL; empty: the PostgreSQL modes are skipped
	Redis        string // standalone Redis URL; empty: the Redis modes are skipped
	RedisCluster bool   // start a 3-master Redis Cluster from redis-server for the cluster modes

	Timeout time.Duration // global deadline of the whole run
	Command string        // the command line, recorded in the results

	// Progress receives the progress bar (a terminal) or plain progress
	// lines (anything else).
	Progress io.Writer
}

// Defaults fills the zero fields of c.
func (c *Config) Defaults() {
	if c.Out == "" {
		c.Out = "bench-results"
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 32
	}
	if c.Phase <= 0 {
		c.Phase = 5 * time.Second
		if c.Quick {
			c.Phase = 250 * time.Millisecond
		}
	}
	if c.Warmup <= 0 {
		c.Warmup = c.Phase / 5
	}
	if c.Revocations <= 0 {
		c.Revocations = 500
		if c.Quick {
			c.Revocations = 20
		}
	}
	if c.Timeout <= 0 {
		c.Timeout = 3 * time.Hour
		if c.Quick {
			c.Timeout = 5 * time.Minute
		}
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

// Mode is one configuration measured: a model, its store or algorithm,
// and whether the local cache is on.
type Mode struct {
	Name  string `json:"name"`
	Model string `json:"model"`         // "session" or "jwt"
	Store string `json:"store"`         // sqlite, postgres, redis, redis-cluster
	Alg   string `json:"alg,omitempty"` // JWT signing algorithm
	Cache bool   `json:"cache"`         // --session-cache (session) or --token-cache (jwt)
	// Client is the kind of client of the "oidc" model (the code flow):
	// "public" (PKCE only) or "confidential" (client_secret_basic: an
	// argon2id verification of its secret once per node).
	Client string `json:"client,omitempty"`
}

// AllModes lists every mode in the order they run.
func AllModes() []Mode {
	var ms []Mode
	for _, st := range []string{"sqlite", "postgres", "redis", "redis-cluster"} {
		for _, c := range []bool{true, false} {
			ms = append(ms, Mode{Name: "session/" + st + "/" + cacheWord(c), Model: "session", Store: st, Cache: c})
		}
	}
	for _, alg := range []string{"HS256", "ES256", "EdDSA", "RS256"} {
		for _, c := range []bool{true, false} {
			ms = append(ms, Mode{Name: "jwt/" + alg + "/" + cacheWord(c), Model: "jwt", Store: "sqlite", Alg: alg, Cache: c})
		}
	}
	for _, cl := range []string{clientPublic, clientConfidential} {
		ms = append(ms, Mode{Name: "oidc-code-flow/" + cl, Model: "oidc", Store: "sqlite", Cache: true, Client: cl})
	}
	return ms
}

func cacheWord(on bool) string {
	if on {
		return "cache"
	}
	return "nocache"
}

// selectModes keeps the modes whose name contains one of filters.
func selectModes(filters []string) []Mode {
	all := AllModes()
	if len(filters) == 0 {
		return all
	}
	var out []Mode
	for _, m := range all {
		for _, f := range filters {
			if f = strings.TrimSpace(f); f != "" && strings.Contains(m.Name, f) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// clusterNodes is how many authd nodes every mode runs: the 1-node figures
// are measured on the first of them.
const clusterNodes = 3

// runner is one run's shared state.
type runner struct {
	cfg   Config
	procs procs
	hc    *http.Client
	api   api
	prog  *progress
	tmp   string
	logs  string

	// availability of the optional stores: reason is "" when available.
	pgReason, redisReason, clusterReason string
	cluster                              *redisproc.Cluster
}

// Run runs the benchmark and writes results.md, results.json and
// results.svg into cfg.Out. A mode whose store is missing is reported as
// skipped; a mode that fails is reported as failed; neither stops the run.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg.Defaults()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	modes := selectModes(cfg.Modes)
	if len(modes) == 0 {
		return nil, fmt.Errorf("--modes %s matches no mode; modes are named like session/sqlite/cache, jwt/EdDSA/nocache and oidc-code-flow/public", strings.Join(cfg.Modes, ","))
	}
	r, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	defer r.close()
	rep := newReport(cfg)
	r.checkStores(ctx, modes)
	r.prog = newProgress(cfg.Progress, r.plan(modes))
	if needsCluster(modes) && r.clusterReason == "" {
		if err := r.startRedisCluster(); err != nil {
			r.clusterReason = "cannot start a Redis Cluster: " + err.Error()
		}
	}
	r.prog.step("argon2id in process", argonEstimate(cfg))
	rep.Argon2 = argon2Rate(ctx, argonWindow(cfg))
	rep.Modes = r.runModes(ctx, modes)
	r.prog.finish()
	rep.FinishedAt = time.Now().UTC()
	rep.Targets = evaluateTargets(rep)
	if err := writeReport(cfg.Out, rep); err != nil {
		return rep, err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return rep, fmt.Errorf("the run did not finish within --timeout %s; partial results are in %s", cfg.Timeout, cfg.Out)
	}
	return rep, ctx.Err()
}

// newReport is the report of a run with cfg, before anything is measured.
func newReport(cfg Config) *Report {
	return &Report{Version: ReportVersion, StartedAt: time.Now().UTC(), Quick: cfg.Quick, Command: redactCommand(cfg.Command),
		Machine: readMachine(), Settings: Settings{Concurrency: cfg.Concurrency, PhaseSeconds: cfg.Phase.Seconds(),
			WarmupSeconds: cfg.Warmup.Seconds(), Revocations: cfg.Revocations, Nodes: clusterNodes}}
}

// plan is the estimated seconds of the whole run, for the ETA: the argon2id
// window and every mode that can run here.
func (r *runner) plan(modes []Mode) float64 {
	total := argonEstimate(r.cfg)
	for _, m := range modes {
		if r.skipReason(m) == "" {
			total += r.estimate(m)
		}
	}
	return total
}

// runModes runs the modes in turn. A mode that cannot run here, fails, or
// comes after the run's deadline is recorded as such, and the run goes on.
func (r *runner) runModes(ctx context.Context, modes []Mode) []ModeResult {
	results := make([]ModeResult, 0, len(modes))
	for _, m := range modes {
		var res ModeResult
		switch why := r.skipReason(m); {
		case ctx.Err() != nil:
			res = ModeResult{Mode: m, Status: StatusFailed, Reason: "the run's deadline passed (--timeout)"}
		case why != "":
			res = ModeResult{Mode: m, Status: StatusSkipped, Reason: why}
			r.prog.note("%s: skipped: %s", m.Name, why)
		default:
			res = r.runMode(ctx, m)
			if res.Status != StatusOK {
				r.prog.note("%s: %s: %s", m.Name, res.Status, res.Reason)
			}
		}
		results = append(results, res)
	}
	return results
}

func newRunner(cfg Config) (*runner, error) {
	if cfg.Exe == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("cannot find the authd binary to start: %v", err)
		}
		cfg.Exe = exe
	}
	logs := filepath.Join(cfg.Out, "logs")
	if err := os.MkdirAll(logs, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create --out %s: %v", cfg.Out, err)
	}
	tmp, err := os.MkdirTemp("", "authd-bench-")
	if err != nil {
		return nil, err
	}
	hc := newHTTPClient(cfg.Concurrency)
	return &runner{cfg: cfg, hc: hc, api: api{hc}, tmp: tmp, logs: logs}, nil
}

// close kills every child and removes the temporary directory.
func (r *runner) close() {
	r.procs.killAll()
	if r.cluster != nil {
		r.cluster.Close()
	}
	r.hc.CloseIdleConnections()
	os.RemoveAll(r.tmp)
}

func needsCluster(ms []Mode) bool {
	for _, m := range ms {
		if m.Store == "redis-cluster" {
			return true
		}
	}
	return false
}

// checkStores finds out which optional stores this run has.
func (r *runner) checkStores(ctx context.Context, modes []Mode) {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if r.cfg.Postgres == "" {
		r.pgReason = "no PostgreSQL: pass --postgres URL or set AUTHD_TEST_POSTGRES"
	} else if err := pgPing(cctx, r.cfg.Postgres); err != nil {
		r.pgReason = "PostgreSQL " + redact.URL(r.cfg.Postgres) + " is not reachable: " + oneLine(err.Error())
	}
	if r.cfg.Redis == "" {
		r.redisReason = "no Redis: pass --redis URL or set AUTHD_TEST_REDIS"
	} else if rep, err := redisCommand(cctx, r.cfg.Redis, "PING"); err != nil || rep != "PONG" {
		r.redisReason = fmt.Sprintf("Redis %s is not reachable: %v", redact.URL(r.cfg.Redis), err)
	}
	if !r.cfg.RedisCluster {
		r.clusterReason = "no Redis Cluster: pass --redis-cluster to have the bench start one"
	} else if _, err := redisproc.ServerBinary(); err != nil {
		r.clusterReason = "cannot start a Redis Cluster: " + err.Error()
	}
}

// skipReason says why m cannot run here, or "".
func (r *runner) skipReason(m Mode) string {
	switch m.Store {
	case "postgres":
		return r.pgReason
	case "redis":
		return r.redisReason
	case "redis-cluster":
		return r.clusterReason
	}
	return ""
}

// estimate is the expected duration of a mode in seconds, for the ETA.
func (r *runner) estimate(m Mode) float64 {
	phase := (r.cfg.Phase + r.cfg.Warmup).Seconds()
	if m.Model == "oidc" {
		// start, client and users, 2 × flows, 2 × ID-token verifications
		return 3.0 + 2*phase + 2*r.cfg.Phase.Seconds()
	}
	est := 1.0 + 5*phase // start, logins, 2×(healthz, me)
	if m.Model == "jwt" {
		est += 2 * phase
	}
	est += float64(r.cfg.Revocations) * 0.05
	return est
}

// rounds is how many alternating windows the baseline and the
// authenticated phase are cut into (see interleaved).
func (r *runner) rounds() int {
	if r.cfg.Quick {
		return 2
	}
	return 6
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// redactCommand hides the password of every URL in a command line: the
// reports record the command, and results.md is meant to be published.
func redactCommand(cmd string) string {
	words := strings.Split(cmd, " ")
	for i, w := range words {
		words[i] = redact.URL(w)
	}
	return strings.Join(words, " ")
}
