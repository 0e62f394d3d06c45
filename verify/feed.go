package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/authd/authd/internal/revset"
)

const (
	// maxFeedBytes bounds one answer of the feed (a full list of ~500,000
	// entries).
	maxFeedBytes = 64 << 20
	// feedSlack is added to the long-poll wait for a feed request's
	// deadline: the network's round trip and authd's own work.
	feedSlack = 10 * time.Second
	// retry delays of the feed after a failure: short, because the
	// staleness bound is short.
	feedRetryMin, feedRetryMax = 100 * time.Millisecond, 2 * time.Second
	// pruneEvery is how often expired entries are dropped.
	pruneEvery = time.Minute
)

// revocationSet is the in-memory copy of authd's revocation list (the set
// itself is internal/revset's, shared with authd's own nodes) and when it
// was last known complete.
type revocationSet struct {
	revset.Set
	confirmed atomic.Int64 // UnixNano: the list was complete as of then
}

func (s *revocationSet) confirmedAt() time.Time { return time.Unix(0, s.confirmed.Load()) }

// apply adds entries (or, when replace, makes them the whole list) and
// records that the list was complete at confirmed.
func (s *revocationSet) apply(entries []feedEntry, replace bool, confirmed time.Time) {
	es := make([]revset.Entry, 0, len(entries))
	for _, e := range entries {
		if e.SID != "" {
			es = append(es, revset.Entry{Kind: revset.SID, ID: e.SID, Exp: e.Exp})
		} else {
			es = append(es, revset.Entry{Kind: revset.JTI, ID: e.JTI, Exp: e.Exp})
		}
	}
	if replace {
		s.Replace(es...)
	} else {
		s.Add(es...)
	}
	if confirmed.UnixNano() > s.confirmed.Load() {
		s.confirmed.Store(confirmed.UnixNano())
	}
}

// feedEntry and feedPage are the feed's wire format:
// {"cursor":"…","revoked":[{"sid"|"jti":"…","exp":"<RFC 3339>"}]}.
type feedEntry struct {
	SID string    `json:"sid"`
	JTI string    `json:"jti"`
	Exp time.Time `json:"exp"`
}

type feedPage struct {
	Cursor  string      `json:"cursor"`
	Revoked []feedEntry `json:"revoked"`
}

// errBadCursor is the feed's 400: authd does not know our cursor (its list
// was reset, or we talk to another authd). The whole list is loaded again.
var errBadCursor = errors.New("verify: the feed refused the cursor")

// loadRevocations loads the whole list (the feed without since) and returns
// the cursor to follow it from.
func (v *Verifier) loadRevocations(ctx context.Context) (string, error) {
	sent := v.cfg.now()
	page, err := v.poll(ctx, "", 0)
	if err != nil {
		return "", fmt.Errorf("verify: revocation feed: %w", err)
	}
	v.revs.apply(page.Revoked, true, sent)
	return page.Cursor, nil
}

// poll asks the feed once: every live entry when cursor is "", else the
// entries after cursor, waiting up to wait for one.
func (v *Verifier) poll(ctx context.Context, cursor string, wait time.Duration) (*feedPage, error) {
	u := v.feedURL
	if cursor != "" {
		q := url.Values{"since": {cursor}}
		if wait > 0 {
			q.Set("wait", wait.String())
		}
		u += "?" + q.Encode()
	}
	body, _, err := v.get(ctx, u, maxFeedBytes, wait+feedSlack)
	if err != nil {
		var se *statusError
		if cursor != "" && errors.As(err, &se) && se.code == http.StatusBadRequest {
			return nil, errBadCursor
		}
		return nil, err
	}
	var page feedPage
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, fmt.Errorf("GET %s: %w", v.feedURL, err)
	}
	if page.Cursor == "" {
		return nil, fmt.Errorf("GET %s: answer without a cursor", v.feedURL)
	}
	return &page, nil
}

// followFeed long-polls the feed from cursor until ctx is done, adding
// what it reports to the set. After a failure it retries from the same
// cursor with backoff; a refused cursor makes it load the whole list again.
//
// NOTE: an answer proves the list complete as of when its request was
// sent (authd answered with everything after our cursor), so that is the
// time recorded, not the time of the answer. So just before an answer the
// list is two waits (and two round trips) old, and the long-poll's wait is
// min(30 s, max staleness / 3): a live but quiet feed answers often enough
// to keep the list provably current. A revocation still arrives at once,
// because authd ends the long-poll when one is made.
func (v *Verifier) followFeed(ctx context.Context, cursor string) {
	failures := 0
	lastPrune := v.cfg.now()
	for ctx.Err() == nil {
		sent := v.cfg.now()
		var page *feedPage
		var err error
		if cursor == "" {
			page, err = v.poll(ctx, "", 0)
		} else {
			page, err = v.poll(ctx, cursor, v.wait)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, errBadCursor) {
				v.cfg.log.Warn("verify: the revocation feed refused our cursor; loading the whole list again")
				cursor = ""
			}
			if failures == 0 {
				v.cfg.log.Warn("verify: revocation feed unreachable; retrying", "err", err)
			}
			failures++
			t := time.NewTimer(backoff(failures, feedRetryMin, feedRetryMax))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		if failures > 0 {
			v.cfg.log.Info("verify: revocation feed reachable again", "failures", failures)
			failures = 0
		}
		v.revs.apply(page.Revoked, cursor == "", sent)
		cursor = page.Cursor
		if now := v.cfg.now(); now.Sub(lastPrune) >= pruneEvery {
			v.revs.Prune(now.Add(-MaxLeeway))
			lastPrune = now
		}
	}
}

// backoff returns the delay before retry n (n >= 1): lo doubled n-1 times,
// at most hi, with jitter in [d/2, d).
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + rand.N(d/2+1)
}
