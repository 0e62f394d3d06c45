package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Soak thresholds.
const (
	// soakSettle is how long after its revocation a credential must be
	// refused by every node during the run: well past the 100 ms target,
	// so that a refusal still in flight is not counted as wrongly allowed.
	soakSettle = time.Second
	// soakGoroutineSlack is how many more goroutines a node may have at the
	// end than at the start, both taken with no client connected.
	soakGoroutineSlack = 10
	// A node's heap in use may grow to soakHeapFactor × its start, or by
	// soakHeapSlack, whichever is more (caches fill, GC timing varies).
	soakHeapFactor = 2.0 // argon2id takes 19 MiB a hash: the heap in use swings by tens of MiB
	soakHeapSlack  = 64 << 20
	// soakRevokedKept bounds the revoked credentials each worker keeps for
	// the final check (older ones were probed during the run).
	soakRevokedKept = 1000
)

// SoakReport is what a soak saw: soak.json.
type SoakReport struct {
	Version    int       `json:"version"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Command    string    `json:"command"`
	Machine    Machine   `json:"machine"`
	Seconds    float64   `json:"seconds"` // the workload's duration
	Store      string    `json:"store"`
	Nodes      int       `json:"nodes"`
	Workers    int       `json:"workers"`
	Users      int       `json:"users"`

	// Ops counts the operations done, by kind; Requests every HTTP request.
	Ops      map[string]int `json:"ops"`
	Requests int64          `json:"requests"`

	// ServerErrors: answers 5xx; TransportErrors: requests without an
	// answer; Unexpected: answers other than the model predicted that are
	// neither of the two below (samples in UnexpectedSamples).
	ServerErrors      int64    `json:"server_errors"`
	TransportErrors   int64    `json:"transport_errors"`
	Unexpected        int64    `json:"unexpected"`
	UnexpectedSamples []string `json:"unexpected_samples,omitempty"`
	// Lost: a live credential refused (during the run, or by any node at
	// the end). RevokedAccepted: a revoked credential accepted more than
	// 1 s after its revocation (during the run, or by any node at the end).
	Lost            int64 `json:"lost"`
	RevokedAccepted int64 `json:"revoked_accepted"`
	// The final check: live credentials (sessions, access tokens, refresh
	// families) and revoked ones, each tried on every node.
	FinalLiveChecked    int `json:"final_live_checked"`
	FinalRevokedChecked int `json:"final_revoked_checked"`

	NodeMetrics []NodeMetrics `json:"node_metrics"`

	Passed   bool     `json:"passed"`
	Failures []string `json:"failures,omitempty"`
}

// NodeMetrics are one node's go_goroutines and go_memstats_heap_inuse_bytes
// from its /metrics: at the start (after the warm-up), during the run,
// and at the end, the first and last taken with no client connected.
type NodeMetrics struct {
	Node   string       `json:"node"`
	Start  RuntimeUse   `json:"start"`
	End    RuntimeUse   `json:"end"`
	Series []RuntimeUse `json:"series"`
}

// RuntimeUse is a snapshot of a node's Go runtime.
type RuntimeUse struct {
	AtSeconds  float64 `json:"at_seconds"`
	Goroutines int     `json:"goroutines"`
	HeapInuse  int64   `json:"heap_inuse_bytes"`
}

// Soak runs the mixed workload against three nodes on store for dur, then
// checks that every live credential still works on every node, every
// revoked one is refused everywhere, no answer was a 5xx, and no node grew
// in goroutines or heap. It writes soak.json and soak.md into cfg.Out.
func Soak(ctx context.Context, cfg Config, dur time.Duration, store string) (*SoakReport, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = dur + 5*time.Minute
	}
	cfg.Defaults()
	if store == "redis-cluster" {
		cfg.RedisCluster = true // the soak starts the cluster it asks for
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	r, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	defer r.close()
	warm := min(30*time.Second, max(dur/10, 2*time.Second))
	cl, err := r.startSoakCluster(ctx, store, dur, warm)
	if err != nil {
		return nil, err
	}
	defer r.stopCluster(cl)
	s := newSoaker(r, cl.nodes, store)
	defer s.hc.CloseIdleConnections() // before the nodes stop: see stopCluster
	if err := s.addWorkers(ctx); err != nil {
		return nil, err
	}
	if err := s.run(ctx, dur, warm); err != nil {
		return nil, err
	}
	r.prog.finish()
	rep := s.report()
	return rep, writeSoak(cfg.Out, rep)
}

// startSoakCluster checks that store is available, starts what it needs
// and three nodes on it.
func (r *runner) startSoakCluster(ctx context.Context, store string, dur, warm time.Duration) (*cluster, error) {
	m := Mode{Name: "soak/" + store, Model: "session", Store: store, Alg: "EdDSA", Cache: true}
	r.checkStores(ctx, []Mode{m})
	if why := r.skipReason(m); why != "" {
		return nil, errors.New(why)
	}
	r.prog = newProgress(r.cfg.Progress, warm.Seconds()+dur.Seconds()+20)
	if store == "redis-cluster" {
		if err := r.startRedisCluster(); err != nil {
			return nil, err
		}
	}
	r.prog.step("soak: starting 3 nodes", 2)
	// Access tokens must outlive the soak: the model counts them live.
	ttl := min(24*time.Hour, max(time.Hour, dur+15*time.Minute))
	return r.startCluster(ctx, m, clusterNodes, nodeSettings{accessTTL: ttl.String()})
}

// soaker is a soak's shared state.
type soaker struct {
	r       *runner
	nodes   []*node
	rep     *SoakReport
	hc      *http.Client
	api     api // through hc, every request counted
	workers []*soakWorker
	t0      time.Time // the start of the load, warm-up included

	requests, serverErrors, transportErrors atomic.Int64
	unexpected, lost, revokedAccepted       atomic.Int64

	mu       sync.Mutex
	samples  []string
	failures []string
}

func newSoaker(r *runner, nodes []*node, store string) *soaker {
	workers := max(2, r.cfg.Concurrency/4)
	rep := &SoakReport{Version: ReportVersion, StartedAt: time.Now().UTC(), Command: redactCommand(r.cfg.Command), Machine: readMachine(),
		Store: store, Nodes: len(nodes), Workers: workers, Users: 2 * workers, Ops: map[string]int{}}
	s := &soaker{r: r, nodes: nodes, rep: rep, hc: newHTTPClient(workers)}
	s.api = api{instrumented(s.hc, s)}
	return s
}

// addWorkers makes the workers, each with two users of its own registered
// on the nodes in turn.
func (s *soaker) addWorkers(ctx context.Context) error {
	for i := range s.rep.Workers {
		w := &soakWorker{s: s, rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i))), ops: map[string]int{}}
		for range 2 {
			u := &soakUser{email: randomEmail("soak"), pw: randomPassword()}
			if err := s.r.api.register(ctx, s.nodes[i%len(s.nodes)].base, u.email, u.pw); err != nil {
				return err
			}
			w.users = append(w.users, u)
		}
		s.workers = append(s.workers, w)
	}
	return nil
}

// run is the soak proper: a warm-up, the start snapshot, dur of load with
// the nodes' metrics sampled, the final check and the end snapshot.
func (s *soaker) run(ctx context.Context, dur, warm time.Duration) error {
	l := s.startLoad(ctx)
	s.t0 = time.Now()
	s.r.prog.step("soak: warm-up", warm.Seconds())
	sleepCtx(ctx, warm)
	var start []RuntimeUse
	l.paused(func() { start = s.snapshot(ctx) })
	if start == nil {
		l.stop()
		return errors.New("cannot read the nodes' /metrics")
	}
	for i, n := range s.nodes {
		s.rep.NodeMetrics = append(s.rep.NodeMetrics, NodeMetrics{Node: n.name, Start: start[i], Series: []RuntimeUse{start[i]}})
	}
	s.r.prog.step(fmt.Sprintf("soak: %s of mixed load on 3 nodes", dur), dur.Seconds())
	workStart := time.Now()
	s.sample(ctx, workStart.Add(dur), max(dur/10, time.Second))
	l.stop()
	s.rep.Seconds = round1(time.Since(workStart).Seconds())
	for _, n := range s.nodes {
		if n.exited() {
			s.fail("%s died during the soak: %s", n.name, lastLine(n.log))
		}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("the soak did not finish within --timeout: %v", ctx.Err())
	}
	s.finalCheck(ctx)
	s.checkGrowth(s.snapshot(ctx))
	return nil
}

// soakLoad is the workers looping over their operations until stop;
// paused holds them between two operations.
type soakLoad struct {
	pause sync.RWMutex
	done  atomic.Bool
	wg    sync.WaitGroup
}

func (s *soaker) startLoad(ctx context.Context) *soakLoad {
	l := &soakLoad{}
	for _, w := range s.workers {
		l.wg.Go(func() {
			for !l.done.Load() && ctx.Err() == nil {
				l.pause.RLock()
				w.step(ctx)
				l.pause.RUnlock()
			}
		})
	}
	return l
}

// paused runs f while no worker is in an operation.
func (l *soakLoad) paused(f func()) {
	l.pause.Lock()
	defer l.pause.Unlock()
	f()
}

// stop ends the load once the operations in flight are done.
func (l *soakLoad) stop() {
	l.done.Store(true)
	l.wg.Wait()
}

// sample adds every node's metrics to its series at each tick of every
// until end.
func (s *soaker) sample(ctx context.Context, end time.Time, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for time.Now().Before(end) && ctx.Err() == nil {
		select {
		case <-tick.C:
			if snap := s.metrics(ctx, time.Since(s.t0)); snap != nil {
				for i := range s.rep.NodeMetrics {
					s.rep.NodeMetrics[i].Series = append(s.rep.NodeMetrics[i].Series, snap[i])
				}
			}
		case <-time.After(time.Until(end)):
		case <-ctx.Done():
		}
	}
}

// finalCheck, once the revocations have settled, has every worker try its
// live and revoked credentials on every node, and adds up what they did.
func (s *soaker) finalCheck(ctx context.Context) {
	s.r.prog.step("soak: final check on every node", 10)
	time.Sleep(soakSettle)
	var wg sync.WaitGroup
	for _, w := range s.workers {
		wg.Go(func() { w.finalCheck(ctx) })
	}
	wg.Wait()
	for _, w := range s.workers {
		s.rep.FinalLiveChecked += w.liveChecked
		s.rep.FinalRevokedChecked += w.revokedChecked
		for k, v := range w.ops {
			s.rep.Ops[k] += v
		}
	}
}

// checkGrowth records the end snapshot and fails the soak for every node
// that grew.
func (s *soaker) checkGrowth(end []RuntimeUse) {
	if end == nil {
		s.fail("cannot read the nodes' /metrics at the end")
		return
	}
	for i := range s.rep.NodeMetrics {
		nm := &s.rep.NodeMetrics[i]
		nm.End = end[i]
		nm.Series = append(nm.Series, end[i])
		for _, f := range growth(*nm) {
			s.fail("%s", f)
		}
	}
}

// growth says how a node grew past the bounds from its start to its end.
func growth(nm NodeMetrics) []string {
	var out []string
	if nm.End.Goroutines > nm.Start.Goroutines+soakGoroutineSlack {
		out = append(out, fmt.Sprintf("%s: goroutines grew from %d to %d", nm.Node, nm.Start.Goroutines, nm.End.Goroutines))
	}
	if limit := max(int64(float64(nm.Start.HeapInuse)*soakHeapFactor), nm.Start.HeapInuse+soakHeapSlack); nm.End.HeapInuse > limit {
		out = append(out, fmt.Sprintf("%s: heap in use grew from %s to %s", nm.Node, mib(nm.Start.HeapInuse), mib(nm.End.HeapInuse)))
	}
	return out
}

// report is the soak's report once it has run: the counts and the verdict.
func (s *soaker) report() *SoakReport {
	rep := s.rep
	rep.FinishedAt = time.Now().UTC()
	rep.Requests = s.requests.Load()
	rep.ServerErrors = s.serverErrors.Load()
	rep.TransportErrors = s.transportErrors.Load()
	rep.Unexpected = s.unexpected.Load()
	rep.Lost = s.lost.Load()
	rep.RevokedAccepted = s.revokedAccepted.Load()
	s.mu.Lock()
	rep.UnexpectedSamples = s.samples
	rep.Failures = slices.Concat(s.failures, countFailures(rep))
	s.mu.Unlock()
	rep.Passed = len(rep.Failures) == 0
	return rep
}

// countFailures lists the counts of rep that fail the soak: every one of
// them must be 0.
func countFailures(rep *SoakReport) []string {
	counts := []struct {
		n    int64
		what string
	}{
		{rep.ServerErrors, "%d answers were 5xx"},
		{rep.TransportErrors, "%d requests got no answer"},
		{rep.Lost, "%d live credentials were refused"},
		{rep.RevokedAccepted, "%d revoked credentials were accepted more than " + soakSettle.String() + " after their revocation"},
		{rep.Unexpected, "%d unexpected answers"},
	}
	var out []string
	for _, c := range counts {
		if c.n > 0 {
			out = append(out, fmt.Sprintf(c.what, c.n))
		}
	}
	return out
}

func (s *soaker) fail(format string, args ...any) {
	s.mu.Lock()
	s.failures = append(s.failures, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

// note counts an answer the model did not predict and keeps a sample.
func (s *soaker) note(counter *atomic.Int64, format string, args ...any) {
	counter.Add(1)
	s.mu.Lock()
	if len(s.samples) < 20 {
		s.samples = append(s.samples, fmt.Sprintf(format, args...))
	}
	s.mu.Unlock()
}

// countingTransport counts every request, 5xx and transport error.
type countingTransport struct {
	rt http.RoundTripper
	s  *soaker
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.s.requests.Add(1)
	resp, err := t.rt.RoundTrip(req)
	if err != nil {
		if req.Context().Err() == nil {
			t.s.note(&t.s.transportErrors, "%s %s: %v", req.Method, req.URL.Path, err)
		}
		return nil, err
	}
	if resp.StatusCode >= 500 {
		t.s.note(&t.s.serverErrors, "%s %s: HTTP %d", req.Method, req.URL.Path, resp.StatusCode)
	}
	return resp, nil
}

func instrumented(hc *http.Client, s *soaker) *http.Client {
	c := *hc
	c.Transport = countingTransport{hc.Transport, s}
	return &c
}

// snapshot reads every node's metrics with no client connected.
func (s *soaker) snapshot(ctx context.Context) []RuntimeUse {
	at := time.Since(s.t0)
	s.hc.CloseIdleConnections()
	s.r.hc.CloseIdleConnections()
	time.Sleep(500 * time.Millisecond) // let the servers' connection goroutines end
	return s.metrics(ctx, at)
}

// metrics reads go_goroutines and go_memstats_heap_inuse_bytes of every
// node. The read's own connection is closed at once.
func (s *soaker) metrics(ctx context.Context, at time.Duration) []RuntimeUse {
	out := make([]RuntimeUse, len(s.nodes))
	for i, n := range s.nodes {
		req, _ := http.NewRequestWithContext(ctx, "GET", n.base+"/metrics", nil)
		req.Close = true
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			return nil
		}
		u := RuntimeUse{AtSeconds: round1(at.Seconds())}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "go_goroutines "); ok {
				f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				u.Goroutines = int(f)
			} else if v, ok := strings.CutPrefix(line, "go_memstats_heap_inuse_bytes "); ok {
				f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				u.HeapInuse = int64(f)
			}
		}
		resp.Body.Close()
		out[i] = u
	}
	return out
}
