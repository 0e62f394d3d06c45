package token

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/revset"
)

// Revocations is the in-memory copy of an authd.RevocationList: the sids
// and jtis of access tokens that must be refused, followed from the store
// so that checking a token is a map lookup, never a round trip.
//
// It loads every live entry on the first Sync, then asks the store for what
// was added since its cursor on every further Sync (Run calls Sync every
// PollInterval). Entries past their ExpiresAt are pruned.
//
// NOTE: fail closed. Fresh reports authd.ErrUnavailable when the last
// successful Sync is older than MaxStaleness (measured on the monotonic wall
// clock, not the injected one): a node cut off from the revocation list
// stops accepting tokens instead of accepting revoked ones (API: 503).
type Revocations struct {
	list         authd.RevocationList
	now          func() time.Time
	pollInterval time.Duration
	maxStaleness time.Duration
	log          *slog.Logger

	syncMu    sync.Mutex // one Sync at a time; guards cursor and lastPrune
	cursor    string
	lastPrune time.Time
	lastSync  atomic.Pointer[time.Time] // wall-clock start of the last successful Sync

	set     revset.Set
	mu      sync.RWMutex // guards changed
	changed chan struct{}
}

// RevocationsConfig configures NewRevocations. Zero fields take the
// defaults of Config (PollInterval 100 ms, MaxStaleness 5 s, Now time.Now).
type RevocationsConfig struct {
	PollInterval time.Duration
	MaxStaleness time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
}

// NewRevocations returns an empty set following list. It is stale until
// its first successful Sync.
func NewRevocations(list authd.RevocationList, cfg RevocationsConfig) *Revocations {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.MaxStaleness <= 0 {
		cfg.MaxStaleness = DefaultMaxStaleness
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Revocations{
		list:         list,
		now:          cfg.Now,
		pollInterval: cfg.PollInterval,
		maxStaleness: cfg.MaxStaleness,
		log:          cfg.Logger,
		changed:      make(chan struct{}),
	}
}

// Sync is one follow step: it asks the store for the entries added since
// the cursor (every live entry on the first call), adds them, prunes
// expired entries, and on success marks the set fresh. It is what Run calls
// every PollInterval; a push-based cache can call it whenever it learns of a
// change instead. Safe for concurrent use (calls are serialised).
func (r *Revocations) Sync(ctx context.Context) error {
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	started := time.Now()
	entries, next, err := r.list.RevokedSince(ctx, r.cursor, r.now())
	if err != nil {
		return fmt.Errorf("token: sync revocations: %w", err)
	}
	r.cursor = next
	r.Add(entries...)
	if now := r.now(); now.Sub(r.lastPrune) >= time.Second || now.Before(r.lastPrune) {
		r.lastPrune = now
		r.prune(now)
	}
	r.lastSync.Store(&started)
	return nil
}

// Run calls Sync every PollInterval until ctx is done. Failures are logged
// once per outage; Fresh turns them into authd.ErrUnavailable after
// MaxStaleness.
func (r *Revocations) Run(ctx context.Context) {
	repeat(ctx, r.pollInterval, r.log, "token: revocation list unreachable", "token: revocation list reachable again", r.Sync)
}

// Add puts entries into the local set at once, without writing the store,
// and wakes Changed's waiters when one is new. Entries of an unknown kind
// are ignored.
func (r *Revocations) Add(entries ...authd.Revocation) {
	if len(entries) == 0 {
		return
	}
	es := make([]revset.Entry, 0, len(entries))
	for _, e := range entries {
		switch e.Kind {
		case authd.RevokeSID:
			es = append(es, revset.Entry{Kind: revset.SID, ID: e.ID, Exp: e.ExpiresAt})
		case authd.RevokeJTI:
			es = append(es, revset.Entry{Kind: revset.JTI, ID: e.ID, Exp: e.ExpiresAt})
		}
	}
	if !r.set.Add(es...) {
		return
	}
	// The set changed before the channel is closed: a waiter that took the
	// channel before reading the set wakes and sees the entry.
	r.mu.Lock()
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// Revoke writes r to the store, then adds it to the local set, so that this
// node refuses the token at once and every other node within a few poll
// intervals.
//
// NOTE: the entry is kept MaxLeeway longer than asked: a verifier accepts a
// token until exp plus its leeway, so an entry that died at exp would let a
// revoked token back in for that long.
func (r *Revocations) Revoke(ctx context.Context, rev authd.Revocation) error {
	rev.ExpiresAt = rev.ExpiresAt.Add(MaxLeeway)
	if err := r.list.Revoke(ctx, rev); err != nil {
		return fmt.Errorf("token: revoke %s: %w", rev.Kind, err)
	}
	r.Add(rev)
	return nil
}

// IsRevoked reports whether c's jti or sid is on the list.
func (r *Revocations) IsRevoked(c *authd.Claims) bool {
	return r.set.Revoked(c.ID, c.SessionID)
}

// SIDRevoked reports whether sid is on the list (a session or refresh
// family that ended), or an error wrapping authd.ErrUnavailable when the
// list is stale: fail closed.
func (r *Revocations) SIDRevoked(sid string) (bool, error) {
	if err := r.Fresh(); err != nil {
		return false, err
	}
	return r.set.Revoked("", sid), nil
}

// Fresh returns nil when the last successful Sync is at most MaxStaleness
// old, and an error wrapping authd.ErrUnavailable otherwise.
func (r *Revocations) Fresh() error {
	last := r.lastSync.Load()
	if last == nil {
		return fmt.Errorf("token: revocation list not loaded yet: %w", authd.ErrUnavailable)
	}
	if time.Since(*last) > r.maxStaleness {
		return fmt.Errorf("token: revocation list stale since %s: %w", last.Format(time.RFC3339), authd.ErrUnavailable)
	}
	return nil
}

// Changed returns a channel that is closed when a new entry enters the set
// (by Sync or Add). Take the channel before reading the state it guards.
func (r *Revocations) Changed() <-chan struct{} {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.changed
}

// Len returns the number of entries in the set.
func (r *Revocations) Len() int { return r.set.Len() }

// Feed serves the revocation feed (GET /v1/revocations?since=CURSOR&wait=):
// the store's entries added after cursor ("" for every live entry) and the
// cursor to pass next. When there are none and wait is positive, it waits
// until this node sees a new entry or wait passes, then asks again. It
// returns a non-nil (possibly empty) slice; a malformed cursor is the
// store's *authd.InvalidError (400); ctx's error when ctx ends first.
func (r *Revocations) Feed(ctx context.Context, cursor string, wait time.Duration) ([]authd.Revocation, string, error) {
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		changed := r.Changed()
		entries, next, err := r.list.RevokedSince(ctx, cursor, r.now())
		if err != nil {
			return nil, cursor, err
		}
		if entries == nil {
			entries = []authd.Revocation{}
		}
		if len(entries) > 0 || timeout == nil {
			return entries, next, nil
		}
		cursor = next
		select {
		case <-changed:
		case <-timeout:
			return entries, next, nil
		case <-ctx.Done():
			return nil, next, ctx.Err()
		}
	}
}

// prune drops entries whose ExpiresAt is before now.
func (r *Revocations) prune(now time.Time) { r.set.Prune(now) }
