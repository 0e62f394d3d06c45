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

// ChangeProber is implemented by a revocation list whose store can tell
// cheaply whether anything was committed since it last asked (sqlite.DB,
// with PRAGMA data_version; postgres.DB, with LISTEN/NOTIFY). ChangeProbe
// returns changed, which says so (true on its first call and after an
// error, never false when something was committed since its previous call,
// except for a commit whose news is still on its way: then wake receives
// when it arrives); wake, which receives when the store may have been
// written (nil when it cannot say; closed if it stops saying), so that Run
// can sleep while nothing happens; and closeProbe, which releases both.
type ChangeProber interface {
	ChangeProbe(ctx context.Context) (changed func(context.Context) (bool, error), wake <-chan struct{}, closeProbe func() error, err error)
}

// fullSyncEvery bounds how long Run trusts a change probe that keeps
// saying "unchanged", and how long it sleeps while the store is idle: after
// that long it calls RevokedSince anyway. Shorter when MaxStaleness is
// short (a quarter of it), so that an idle node stays fresh.
const fullSyncEvery = time.Second

// hotFor is how long Run keeps polling every PollInterval after the store
// was last written.
const hotFor = time.Second

// Run calls Sync every PollInterval until ctx is done. Failures are logged
// once per outage; Fresh turns them into authd.ErrUnavailable after
// MaxStaleness.
//
// NOTE: idle cost. When the list is a ChangeProber, every poll asks the
// probe first and calls Sync only when it reports a change (or fails, or
// fullSyncEvery passed since the last Sync), and when the store also says
// when it is written (wake), Run polls every PollInterval only while it is
// written and for hotFor after, and otherwise sleeps until it is written
// again (at most fullSyncEvery). An idle node then wakes about once a
// second instead of 50 times, and a revocation is still seen at the next
// poll after its commit.
func (r *Revocations) Run(ctx context.Context) {
	p, ok := r.list.(ChangeProber)
	if !ok {
		repeat(ctx, r.pollInterval, r.log, "token: revocation list unreachable", "token: revocation list reachable again", r.Sync)
		return
	}
	changed, wake, closeProbe, err := p.ChangeProbe(ctx)
	if err != nil {
		r.log.Warn("token: no change probe on the revocation list; polling it in full", "err", err)
		repeat(ctx, r.pollInterval, r.log, "token: revocation list unreachable", "token: revocation list reachable again", r.Sync)
		return
	}
	defer func() { _ = closeProbe() }()
	idle := min(fullSyncEvery, r.maxStaleness/4)
	pr := &prober{r: r, changed: changed, now: time.Now, every: idle}
	hotPolls := max(1, int(hotFor/r.pollInterval))
	hot := hotPolls
	timer := time.NewTimer(r.pollInterval)
	defer timer.Stop()
	failing := false
	for {
		w := wake
		if hot > 0 {
			w = nil // fast: sleep the whole interval
			hot--
			timer.Reset(r.pollInterval)
		} else {
			timer.Reset(max(idle, r.pollInterval))
		}
		select {
		case <-ctx.Done():
			return
		case _, open := <-w:
			if !open {
				wake = nil // the store stopped saying: poll every PollInterval
			}
			hot = hotPolls
		case <-timer.C:
			if wake == nil {
				hot = 1
			}
			select {
			case _, open := <-wake:
				if !open {
					wake = nil
				}
				hot = hotPolls
			default:
			}
		}
		err := pr.poll(ctx)
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			r.log.Error("token: revocation list unreachable", "err", err)
			failing = true
		case err == nil && failing:
			r.log.Info("token: revocation list reachable again")
			failing = false
		}
	}
}

// prober is Run's poll step over a change probe.
type prober struct {
	r       *Revocations
	changed func(context.Context) (bool, error)
	now     func() time.Time // wall clock; tests inject theirs
	every   time.Duration    // longest trust in "unchanged" (fullSyncEvery)
	// full is when the last Sync of this step succeeded; zero when the
	// next poll must Sync whatever the probe says (at first, and after a
	// failed Sync: the change the probe reported is not in the set).
	full time.Time
}

// poll reads the probe, then Syncs when it reports a change, fails, or
// every passed since the last Sync. Otherwise nothing was committed since
// the previous poll, whose Sync (or an earlier one) read the list after
// that poll's probe: the set is current, and it is marked fresh as a Sync
// would.
//
// NOTE: the probe is read before RevokedSince, never after: a commit
// between the two is then either in what RevokedSince returns or reported
// by the next probe.
func (p *prober) poll(ctx context.Context) error {
	started := p.now()
	changed, perr := p.changed(ctx)
	if changed || perr != nil || p.full.IsZero() || started.Sub(p.full) >= p.every || started.Before(p.full) {
		if err := p.r.Sync(ctx); err != nil {
			p.full = time.Time{}
			return err
		}
		p.full = started
		return nil
	}
	r := p.r
	r.syncMu.Lock()
	defer r.syncMu.Unlock()
	if now := r.now(); now.Sub(r.lastPrune) >= time.Second || now.Before(r.lastPrune) {
		r.lastPrune = now
		r.prune(now)
	}
	r.lastSync.Store(&started)
	return nil
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
