package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authd/authd"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// BusyTimeout is how long a write waits for another process's write lock on
// the same file before it fails with ErrUnavailable.
const BusyTimeout = 5 * time.Second

// DB is an authd database in one SQLite file. It implements every store
// interface of the root package: UserStore, SessionStore, RefreshStore,
// KeyStore, RevocationList, Limiter, ClientStore, CodeStore, ConsentStore,
// SessionClientStore, Outbox, FactorStore, ChallengeStore, LinkStore,
// UserDirectory, UpstreamStore, IdentityStore, ReplaySet, AuditLog,
// AuditReader and Pinger. It is safe for
// concurrent use, and several DBs (in one process or several) may share
// one file.
type DB struct {
	path      string
	watchPoll time.Duration
	write     *sql.DB // one connection; transactions BEGIN IMMEDIATE
	read      *sql.DB // several connections; query_only
	closed    atomic.Bool

	// Counts of writes, for housekeeping (see prune).
	sessionWrites, failureWrites atomic.Uint64

	// stmts caches the prepared statements of exec, query, queryRow and
	// writeQueryRow, by pool and query text (stmtKey → *sql.Stmt); prepare
	// fills it with the hot paths' at open.
	//
	// NOTE: SQLite parses a statement on every unprepared call; on the
	// authorization code flow's dozen statements that parsing was a fifth
	// of the time. The queries are constants, so the cache is bounded.
	stmts sync.Map
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

// Option configures Open.
type Option func(*DB)

// WithWatchPoll sets how often WatchSessions reads the change feed
// (default DefaultWatchPoll); tests shorten it.
func WithWatchPoll(d time.Duration) Option { return func(db *DB) { db.watchPoll = d } }

// Open opens the database file at path, creating it if needed, and brings
// its schema up to date (see Migrate). Errors opening the file (a missing
// directory, a file that is not a database, no permission) wrap
// authd.ErrUnavailable and name the path.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("sqlite: open %q: a file path is required (an in-memory database cannot be shared between connections)", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// NOTE: the file holds the signing keys: create it readable by this
	// user only (SQLite gives its -wal and -shm files the same mode). An
	// existing file keeps its mode; errors are left for SQLite to report.
	if f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	}
	db := &DB{path: abs, watchPoll: DefaultWatchPoll}
	for _, o := range opts {
		o(db)
	}
	fail := func(err error) (*DB, error) {
		db.Close()
		return nil, err
	}

	// NOTE: every write goes through one connection. Writers of this
	// process queue in database/sql instead of spinning in SQLite's busy
	// handler, and only other processes ever contend for the file's write
	// lock, through busy_timeout. Transactions begin IMMEDIATE (take the
	// write lock at BEGIN), so a transaction never has to upgrade a read
	// lock, which in WAL mode fails at once with SQLITE_BUSY_SNAPSHOT when
	// another process wrote in between.
	if db.write, err = sql.Open("sqlite", dsn(abs, true)); err != nil {
		return fail(fmt.Errorf("sqlite: open %s: %w", abs, err))
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	db.write.SetConnMaxLifetime(0)
	db.write.SetConnMaxIdleTime(0)
	if err := ping(ctx, db.write); err != nil {
		if _, serr := os.Stat(filepath.Dir(abs)); serr != nil {
			// SQLite says only "unable to open database file".
			err = fmt.Errorf("%w (%w)", err, serr)
		}
		return fail(db.wrap(ctx, "open "+abs, err))
	}
	if err := db.Migrate(ctx); err != nil {
		return fail(err)
	}

	// Readers use their own connections: in WAL mode they never block the
	// writer nor each other, and each query sees the last committed state.
	if db.read, err = sql.Open("sqlite", dsn(abs, false)); err != nil {
		return fail(fmt.Errorf("sqlite: open %s: %w", abs, err))
	}
	n := max(4, runtime.GOMAXPROCS(0))
	db.read.SetMaxOpenConns(n)
	db.read.SetMaxIdleConns(n)
	db.read.SetConnMaxLifetime(0)
	db.read.SetConnMaxIdleTime(0)
	if err := ping(ctx, db.read); err != nil {
		return fail(db.wrap(ctx, "open "+abs, err))
	}
	if err := db.prepare(ctx); err != nil {
		return fail(err)
	}
	return db, nil
}

// ping opens p's first connection, which applies the DSN's pragmas.
//
// NOTE: while another process switches a new file to WAL, SQLite answers
// SQLITE_BUSY at once, without waiting in its busy handler; several serve
// processes started together on one new file would see it. Opening retries
// a busy file for up to BusyTimeout, as a busy write would wait.
func ping(ctx context.Context, p *sql.DB) error {
	deadline := time.Now().Add(BusyTimeout)
	for {
		err := p.PingContext(ctx)
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// dsn returns the data source name of the file at abs for the write pool or
// the read pool. Pragmas go in the DSN so that every connection the pool
// opens gets them, not only the first.
func dsn(abs string, write bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)") // see doc.go: Durability
	q.Add("_pragma", "foreign_keys(ON)")
	if write {
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	// A file: URI, with the path escaped, so that any path (with '?', '#'
	// or '%' in it) names the file it says.
	return "file:" + (&url.URL{Path: filepath.ToSlash(abs)}).EscapedPath() + "?" + q.Encode()
}

func (db *DB) prepare(ctx context.Context) error {
	for _, q := range []struct {
		pool  *sql.DB
		query string
	}{
		{db.read, sessionByHashSQL}, {db.write, touchSessionSQL},
		{db.read, failuresSQL}, {db.write, addFailureSQL},
		{db.write, rememberSQL},
		// Run inside a transaction, which must never prepare: see txQueryRow.
		{db.write, redeemCodeSQL},
	} {
		if _, err := db.prepareStmt(ctx, q.pool, q.query); err != nil {
			return db.wrap(ctx, "prepare statements", err)
		}
	}
	return nil
}

// Path returns the absolute path of the database file.
func (db *DB) Path() string { return db.path }

// Ping reports whether the database answers: nil, or an error wrapping
// authd.ErrUnavailable. It reads the file (not only a cached connection), so
// a file that was removed or became unreadable is noticed.
func (db *DB) Ping(ctx context.Context) error {
	if db.closed.Load() {
		return fmt.Errorf("sqlite: ping: %w: database closed", authd.ErrUnavailable)
	}
	var n int
	err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n)
	if err != nil {
		err = db.wrap(ctx, "ping", err)
		if !errors.Is(err, authd.ErrUnavailable) && ctx.Err() == nil {
			err = fmt.Errorf("%w: %w", authd.ErrUnavailable, err)
		}
		return err
	}
	return nil
}

// Close closes the database. Calls after Close fail with ErrUnavailable.
func (db *DB) Close() error {
	db.closed.Store(true)
	var errs []error
	db.stmts.Range(func(_, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		return true
	})
	for _, p := range []*sql.DB{db.read, db.write} {
		if p != nil {
			errs = append(errs, p.Close())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// wrap maps a driver error onto the authd sentinels, by result code, never
// by message text, and names the operation:
//
//   - sql.ErrNoRows → authd.ErrNotFound;
//   - a UNIQUE or PRIMARY KEY constraint → authd.ErrConflict;
//   - a cancelled context → the context's error; a deadline → also
//     authd.ErrUnavailable (the store did not answer in time);
//   - busy, locked, I/O, cannot open, not a database, full, read-only,
//     corrupt, out of memory, permission, a closed DB → authd.ErrUnavailable;
//   - anything else wrapped as it is.
func (db *DB) wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: %w", op, authd.ErrNotFound)
	}
	var se *sqlite.Error
	isSQLite := errors.As(err, &se)
	if isSQLite {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("sqlite: %s: %w: %w", op, authd.ErrConflict, err)
		}
	}
	if cerr := ctx.Err(); cerr != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		if cerr == nil {
			cerr = err
		}
		if errors.Is(cerr, context.DeadlineExceeded) {
			return fmt.Errorf("sqlite: %s: %w: %w", op, authd.ErrUnavailable, cerr)
		}
		return fmt.Errorf("sqlite: %s: %w", op, cerr)
	}
	if isSQLite {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CORRUPT,
			sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PERM, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_INTERRUPT,
			sqlite3.SQLITE_NOLFS, sqlite3.SQLITE_AUTH:
			return fmt.Errorf("sqlite: %s: %w: %w", op, authd.ErrUnavailable, err)
		}
	}
	if db.closed.Load() || errors.Is(err, sql.ErrConnDone) || errors.Is(err, driver.ErrBadConn) {
		return fmt.Errorf("sqlite: %s: %w: %w", op, authd.ErrUnavailable, err)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// tx runs f in a write transaction (BEGIN IMMEDIATE), committing when f
// returns nil and rolling back otherwise (or when f panics). f's error is
// returned as it is; driver errors are wrapped with op.
func (db *DB) tx(ctx context.Context, op string, f func(tx *sql.Tx) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.wrap(ctx, op, err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return db.wrap(ctx, op, err)
	}
	return nil
}

type stmtKey struct {
	pool  *sql.DB
	query string
}

// stmt returns query prepared on pool, from the cache, or nil when it
// cannot be prepared (the caller then runs it unprepared, which reports
// the error). query must be a constant of the package.
func (db *DB) stmt(ctx context.Context, pool *sql.DB, query string) *sql.Stmt {
	s, err := db.prepareStmt(ctx, pool, query)
	if err != nil {
		return nil
	}
	return s
}

// prepareStmt is stmt with the reason it could not prepare.
func (db *DB) prepareStmt(ctx context.Context, pool *sql.DB, query string) (*sql.Stmt, error) {
	k := stmtKey{pool, query}
	if s, ok := db.stmts.Load(k); ok {
		return s.(*sql.Stmt), nil
	}
	if db.closed.Load() {
		return nil, errors.New("database closed")
	}
	s, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := db.stmts.LoadOrStore(k, s); loaded {
		s.Close()
		return prev.(*sql.Stmt), nil
	}
	return s, nil
}

// queryRow runs the read query (a package constant) with args on the
// read pool, prepared once.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if s := db.stmt(ctx, db.read, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return db.read.QueryRowContext(ctx, query, args...)
}

// writeQueryRow runs the write query (a package constant, with
// RETURNING) with args on the write pool, prepared once.
func (db *DB) writeQueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if s := db.stmt(ctx, db.write, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return db.write.QueryRowContext(ctx, query, args...)
}

// query runs the read query (a package constant) with args on the read
// pool, prepared once.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := db.stmt(ctx, db.read, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return db.read.QueryContext(ctx, query, args...)
}

// txQueryRow is queryRow inside a write transaction, for a query that
// prepare made ready: it never prepares one itself.
//
// NOTE: the write pool has one connection, which the transaction holds;
// preparing on the pool here would wait for it for ever.
func (db *DB) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	if s, ok := db.stmts.Load(stmtKey{db.write, query}); ok {
		return tx.StmtContext(ctx, s.(*sql.Stmt)).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

// exec runs one write statement (a package constant), prepared once, and
// returns the rows it changed.
func (db *DB) exec(ctx context.Context, op, query string, args ...any) (int64, error) {
	var (
		res sql.Result
		err error
	)
	if s := db.stmt(ctx, db.write, query); s != nil {
		res, err = s.ExecContext(ctx, args...)
	} else {
		res, err = db.write.ExecContext(ctx, query, args...)
	}
	if err != nil {
		return 0, db.wrap(ctx, op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, db.wrap(ctx, op, err)
	}
	return n, nil
}

// pruneEvery is how many CreateSession (or AddFailure) calls of a process
// pass between two purges of expired sessions (or failure windows).
const pruneEvery = 256

// pruneMargin is how long past its expiry a row is kept before a purge
// deletes it, so that clocks a little apart never race a purge.
const pruneMargin = time.Hour

// prune runs query with the wall clock minus pruneMargin every pruneEvery-th
// time counter is bumped. It is housekeeping: its errors are dropped, the
// next purge retries.
func (db *DB) prune(ctx context.Context, counter *atomic.Uint64, query string) {
	if counter.Add(1)%pruneEvery != 0 {
		return
	}
	db.write.ExecContext(ctx, query, micros(time.Now().Add(-pruneMargin)))
}

// notFound is ErrNotFound named for op.
func notFound(op string) error { return fmt.Errorf("sqlite: %s: %w", op, authd.ErrNotFound) }

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// collect reads every row of rows with scan, then closes rows; errors are
// wrapped with op. The slice is non-nil: empty when there are no rows.
func collect[T any](ctx context.Context, db *DB, op string, rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return out, nil
}
