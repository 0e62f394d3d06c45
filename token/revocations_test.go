package token_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/token"
)

// flakyList wraps the real store's revocation list and fails while down is
// set: fault injection, not a fake store.
type flakyList struct {
	authd.RevocationList
	down atomic.Bool
}

func (f *flakyList) RevokedSince(ctx context.Context, cursor string, now time.Time) ([]authd.Revocation, string, error) {
	if f.down.Load() {
		return nil, "", authd.ErrUnavailable
	}
	return f.RevocationList.RevokedSince(ctx, cursor, now)
}

func TestRevocationFollower(t *testing.T) {
	t.Run("an entry written by another node is seen within a few polls", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA, func(c *token.Config) { c.PollInterval = 20 * time.Millisecond })
		node2 := e.newService()
		run(t, node2)
		raw, c := e.issue()
		if _, err := node2.Verify(e.ctx, raw); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := e.svc.RevokeSID(e.ctx, c.SessionID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Verify(e.ctx, raw); !errors.Is(err, authd.ErrUnauthenticated) {
			t.Fatalf("revoking node: err = %v", err)
		}
		eventually(t, time.Second, "node 2 refuses", func() bool {
			_, err := node2.Verify(e.ctx, raw)
			return errors.Is(err, authd.ErrUnauthenticated)
		})
		t.Logf("seen by node 2 after %s", time.Since(start))
	})

	t.Run("a revocation before start is loaded", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA)
		raw, c := e.issue()
		if err := e.svc.RevokeAccessToken(e.ctx, raw); err != nil {
			t.Fatal(err)
		}
		node2 := e.newService()
		if _, err := node2.Verify(e.ctx, raw); !errors.Is(err, authd.ErrUnauthenticated) {
			t.Fatalf("err = %v (jti %s)", err, c.ID)
		}
	})

	t.Run("stale list fails closed, then recovers", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA)
		flaky := &flakyList{RevocationList: e.db}
		cfg := e.cfg
		cfg.PollInterval = 20 * time.Millisecond
		cfg.MaxStaleness = 200 * time.Millisecond
		st := e.stores()
		st.Revocations = flaky
		svc, err := token.New(e.ctx, cfg, st)
		if err != nil {
			t.Fatal(err)
		}
		run(t, svc)
		raw, _ := e.issue()
		if _, err := svc.Verify(e.ctx, raw); err != nil {
			t.Fatal(err)
		}
		flaky.down.Store(true)
		eventually(t, 2*time.Second, "ErrUnavailable when stale", func() bool {
			_, err := svc.Verify(e.ctx, raw)
			return errors.Is(err, authd.ErrUnavailable)
		})
		if _, err := svc.Verify(e.ctx, "garbage"); !errors.Is(err, authd.ErrUnauthenticated) {
			t.Errorf("garbage while stale: %v", err)
		}
		if _, err := svc.Introspect(e.ctx, raw); !errors.Is(err, authd.ErrUnavailable) {
			t.Errorf("introspect while stale: %v", err)
		}
		flaky.down.Store(false)
		eventually(t, 2*time.Second, "recovery", func() bool {
			_, err := svc.Verify(e.ctx, raw)
			return err == nil
		})
	})

	t.Run("New fails when the list is unreachable", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA)
		flaky := &flakyList{RevocationList: e.db}
		flaky.down.Store(true)
		st := e.stores()
		st.Revocations = flaky
		if _, err := token.New(e.ctx, e.cfg, st); !errors.Is(err, authd.ErrUnavailable) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("feed long-polls until a revocation arrives", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA, func(c *token.Config) { c.PollInterval = 20 * time.Millisecond })
		node2 := e.newService()
		run(t, node2)
		all, cursor, err := node2.Revocations().Feed(e.ctx, "", 0)
		if err != nil || all == nil || len(all) != 0 {
			t.Fatalf("initial feed = %v, %q, %v", all, cursor, err)
		}
		go func() {
			time.Sleep(100 * time.Millisecond)
			_ = e.svc.RevokeSID(e.ctx, "sid-from-node-1")
		}()
		start := time.Now()
		got, next, err := node2.Revocations().Feed(e.ctx, cursor, 5*time.Second)
		if err != nil || len(got) != 1 || got[0].ID != "sid-from-node-1" || got[0].Kind != authd.RevokeSID || next == cursor {
			t.Fatalf("feed = %+v, %q, %v", got, next, err)
		}
		if waited := time.Since(start); waited > 2*time.Second {
			t.Errorf("feed woke after %s", waited)
		}
		// nothing new: returns empty after the wait
		got, _, err = node2.Revocations().Feed(e.ctx, next, 50*time.Millisecond)
		if err != nil || len(got) != 0 {
			t.Fatalf("empty feed = %+v, %v", got, err)
		}
		ctx, cancel := context.WithCancel(e.ctx)
		cancel()
		if _, _, err := node2.Revocations().Feed(ctx, next, time.Second); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled feed: %v", err)
		}
	})

	t.Run("expired entries are pruned", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA)
		revs := e.svc.Revocations()
		if err := e.svc.RevokeSID(e.ctx, "s1"); err != nil {
			t.Fatal(err)
		}
		if revs.Len() != 1 {
			t.Fatalf("Len = %d", revs.Len())
		}
		// Kept through the leeway a verifier allows past exp…
		e.clock.Advance(e.cfg.AccessTTL + token.MaxLeeway - time.Second)
		if err := revs.Sync(e.ctx); err != nil {
			t.Fatal(err)
		}
		if revs.Len() != 1 {
			t.Fatalf("Len inside the leeway = %d", revs.Len())
		}
		// …then pruned.
		e.clock.Advance(2 * time.Second)
		if err := revs.Sync(e.ctx); err != nil {
			t.Fatal(err)
		}
		if revs.Len() != 0 {
			t.Fatalf("Len after expiry = %d", revs.Len())
		}
	})
}

func TestHousekeep(t *testing.T) {
	e := newEnv(t, authd.AlgEdDSA)
	p, _ := e.svc.IssuePair(e.ctx, e.user, nil)
	if err := e.svc.RevokeRefreshToken(e.ctx, p.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Housekeep(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.FamilyByID(e.ctx, p.Claims.SessionID); err != nil {
		t.Fatalf("family deleted too early: %v", err)
	}
	e.clock.Advance(25 * time.Hour)
	if err := e.svc.Housekeep(e.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.FamilyByID(e.ctx, p.Claims.SessionID); !errors.Is(err, authd.ErrNotFound) {
		t.Fatalf("dead family kept: %v", err)
	}
	if entries, _, err := e.db.RevokedSince(e.ctx, "", time.Time{}); err != nil || len(entries) != 0 {
		t.Fatalf("expired revocations kept: %v %v", entries, err)
	}
}
