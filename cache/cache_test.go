package cache_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/cache"
	"github.com/authd/authd/postgres"
	"github.com/authd/authd/postgres/pgtest"
	"github.com/authd/authd/session"
	"github.com/authd/authd/sqlite"
	"github.com/authd/authd/storetest"
)

func openDB(t testing.TB, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, sqlite.WithWatchPoll(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// start runs a cache over src and waits until it follows the feed.
func start(t testing.TB, src cache.Source) *cache.Sessions {
	t.Helper()
	c := cache.New(src, cache.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go c.Run(ctx)
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if err := c.WaitLive(wctx); err != nil {
		t.Fatal(err)
	}
	return c
}

// backends open two handles on one fresh store, as two nodes would.
var backends = []struct {
	name string
	open func(t testing.TB) (a, b cache.Source)
}{
	{"sqlite", func(t testing.TB) (cache.Source, cache.Source) {
		path := filepath.Join(t.TempDir(), "a.db")
		return openDB(t, path), openDB(t, path)
	}},
	{"postgres", func(t testing.TB) (cache.Source, cache.Source) {
		dsn := pgtest.Schema(t)
		return openPG(t, dsn), openPG(t, dsn)
	}},
}

func openPG(t testing.TB, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The store contract holds through the cache.
func TestConformance(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			storetest.RunSessionStore(t, func(t *testing.T) authd.SessionStore {
				a, _ := be.open(t)
				return start(t, a)
			})
		})
	}
}

func newSession(t testing.TB, st authd.SessionStore) (*authd.Session, string) {
	t.Helper()
	m := session.NewManager(st, nil, session.Config{Idle: time.Hour, Max: 2 * time.Hour})
	tok, s, err := m.Create(context.Background(), &authd.User{ID: authd.NewID(), Email: "a@example.com"}, session.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	return s, tok
}

func TestHitsAndLocalInvalidation(t *testing.T) {
	ctx := context.Background()
	c := start(t, openDB(t, filepath.Join(t.TempDir(), "a.db")))
	s, _ := newSession(t, c)
	for i := 0; i < 3; i++ {
		got, err := c.SessionByHash(ctx, s.Hash)
		if err != nil || got.ID != s.ID {
			t.Fatal(err)
		}
		got.Email = "mutated" // the caller's copy: must not reach the cache
	}
	if hits, misses := c.Stats(); hits != 2 || misses != 1 {
		t.Fatalf("hits %d misses %d", hits, misses)
	}
	if got, _ := c.SessionByHash(ctx, s.Hash); got.Email != "a@example.com" {
		t.Fatal("a caller's change reached the cache")
	}
	if err := c.DeleteSession(ctx, s.UserID, s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SessionByHash(ctx, s.Hash); !errors.Is(err, authd.ErrNotFound) {
		t.Fatalf("deleted session served: %v", err)
	}
}

// A session deleted by another process sharing the file is refused once its
// change reaches this process's feed.
func TestInvalidationFromAnotherNode(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			x, y := be.open(t)
			testInvalidation(t, start(t, x), start(t, y))
		})
	}
}

func testInvalidation(t *testing.T, a, b *cache.Sessions) {
	ctx := context.Background()
	tests := []struct {
		name   string
		revoke func(s *authd.Session) error
	}{
		{"delete one", func(s *authd.Session) error { return b.DeleteSession(ctx, s.UserID, s.ID) }},
		{"delete all", func(s *authd.Session) error { _, err := b.DeleteUserSessions(ctx, s.UserID, ""); return err }},
		{"touch", func(s *authd.Session) error {
			return b.TouchSession(ctx, s.ID, s.LastSeenAt.Add(time.Minute), s.ExpiresAt.Add(time.Minute))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newSession(t, a)
			a.SessionByHash(ctx, s.Hash)
			a.SessionByHash(ctx, s.Hash) // now cached
			start := time.Now()
			if err := tt.revoke(s); err != nil {
				t.Fatal(err)
			}
			for {
				got, err := a.SessionByHash(ctx, s.Hash)
				if errors.Is(err, authd.ErrNotFound) || (err == nil && got.LastSeenAt.After(s.LastSeenAt)) {
					t.Logf("seen by the other node after %v", time.Since(start))
					return
				}
				if time.Since(start) > 5*time.Second {
					t.Fatal("the other node still serves the old session")
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
}

// brokenFeed wraps a real store and fails its change feed on demand.
type brokenFeed struct {
	*sqlite.DB
	fail  atomic.Bool
	reads atomic.Int64
}

func (b *brokenFeed) WatchSessions(ctx context.Context, h authd.SessionEvents) error {
	if b.fail.Load() {
		return errors.New("feed down")
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for !b.fail.Load() && wctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	err := b.DB.WatchSessions(wctx, h)
	if b.fail.Load() {
		return errors.New("feed down")
	}
	return err
}

func (b *brokenFeed) SessionByHash(ctx context.Context, hash []byte) (*authd.Session, error) {
	b.reads.Add(1)
	return b.DB.SessionByHash(ctx, hash)
}

func TestFeedLossEmptiesTheCache(t *testing.T) {
	ctx := context.Background()
	src := &brokenFeed{DB: openDB(t, filepath.Join(t.TempDir(), "a.db"))}
	c := start(t, src)
	s, _ := newSession(t, c)
	c.SessionByHash(ctx, s.Hash)
	c.SessionByHash(ctx, s.Hash)
	if src.reads.Load() != 1 {
		t.Fatalf("store reads %d, want 1", src.reads.Load())
	}
	src.fail.Store(true)
	for c.Live() {
		time.Sleep(time.Millisecond)
	}
	before := src.reads.Load()
	for i := 0; i < 3; i++ {
		if _, err := c.SessionByHash(ctx, s.Hash); err != nil {
			t.Fatal(err)
		}
	}
	if got := src.reads.Load() - before; got != 3 {
		t.Fatalf("with the feed down %d of 3 lookups reached the store", got)
	}
	src.fail.Store(false)
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.WaitLive(wctx); err != nil {
		t.Fatal("the cache did not recover by itself")
	}
}

// raceFeed deletes the session from another process while a lookup is
// reading it, and returns the stale row after the invalidation arrived.
type raceFeed struct {
	*sqlite.DB
	other *sqlite.DB
	armed atomic.Bool
}

func (r *raceFeed) SessionByHash(ctx context.Context, hash []byte) (*authd.Session, error) {
	s, err := r.DB.SessionByHash(ctx, hash)
	if err == nil && r.armed.CompareAndSwap(true, false) {
		r.other.DeleteSession(ctx, s.UserID, s.ID)
		time.Sleep(100 * time.Millisecond) // let the feed deliver it
	}
	return s, err
}

func TestStaleReadIsNotCached(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a.db")
	src := &raceFeed{DB: openDB(t, path), other: openDB(t, path)}
	c := start(t, src)
	s, _ := newSession(t, src.DB)
	src.armed.Store(true)
	c.SessionByHash(ctx, s.Hash) // returns the row read before the delete
	if _, err := c.SessionByHash(ctx, s.Hash); !errors.Is(err, authd.ErrNotFound) {
		t.Fatalf("a read overtaken by a delete was cached: %v", err)
	}
}
