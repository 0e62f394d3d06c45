// Package cache keeps a bounded in-process copy of session lookups in front
// of any authd.SessionStore that can report its changes
// (authd.SessionWatcher), so that validating a session costs a map lookup
// instead of a store round trip, without giving up instant revocation.
//
// NOTE: correctness over hit rate. An entry is served only while the
// store's change feed is followed: when the feed breaks the cache empties
// and every lookup goes to the store until the feed is back. A lookup that
// raced with an invalidation is not cached (generation check). A change made
// through this cache invalidates locally at once; a change made by another
// node arrives through the feed (PostgreSQL NOTIFY: milliseconds; SQLite:
// the poll interval). The cache never serves a stale "valid".
package cache

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authd/authd"
)

// Source is a session store whose changes can be followed.
type Source interface {
	authd.SessionStore
	authd.SessionWatcher
}

// Sessions is an authd.SessionStore with a local read-through cache.
type Sessions struct {
	Source
	max int
	log *slog.Logger

	mu      sync.RWMutex
	entries map[[32]byte]*authd.Session
	byID    map[string][32]byte // public id → hash, for writes by id
	// gen counts invalidations: a store read that saw gen change while it
	// ran does not cache its result, which may predate the change.
	gen atomic.Uint64
	// live is true while the change feed is followed.
	live atomic.Bool

	hits, misses atomic.Uint64
}

// Config configures New.
type Config struct {
	// MaxEntries bounds the cache; default 100,000 (about 40 MB).
	MaxEntries int
	Logger     *slog.Logger
}

// New returns a cache over src. It serves from memory only once Run has
// subscribed to src's changes.
func New(src Source, cfg Config) *Sessions {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 100_000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sessions{Source: src, max: cfg.MaxEntries, log: cfg.Logger, entries: make(map[[32]byte]*authd.Session), byID: make(map[string][32]byte)}
}

// Run follows the store's changes until ctx ends, resubscribing with
// backoff when the feed breaks.
func (c *Sessions) Run(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for {
		err := c.Source.WatchSessions(ctx, (*events)(c))
		c.down()
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("session cache: change feed lost; serving from the store", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// Live reports whether the cache is serving from memory.
func (c *Sessions) Live() bool { return c.live.Load() }

// Stats returns the hits and misses so far.
func (c *Sessions) Stats() (hits, misses uint64) { return c.hits.Load(), c.misses.Load() }

// events adapts Sessions to authd.SessionEvents without exporting the methods.
type events Sessions

func (e *events) Subscribed() {
	c := (*Sessions)(e)
	c.flush()
	c.live.Store(true)
}

func (e *events) Invalidate(hash []byte) {
	if len(hash) != 32 {
		return
	}
	c := (*Sessions)(e)
	c.gen.Add(1)
	c.mu.Lock()
	if s, ok := c.entries[[32]byte(hash)]; ok {
		delete(c.byID, s.ID)
		delete(c.entries, [32]byte(hash))
	}
	c.mu.Unlock()
}

func (c *Sessions) down() {
	c.live.Store(false)
	c.flush()
}

func (c *Sessions) flush() {
	c.gen.Add(1)
	c.mu.Lock()
	clear(c.entries)
	clear(c.byID)
	c.mu.Unlock()
}

func (c *Sessions) invalidateIDs(ids ...string) {
	c.gen.Add(1)
	c.mu.Lock()
	for _, id := range ids {
		if h, ok := c.byID[id]; ok {
			delete(c.entries, h)
			delete(c.byID, id)
		}
	}
	c.mu.Unlock()
}

// SessionByHash answers from memory when it can, else from the store. The
// caller gets its own copy.
func (c *Sessions) SessionByHash(ctx context.Context, hash []byte) (*authd.Session, error) {
	if len(hash) == 32 && c.live.Load() {
		c.mu.RLock()
		s, ok := c.entries[[32]byte(hash)]
		c.mu.RUnlock()
		if ok {
			c.hits.Add(1)
			cp := *s
			return &cp, nil
		}
	}
	c.misses.Add(1)
	gen := c.gen.Load()
	s, err := c.Source.SessionByHash(ctx, hash)
	if err != nil || len(hash) != 32 || !c.live.Load() {
		return s, err
	}
	cp := *s
	c.mu.Lock()
	// Cache only what no invalidation can have overtaken.
	if c.gen.Load() == gen {
		if len(c.entries) >= c.max {
			for k, old := range c.entries { // evict an arbitrary entry
				delete(c.entries, k)
				delete(c.byID, old.ID)
				break
			}
		}
		c.entries[[32]byte(hash)] = &cp
		c.byID[cp.ID] = [32]byte(hash)
	}
	c.mu.Unlock()
	return s, nil
}

// TouchSession writes through and drops the local copy.
func (c *Sessions) TouchSession(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	err := c.Source.TouchSession(ctx, id, lastSeen, expiresAt)
	c.invalidateIDs(id)
	return err
}

// DeleteSession writes through and drops the local copy at once.
func (c *Sessions) DeleteSession(ctx context.Context, userID, id string) error {
	err := c.Source.DeleteSession(ctx, userID, id)
	c.invalidateIDs(id)
	return err
}

// DeleteUserSessions writes through and drops the local copies at once.
func (c *Sessions) DeleteUserSessions(ctx context.Context, userID, except string) ([]string, error) {
	ids, err := c.Source.DeleteUserSessions(ctx, userID, except)
	if err != nil {
		// What was deleted is unknown: forget everything.
		c.flush()
		return ids, err
	}
	c.invalidateIDs(ids...)
	return ids, nil
}

// ErrNotLive is returned by WaitLive when ctx ends before the feed is followed.
var ErrNotLive = errors.New("cache: change feed not followed")

// WaitLive waits until the cache follows the store's changes (tests, start-up).
func (c *Sessions) WaitLive(ctx context.Context) error {
	for !c.live.Load() {
		select {
		case <-ctx.Done():
			return ErrNotLive
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}
