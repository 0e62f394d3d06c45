package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/authd/authd"
)

// DefaultWatchPoll is how often WatchSessions looks for changes unless
// WithWatchPoll says otherwise. It bounds how long another process's
// revocation can be served from a local cache.
const DefaultWatchPoll = 25 * time.Millisecond

// idleRecheck is the longest a watcher sleeps while the file is not
// written.
const idleRecheck = time.Second

// recheckEvery is how many polls may pass with PRAGMA data_version
// unchanged before a watcher reads its table anyway: a guard, not a path
// any change is known to need.
const recheckEvery = 40

// WatchSessions implements authd.SessionWatcher by polling the
// session_events table, which triggers fill in the same transaction as every
// delete or update of a session.
//
// NOTE: idle cost. The watcher polls every WithWatchPoll while the file is
// being written and for a second after, then sleeps until the file is
// written again (see ChangeProbe's wake; at most idleRecheck): an idle
// server does not wake up 40 times a second. Every poll first reads PRAGMA
// data_version and reads the table only when something was committed
// since the previous poll. A change is seen at the next poll, as without
// either.
func (db *DB) WatchSessions(ctx context.Context, h authd.SessionEvents) error {
	const op = "watch sessions"
	// The probe's first reading comes before the table's: a commit in
	// between changes the version, and the first poll reads the table.
	probe, wake, closeProbe, err := db.ChangeProbe(ctx)
	if err != nil {
		return err
	}
	defer func() { closeProbe() }()
	pace := newPacer(db.watchPoll, idleRecheck, wake)
	var g gate
	g.due(probe(ctx))
	var last int64
	if err := db.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM session_events`).Scan(&last); err != nil {
		return db.wrap(ctx, op, err)
	}
	h.Subscribed()
	polls := 0
	for {
		if !pace.wait(ctx) {
			return nil
		}
		// Every 200 polls (5 s while the file is written), forget events
		// no watcher can still need.
		if polls++; polls%200 == 0 {
			db.write.ExecContext(ctx, `DELETE FROM session_events WHERE at < ?`, micros(time.Now().Add(-time.Minute)))
		}
		if !g.due(probe(ctx)) {
			continue
		}
		rows, err := db.read.QueryContext(ctx, `SELECT seq, hash FROM session_events WHERE seq > ? ORDER BY seq`, last)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return db.wrap(ctx, op, err)
		}
		for rows.Next() {
			var hash []byte
			if err := rows.Scan(&last, &hash); err != nil {
				rows.Close()
				return db.wrap(ctx, op, err)
			}
			h.Invalidate(hash)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return db.wrap(ctx, op, err)
		}
	}
}

// gate decides, from successive readings of a change probe, when a watcher
// must read its table: on the first reading, whenever the probe says a
// commit happened or fails, and every recheckEvery polls regardless.
type gate struct {
	quiet int // polls since the table was last read
}

func (g *gate) due(changed bool, err error) bool {
	if changed || err != nil || g.quiet >= recheckEvery-1 {
		g.quiet = 0
		return true
	}
	g.quiet++
	return false
}

// ChangeProbe opens a connection of its own to the file and returns changed,
// which reports whether anything was committed to the file, by any
// connection of any process but the probe's, since its previous call (true
// on the first call and after an error); wake, which receives when the file
// may have been written (coalesced; nil where the system cannot say, and
// closed if watching fails), so that a poller can sleep while it is idle;
// and closeProbe, which releases both. changed reads PRAGMA data_version:
// one statement, no table read, so a poller can call it often and query
// only when it says true.
//
// NOTE: wake may come before the commit that caused it is visible (the
// write of its last frame comes before the WAL index is updated): a poller
// woken keeps polling at its fast interval for a while (see pacer), which
// sees the commit at its next poll.
//
// NOTE: read the probe before the data it guards. A false then means that
// nothing was committed since the previous call, whose caller read the
// data after it; a poller that fails to read the data must read it next
// time whatever the probe says.
//
// changed is not safe for concurrent use; each poller opens its own probe.
func (db *DB) ChangeProbe(ctx context.Context) (changed func(context.Context) (bool, error), wake <-chan struct{}, closeProbe func() error, err error) {
	const op = "change probe"
	// NOTE: data_version is local to a connection: the probe pins one, out
	// of the read pool (a pooled connection could be any of several, and a
	// reopened one starts a new count).
	pool, err := sql.Open("sqlite", dsn(db.path, false))
	if err != nil {
		return nil, nil, nil, db.wrap(ctx, op, err)
	}
	pool.SetMaxOpenConns(1)
	conn, err := pool.Conn(ctx)
	if err != nil {
		pool.Close()
		return nil, nil, nil, db.wrap(ctx, op, err)
	}
	stmt, err := conn.PrepareContext(ctx, `PRAGMA data_version`)
	if err != nil {
		conn.Close()
		pool.Close()
		return nil, nil, nil, db.wrap(ctx, op, err)
	}
	var (
		last   int64
		primed bool
	)
	changed = func(ctx context.Context) (bool, error) {
		var v int64
		if err := stmt.QueryRowContext(ctx).Scan(&v); err != nil {
			primed = false
			return true, db.wrap(ctx, op, err)
		}
		ch := !primed || v != last
		last, primed = v, true
		return ch, nil
	}
	// Events from the file system start before the caller's first
	// reading of changed: none is lost in between.
	wake, stopEvents, err := fileEvents(db.path)
	if err != nil {
		wake, stopEvents = nil, func() error { return nil }
	}
	closeProbe = func() error {
		return errors.Join(stopEvents(), stmt.Close(), conn.Close(), pool.Close())
	}
	return changed, wake, closeProbe, nil
}

// pacer spaces a watcher's polls: every fast while the file is being
// written and for hotFor after the last write, otherwise once a write is
// reported on wake or idle passes. With no wake (nil) it polls every fast.
type pacer struct {
	fast, idle time.Duration
	wake       <-chan struct{}
	hotPolls   int // polls a write keeps the pacer fast for
	hot        int // fast polls left
	timer      *time.Timer
}

// hotFor is how long a watcher keeps polling fast after the last write.
const hotFor = time.Second

func newPacer(fast, idle time.Duration, wake <-chan struct{}) *pacer {
	return &pacer{fast: fast, idle: idle, wake: wake, hotPolls: max(1, int(hotFor/max(fast, 1))), hot: 1}
}

// wait returns true when the next poll is due, false when ctx is done.
func (p *pacer) wait(ctx context.Context) bool {
	d := p.fast
	if p.wake != nil && p.hot <= 0 {
		d = max(p.idle, p.fast)
	}
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	wake := p.wake
	if p.hot > 0 {
		// Fast: sleep the whole interval; a write meanwhile only keeps the
		// pacer fast.
		wake = nil
		p.hot--
	}
	select {
	case <-ctx.Done():
		p.timer.Stop()
		return false
	case _, ok := <-wake:
		p.timer.Stop()
		if !ok {
			p.wake = nil // events failed: poll every fast from now on
		}
		p.hot = p.hotPolls
		return true
	case <-p.timer.C:
	}
	if p.wake != nil {
		select {
		case _, ok := <-p.wake:
			if !ok {
				p.wake = nil
			}
			p.hot = p.hotPolls
		default:
		}
	}
	return true
}
