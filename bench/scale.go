package bench

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/postgres"
	"github.com/authd/authd/redis"
	"github.com/authd/authd/sqlite"
)

// The scale run (issue #19, part 1): how the cost of GET /v1/me grows with
// the number of live sessions in the store. For each store, one fresh store
// is filled to each size in turn (the sessions are inserted through the
// store package, never through HTTP login), and at each size one node with
// the session cache on, then one with it off, serves GET /v1/me against
// GET /healthz as in the benchmark's 1-node phase.

// ScaleVersion is the version of the scale.json schema.
const ScaleVersion = 1

// ScaleReport is scale.json.
type ScaleReport struct {
	Version    int         `json:"version"`
	StartedAt  time.Time   `json:"started_at"`
	FinishedAt time.Time   `json:"finished_at"`
	Command    string      `json:"command"`
	Machine    Machine     `json:"machine"`
	Settings   Settings    `json:"settings"`
	Sizes      []int       `json:"sizes"`
	Stores     []ScaleFill `json:"stores"`
	Modes      []ScaleMode `json:"modes"`
}

// ScaleFill is how one store was filled: one step per size.
type ScaleFill struct {
	Store  string      `json:"store"`
	Status string      `json:"status"`
	Reason string      `json:"reason,omitempty"`
	Steps  []ScaleStep `json:"steps,omitempty"`
	// FreshStartMs is the first node's start on the empty store (it
	// migrates it): from starting `authd serve` to "authd listening on".
	FreshStartMs float64 `json:"fresh_start_ms,omitempty"`
}

// ScaleStep is the filling of a store up to Sessions.
type ScaleStep struct {
	Sessions  int     `json:"sessions"`
	Inserted  int     `json:"inserted"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
	// StoreBytes is the store's size after the step: Redis INFO memory
	// used_memory summed over the masters, the SQLite file and its WAL;
	// zero where not measured (PostgreSQL).
	StoreBytes int64 `json:"store_bytes,omitempty"`
	// StartMs are startSamples starts of a node (cache on) on the store
	// filled to Sessions, each stopped before the next: from starting
	// `authd serve` to its "authd listening on" line. StartMedianMs is
	// their median, StartMaxMs the slowest.
	StartMs       []float64 `json:"start_ms,omitempty"`
	StartMedianMs float64   `json:"start_median_ms,omitempty"`
	StartMaxMs    float64   `json:"start_max_ms,omitempty"`
}

// startSamples is how many times the scale run restarts a node on the
// filled store to time its start (one start on a shared machine is noise).
const startSamples = 5

// timeStarts starts and stops a node with start n times and fills step's
// start times.
func timeStarts(step *ScaleStep, n int, start func() (*cluster, error), stop func(*cluster)) error {
	for range n {
		cl, err := start()
		if err != nil {
			return err
		}
		step.StartMs = append(step.StartMs, ms(cl.nodes[0].started))
		stop(cl)
	}
	s := slices.Sorted(slices.Values(step.StartMs))
	step.StartMedianMs, step.StartMaxMs = s[len(s)/2], s[len(s)-1]
	return nil
}

// ScaleMode is one store with the cache on or off, measured at each size.
type ScaleMode struct {
	Mode
	Status string       `json:"status"`
	Reason string       `json:"reason,omitempty"`
	Points []ScalePoint `json:"points,omitempty"`
	// Growth is the figure at the largest size over the smallest's.
	Growth *ScaleGrowth `json:"growth,omitempty"`
}

// ScalePoint is GET /v1/me against GET /healthz on one node at Sessions.
type ScalePoint struct {
	Sessions int        `json:"sessions"`
	Run      Throughput `json:"run"`
	// StartMs is the node's start on the store holding Sessions sessions
	// (the previous node stopped): from starting `authd serve` to its
	// "authd listening on" line. Run.PeakRSSBytes is its peak RSS under
	// the load.
	StartMs float64 `json:"start_ms"`
}

// ScaleGrowth compares the largest size with the smallest.
type ScaleGrowth struct {
	From      int     `json:"from"`
	To        int     `json:"to"`
	CPU       float64 `json:"cpu_us_per_req"` // CPU per request, to ÷ from
	P99       float64 `json:"p99_ms"`         // p99 latency, to ÷ from
	RPSRatio  float64 `json:"rps"`            // from's rate ÷ to's: > 1 is slower
	MeetsGoal bool    `json:"meets_goal"`     // CPU per request ≤ ScaleGoal (the rate moves with the shared machine)
}

// ScaleGoal is issue #19's bound: no store more than 1.5× slower per
// request from the smallest size to the largest.
const ScaleGoal = 1.5

// RunScale runs the scale measurement for the session modes of cfg.Modes
// (all of them when empty) at cfg.Sessions live sessions, and writes
// scale.json, scale.csv, scale.md and scale.svg into cfg.Out.
func RunScale(ctx context.Context, cfg Config) (*ScaleReport, error) {
	cfg.Defaults()
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	sizes := slices.Clone(cfg.Sessions)
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)
	if len(sizes) == 0 || sizes[0] < 1 {
		return nil, fmt.Errorf("--sessions: want sizes of at least 1")
	}
	var modes []Mode
	for _, m := range selectModes(cfg.Modes) {
		if m.Model == "session" {
			modes = append(modes, m)
		}
	}
	if len(modes) == 0 {
		return nil, fmt.Errorf("--modes %s matches no session mode; the scale run measures session/<store>/cache|nocache", strings.Join(cfg.Modes, ","))
	}
	r, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	defer r.close()
	rep := &ScaleReport{Version: ScaleVersion, StartedAt: time.Now().UTC(), Command: redactCommand(cfg.Command),
		Machine: readMachine(), Sizes: sizes, Settings: Settings{Concurrency: cfg.Concurrency, PhaseSeconds: cfg.Phase.Seconds(),
			WarmupSeconds: cfg.Warmup.Seconds(), Nodes: 1}}
	r.checkStores(ctx, modes)
	var stores []string
	for _, m := range modes {
		if !slices.Contains(stores, m.Store) {
			stores = append(stores, m.Store)
		}
	}
	total := 0.0
	for range stores {
		total += float64(len(sizes)) * (2*2*r.phaseSeconds() + startSamples*0.3 + float64(sizes[len(sizes)-1])/float64(len(sizes))/20000)
	}
	r.prog = newProgress(cfg.Progress, total)
	if slices.Contains(stores, "redis-cluster") && r.clusterReason == "" {
		if err := r.startRedisCluster(); err != nil {
			r.clusterReason = "cannot start a Redis Cluster: " + err.Error()
		}
	}
	for _, st := range stores {
		var mine []Mode
		for _, m := range modes {
			if m.Store == st {
				mine = append(mine, m)
			}
		}
		fill, ms := r.scaleStore(ctx, st, mine, sizes)
		rep.Stores = append(rep.Stores, fill)
		rep.Modes = append(rep.Modes, ms...)
	}
	r.prog.finish()
	rep.FinishedAt = time.Now().UTC()
	if err := writeScale(cfg.Out, rep); err != nil {
		return rep, err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return rep, fmt.Errorf("the run did not finish within --timeout %s; partial results are in %s", cfg.Timeout, cfg.Out)
	}
	return rep, ctx.Err()
}

// scaleStore fills one fresh store of kind st to each size and measures
// each of modes (the store with the cache on, off) at each size.
func (r *runner) scaleStore(ctx context.Context, st string, modes []Mode, sizes []int) (ScaleFill, []ScaleMode) {
	fill := ScaleFill{Store: st, Status: StatusOK}
	out := make([]ScaleMode, len(modes))
	for i, m := range modes {
		out[i] = ScaleMode{Mode: m, Status: StatusOK}
	}
	fail := func(status, why string) (ScaleFill, []ScaleMode) {
		fill.Status, fill.Reason = status, oneLine(why)
		for i := range out {
			if out[i].Status == StatusOK {
				out[i].Status, out[i].Reason = status, fill.Reason
			}
		}
		r.prog.note("scale %s: %s: %s", st, status, fill.Reason)
		return fill, out
	}
	if why := r.skipReason(modes[0]); why != "" {
		return fail(StatusSkipped, why)
	}
	slug := "scale_" + st
	dir := filepath.Join(r.tmp, slug)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail(StatusFailed, err.Error())
	}
	storeArgs, cleanup, err := r.freshStore(ctx, modes[0], dir)
	if err != nil {
		return fail(StatusFailed, err.Error())
	}
	defer cleanup()
	keyArgs := []string{"--encryption-key-file", filepath.Join(dir, "authd.key")}

	// The first node migrates the store; its users and logins make the
	// load's credentials, which stay valid on every later node.
	start := func(m Mode) (*cluster, error) {
		cl := &cluster{}
		err := r.startNodes(ctx, cl, slug+"_"+cacheWord(m.Cache), append(append(nodeArgs(m, nodeSettings{}), keyArgs...), storeArgs...), 1)
		if err != nil {
			r.stopCluster(cl)
		}
		return cl, err
	}
	r.prog.step("scale "+st+": users and logins", 2)
	cl, err := start(modes[0])
	if err != nil {
		return fail(StatusFailed, err.Error())
	}
	mr := &modeRun{runner: r, m: modes[0], nodes: cl.nodes, loadCreds: r.cfg.Concurrency}
	if mr.emails, mr.pw, err = mr.users(ctx, cl.nodes[0].base, 8, "s"); err == nil {
		err = mr.topUpCreds(ctx)
	}
	fill.FreshStartMs = ms(cl.nodes[0].started)
	r.stopCluster(cl)
	if err != nil {
		return fail(StatusFailed, err.Error())
	}
	store, size, closeStore, err := r.openSessionStore(ctx, st, storeArgs)
	if err != nil {
		return fail(StatusFailed, err.Error())
	}
	defer closeStore()

	have := 0
	for _, n := range sizes {
		r.prog.step(fmt.Sprintf("scale %s: filling to %d sessions", st, n), float64(n-have)/20000)
		step, err := fillSessions(ctx, store, have, n, st)
		if err != nil {
			return fail(StatusFailed, err.Error())
		}
		step.StoreBytes = size(ctx)
		r.prog.step(fmt.Sprintf("scale %s at %d sessions: %d starts", st, n, startSamples), startSamples*0.3)
		if err := timeStarts(&step, startSamples, func() (*cluster, error) { return start(modes[0]) }, r.stopCluster); err != nil {
			return fail(StatusFailed, err.Error())
		}
		r.prog.note("scale %s at %d sessions: start to listening, median %.1f ms, slowest %.1f ms of %d", st, n, step.StartMedianMs, step.StartMaxMs, startSamples)
		fill.Steps = append(fill.Steps, step)
		have = n
		r.prog.note("scale %s: %d sessions inserted in %.1f s (%.0f/s)", st, step.Inserted, step.Seconds, step.PerSecond)
		for i, m := range modes {
			if out[i].Status != StatusOK {
				continue
			}
			r.prog.step(fmt.Sprintf("scale %s at %d sessions: GET /healthz and /v1/me", m.Name, n), 2*r.phaseSeconds())
			cl, err := start(m)
			if err != nil {
				out[i].Status, out[i].Reason = StatusFailed, oneLine(err.Error())
				continue
			}
			mr := &modeRun{runner: r, m: m, nodes: cl.nodes, creds: mr.creds, loadCreds: mr.loadCreds}
			tp := mr.throughputOn(ctx, cl.nodes)
			r.stopCluster(cl)
			out[i].Points = append(out[i].Points, ScalePoint{Sessions: n, Run: tp, StartMs: ms(cl.nodes[0].started)})
			r.prog.note("scale %s at %d sessions: started in %.1f ms, peak RSS %s under load", m.Name, n, ms(cl.nodes[0].started), rssMiB(slices.Max(append([]int64{0}, tp.PeakRSSBytes...)), tp.PeakRSSSince))
		}
	}
	for i := range out {
		out[i].Growth = scaleGrowth(out[i].Points)
	}
	return fill, out
}

// scaleGrowth compares the last point with the first.
func scaleGrowth(ps []ScalePoint) *ScaleGrowth {
	if len(ps) < 2 {
		return nil
	}
	a, b := ps[0].Run.Me, ps[len(ps)-1].Run.Me
	g := &ScaleGrowth{From: ps[0].Sessions, To: ps[len(ps)-1].Sessions}
	if a.CPUPerReqUs != nil && b.CPUPerReqUs != nil && *a.CPUPerReqUs > 0 {
		g.CPU = round3(*b.CPUPerReqUs / *a.CPUPerReqUs)
	}
	if a.P99Ms > 0 {
		g.P99 = round3(b.P99Ms / a.P99Ms)
	}
	if b.RPS > 0 {
		g.RPSRatio = round3(a.RPS / b.RPS)
	}
	g.MeetsGoal = g.CPU > 0 && g.CPU <= ScaleGoal
	return g
}

// openSessionStore opens the session store that storeArgs name, through
// authd's own store packages, and returns what reports its size.
func (r *runner) openSessionStore(ctx context.Context, st string, storeArgs []string) (authd.SessionStore, func(context.Context) int64, func(), error) {
	switch st {
	case "sqlite", "postgres":
		return openSQLStore(ctx, st, storeArgs)
	case "redis", "redis-cluster":
		masters := []string{r.cfg.Redis}
		if st == "redis-cluster" {
			masters = r.cluster.Addrs()
		}
		s, err := redis.Open(ctx, argOf(storeArgs, "--redis"), redis.WithPrefix(argOf(storeArgs, "--redis-prefix")))
		if err != nil {
			return nil, nil, nil, err
		}
		return s, func(ctx context.Context) int64 { return redisUsedMemory(ctx, masters) }, func() { s.Close() }, nil
	}
	return nil, nil, nil, fmt.Errorf("no session store %q", st)
}

// sqlStore is what the SQL store packages keep that the scale runs fill:
// sessions, users and refresh families.
type sqlStore interface {
	authd.SessionStore
	authd.UserStore
	authd.RefreshStore
}

// openSQLStore opens the SQLite or PostgreSQL store that storeArgs' --db
// names, through authd's own store packages (which migrate it), and
// returns what reports its size: the SQLite file and its WAL; zero for
// PostgreSQL, whose size the bench does not read.
func openSQLStore(ctx context.Context, st string, storeArgs []string) (sqlStore, func(context.Context) int64, func(), error) {
	db := argOf(storeArgs, "--db")
	switch st {
	case "sqlite":
		path := strings.TrimPrefix(db, "sqlite:")
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, nil, nil, err
		}
		size := func(context.Context) int64 {
			var n int64
			for _, p := range []string{path, path + "-wal"} {
				if fi, err := os.Stat(p); err == nil {
					n += fi.Size()
				}
			}
			return n
		}
		return s, size, func() { s.Close() }, nil
	case "postgres":
		s, err := postgres.Open(ctx, db)
		if err != nil {
			return nil, nil, nil, err
		}
		return s, func(context.Context) int64 { return 0 }, func() { s.Close() }, nil
	}
	return nil, nil, nil, fmt.Errorf("no SQL store %q", st)
}

// argOf is the value of the flag name in args ("" when absent).
func argOf(args []string, name string) string {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == name {
			return args[i+1]
		}
	}
	return ""
}

// redisUsedMemory sums INFO memory used_memory over masters (0 on error).
func redisUsedMemory(ctx context.Context, masters []string) int64 {
	var sum int64
	for _, a := range masters {
		v, err := redisCommand(ctx, a, "INFO", "memory")
		s, _ := v.(string)
		if err != nil {
			return 0
		}
		for line := range strings.SplitSeq(s, "\n") {
			if rest, ok := strings.CutPrefix(line, "used_memory:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
				sum += n
			}
		}
	}
	return sum
}

// fillWorkers is how many CreateSession calls run at once per store: the
// SQLite store has one writing connection, the others pipeline.
func fillWorkers(st string) int {
	switch st {
	case "sqlite":
		return 4
	case "postgres":
		return 16
	}
	return 64
}

// fillSessions inserts the sessions numbered from to to-1: four per user,
// expiring in a day, as a login would make them (the cookie values are
// never known: only their hashes are stored).
func fillSessions(ctx context.Context, store authd.SessionStore, from, to int, st string) (ScaleStep, error) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	sec, err := fillRange(ctx, from, to, fillWorkers(st), func(i int) error {
		if err := store.CreateSession(ctx, scaleSession(i, now)); err != nil {
			return fmt.Errorf("inserting session %d: %w", i, err)
		}
		return nil
	})
	if err != nil {
		return ScaleStep{}, err
	}
	return ScaleStep{Sessions: to, Inserted: to - from, Seconds: round3(sec), PerSecond: round1(float64(to-from) / sec)}, nil
}

// fillRange calls insert for every i from from to to-1 on workers
// goroutines, stopping at the first error, and returns the seconds taken.
func fillRange(ctx context.Context, from, to, workers int, insert func(i int) error) (float64, error) {
	t0 := time.Now()
	var next atomic.Int64
	next.Store(int64(from))
	var failed atomic.Bool
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range errs {
		wg.Go(func() {
			for ctx.Err() == nil && !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= to {
					return
				}
				if err := insert(i); err != nil {
					errs[w] = err
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return 0, err
	}
	return time.Since(t0).Seconds(), nil
}

// scaleSession is the i-th filler session.
func scaleSession(i int, now time.Time) *authd.Session {
	var seed [8]byte
	binary.BigEndian.PutUint64(seed[:], uint64(i))
	h := sha256.Sum256(append([]byte("authd-bench-scale:"), seed[:]...))
	user := i / 4
	return &authd.Session{
		ID: fmt.Sprintf("sc%010d", i), Hash: h[:],
		UserID: fmt.Sprintf("scale-user-%09d", user), Email: fmt.Sprintf("u%d@scale.authd-bench.test", user),
		Roles: []string{}, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(24 * time.Hour), AbsoluteExpiresAt: now.Add(30 * 24 * time.Hour),
		IP: "127.0.0.1", UserAgent: "authd-bench", AMR: []string{"pwd"},
	}
}
