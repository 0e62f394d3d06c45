package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// trialTimeout bounds how long a revoked credential may go on being
// accepted before the trial counts it as never refused.
const trialTimeout = 5 * time.Second

// revocations makes cfg.Revocations credentials (the live ones of the
// earlier phases first), then revokes them one at a time on the nodes in
// turn, while one poller per node calls GET /v1/me with the credential
// until that node refuses it.
func (mr *modeRun) revocations(ctx context.Context) (*Revocation, error) {
	creds, err := mr.revocable(ctx)
	if err != nil {
		return nil, fmt.Errorf("making the credentials to revoke: %w", err)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	rev := &Revocation{Trials: len(creds), Revoke: "POST /oauth2/revoke (access token)"}
	if mr.m.Model == "session" {
		rev.Revoke = "POST /v1/logout"
	}
	var same, others []time.Duration
	timeouts := 0
	for i, c := range creds {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		t := mr.trial(ctx, i%len(mr.nodes), c)
		rev.Errors += t.errors
		rev.RefusedEarly += t.early
		switch {
		case t.err != nil:
			return nil, t.err
		case t.early > 0:
			continue // refused before it was revoked: counted, not timed
		case t.missing > 0:
			rev.NotRefused++
			if timeouts++; timeouts >= 3 {
				return nil, fmt.Errorf("%d revoked credentials were still accepted %s after their revocation: giving up", timeouts, trialTimeout)
			}
			continue
		}
		timeouts = 0
		same, others = append(same, t.same), append(others, t.others)
	}
	rev.SameNode = delays(same)
	if len(mr.nodes) > 1 {
		d := delays(others)
		rev.OtherNodes = &d
	}
	return rev, nil
}

// revocable returns cfg.Revocations live credentials: those of the logins
// phase, then fresh ones made by a few workers on every node in turn.
func (mr *modeRun) revocable(ctx context.Context) ([]cred, error) {
	creds := make([]cred, mr.cfg.Revocations)
	var next atomic.Int64
	next.Store(int64(copy(creds, mr.creds)))
	const makers = 4
	errs := make([]error, makers)
	var wg sync.WaitGroup
	for w := range makers {
		wg.Go(func() { errs[w] = mr.makeCreds(ctx, w, &next, creds) })
	}
	wg.Wait()
	return creds, errors.Join(errs...)
}

// makeCreds is maker w: it fills creds[next] until creds is full. A
// session is a login; a JWT one password grant per maker, then a chain of
// refreshes, each giving a new access token (no argon2id per credential).
func (mr *modeRun) makeCreds(ctx context.Context, w int, next *atomic.Int64, creds []cred) error {
	var rt string
	for ctx.Err() == nil {
		i := int(next.Add(1)) - 1
		if i >= len(creds) {
			return nil
		}
		base := mr.nodes[i%len(mr.nodes)].base
		if mr.m.Model == "session" {
			c, _, err := mr.api.login(ctx, base, mr.emails[i%len(mr.emails)], mr.pw)
			if err != nil {
				return err
			}
			creds[i] = c
			continue
		}
		var p tokenPair
		var err error
		if rt == "" {
			p, _, err = mr.api.passwordGrant(ctx, base, mr.emails[w%len(mr.emails)], mr.pw)
		} else {
			p, _, err = mr.api.refresh(ctx, base, rt)
		}
		if err != nil {
			return err
		}
		rt = p.Refresh
		creds[i] = bearerCred(p.Access)
	}
	return nil
}

// trialResult is one revocation's outcome.
type trialResult struct {
	same    time.Duration // revoking response → first refusal on the revoking node
	others  time.Duration // revoking response → refusal on every other node (the slowest)
	missing int           // nodes that never refused within trialTimeout
	early   int           // refusals seen before the revocation was sent
	errors  int           // answers other than 200 and 401, transport errors
	err     error         // the revocation itself failed
}

// trial revokes c on nodes[at] once every node has accepted it, and times
// the refusals. A refusal counts when its answer arrives; the delay is
// from the revoking response's arrival, 0 when the refusal came first (a
// poller of the revoking node can be answered before the revoker is).
func (mr *modeRun) trial(ctx context.Context, at int, c cred) trialResult {
	tctx, cancel := context.WithTimeout(ctx, trialTimeout)
	defer cancel()
	p := startPollers(tctx, mr.hc, mr.nodes, c)
	if !p.allAccepted(tctx) {
		cancel()
		p.wg.Wait()
		res := trialResult{early: int(p.early.Load()), errors: int(p.errs.Load())}
		if res.early == 0 {
			res.err = errors.New("a fresh credential was never accepted by every node")
		}
		return res
	}
	p.sent.Store(time.Now().UnixNano())
	err := mr.revoke(tctx, mr.nodes[at].base, c)
	answered := time.Now()
	if err != nil {
		cancel()
		p.wg.Wait()
		return trialResult{err: fmt.Errorf("revoking on %s: %w", mr.nodes[at].name, err)}
	}
	p.wg.Wait()
	return p.result(at, answered)
}

// revoke ends c on base as the mode does: logout for a session, RFC 7009
// revocation for an access token.
func (mr *modeRun) revoke(ctx context.Context, base string, c cred) error {
	var err error
	if mr.m.Model == "session" {
		_, err = mr.api.logout(ctx, base, c)
	} else {
		_, err = mr.api.revoke(ctx, base, c.value[len("Bearer "):])
	}
	return err
}

// pollers call GET /v1/me with one credential on every node, each in a
// tight loop until its node refuses it.
type pollers struct {
	refused     []time.Time    // when each node's refusal arrived; zero if none
	sent        atomic.Int64   // when the revocation was sent (UnixNano); 0 before
	errs, early atomic.Int64   // answers neither 200 nor 401; refusals before sent
	seen        sync.WaitGroup // done once per node, at its first 200 or its end
	wg          sync.WaitGroup // the pollers
}

func startPollers(ctx context.Context, hc *http.Client, nodes []*node, c cred) *pollers {
	p := &pollers{refused: make([]time.Time, len(nodes))}
	p.seen.Add(len(nodes))
	for j, n := range nodes {
		req := meRequest(n.base, c).WithContext(ctx)
		p.wg.Go(func() { p.poll(ctx, hc, j, req) })
	}
	return p
}

// poll is node j's poller: it records the node's first acceptance (seen)
// and its first refusal.
func (p *pollers) poll(ctx context.Context, hc *http.Client, j int, req *http.Request) {
	saw := false
	defer func() {
		if !saw {
			p.seen.Done()
		}
	}()
	for ctx.Err() == nil {
		st, err := do(hc, req)
		now := time.Now()
		switch {
		case err != nil:
			if ctx.Err() == nil {
				p.errs.Add(1)
			}
		case st == http.StatusOK:
			if !saw {
				saw = true
				p.seen.Done()
			}
		case st == http.StatusUnauthorized:
			if p.sent.Load() == 0 {
				p.early.Add(1)
				return
			}
			p.refused[j] = now
			return
		default:
			p.errs.Add(1)
		}
	}
}

// allAccepted waits until every node has accepted the credential (so
// every cache holds it), and reports whether they all did, none refusing
// it first, before ctx ended.
func (p *pollers) allAccepted(ctx context.Context) bool {
	allSeen := make(chan struct{})
	go func() { p.seen.Wait(); close(allSeen) }()
	select {
	case <-allSeen:
	case <-ctx.Done():
	}
	return p.early.Load() == 0 && ctx.Err() == nil
}

// result times the refusals of the ended pollers from answered, the
// arrival of the revoking response on node at.
func (p *pollers) result(at int, answered time.Time) trialResult {
	res := trialResult{errors: int(p.errs.Load())}
	for j, t := range p.refused {
		if t.IsZero() {
			res.missing++
			continue
		}
		d := max(0, t.Sub(answered))
		if j == at {
			res.same = d
		} else {
			res.others = max(res.others, d)
		}
	}
	return res
}

// delays summarizes a set of delays.
func delays(ds []time.Duration) Delay {
	slices.Sort(ds)
	d := Delay{Samples: len(ds), P50Ms: ms(percentile(ds, 0.5)), P99Ms: ms(percentile(ds, 0.99))}
	if len(ds) > 0 {
		d.MaxMs = ms(ds[len(ds)-1])
	}
	return d
}
