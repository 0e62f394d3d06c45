package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/backoff"
	"github.com/jackc/pgx/v5"
)

// revocationsChannel is the channel on which migration 0011's trigger
// notifies, at commit, every statement that writes the revocations table;
// the payload is the table's schema.
const revocationsChannel = "authd_revocations"

// The revocation probe's listener.
const (
	// probePulse is how often wake fires while the probe is not
	// listening, so that a poller that polls fast for a while after each
	// wake (token.Revocations.Run: every PollInterval for a second) keeps
	// doing so until it listens again.
	probePulse = 500 * time.Millisecond
	// The listener reconnects after 100 ms, 200 ms, … at most 5 s.
	probeRetryFirst = 100 * time.Millisecond
	probeRetryMost  = 5 * time.Second
)

// probeHeartbeat is how long the listener waits for a notification before
// it pings its connection (bounded by ConnectTimeout): a connection cut off
// without a word (a network partition, a failover) is found and replaced
// instead of trusted for good. A variable for the tests.
var probeHeartbeat = 30 * time.Second

// errNotListening is what changed says while the probe has no connection
// listening: the caller must read the list in full.
var errNotListening = fmt.Errorf("postgres: change probe: %w: not listening for revocations", authd.ErrUnavailable)

// ChangeProbe implements token.ChangeProber with LISTEN/NOTIFY: it takes a
// connection of its own out of the pool and LISTENs on authd_revocations,
// which a trigger (migration 0011) notifies at the commit of every
// statement that writes the revocations table, from any node. It returns
// changed, which reports whether a notification for this schema came
// since its previous call (true on the first call, after every reconnect,
// and, with an error wrapping authd.ErrUnavailable, whenever the probe is
// not listening); wake, which receives (coalesced) on every such
// notification, when the connection is lost or listens again, and every
// probePulse while it is not listening; and closeProbe, which stops the
// listener, closes its connection and then wake. changed asks nothing of
// the server: an idle poller costs no round trip.
//
// The listener reconnects by itself (after 100 ms, then backing off to
// 5 s); it stops, closing wake, only when the DB is closed or the server
// refuses LISTEN for good (changed then always says true with an error).
// ChangeProbe itself fails when the server refuses LISTEN at once (a
// server without LISTEN/NOTIFY: the caller polls the list in full), not
// when it is unreachable: it then starts not listening.
//
// NOTE: changed may say false for a commit whose notification is still on
// its way: PostgreSQL sends it just after the commit, and it reaches the
// listener a moment later. The window is bounded: whatever closes it, the
// notification's arrival or the connection's loss, sends on wake, and a
// poller woken asks again at once (token.Revocations.Run polls, and
// Syncs, as soon as wake receives); and Run reads the list in full at
// least every fullSyncEvery (1 s) whatever changed says, so even a
// connection lost without a word (found by the heartbeat within
// probeHeartbeat + ConnectTimeout) cannot hide a revocation for longer.
// The store still fails closed: changed asks nothing of the server, so it
// is that full read, at least every fullSyncEvery, that proves the server
// reachable; a node that cannot read the list goes stale after
// MaxStaleness whatever the probe says.
//
// changed is safe for concurrent use, but there is one dirty flag per
// probe: each poller opens its own.
func (db *DB) ChangeProbe(ctx context.Context) (changed func(context.Context) (bool, error), wake <-chan struct{}, closeProbe func() error, err error) {
	conn, schema, err := db.listenRevocations(ctx)
	if err != nil && (ctx.Err() != nil || db.closed.Load() || !errors.Is(err, authd.ErrUnavailable)) {
		return nil, nil, nil, err
	}
	// The listener lives until closeProbe, not until ctx (which may only
	// bound the setup).
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p := &revocationProbe{db: db, heartbeat: probeHeartbeat, wake: make(chan struct{}, 1), done: make(chan struct{})}
	// Listening already, before the first call of changed; true then in
	// any case, and with an error when not listening.
	p.listening, p.dirty = conn != nil, true
	go p.run(lctx, conn, schema)
	closeProbe = sync.OnceValue(func() error {
		cancel()
		<-p.done
		return nil
	})
	return p.changed, p.wake, closeProbe, nil
}

// listenRevocations takes a connection out of the pool for good, reads its
// schema and LISTENs on revocationsChannel.
func (db *DB) listenRevocations(ctx context.Context) (*pgx.Conn, string, error) {
	const op = "change probe"
	if db.closed.Load() {
		return nil, "", fmt.Errorf("postgres: %s: %w: database closed", op, authd.ErrUnavailable)
	}
	pc, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, "", db.wrap(ctx, op, err)
	}
	// The connection will be listening or mid-wait: it leaves the pool.
	conn := pc.Hijack()
	var schema string
	err = conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema)
	if err == nil {
		_, err = conn.Exec(ctx, `LISTEN `+revocationsChannel)
	}
	if err != nil {
		closeConn(conn)
		return nil, "", db.wrap(ctx, op, err)
	}
	return conn, schema, nil
}

// closeConn closes a listener's connection, waiting at most ConnectTimeout
// for the server to hear it.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), ConnectTimeout)
	defer cancel()
	_ = conn.Close(ctx)
}

// revocationProbe is the state behind one ChangeProbe.
type revocationProbe struct {
	db        *DB
	heartbeat time.Duration // probeHeartbeat
	wake      chan struct{} // capacity 1: sends coalesce; closed when run returns
	done      chan struct{} // closed when run returns

	mu        sync.Mutex
	listening bool // LISTEN is in force on a live connection
	dirty     bool // a notification came, or listening began, since changed last said
}

func (p *revocationProbe) changed(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return true, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.listening {
		return true, errNotListening
	}
	ch := p.dirty
	p.dirty = false
	return ch, nil
}

// pulse sends on wake unless a send is already pending.
func (p *revocationProbe) pulse() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// setListening records whether LISTEN is in force, then wakes the poller.
// Listening again marks the probe dirty: what was committed while it was
// not listening was notified to nobody.
func (p *revocationProbe) setListening(on bool) {
	p.mu.Lock()
	p.listening = on
	if on {
		p.dirty = true
	}
	p.mu.Unlock()
	p.pulse()
}

// notified records a notification, then wakes the poller (in this order:
// the poller woken finds changed true).
func (p *revocationProbe) notified() {
	p.mu.Lock()
	p.dirty = true
	p.mu.Unlock()
	p.pulse()
}

// run follows conn (nil when the first attempt failed; already marked
// listening otherwise) and reconnects whenever it is lost, until ctx is
// done, the DB is closed or the server refuses LISTEN.
func (p *revocationProbe) run(ctx context.Context, conn *pgx.Conn, schema string) {
	defer close(p.done)
	defer close(p.wake)
	failures := 0
	for {
		if conn != nil {
			failures = 0
			p.follow(ctx, conn, schema)
			p.setListening(false)
			closeConn(conn)
			conn = nil
		}
		if ctx.Err() != nil {
			return
		}
		failures++
		if !p.pause(ctx, backoff.Exponential(failures, probeRetryFirst, probeRetryMost)) {
			return
		}
		var err error
		conn, schema, err = p.connect(ctx)
		if err != nil && (ctx.Err() != nil || p.db.closed.Load() || !errors.Is(err, authd.ErrUnavailable)) {
			return
		}
		if conn != nil {
			p.setListening(true)
		}
	}
}

// follow waits for notifications on conn until ctx is done or conn fails,
// pinging it after probeHeartbeat of silence.
func (p *revocationProbe) follow(ctx context.Context, conn *pgx.Conn, schema string) {
	for {
		wctx, cancel := context.WithTimeout(ctx, p.heartbeat)
		n, err := conn.WaitForNotification(wctx)
		silent := errors.Is(wctx.Err(), context.DeadlineExceeded)
		cancel()
		switch {
		case err == nil:
			if n.Channel == revocationsChannel && n.Payload == schema {
				p.notified()
			}
		case ctx.Err() != nil || !silent || conn.IsClosed():
			return
		default:
			pctx, cancel := context.WithTimeout(ctx, ConnectTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return
			}
		}
	}
}

// pause waits d (false if ctx ends first), pulsing wake meanwhile.
func (p *revocationProbe) pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	tick := time.NewTicker(probePulse)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-tick.C:
			p.pulse()
		}
	}
}

// connect is listenRevocations, pulsing wake while it waits (a connection
// attempt may take up to ConnectTimeout).
func (p *revocationProbe) connect(ctx context.Context) (*pgx.Conn, string, error) {
	type result struct {
		conn   *pgx.Conn
		schema string
		err    error
	}
	res := make(chan result, 1)
	go func() {
		c, s, err := p.db.listenRevocations(ctx)
		res <- result{c, s, err}
	}()
	tick := time.NewTicker(probePulse)
	defer tick.Stop()
	for {
		select {
		case r := <-res:
			return r.conn, r.schema, r.err
		case <-tick.C:
			p.pulse()
		}
	}
}
