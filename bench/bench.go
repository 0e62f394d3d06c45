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
	"sync"
	"time"

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
		return nil, fmt.Errorf("--modes %s matches no mode; modes are named like session/sqlite/cache and jwt/EdDSA/nocache", strings.Join(cfg.Modes, ","))
	}
	r, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	defer r.close()
	rep := &Report{Version: ReportVersion, StartedAt: time.Now().UTC(), Quick: cfg.Quick, Command: cfg.Command,
		Machine: readMachine(), Settings: Settings{Concurrency: cfg.Concurrency, PhaseSeconds: cfg.Phase.Seconds(),
			WarmupSeconds: cfg.Warmup.Seconds(), Revocations: cfg.Revocations, Nodes: clusterNodes}}

	r.checkStores(ctx, modes)
	total := argonEstimate(cfg)
	for _, m := range modes {
		if r.skipReason(m) == "" {
			total += r.estimate(m)
		}
	}
	r.prog = newProgress(cfg.Progress, total)
	if needsCluster(modes) && r.clusterReason == "" {
		r.prog.note("starting a 3-master Redis Cluster")
		dir := filepath.Join(r.tmp, "redis-cluster")
		if c, err := redisproc.NewCluster(dir, 3); err != nil {
			r.clusterReason = "cannot start a Redis Cluster: " + err.Error()
		} else {
			r.cluster = c
		}
	}

	r.prog.step("argon2id in process", argonEstimate(cfg))
	rep.Argon2 = argon2Rate(ctx, argonWindow(cfg))

	for _, m := range modes {
		if ctx.Err() != nil {
			rep.Modes = append(rep.Modes, ModeResult{Mode: m, Status: StatusFailed, Reason: "the run's deadline passed (--timeout)"})
			continue
		}
		if why := r.skipReason(m); why != "" {
			rep.Modes = append(rep.Modes, ModeResult{Mode: m, Status: StatusSkipped, Reason: why})
			r.prog.note("%s: skipped: %s", m.Name, why)
			continue
		}
		res := r.runMode(ctx, m)
		if res.Status != StatusOK {
			r.prog.note("%s: %s: %s", m.Name, res.Status, res.Reason)
		}
		rep.Modes = append(rep.Modes, res)
	}
	r.prog.finish()
	rep.FinishedAt = time.Now().UTC()
	rep.Targets = evaluateTargets(rep)
	if err := writeReport(cfg.Out, rep); err != nil {
		return rep, err
	}
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return rep, fmt.Errorf("the run did not finish within --timeout %s; partial results are in %s", cfg.Timeout, cfg.Out)
	}
	return rep, ctx.Err()
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
	} else if err := pgExec(cctx, r.cfg.Postgres, "SELECT 1"); err != nil {
		r.pgReason = "PostgreSQL " + redact(r.cfg.Postgres) + " is not reachable: " + oneLine(err.Error())
	}
	if r.cfg.Redis == "" {
		r.redisReason = "no Redis: pass --redis URL or set AUTHD_TEST_REDIS"
	} else if rep, err := redisCommand(cctx, r.cfg.Redis, "PING"); err != nil || rep != "PONG" {
		r.redisReason = fmt.Sprintf("Redis %s is not reachable: %v", redact(r.cfg.Redis), err)
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

// ---- one mode

// cluster is the authd nodes of one mode and what tears them down.
type cluster struct {
	nodes   []*node
	cleanup []func()
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

// nodeArgs are the serve flags of mode m's nodes, stores aside. The
// benchmark and the soak sign in with the password grant, which authd
// enables only under --password-grant (RFC 9700 forbids it by default).
func nodeArgs(m Mode, ns nodeSettings) []string {
	args := []string{"--dev", "--addr", "127.0.0.1:0", "--issuer", "http://authd-bench.test", "--log-level", "warn",
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

// startCluster prepares m's store and starts n authd nodes on it. The
// first node starts alone (it migrates the schema and makes the first
// signing key); the others start together after it.
func (r *runner) startCluster(ctx context.Context, m Mode, n int, tag string, ns nodeSettings) (*cluster, error) {
	c := &cluster{}
	slug := strings.ReplaceAll(m.Name, "/", "_") + tag
	dir := filepath.Join(r.tmp, slug)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	args := nodeArgs(m, ns)
	switch m.Store {
	case "postgres":
		schema, u, err := pgSchema(ctx, r.cfg.Postgres)
		if err != nil {
			return nil, fmt.Errorf("cannot create a PostgreSQL schema: %v", oneLine(err.Error()))
		}
		c.cleanup = append(c.cleanup, func() { pgDropSchema(r.cfg.Postgres, schema) })
		args = append(args, "--db", u)
	case "redis", "redis-cluster":
		prefix := "authd-bench-" + randomHex(4) + ":"
		target := r.cfg.Redis
		var masters []string
		if m.Store == "redis-cluster" {
			target = r.cluster.URL()
			masters = r.cluster.Addrs()
		} else {
			masters = []string{r.cfg.Redis}
		}
		c.cleanup = append(c.cleanup, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for _, a := range masters {
				deletePrefix(ctx, a, prefix)
			}
		})
		args = append(args, "--db", "sqlite:"+filepath.Join(dir, "authd.db"), "--redis", target, "--redis-prefix", prefix)
	default:
		args = append(args, "--db", "sqlite:"+filepath.Join(dir, "authd.db"))
	}
	env := childEnv(r.cfg.Env)
	start := func(i int) (*node, error) {
		name := fmt.Sprintf("node%d", i)
		return startNode(ctx, &r.procs, name, r.cfg.Exe, env, filepath.Join(r.logs, slug+"-"+name+".log"), args)
	}
	first, err := start(0)
	if err != nil {
		c.stop()
		return nil, err
	}
	c.nodes = append(c.nodes, first)
	rest := make([]*node, n-1)
	errs := make([]error, n-1)
	var wg sync.WaitGroup
	for i := range rest {
		wg.Go(func() { rest[i], errs[i] = start(i + 1) })
	}
	wg.Wait()
	for i, nd := range rest {
		if nd != nil {
			c.nodes = append(c.nodes, nd)
		}
		if errs[i] != nil && err == nil {
			err = errs[i]
		}
	}
	if err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

// users registers n users on base and returns their emails and password.
func (r *runner) users(ctx context.Context, base string, n int, tag string) ([]string, string, error) {
	pw := randomPassword()
	emails := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range emails {
		emails[i] = randomEmail(tag)
		wg.Go(func() { errs[i] = r.api.register(ctx, base, emails[i], pw) })
	}
	wg.Wait()
	return emails, pw, errors.Join(errs...)
}

// runMode measures one mode on a fresh store and fresh nodes.
func (r *runner) runMode(ctx context.Context, m Mode) (res ModeResult) {
	res = ModeResult{Mode: m, Status: StatusOK}
	phase := (r.cfg.Phase + r.cfg.Warmup).Seconds()
	r.prog.step(m.Name+": starting 3 nodes", 1)
	cl, err := r.startCluster(ctx, m, clusterNodes, "", nodeSettings{})
	if err != nil {
		return failed(res, err)
	}
	defer func() {
		// Connections dialled but never used would hold up the nodes'
		// graceful shutdown for 5 s (net/http treats them as active).
		r.hc.CloseIdleConnections()
		cl.stop()
	}()
	for _, n := range cl.nodes {
		res.Logs = append(res.Logs, n.log)
	}
	n0 := cl.nodes[0]
	conc := r.cfg.Concurrency
	nUsers, want := 8, conc // want: distinct credentials for the load phases
	if r.cfg.Quick {
		nUsers, want = 4, min(conc, 8)
	}
	emails, pw, err := r.users(ctx, n0.base, nUsers, "u")
	if err != nil {
		return failed(res, err)
	}

	// Logins (argon2id-bound), on one node. The credentials they make serve
	// the load phases (one per client, or shared by a few with --quick),
	// then the revocation trials.
	var mu sync.Mutex
	var creds []cred
	var pairs []tokenPair
	keep := want + r.cfg.Revocations
	login := func(ctx context.Context, w int) (cred, tokenPair, int, error) {
		email := emails[w%len(emails)]
		if m.Model == "session" {
			c, st, err := r.api.login(ctx, n0.base, email, pw)
			return c, tokenPair{}, st, err
		}
		p, st, err := r.api.passwordGrant(ctx, n0.base, email, pw)
		return bearerCred(p.Access), p, st, err
	}
	if m.Model == "session" {
		res.LoginEndpoint = "POST /v1/login"
	} else {
		res.LoginEndpoint = "POST /oauth2/token grant_type=password"
	}
	r.prog.step(m.Name+": logins", phase)
	st := closedLoop(ctx, conc, r.cfg.Warmup, r.cfg.Phase, cl.nodes, func(ctx context.Context, w int) (bool, int) {
		c, p, status, err := login(ctx, w)
		if err != nil {
			return false, status
		}
		mu.Lock()
		if len(creds) < keep {
			creds, pairs = append(creds, c), append(pairs, p)
		}
		mu.Unlock()
		return true, status
	})
	res.Logins = &st
	if missing := want - len(creds); missing > 0 {
		errs := make([]error, missing)
		var wg sync.WaitGroup
		for i := range missing {
			wg.Go(func() {
				c, p, _, err := login(ctx, i)
				mu.Lock()
				creds, pairs = append(creds, c), append(pairs, p)
				mu.Unlock()
				errs[i] = err
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return failed(res, err)
		}
	}
	if ctx.Err() != nil {
		return failed(res, ctx.Err())
	}
	loadCreds := creds[:want]
	res.Credential = &Credential{Header: creds[0].header, HeaderBytes: creds[0].wireBytes(), ValueBytes: len(creds[0].value)}

	// Throughput: /healthz (the baseline) and /v1/me, on one node and
	// spread over all three.
	for _, k := range []int{1, clusterNodes} {
		nodes := cl.nodes[:k]
		r.prog.step(fmt.Sprintf("%s: GET /healthz and /v1/me, %d node(s)", m.Name, k), 2*phase)
		hz := make([]*http.Request, conc)
		me := make([]*http.Request, conc)
		for w := range conc {
			hz[w], _ = http.NewRequest("GET", nodes[w%k].base+"/healthz", nil)
			me[w] = meRequest(nodes[w%k].base, loadCreds[w%len(loadCreds)])
		}
		tp := Throughput{Nodes: k}
		tp.Healthz, tp.Me = interleaved(ctx, r.rounds(), conc, r.cfg.Warmup, r.cfg.Phase, cl.nodes,
			func(ctx context.Context, w int) (bool, int) {
				s, err := do(r.hc, hz[w])
				return err == nil && s == http.StatusOK, s
			},
			func(ctx context.Context, w int) (bool, int) {
				s, err := do(r.hc, me[w])
				return err == nil && s == http.StatusOK, s
			})
		if tp.Healthz.RPS > 0 {
			tp.Ratio = round3(tp.Me.RPS / tp.Healthz.RPS)
		}
		res.Throughput = append(res.Throughput, tp)
	}

	if m.Model == "jwt" {
		// Issuance: a session exchanged for an access token.
		sc, _, err := r.api.login(ctx, n0.base, emails[0], pw)
		if err != nil {
			return failed(res, err)
		}
		r.prog.step(m.Name+": token issuance", phase)
		iss := closedLoop(ctx, conc, r.cfg.Warmup, r.cfg.Phase, cl.nodes, func(ctx context.Context, w int) (bool, int) {
			req, _ := http.NewRequestWithContext(ctx, "POST", n0.base+"/v1/session/token", nil)
			req.Header.Set(sc.header, sc.value)
			s, err := do(r.hc, req)
			return err == nil && s == http.StatusOK, s
		})
		res.Issuance = &iss
		// Refresh rotations: each client rotates its own family.
		r.prog.step(m.Name+": refresh rotations", phase)
		// Each client rotates a family of its own: two clients sharing one
		// would be reuse, which kills the family.
		rts := make([]string, min(conc, len(pairs)))
		for w := range rts {
			rts[w] = pairs[w].Refresh
		}
		ref := closedLoop(ctx, len(rts), r.cfg.Warmup, r.cfg.Phase, cl.nodes, func(ctx context.Context, w int) (bool, int) {
			p, s, err := r.api.refresh(ctx, n0.base, rts[w])
			if err != nil {
				return false, s
			}
			rts[w] = p.Refresh
			return true, s
		})
		res.Refresh = &ref
	}

	// Revocation to refusal.
	r.prog.step(fmt.Sprintf("%s: %d revocations", m.Name, r.cfg.Revocations), float64(r.cfg.Revocations)*0.05)
	rev, err := r.revocations(ctx, m, cl.nodes, emails, pw, creds)
	if err != nil {
		return failed(res, err)
	}
	res.Revocation = rev
	for _, n := range cl.nodes {
		if n.exited() {
			return failed(res, fmt.Errorf("%s died during the run: %s", n.name, lastLine(n.log)))
		}
	}
	r.prog.step(m.Name+": stopping the nodes", 0.2)
	return res
}

func failed(res ModeResult, err error) ModeResult {
	res.Status, res.Reason = StatusFailed, oneLine(err.Error())
	// A build of authd that does not take a store flag yet is a missing
	// store, not a failure of the bench.
	if strings.Contains(res.Reason, "not supported") || strings.Contains(res.Reason, "flag provided but not defined") {
		res.Status = StatusSkipped
	}
	return res
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// redact hides a password in a URL.
func redact(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		if j := strings.LastIndex(s, "@"); j > i {
			if k := strings.Index(s[i+3:j], ":"); k >= 0 {
				return s[:i+3+k] + ":xxxxx" + s[j:]
			}
		}
	}
	return s
}
