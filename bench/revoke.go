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

// revocations makes cfg.Revocations fresh credentials, then revokes them
// one at a time on the nodes in turn, while one poller per node calls
// GET /v1/me with the credential until that node refuses it. have are
// live credentials to revoke first.
func (r *runner) revocations(ctx context.Context, m Mode, nodes []*node, emails []string, pw string, have []cred) (*Revocation, error) {
	n := r.cfg.Revocations
	creds := make([]cred, n)
	// The credentials of the earlier phases are still live: use them first.
	used := copy(creds, have)
	// Make the credentials with a few workers, on every node in turn.
	const makers = 4
	var next atomic.Int64
	next.Store(int64(used))
	errs := make([]error, makers)
	var wg sync.WaitGroup
	for w := range makers {
		wg.Go(func() {
			// JWT: one password grant per worker, then a chain of refreshes,
			// each giving a new access token (no argon2id per credential).
			var rt string
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				base := nodes[i%len(nodes)].base
				if m.Model == "session" {
					c, _, err := r.api.login(ctx, base, emails[i%len(emails)], pw)
					if err != nil {
						errs[w] = err
						return
					}
					creds[i] = c
					continue
				}
				var p tokenPair
				var err error
				if rt == "" {
					p, _, err = r.api.passwordGrant(ctx, base, emails[w%len(emails)], pw)
				} else {
					p, _, err = r.api.refresh(ctx, base, rt)
				}
				if err != nil {
					errs[w] = err
					return
				}
				rt = p.Refresh
				creds[i] = bearerCred(p.Access)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("making the credentials to revoke: %w", err)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	rev := &Revocation{Trials: n}
	if m.Model == "session" {
		rev.Revoke = "POST /v1/logout"
	} else {
		rev.Revoke = "POST /oauth2/revoke (access token)"
	}
	var same, others []time.Duration
	timeouts := 0
	for i, c := range creds {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		t := r.trial(ctx, nodes, i%len(nodes), m, c)
		rev.Errors += t.errors
		rev.RefusedEarly += t.early
		if t.err != nil {
			return nil, t.err
		}
		if t.early > 0 {
			continue // refused before it was revoked: counted, not timed
		}
		if t.missing > 0 {
			rev.NotRefused++
			if timeouts++; timeouts >= 3 {
				return nil, fmt.Errorf("%d revoked credentials were still accepted %s after their revocation: giving up", timeouts, trialTimeout)
			}
			continue
		}
		timeouts = 0
		same = append(same, t.same)
		if len(nodes) > 1 {
			others = append(others, t.others)
		}
	}
	rev.SameNode = delays(same)
	if len(nodes) > 1 {
		d := delays(others)
		rev.OtherNodes = &d
	}
	return rev, nil
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
func (r *runner) trial(ctx context.Context, nodes []*node, at int, m Mode, c cred) trialResult {
	var res trialResult
	tctx, cancel := context.WithTimeout(ctx, trialTimeout)
	defer cancel()
	refused := make([]time.Time, len(nodes))
	var sent atomic.Int64 // when the revocation was sent (UnixNano); 0 before
	var seen sync.WaitGroup
	var errCount, early atomic.Int64
	seen.Add(len(nodes))
	var wg sync.WaitGroup
	for j, n := range nodes {
		wg.Go(func() {
			saw := false
			defer func() {
				if !saw {
					seen.Done()
				}
			}()
			req := meRequest(n.base, c).WithContext(tctx)
			for tctx.Err() == nil {
				st, err := do(r.hc, req)
				now := time.Now()
				switch {
				case err != nil:
					if tctx.Err() == nil {
						errCount.Add(1)
					}
				case st == http.StatusOK:
					if !saw {
						saw = true
						seen.Done()
					}
				case st == http.StatusUnauthorized:
					if sent.Load() == 0 {
						early.Add(1)
						return
					}
					refused[j] = now
					return
				default:
					errCount.Add(1)
				}
			}
		})
	}
	allSeen := make(chan struct{})
	go func() { seen.Wait(); close(allSeen) }()
	select {
	case <-allSeen:
	case <-tctx.Done():
	}
	if e := early.Load(); e > 0 || tctx.Err() != nil {
		cancel()
		wg.Wait()
		res.early, res.errors = int(early.Load()), int(errCount.Load())
		if res.early == 0 {
			res.err = errors.New("a fresh credential was never accepted by every node")
		}
		return res
	}
	sent.Store(time.Now().UnixNano())
	base := nodes[at].base
	var err error
	if m.Model == "session" {
		_, err = r.api.logout(tctx, base, c)
	} else {
		_, err = r.api.revoke(tctx, base, c.value[len("Bearer "):])
	}
	answered := time.Now()
	if err != nil {
		cancel()
		wg.Wait()
		res.err = fmt.Errorf("revoking on %s: %w", nodes[at].name, err)
		return res
	}
	wg.Wait()
	res.errors = int(errCount.Load())
	for j, t := range refused {
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
