package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/authd/authd"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ConnectTimeout bounds each connection attempt when the URL sets no
// connect_timeout: an unreachable server fails Open (and every call while
// it stays unreachable) with authd.ErrUnavailable in seconds, not minutes.
const ConnectTimeout = 5 * time.Second

// maxTxAttempts is how many times a transaction that failed with a
// serialization failure (40001) or a deadlock (40P01) is run before its
// error is returned. PostgreSQL at READ COMMITTED rarely reports either;
// CockroachDB (always SERIALIZABLE) reports 40001 whenever transactions
// conflict and expects the client to retry.
const maxTxAttempts = 8

// DB is an authd database on PostgreSQL (or a server that speaks its
// protocol and SQL: CockroachDB, YugabyteDB). It implements every store
// interface of the root package: UserStore, SessionStore, RefreshStore,
// KeyStore, RevocationList, Limiter, ClientStore, CodeStore, ConsentStore,
// SessionClientStore, Outbox, FactorStore, ChallengeStore, LinkStore,
// UserDirectory, UpstreamStore, IdentityStore, ReplaySet, AuditLog,
// AuditReader and Pinger. It is safe for
// concurrent use, and any number of DBs (in one process or on many nodes)
// may share one database.
type DB struct {
	pool   *pgxpool.Pool
	closed atomic.Bool

	// Background housekeeping (see prune).
	sessionWrites atomic.Uint64
	failureWrites atomic.Uint64
	pruning       atomic.Bool
	mu            sync.Mutex // orders bg.Go after Close's bg.Wait
	bg            sync.WaitGroup
}

var (
	_ authd.UserStore      = (*DB)(nil)
	_ authd.SessionStore   = (*DB)(nil)
	_ authd.RefreshStore   = (*DB)(nil)
	_ authd.KeyStore       = (*DB)(nil)
	_ authd.IDKeyStore     = (*DB)(nil)
	_ authd.RevocationList = (*DB)(nil)
	_ authd.Limiter        = (*DB)(nil)
	_ authd.ClientStore    = (*DB)(nil)
	_ authd.AuditLog       = (*DB)(nil)
	_ authd.Pinger         = (*DB)(nil)

	_ authd.CodeStore          = (*DB)(nil)
	_ authd.ConsentStore       = (*DB)(nil)
	_ authd.SessionClientStore = (*DB)(nil)
	_ authd.Outbox             = (*DB)(nil)
	_ authd.FactorStore        = (*DB)(nil)
	_ authd.ChallengeStore     = (*DB)(nil)
	_ authd.LinkStore          = (*DB)(nil)
	_ authd.UserDirectory      = (*DB)(nil)
	_ authd.AuditReader        = (*DB)(nil)
	_ authd.UpstreamStore      = (*DB)(nil)
	_ authd.IdentityStore      = (*DB)(nil)
	_ authd.ReplaySet          = (*DB)(nil)
)

// Open connects to the database at url (postgres://… or key=value form, as
// pgx and libpq read it) and brings its schema up to date (see Migrate).
//
// The URL may carry pgxpool's settings (pool_max_conns, …) and any run-time
// parameter (search_path, statement_timeout, …). Without connect_timeout,
// each connection attempt is bounded by ConnectTimeout. An unreachable or
// refusing server gives an error wrapping authd.ErrUnavailable.
//
// NOTE: errors never repeat the URL, which may hold a password.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		var pe *pgconn.ParseConfigError
		if errors.As(err, &pe) {
			// Its text may quote the connection string.
			return nil, errors.New("postgres: open: malformed database URL")
		}
		return nil, fmt.Errorf("postgres: open: malformed database URL: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = ConnectTimeout
	}
	cfg.AfterConnect = func(_ context.Context, c *pgx.Conn) error {
		// timestamptz values come back in UTC, as every other store
		// returns them, whatever the session's TimeZone.
		c.TypeMap().RegisterType(&pgtype.Type{
			Name:  "timestamptz",
			OID:   pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, (&DB{}).wrap(ctx, "open", err)
	}
	db := &DB{pool: pool}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Ping reports whether the database answers: nil, or an error wrapping
// authd.ErrUnavailable (or the context's error when ctx is cancelled).
func (db *DB) Ping(ctx context.Context) error {
	const op = "ping"
	if db.closed.Load() {
		return fmt.Errorf("postgres: %s: %w: database closed", op, authd.ErrUnavailable)
	}
	if err := db.pool.Ping(ctx); err != nil {
		err = db.wrap(ctx, op, err)
		if !errors.Is(err, authd.ErrUnavailable) && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", authd.ErrUnavailable, err)
		}
		return err
	}
	return nil
}

// Close waits for background housekeeping to finish and closes every
// connection. Calls after Close fail with authd.ErrUnavailable.
func (db *DB) Close() error {
	db.mu.Lock()
	already := db.closed.Swap(true)
	db.mu.Unlock()
	if already {
		return nil
	}
	db.bg.Wait()
	db.pool.Close()
	return nil
}

// SQLSTATE codes and classes the DB acts on.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

// wrap maps a driver error onto the authd sentinels, by SQLSTATE and by
// error type, never by message text, and names the operation:
//
//   - pgx.ErrNoRows → authd.ErrNotFound;
//   - 23505 unique_violation → authd.ErrConflict;
//   - a cancelled context → the context's error; a deadline → also
//     authd.ErrUnavailable (the store did not answer in time);
//   - class 08 (connection exception), 53 (insufficient resources: too many
//     connections, disk full), 57P01–57P05 (shutdown, cannot connect now,
//     idle session timeout), 57014 (statement timeout), 58 (system error),
//     25006 (read-only transaction: a standby after failover), failed
//     connection attempts, network errors, timeouts, a connection closed
//     under the call and any call after Close → authd.ErrUnavailable;
//   - anything else wrapped as it is (40001/40P01 among them, once
//     transactions have used their retries).
func (db *DB) wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, authd.ErrNotFound)
	}
	var pe *pgconn.PgError
	isPg := errors.As(err, &pe)
	if isPg && pe.Code == codeUniqueViolation {
		return fmt.Errorf("postgres: %s: %w: %w", op, authd.ErrConflict, err)
	}
	if cerr := ctx.Err(); cerr != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if cerr == nil {
			cerr = context.Canceled
			if errors.Is(err, context.DeadlineExceeded) {
				cerr = context.DeadlineExceeded
			}
		}
		if errors.Is(cerr, context.DeadlineExceeded) {
			return fmt.Errorf("postgres: %s: %w: %w", op, authd.ErrUnavailable, cerr)
		}
		return fmt.Errorf("postgres: %s: %w", op, cerr)
	}
	if isPg {
		if unavailableCode(pe.Code) {
			if connectionLostCode(pe.Code) {
				db.resetPool()
			}
			return fmt.Errorf("postgres: %s: %w: %w", op, authd.ErrUnavailable, err)
		}
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if db.closed.Load() {
		return fmt.Errorf("postgres: %s: %w: %w", op, authd.ErrUnavailable, err)
	}
	if unreachable(err) {
		db.resetPool()
		return fmt.Errorf("postgres: %s: %w: %w", op, authd.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// resetPool closes every pooled connection (those in use when they come
// back) after one of them was found dead: a server restart or failover
// ends them all, and without this each would fail one more request before
// the pool noticed. The pool opens new ones on demand.
func (db *DB) resetPool() {
	if db.pool != nil && !db.closed.Load() {
		db.pool.Reset()
	}
}

// connectionLostCode reports whether a server error means the session is
// gone or is on a server that can no longer serve it (so every pooled
// connection to it likely is): class 08, the shutdown codes, and a
// standby's read-only refusal after a failover.
func connectionLostCode(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"):
		return true
	case code == "57P01", code == "57P02", code == "57P03", code == "57P04", code == "25006":
		return true
	}
	return false
}

// unavailableCode reports whether a server error means the server cannot
// serve now, as opposed to refusing this request.
func unavailableCode(code string) bool {
	if len(code) != 5 {
		return false
	}
	switch code[:2] {
	case "08", "53", "58":
		return true
	}
	switch code {
	case "57014", // query_canceled: statement_timeout (ours are cancelled through ctx)
		"57P01", // admin_shutdown
		"57P02", // crash_shutdown
		"57P03", // cannot_connect_now (starting up, in recovery)
		"57P04", // database_dropped
		"57P05", // idle_session_timeout
		"25006": // read_only_sql_transaction: connected to a standby
		return true
	}
	return false
}

// unreachable reports whether err, which did not come from the server, is
// a failure to reach it: a failed connection attempt, a network error or
// timeout, or a connection that was closed under the call.
func unreachable(err error) bool {
	var (
		ce *pgconn.ConnectError
		ne net.Error
	)
	return errors.As(err, &ce) ||
		pgconn.Timeout(err) ||
		errors.As(err, &ne) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE)
}

// retryable reports whether a transaction that failed with err may succeed
// when run again from the start.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == codeSerializationFailure || pe.Code == codeDeadlockDetected)
}

// notFound is authd.ErrNotFound named for op.
func notFound(op string) error { return fmt.Errorf("postgres: %s: %w", op, authd.ErrNotFound) }

// tx runs f in a transaction, committing when f returns nil and rolling
// back otherwise (or when f panics). A transaction that fails with a
// serialization failure or a deadlock (f's statements or the commit) is run
// again from the start, up to maxTxAttempts times, so f must be safe to
// call more than once. f's own errors are returned as they are; driver
// errors are wrapped with op.
func (db *DB) tx(ctx context.Context, op string, f func(tx pgx.Tx) error) error {
	backoff := time.Millisecond
	for attempt := 1; ; attempt++ {
		err := db.tryTx(ctx, op, f)
		if err == nil || attempt == maxTxAttempts || !retryable(err) {
			return err
		}
		// Jittered exponential backoff, so that the retries of two
		// conflicting transactions do not collide again.
		d := backoff/2 + rand.N(backoff)
		backoff = min(2*backoff, 50*time.Millisecond)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return db.wrap(ctx, op, ctx.Err())
		case <-t.C:
		}
	}
}

func (db *DB) tryTx(ctx context.Context, op string, f func(tx pgx.Tx) error) (err error) {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return db.wrap(ctx, op, err)
	}
	defer func() {
		// A no-op after a commit. The rollback must run even when ctx is
		// what failed (or f panicked); bounded so that a dead server
		// cannot hold the call.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ConnectTimeout)
		tx.Rollback(rctx)
		cancel()
	}()
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return db.wrap(ctx, op, err)
	}
	return nil
}

// exec runs one statement outside a transaction and returns the rows it
// changed.
func (db *DB) exec(ctx context.Context, op, query string, args ...any) (int64, error) {
	tag, err := db.pool.Exec(ctx, query, args...)
	if err != nil {
		return 0, db.wrap(ctx, op, err)
	}
	return tag.RowsAffected(), nil
}

// pruneEvery is how many CreateSession (or AddFailure) calls of a DB pass
// between two purges of expired sessions (login-failure windows).
const pruneEvery = 256

// pruneMargin is how long past its expiry a row is kept before a purge
// deletes it: the wall clocks of nodes differ a little.
const pruneMargin = time.Hour

// pruneBatch bounds the rows one purge deletes, so that it never holds
// many locks or runs long; the next purge takes the rest.
const pruneBatch = 1000

// prune runs query every pruneEvery-th call, in the background (the caller
// does not wait), with the wall clock minus pruneMargin and pruneBatch as
// arguments. At most one purge of a DB runs at a time; Close waits for it.
// Errors are ignored: the next purge tries again.
//
// The interfaces have no method to purge expired sessions or login-failure
// windows, and store.go allows a store to delete a session once its
// ExpiresAt has passed; without this the tables would only grow.
func (db *DB) prune(counter *atomic.Uint64, query string) {
	if counter.Add(1)%pruneEvery != 0 || !db.pruning.CompareAndSwap(false, true) {
		return
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed.Load() {
		db.pruning.Store(false)
		return
	}
	db.bg.Go(func() {
		defer db.pruning.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		db.pool.Exec(ctx, query, time.Now().Add(-pruneMargin), pruneBatch)
	})
}

// collect reads every row of rows with scan, then closes rows; errors are
// wrapped with op. The slice is non-nil: empty when there are no rows.
func collect[T any](ctx context.Context, db *DB, op string, rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
	out, err := pgx.AppendRows(make([]T, 0, 4), rows, func(r pgx.CollectableRow) (T, error) { return scan(r) })
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return out, nil
}
