package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// modeRun is one mode being measured on its nodes: the users it
// registered and the credentials its logins made, which the later phases
// use.
type modeRun struct {
	*runner
	m      Mode
	nodes  []*node
	emails []string
	pw     string
	// creds are the credentials of the logins phase: the first loadCreds
	// of them serve the load phases, all of them the revocation trials.
	// pairs are their token pairs in JWT modes (zero in session modes).
	creds     []cred
	pairs     []tokenPair
	loadCreds int
}

// runMode measures one mode on a fresh store and fresh nodes.
func (r *runner) runMode(ctx context.Context, m Mode) ModeResult {
	res := ModeResult{Mode: m, Status: StatusOK}
	r.prog.step(m.Name+": starting 3 nodes", 1)
	cl, err := r.startCluster(ctx, m, clusterNodes, nodeSettings{})
	if err != nil {
		return failed(res, err)
	}
	defer r.stopCluster(cl)
	for _, n := range cl.nodes {
		res.Logs = append(res.Logs, n.log)
	}
	if m.Model == "oidc" {
		cf := &codeFlowRun{runner: r, m: m, cl: cl}
		if err := cf.measure(ctx, &res); err != nil {
			return failed(res, err)
		}
		r.prog.step(m.Name+": stopping the nodes", 0.2)
		return res
	}
	res.StartMs = ms(cl.nodes[0].started)
	mr := &modeRun{runner: r, m: m, nodes: cl.nodes}
	if err := mr.measure(ctx, &res); err != nil {
		return failed(res, err)
	}
	r.prog.step(m.Name+": stopping the nodes", 0.2)
	return res
}

// measure runs the mode's phases in order into res: logins, throughput,
// token issuance and refresh (JWT modes), revocation to refusal.
func (mr *modeRun) measure(ctx context.Context, res *ModeResult) error {
	users := 8
	mr.loadCreds = mr.cfg.Concurrency // one credential per client
	if mr.cfg.Quick {
		users, mr.loadCreds = 4, min(mr.cfg.Concurrency, 8)
	}
	var err error
	if mr.emails, mr.pw, err = mr.users(ctx, mr.nodes[0].base, users, "u"); err != nil {
		return err
	}
	if err := mr.measureLogins(ctx, res); err != nil {
		return err
	}
	res.Throughput = mr.measureThroughput(ctx)
	if mr.m.Model == "jwt" {
		if err := mr.measureTokens(ctx, res); err != nil {
			return err
		}
	}
	mr.prog.step(fmt.Sprintf("%s: %d revocations", mr.m.Name, mr.cfg.Revocations), float64(mr.cfg.Revocations)*0.05)
	if res.Revocation, err = mr.revocations(ctx); err != nil {
		return err
	}
	for _, n := range mr.nodes {
		if n.exited() {
			return fmt.Errorf("%s died during the run: %s", n.name, lastLine(n.log))
		}
	}
	return nil
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

// phaseSeconds is a load phase's estimated seconds, for the progress.
func (r *runner) phaseSeconds() float64 { return (r.cfg.Phase + r.cfg.Warmup).Seconds() }

// login signs in as user w (round robin over the users) on node 0: a
// session in session modes, the password grant in JWT modes.
func (mr *modeRun) login(ctx context.Context, w int) (cred, tokenPair, int, error) {
	email, base := mr.emails[w%len(mr.emails)], mr.nodes[0].base
	if mr.m.Model == "session" {
		c, st, err := mr.api.login(ctx, base, email, mr.pw)
		return c, tokenPair{}, st, err
	}
	p, st, err := mr.api.passwordGrant(ctx, base, email, mr.pw)
	return bearerCred(p.Access), p, st, err
}

// measureLogins measures logins (argon2id-bound) on node 0 and keeps the
// credentials they make, enough for the load phases and the revocations.
func (mr *modeRun) measureLogins(ctx context.Context, res *ModeResult) error {
	res.LoginEndpoint = "POST /oauth2/token grant_type=password"
	if mr.m.Model == "session" {
		res.LoginEndpoint = "POST /v1/login"
	}
	keep := mr.loadCreds + mr.cfg.Revocations
	var mu sync.Mutex
	mr.prog.step(mr.m.Name+": logins", mr.phaseSeconds())
	st := closedLoop(ctx, mr.cfg.Concurrency, mr.cfg.Warmup, mr.cfg.Phase, mr.nodes, func(ctx context.Context, w int) (bool, int) {
		c, p, status, err := mr.login(ctx, w)
		if err != nil {
			return false, status
		}
		mu.Lock()
		if len(mr.creds) < keep {
			mr.creds, mr.pairs = append(mr.creds, c), append(mr.pairs, p)
		}
		mu.Unlock()
		return true, status
	})
	res.Logins = &st
	if err := mr.topUpCreds(ctx); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	c := mr.creds[0]
	res.Credential = &Credential{Header: c.header, HeaderBytes: c.wireBytes(), ValueBytes: len(c.value)}
	return nil
}

// topUpCreds logs in again for the credentials the load phases still lack
// (a slow machine may make few logins in a short window).
func (mr *modeRun) topUpCreds(ctx context.Context) error {
	missing := mr.loadCreds - len(mr.creds)
	if missing <= 0 {
		return nil
	}
	var mu sync.Mutex
	errs := make([]error, missing)
	var wg sync.WaitGroup
	for i := range missing {
		wg.Go(func() {
			c, p, _, err := mr.login(ctx, i)
			mu.Lock()
			mr.creds, mr.pairs = append(mr.creds, c), append(mr.pairs, p)
			mu.Unlock()
			errs[i] = err
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// measureThroughput measures GET /healthz (the baseline) against GET
// /v1/me on node 0, then spread over every node.
func (mr *modeRun) measureThroughput(ctx context.Context) []Throughput {
	var out []Throughput
	for _, k := range []int{1, clusterNodes} {
		mr.prog.step(fmt.Sprintf("%s: GET /healthz and /v1/me, %d node(s)", mr.m.Name, k), 2*mr.phaseSeconds())
		out = append(out, mr.throughputOn(ctx, mr.nodes[:k]))
	}
	return out
}

// throughputOn measures both endpoints, interleaved, with the clients
// spread over nodes; CPU time is counted on every node of the mode.
func (mr *modeRun) throughputOn(ctx context.Context, nodes []*node) Throughput {
	conc := mr.cfg.Concurrency
	load := mr.creds[:mr.loadCreds]
	hz := make([]*http.Request, conc)
	me := make([]*http.Request, conc)
	for w := range conc {
		base := nodes[w%len(nodes)].base
		hz[w], _ = http.NewRequest("GET", base+"/healthz", nil)
		me[w] = meRequest(base, load[w%len(load)])
	}
	tp := Throughput{Nodes: len(nodes)}
	reset := true
	for _, n := range nodes {
		reset = resetPeakRSS(n.pid()) && reset
	}
	tp.Healthz, tp.Me = interleaved(ctx, mr.rounds(), conc, mr.cfg.Warmup, mr.cfg.Phase, mr.nodes, mr.wantOK(hz), mr.wantOK(me))
	tp.PeakRSSBytes, tp.PeakRSSSince = peakRSSOf(nodes, reset)
	for _, n := range nodes {
		if b, ok := fileRSS(n.pid()); ok {
			tp.FileRSSBytes = append(tp.FileRSSBytes, b)
		}
	}
	if tp.Healthz.RPS > 0 {
		tp.Ratio = round3(tp.Me.RPS / tp.Healthz.RPS)
	}
	return tp
}

// peakRSSOf is the peak RSS (VmHWM) of each of nodes, nil where /proc is
// not readable, and since when it counts: "load" when every node's peak
// was reset before the phase, "start" when it could not be.
func peakRSSOf(nodes []*node, reset bool) ([]int64, string) {
	peaks := make([]int64, len(nodes))
	for i, n := range nodes {
		b, ok := peakRSS(n.pid())
		if !ok {
			return nil, ""
		}
		peaks[i] = b
	}
	if reset {
		return peaks, "load"
	}
	return peaks, "start"
}

// wantOK is the op of worker w sending reqs[w] (reused: they have no
// body) and expecting 200.
func (r *runner) wantOK(reqs []*http.Request) op {
	return func(ctx context.Context, w int) (bool, int) {
		s, err := do(r.hc, reqs[w])
		return err == nil && s == http.StatusOK, s
	}
}

// measureTokens measures, in JWT modes, token issuance (a session
// exchanged for an access token) and refresh rotations, on node 0.
func (mr *modeRun) measureTokens(ctx context.Context, res *ModeResult) error {
	n0 := mr.nodes[0].base
	sc, _, err := mr.api.login(ctx, n0, mr.emails[0], mr.pw)
	if err != nil {
		return err
	}
	mr.prog.step(mr.m.Name+": token issuance", mr.phaseSeconds())
	iss := closedLoop(ctx, mr.cfg.Concurrency, mr.cfg.Warmup, mr.cfg.Phase, mr.nodes, func(ctx context.Context, w int) (bool, int) {
		req, _ := http.NewRequestWithContext(ctx, "POST", n0+"/v1/session/token", nil)
		req.Header.Set(sc.header, sc.value)
		s, err := do(mr.hc, req)
		return err == nil && s == http.StatusOK, s
	})
	res.Issuance = &iss
	mr.prog.step(mr.m.Name+": refresh rotations", mr.phaseSeconds())
	// Each client rotates a family of its own: two clients sharing one
	// would be reuse, which kills the family.
	rts := make([]string, min(mr.cfg.Concurrency, len(mr.pairs)))
	for w := range rts {
		rts[w] = mr.pairs[w].Refresh
	}
	ref := closedLoop(ctx, len(rts), mr.cfg.Warmup, mr.cfg.Phase, mr.nodes, func(ctx context.Context, w int) (bool, int) {
		p, s, err := mr.api.refresh(ctx, n0, rts[w])
		if err != nil {
			return false, s
		}
		rts[w] = p.Refresh
		return true, s
	})
	res.Refresh = &ref
	return nil
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
