// Package sqlite keeps authd's data in one SQLite file, through
// modernc.org/sqlite (pure Go, no cgo). It is the default store of
// `authd serve` (--db sqlite:PATH).
//
// It owns the schema (migrations/*.sql, embedded, tracked in
// schema_migrations and applied by Open and Migrate) and one type, DB, which
// implements every store interface of the root package: UserStore,
// SessionStore, RefreshStore, KeyStore, RevocationList, Limiter,
// ClientStore, CodeStore, ConsentStore, SessionClientStore, Outbox,
// FactorStore, ChallengeStore, LinkStore, UserDirectory, UpstreamStore,
// IdentityStore, ReplaySet, AuditLog, AuditReader and Pinger. It holds no
// business rules: expiry, rotation and reuse detection live in the session
// and token packages, second-factor checks in package mfa; the store keeps
// the contracts written in store.go and dpop.go, which storetest checks.
//
// # Several processes, one file
//
// API.md allows several `authd serve` processes to share one SQLite file on
// one machine. So that they can:
//
//   - the file is in WAL mode: readers never block the writer or each other;
//   - every connection gets busy_timeout (BusyTimeout), foreign_keys=ON,
//     synchronous=NORMAL and journal_mode=WAL from the DSN, so no pooled
//     connection misses them;
//   - a DB has two pools. The write pool is one connection whose
//     transactions begin IMMEDIATE: writers of one process queue in
//     database/sql (no busy-waiting among themselves), and a transaction
//     takes the file's write lock before it reads, so it never has to
//     upgrade a read lock, which in WAL mode fails at once with
//     SQLITE_BUSY_SNAPSHOT when another process wrote in between. Only
//     other processes contend for the lock, waiting up to BusyTimeout. The
//     read pool has several query_only connections;
//   - every read-modify-write is one statement (UPSERT … RETURNING,
//     DELETE … RETURNING) or one IMMEDIATE transaction, so counters, key
//     rotation, refresh rotation, code redemption (one first redemption),
//     outbox claims (one claimer per lease) and the single use of a TOTP
//     step, a recovery code, a passkey counter value, a WebAuthn
//     challenge and a mailed link (conditional UPDATE or DELETE) and the
//     first sight of a DPoP proof id (UPSERT … WHERE … RETURNING) are exact
//     across processes;
//   - migrations run in one IMMEDIATE transaction: a second process
//     starting at the same time waits, then finds nothing to do.
//
// A consequence of the single write connection: the fn given to
// UpdateFamilyByToken runs while this process's write connection is held,
// so it must be quick and must not call back into the DB.
//
// # Durability
//
// synchronous=NORMAL in WAL mode: a committed write survives a crash of the
// process; a power loss or OS crash may undo the last commits (a revoked
// session could come back) but never corrupts the file. FULL would fsync
// every commit; it is not worth its cost for a store whose losses end in a
// user signing in again.
//
// # Representation
//
// Times are INTEGER unix microseconds in UTC (PostgreSQL's precision, so
// every backend round-trips the same values); a nullable time column holds
// NULL for the zero time ("not revoked", "not retired"). Roles and audiences
// are JSON arrays in TEXT. Tables are STRICT.
//
// # Errors
//
// Driver errors are mapped by SQLite result code, never by message:
// UNIQUE and PRIMARY KEY constraint violations are authd.ErrConflict;
// sql.ErrNoRows is authd.ErrNotFound; busy, locked, I/O, cannot-open,
// not-a-database, full, read-only and corrupt are authd.ErrUnavailable, as
// is any call after Close; a context deadline is authd.ErrUnavailable too.
// Every error names the operation: "sqlite: find session: …".
//
// # Housekeeping
//
// Expired DPoP replay records are deleted by PruneReplays, which its
// caller runs now and then, in batches of 1,000 rows so that the write
// connection, which every DPoP-checked request needs, is never held long.
//
// The interfaces have no method to purge expired sessions or login-failure
// windows, so the DB does it itself, now and then (every 256th
// CreateSession or AddFailure of a process), deleting rows whose expiry
// passed over an hour ago on the wall clock: store.go allows a store to
// delete a session once its ExpiresAt has passed.
//
// # Performance
//
// Remember, the replay check of every DPoP-checked request, is one
// prepared UPSERT on the write connection (BenchmarkRemember).
//
// SessionByHash, the lookup behind every cookie-carrying request, is one
// prepared statement on the read pool served by the UNIQUE index on hash,
// scanning into one allocation. bench_test.go measures it beside the raw
// prepared SELECT it is built on (BenchmarkSessionByHash,
// BenchmarkRawPrimaryKeySelect, and BenchmarkSessionByHashVsRaw, which
// interleaves the two and reports their ratio):
//
//	go test -run '^$' -bench 'SessionByHash|RawPrimaryKey' ./sqlite
//
// # Security
//
// NOTE: the database holds no secret a client presents. Sessions are keyed
// by the SHA-256 of the cookie value and refresh tokens are stored only as
// hashes, so a copy of the file gives no live session or token. Passwords
// and client secrets are argon2id PHC strings; authd's client secrets at
// upstream providers are sealed under --encryption-key-file, which is not
// in the file. The signing keys, however,
// are stored as they are (the private keys sign tokens): the file is as
// sensitive as a key file and should be readable by authd alone.
package sqlite
