package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authd/authd/redis/redisproc"
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
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	r, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	defer r.close()
	m := Mode{Name: "soak/" + store, Model: "session", Store: store, Alg: "EdDSA", Cache: true}
	if store == "redis-cluster" {
		cfg.RedisCluster = true
		r.cfg.RedisCluster = true
	}
	r.checkStores(ctx, []Mode{m})
	if why := r.skipReason(m); why != "" {
		return nil, errors.New(why)
	}
	warm := min(30*time.Second, max(dur/10, 2*time.Second))
	r.prog = newProgress(cfg.Progress, warm.Seconds()+dur.Seconds()+20)
	if store == "redis-cluster" {
		r.prog.note("starting a 3-master Redis Cluster")
		c, err := redisproc.NewCluster(filepath.Join(r.tmp, "redis-cluster"), 3)
		if err != nil {
			return nil, err
		}
		r.cluster = c
	}
	r.prog.step("soak: starting 3 nodes", 2)
	// Access tokens must outlive the soak: the model counts them live.
	ttl := min(24*time.Hour, max(time.Hour, dur+15*time.Minute))
	cl, err := r.startCluster(ctx, m, clusterNodes, "", nodeSettings{accessTTL: ttl.String()})
	if err != nil {
		return nil, err
	}
	defer func() {
		r.hc.CloseIdleConnections()
		cl.stop()
	}()

	rep := &SoakReport{Version: ReportVersion, StartedAt: time.Now().UTC(), Command: cfg.Command, Machine: readMachine(),
		Store: store, Nodes: len(cl.nodes), Ops: map[string]int{}}
	workers := max(2, cfg.Concurrency/4)
	rep.Workers, rep.Users = workers, 2*workers
	s := &soaker{r: r, nodes: cl.nodes, rep: rep, hc: newHTTPClient(workers)}
	defer s.hc.CloseIdleConnections() // before the nodes stop: see runMode
	s.api = api{instrumented(s.hc, s)}

	ws := make([]*soakWorker, workers)
	for i := range ws {
		ws[i] = &soakWorker{s: s, rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i))), ops: map[string]int{}}
		for range 2 {
			u := &soakUser{email: randomEmail("soak"), pw: randomPassword()}
			if err := r.api.register(ctx, cl.nodes[i%len(cl.nodes)].base, u.email, u.pw); err != nil {
				return nil, err
			}
			ws[i].users = append(ws[i].users, u)
		}
	}

	// Warm up, then take the start snapshot with no client connected.
	var pause sync.RWMutex
	var stop atomic.Bool
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Go(func() {
			for !stop.Load() && ctx.Err() == nil {
				pause.RLock()
				w.step(ctx)
				pause.RUnlock()
			}
		})
	}
	t0 := time.Now()
	r.prog.step("soak: warm-up", warm.Seconds())
	sleepCtx(ctx, warm)
	pause.Lock()
	start := s.snapshot(ctx, time.Since(t0))
	pause.Unlock()
	if start == nil {
		stop.Store(true)
		wg.Wait()
		return nil, errors.New("cannot read the nodes' /metrics")
	}
	for i, n := range cl.nodes {
		rep.NodeMetrics = append(rep.NodeMetrics, NodeMetrics{Node: n.name, Start: start[i], Series: []RuntimeUse{start[i]}})
	}
	r.prog.step(fmt.Sprintf("soak: %s of mixed load on 3 nodes", dur), dur.Seconds())
	workStart := time.Now()
	end := workStart.Add(dur)
	tick := time.NewTicker(max(dur/10, time.Second))
	for time.Now().Before(end) && ctx.Err() == nil {
		select {
		case <-tick.C:
			if snap := s.metrics(ctx, time.Since(t0)); snap != nil {
				for i := range rep.NodeMetrics {
					rep.NodeMetrics[i].Series = append(rep.NodeMetrics[i].Series, snap[i])
				}
			}
		case <-time.After(time.Until(end)):
		case <-ctx.Done():
		}
	}
	tick.Stop()
	stop.Store(true)
	wg.Wait()
	rep.Seconds = round1(time.Since(workStart).Seconds())
	for _, n := range cl.nodes {
		if n.exited() {
			s.fail("%s died during the soak: %s", n.name, lastLine(n.log))
		}
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("the soak did not finish within --timeout: %v", ctx.Err())
	}

	// The final check, after the revocations have settled.
	r.prog.step("soak: final check on every node", 10)
	time.Sleep(soakSettle)
	var fwg sync.WaitGroup
	for _, w := range ws {
		fwg.Go(func() { w.finalCheck(ctx) })
	}
	fwg.Wait()
	for _, w := range ws {
		rep.FinalLiveChecked += w.liveChecked
		rep.FinalRevokedChecked += w.revokedChecked
		for k, v := range w.ops {
			rep.Ops[k] += v
		}
	}
	endSnap := s.snapshot(ctx, time.Since(t0))
	for i := range rep.NodeMetrics {
		if endSnap == nil {
			s.fail("cannot read the nodes' /metrics at the end")
			break
		}
		nm := &rep.NodeMetrics[i]
		nm.End = endSnap[i]
		nm.Series = append(nm.Series, endSnap[i])
		if nm.End.Goroutines > nm.Start.Goroutines+soakGoroutineSlack {
			s.fail("%s: goroutines grew from %d to %d", nm.Node, nm.Start.Goroutines, nm.End.Goroutines)
		}
		if limit := max(int64(float64(nm.Start.HeapInuse)*soakHeapFactor), nm.Start.HeapInuse+soakHeapSlack); nm.End.HeapInuse > limit {
			s.fail("%s: heap in use grew from %s to %s", nm.Node, mib(nm.Start.HeapInuse), mib(nm.End.HeapInuse))
		}
	}
	r.prog.finish()
	rep.FinishedAt = time.Now().UTC()
	rep.Requests = s.requests.Load()
	rep.ServerErrors = s.serverErrors.Load()
	rep.TransportErrors = s.transportErrors.Load()
	rep.Unexpected = s.unexpected.Load()
	rep.Lost = s.lost.Load()
	rep.RevokedAccepted = s.revokedAccepted.Load()
	s.mu.Lock()
	rep.UnexpectedSamples = s.samples
	failures := s.failures
	s.mu.Unlock()
	if rep.ServerErrors > 0 {
		failures = append(failures, fmt.Sprintf("%d answers were 5xx", rep.ServerErrors))
	}
	if rep.TransportErrors > 0 {
		failures = append(failures, fmt.Sprintf("%d requests got no answer", rep.TransportErrors))
	}
	if rep.Lost > 0 {
		failures = append(failures, fmt.Sprintf("%d live credentials were refused", rep.Lost))
	}
	if rep.RevokedAccepted > 0 {
		failures = append(failures, fmt.Sprintf("%d revoked credentials were accepted more than %s after their revocation", rep.RevokedAccepted, soakSettle))
	}
	if rep.Unexpected > 0 {
		failures = append(failures, fmt.Sprintf("%d unexpected answers", rep.Unexpected))
	}
	rep.Failures = failures
	rep.Passed = len(failures) == 0
	if err := writeSoak(cfg.Out, rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// soaker is a soak's shared state.
type soaker struct {
	r     *runner
	nodes []*node
	rep   *SoakReport
	hc    *http.Client
	api   api

	requests, serverErrors, transportErrors atomic.Int64
	unexpected, lost, revokedAccepted       atomic.Int64

	mu       sync.Mutex
	samples  []string
	failures []string
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
func (s *soaker) snapshot(ctx context.Context, at time.Duration) []RuntimeUse {
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

// ---- the model each worker keeps of its own users

type soakUser struct {
	email, pw string
	sessions  []*soakSession // live
	families  []*soakFamily  // live
}

type soakSession struct {
	c      cred
	tokens []string // access tokens exchanged from this session (sid = the session)
}

type soakFamily struct {
	refresh string
	access  []string // live access tokens of the family (the latest few)
}

// revokedCred is a credential the model says is dead since at.
type revokedCred struct {
	kind string // session, access, refresh
	c    cred   // session or access: the credential; refresh: value is the refresh token
	at   time.Time
}

// soakWorker drives its own users, so that its model is exact: nobody
// else changes them.
type soakWorker struct {
	s       *soaker
	rng     *rand.Rand
	users   []*soakUser
	revoked []revokedCred
	ops     map[string]int

	liveChecked, revokedChecked int
}

func (w *soakWorker) node() *node { return w.s.nodes[w.rng.IntN(len(w.s.nodes))] }

func (w *soakWorker) revoke(kind string, c cred, at time.Time) {
	w.revoked = append(w.revoked, revokedCred{kind, c, at})
	if len(w.revoked) > soakRevokedKept {
		i := w.rng.IntN(len(w.revoked) / 2) // drop one of the older half
		w.revoked = slices.Delete(w.revoked, i, i+1)
	}
}

// Weights of the operations.
var soakOps = []struct {
	name   string
	weight int
}{
	{"me", 45}, {"probe_revoked", 12}, {"login", 8}, {"password_grant", 4}, {"refresh", 10},
	{"session_token", 4}, {"logout", 6}, {"revoke_access", 3}, {"revoke_refresh", 3},
	{"logout_others", 1}, {"password_change", 1},
}

const maxSessionsPerUser, maxAccessPerFamily, maxFamiliesPerUser = 8, 4, 6

// step does one operation.
func (w *soakWorker) step(ctx context.Context) {
	total := 0
	for _, o := range soakOps {
		total += o.weight
	}
	k := w.rng.IntN(total)
	op := ""
	for _, o := range soakOps {
		if k -= o.weight; k < 0 {
			op = o.name
			break
		}
	}
	u := w.users[w.rng.IntN(len(w.users))]
	if len(u.sessions) == 0 {
		op = "login"
	}
	if ok := w.do(ctx, op, u); ok {
		w.ops[op]++
	}
}

// do runs op for u and checks the answer against the model; it reports
// whether the operation happened.
func (w *soakWorker) do(ctx context.Context, op string, u *soakUser) bool {
	s := w.s
	a := s.api
	n := w.node()
	switch op {
	case "me":
		// Any live credential: a session, a session's token, a family's token.
		var c cred
		var what string
		switch k := w.rng.IntN(3); {
		case k == 1 && len(u.families) > 0:
			f := u.families[w.rng.IntN(len(u.families))]
			c, what = bearerCred(f.access[w.rng.IntN(len(f.access))]), "a live refresh family's access token"
		case k == 2 && len(u.sessions[0].tokens) > 0:
			ss := u.sessions[0]
			c, what = bearerCred(ss.tokens[w.rng.IntN(len(ss.tokens))]), "a live session's exchanged token"
		default:
			c, what = u.sessions[w.rng.IntN(len(u.sessions))].c, "a live session"
		}
		st, err := a.me(ctx, n.base, c)
		w.expect(ctx, st, err, http.StatusOK, &s.lost, "GET /v1/me with %s on %s", what, n.name)
	case "probe_revoked":
		if len(w.revoked) == 0 {
			return false
		}
		rc := w.revoked[w.rng.IntN(len(w.revoked))]
		if time.Since(rc.at) < soakSettle {
			return false
		}
		w.probeRevoked(ctx, rc, n)
	case "login":
		if len(u.sessions) >= maxSessionsPerUser {
			return w.do(ctx, "logout", u)
		}
		c, st, err := a.login(ctx, n.base, u.email, u.pw)
		if !w.expect(ctx, st, err, http.StatusOK, &s.unexpected, "POST /v1/login on %s", n.name) {
			return false
		}
		u.sessions = append(u.sessions, &soakSession{c: c})
	case "password_grant":
		if len(u.families) >= maxFamiliesPerUser {
			return w.do(ctx, "revoke_refresh", u)
		}
		p, st, err := a.passwordGrant(ctx, n.base, u.email, u.pw)
		if !w.expect(ctx, st, err, http.StatusOK, &s.unexpected, "password grant on %s", n.name) {
			return false
		}
		u.families = append(u.families, &soakFamily{refresh: p.Refresh, access: []string{p.Access}})
	case "refresh":
		if len(u.families) == 0 {
			return false
		}
		f := u.families[w.rng.IntN(len(u.families))]
		p, st, err := a.refresh(ctx, n.base, f.refresh)
		if !w.expect(ctx, st, err, http.StatusOK, &s.lost, "refresh of a live family on %s", n.name) {
			return false
		}
		// The spent refresh token is not probed: presenting it again is
		// reuse, which (rightly) kills the family.
		f.refresh = p.Refresh
		f.access = append(f.access, p.Access)
		if len(f.access) > maxAccessPerFamily {
			f.access = f.access[1:] // still live, no longer tracked
		}
	case "session_token":
		ss := u.sessions[w.rng.IntN(len(u.sessions))]
		tok, st, err := a.sessionToken(ctx, n.base, ss.c)
		if !w.expect(ctx, st, err, http.StatusOK, &s.lost, "POST /v1/session/token with a live session on %s", n.name) {
			return false
		}
		ss.tokens = append(ss.tokens, tok)
		if len(ss.tokens) > maxAccessPerFamily {
			ss.tokens = ss.tokens[1:]
		}
	case "logout":
		i := w.rng.IntN(len(u.sessions))
		ss := u.sessions[i]
		st, err := a.logout(ctx, n.base, ss.c)
		if !w.expect(ctx, st, err, http.StatusNoContent, &s.unexpected, "POST /v1/logout on %s", n.name) {
			return false
		}
		w.endSession(ss, time.Now())
		u.sessions = slices.Delete(u.sessions, i, i+1)
	case "revoke_access":
		if len(u.families) == 0 {
			return false
		}
		f := u.families[w.rng.IntN(len(u.families))]
		if len(f.access) < 2 {
			return false // keep one access token per family
		}
		i := w.rng.IntN(len(f.access))
		tok := f.access[i]
		st, err := a.revoke(ctx, n.base, tok)
		if !w.expect(ctx, st, err, http.StatusOK, &s.unexpected, "POST /oauth2/revoke (access token) on %s", n.name) {
			return false
		}
		w.revoke("access", bearerCred(tok), time.Now())
		f.access = slices.Delete(f.access, i, i+1)
	case "revoke_refresh":
		if len(u.families) == 0 {
			return false
		}
		i := w.rng.IntN(len(u.families))
		f := u.families[i]
		st, err := a.revoke(ctx, n.base, f.refresh)
		if !w.expect(ctx, st, err, http.StatusOK, &s.unexpected, "POST /oauth2/revoke (refresh token) on %s", n.name) {
			return false
		}
		w.endFamily(f, time.Now())
		u.families = slices.Delete(u.families, i, i+1)
	case "logout_others":
		i := w.rng.IntN(len(u.sessions))
		keep := u.sessions[i]
		st, _, _, err := a.call(ctx, "DELETE", n.base+"/v1/sessions", nil, &keep.c)
		if !w.expect(ctx, st, err, http.StatusNoContent, &s.unexpected, "DELETE /v1/sessions on %s", n.name) {
			return false
		}
		now := time.Now()
		for _, ss := range u.sessions {
			if ss != keep {
				w.endSession(ss, now)
			}
		}
		u.sessions = []*soakSession{keep}
	case "password_change":
		i := w.rng.IntN(len(u.sessions))
		keep := u.sessions[i]
		next := randomPassword()
		st, err := a.changePassword(ctx, n.base, keep.c, u.pw, next)
		if !w.expect(ctx, st, err, http.StatusNoContent, &s.unexpected, "POST /v1/password on %s", n.name) {
			return false
		}
		u.pw = next
		now := time.Now()
		for _, ss := range u.sessions {
			if ss != keep {
				w.endSession(ss, now)
			}
		}
		u.sessions = []*soakSession{keep}
		for _, f := range u.families {
			w.endFamily(f, now)
		}
		u.families = nil
	default:
		return false
	}
	return true
}

func (w *soakWorker) endSession(ss *soakSession, at time.Time) {
	w.revoke("session", ss.c, at)
	for _, t := range ss.tokens {
		w.revoke("access", bearerCred(t), at)
	}
}

func (w *soakWorker) endFamily(f *soakFamily, at time.Time) {
	w.revoke("refresh", cred{value: f.refresh}, at)
	for _, t := range f.access {
		w.revoke("access", bearerCred(t), at)
	}
}

// probeRevoked checks that a revoked credential is refused by n.
func (w *soakWorker) probeRevoked(ctx context.Context, rc revokedCred, n *node) {
	s := w.s
	if rc.kind == "refresh" {
		_, st, err := s.api.refresh(ctx, n.base, rc.c.value)
		if err != nil && st == 0 {
			return // counted by the transport
		}
		if st == http.StatusOK {
			s.note(&s.revokedAccepted, "a revoked refresh token was rotated by %s %s after its revocation", n.name, time.Since(rc.at).Round(time.Millisecond))
		} else if st != http.StatusBadRequest && st < 500 {
			s.note(&s.unexpected, "a revoked refresh token got HTTP %d from %s (want 400)", st, n.name)
		}
		return
	}
	st, err := s.api.me(ctx, n.base, rc.c)
	if err != nil {
		return
	}
	if st == http.StatusOK {
		s.note(&s.revokedAccepted, "a revoked %s was accepted by %s %s after its revocation", rc.kind, n.name, time.Since(rc.at).Round(time.Millisecond))
	} else if st != http.StatusUnauthorized && st < 500 {
		s.note(&s.unexpected, "a revoked %s got HTTP %d from %s (want 401)", rc.kind, st, n.name)
	}
}

// expect checks an answer: a transport error or 5xx is counted by the
// transport; any other wrong status is counted on counter (a live
// credential refused is lost).
func (w *soakWorker) expect(ctx context.Context, st int, err error, want int, counter *atomic.Int64, format string, args ...any) bool {
	if st == want {
		return true
	}
	if ctx.Err() != nil || st == 0 || st >= 500 {
		return false
	}
	w.s.note(counter, "%s: HTTP %d, want %d", fmt.Sprintf(format, args...), st, want)
	return false
}

// finalCheck tries every live credential on every node (it must work) and
// every revoked one (it must not).
func (w *soakWorker) finalCheck(ctx context.Context) {
	s := w.s
	for _, u := range w.users {
		for _, n := range s.nodes {
			for _, ss := range u.sessions {
				st, err := s.api.me(ctx, n.base, ss.c)
				w.expect(ctx, st, err, http.StatusOK, &s.lost, "final check: a live session on %s", n.name)
				w.liveChecked++
				for _, t := range ss.tokens {
					st, err := s.api.me(ctx, n.base, bearerCred(t))
					w.expect(ctx, st, err, http.StatusOK, &s.lost, "final check: a live session's token on %s", n.name)
					w.liveChecked++
				}
			}
			for _, f := range u.families {
				for _, t := range f.access {
					st, err := s.api.me(ctx, n.base, bearerCred(t))
					w.expect(ctx, st, err, http.StatusOK, &s.lost, "final check: a live family's access token on %s", n.name)
					w.liveChecked++
				}
			}
		}
		// A live family rotates once, on a node of its own.
		for _, f := range u.families {
			n := w.node()
			p, st, err := s.api.refresh(ctx, n.base, f.refresh)
			if w.expect(ctx, st, err, http.StatusOK, &s.lost, "final check: refresh of a live family on %s", n.name) {
				f.refresh = p.Refresh
			}
			w.liveChecked++
		}
	}
	for _, rc := range w.revoked {
		if rc.kind == "refresh" {
			w.probeRevoked(ctx, rc, w.node()) // a refresh attempt is a write: once
			w.revokedChecked++
			continue
		}
		for _, n := range s.nodes {
			w.probeRevoked(ctx, rc, n)
			w.revokedChecked++
		}
	}
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// writeSoak writes soak.json and soak.md into dir.
func writeSoak(dir string, rep *SoakReport) error {
	j, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "soak.json"), append(j, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "soak.md"), []byte(SoakMarkdown(rep)), 0o644)
}

// SoakMarkdown renders a soak report.
func SoakMarkdown(rep *SoakReport) string {
	var b strings.Builder
	verdict := "**PASSED**"
	if !rep.Passed {
		verdict = "**FAILED**: " + strings.Join(rep.Failures, "; ")
	}
	fmt.Fprintf(&b, "Soak %s: %s of mixed load on %d nodes (store: %s), %d workers over %d users, %d × %s. %s\n\n",
		rep.StartedAt.Format("2006-01-02 15:04 MST"), (time.Duration(rep.Seconds) * time.Second).String(), rep.Nodes, rep.Store,
		rep.Workers, rep.Users, rep.Machine.CPUs, rep.Machine.CPUModel, verdict)
	kinds := make([]string, 0, len(rep.Ops))
	total := 0
	for k, v := range rep.Ops {
		kinds = append(kinds, k)
		total += v
	}
	slices.Sort(kinds)
	b.WriteString("| check | result |\n| --- | ---: |\n")
	fmt.Fprintf(&b, "| HTTP requests | %d (%.0f/s) |\n", rep.Requests, float64(rep.Requests)/max(rep.Seconds, 1))
	fmt.Fprintf(&b, "| operations | %d: ", total)
	for i, k := range kinds {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, rep.Ops[k])
	}
	b.WriteString(" |\n")
	fmt.Fprintf(&b, "| 5xx answers | %d |\n| requests without an answer | %d |\n", rep.ServerErrors, rep.TransportErrors)
	fmt.Fprintf(&b, "| live credentials refused (lost) | %d |\n| revoked credentials accepted > %s after revocation | %d |\n", rep.Lost, soakSettle, rep.RevokedAccepted)
	fmt.Fprintf(&b, "| other unexpected answers | %d |\n", rep.Unexpected)
	fmt.Fprintf(&b, "| final check: live credentials × nodes tried | %d |\n| final check: revoked credentials × nodes tried | %d |\n", rep.FinalLiveChecked, rep.FinalRevokedChecked)
	for _, nm := range rep.NodeMetrics {
		fmt.Fprintf(&b, "| %s goroutines start → end | %d → %d |\n| %s heap in use start → end | %s → %s |\n",
			nm.Node, nm.Start.Goroutines, nm.End.Goroutines, nm.Node, mib(nm.Start.HeapInuse), mib(nm.End.HeapInuse))
	}
	if len(rep.UnexpectedSamples) > 0 {
		b.WriteString("\nSamples of what went wrong:\n\n")
		for _, s := range rep.UnexpectedSamples {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	return b.String()
}
