// Package postgres keeps authd's data in PostgreSQL, through pgx/v5 and
// its pgxpool. It is the store of `authd serve --db postgres://…`, for
// several authd nodes sharing one database.
//
// It owns the PostgreSQL schema (migrations/*.sql, embedded, tracked in
// schema_migrations and applied by Open and Migrate) and one type, DB,
// which implements every store interface of the root package: UserStore,
// SessionStore, RefreshStore, KeyStore, RevocationList, Limiter,
// ClientStore, CodeStore, ConsentStore, SessionClientStore, Outbox,
// FactorStore, ChallengeStore, LinkStore, UserDirectory, UpstreamStore,
// IdentityStore, ReplaySet, AuditLog, AuditReader and Pinger. It holds no
// business rules: expiry, rotation and reuse detection live in the session
// and token packages, second-factor checks in package mfa; the store keeps
// the contracts written in store.go and dpop.go, which storetest checks.
//
// # Schema
//
// users, sessions (keyed by id, unique on hash), refresh_families and
// refresh_tokens (hash → family, generation; deleted with their family),
// keys (+ key_ring_lock, one row), revocations (+ revocation_seq, one
// row), login_failures, clients, auth_codes (by the SHA-256 of the code),
// consents, session_clients, outbox, totp, recovery_codes, passkeys,
// webauthn_challenges, email_links (by the SHA-256 of the mailed token),
// upstreams, identities (by upstream and subject), dpop_replays (by the
// caller's key as bytea, which holds any string) and audit_events (exactly
// the columns API.md names: id, at, event, user_id, session_id, ip,
// user_agent, detail). Times are timestamptz (microseconds, returned in
// UTC); a nullable time is NULL for the zero time. Roles and audiences are
// text[]; hashes, secrets and keys bytea. The tables go into the first schema of
// the connection's search_path, which the URL may set
// (…?search_path=authd).
//
// # Concurrency across nodes
//
// Every read-modify-write is one statement or one short transaction, safe
// however many nodes run it at once:
//
//   - AddFailure is one INSERT … ON CONFLICT DO UPDATE … RETURNING: n
//     concurrent calls add exactly n.
//   - UpdateFamilyByToken locks the family row (SELECT … FOR UPDATE, found
//     through refresh_tokens by hash): two rotations of one family run one
//     after the other, the second seeing the first's changes.
//   - EnsureKey and RotateKey serialise on the one row of key_ring_lock,
//     and a partial unique index (keys_one_current: one row WHERE
//     retired_at IS NULL) refuses a second current key whatever happens.
//     The current key's own row could not serve as the lock: a rotation
//     replaces it, and a waiter would find no current key left to retire.
//   - Revoke takes its seq from the one row of revocation_seq in the same
//     statement, which orders revocations' commits by seq, so a reader
//     following its cursor never skips an entry (revocations.go explains).
//   - DeleteUserSessions, RevokeUserFamilies, RevokeClientFamilies and
//     TakeSessionClients are single DELETE/UPDATE … RETURNING statements:
//     each row is reported by exactly one call.
//   - RedeemCode is a conditional UPDATE (used_at IS NULL) … RETURNING:
//     of concurrent redemptions of one code exactly one finds it unused.
//   - UseTOTPStep and UsePasskey are conditional UPDATEs (last_step below
//     the step; the counter going up), UseRecoveryCode a DELETE and
//     TakeChallenge and TakeLink a DELETE … RETURNING: a concurrent call
//     waits on the row, re-checks its WHERE clause on the committed row,
//     and matches nothing, so each step, code, counter value, challenge
//     and mailed link is used once.
//   - Remember is one INSERT … ON CONFLICT DO UPDATE … WHERE the row
//     expired … RETURNING, one round trip: concurrent calls with one key
//     wait on the row and re-check the WHERE on the committed row, so
//     exactly one records (or takes over) it.
//   - IssueLink, CreateUserWithLink, CreateUserWithIdentity, DeleteUser
//     and DeleteUpstream are one transaction each: a link is written with
//     its mails or not at all, a user with their identity, and a user's
//     (a provider's) rows go together.
//   - LinkIdentity is one INSERT: concurrent links of one (upstream,
//     subject), or of one user at one upstream, meet on the primary key or
//     the unique index, and all but the first fail with 23505. ListUsers and ListEvents page by key (id), so
//     rows inserted or deleted during a paging move no other row across
//     pages.
//   - Claim locks the due outbox rows with FOR UPDATE SKIP LOCKED and
//     takes their lease in the same statement: concurrent claimers skip
//     each other's rows instead of queueing, and none gets a row twice
//     within a lease.
//   - Migrations: each runs in a transaction that first inserts its
//     schema_migrations row; a node that finds the row taken waits for the
//     taker's commit, then skips it (Migrate explains).
//
// A transaction that fails with a serialization failure (40001) or a
// deadlock (40P01) is run again from the start, a few times, with jittered
// backoff: PostgreSQL at READ COMMITTED seldom reports them, CockroachDB
// reports 40001 for every conflict and expects the client to retry.
//
// # Portability
//
// The SQL is the plain subset that PostgreSQL, CockroachDB and YugabyteDB
// accept, so that authd can run on either of the latter without another
// package. It avoids, on purpose: extensions (no pgcrypto, uuid-ossp,
// citext), functions, triggers and procedural code, advisory locks
// (pg_advisory_lock), LOCK TABLE, LISTEN/NOTIFY, sequences
// whose order the code relies on (the revocation feed orders itself
// through a counter row), ctid, system catalogs and PostgreSQL-only types
// (inet, citext, range types). The exceptions are the two change feeds,
// which nothing depends on for correctness: migrations 0002 and 0011 add
// triggers that NOTIFY at commit (authd_sessions, for WatchSessions and the
// session cache; authd_revocations, for ChangeProbe), and those two LISTEN
// on a connection of their own. Where LISTEN is refused, run without the
// session cache; ChangeProbe then fails and token.Revocations.Run reads
// the revocation list every PollInterval instead. It uses: text, bytea, bigint, boolean,
// timestamptz, text[], IDENTITY, partial and expression indexes,
// ON CONFLICT, data-modifying WITH, RETURNING and SELECT … FOR UPDATE [OF],
// and, for the outbox's Claim only, SKIP LOCKED (PostgreSQL 9.5 and later;
// CockroachDB and YugabyteDB accept it in their recent releases).
// Every migration statement is idempotent (IF NOT EXISTS, ON CONFLICT DO
// NOTHING), for databases whose DDL is not transactional. The tests run
// against PostgreSQL only.
//
// # Connections and performance
//
// Open parses the URL with pgxpool (pool_max_conns, pool_min_conns, … and
// any run-time parameter such as statement_timeout are accepted) and
// bounds each connection attempt with ConnectTimeout unless the URL sets
// connect_timeout. Queries go through pgx's statement cache: each is
// prepared once per connection and then costs one round trip. Reads run
// outside transactions (no BEGIN), so SessionByHash, the lookup of every
// cookie-authenticated request, is one Bind/Execute on the unique index of
// sessions.hash: within a few percent of a bare pgx query of the same row
// (BenchmarkSessionByHashVsRaw). Behind a transaction-mode pooler
// (PgBouncer), add default_query_exec_mode=exec to the URL.
//
// # Errors
//
// Driver errors are mapped by SQLSTATE and by error type, never by
// message text: 23505 is authd.ErrConflict; pgx.ErrNoRows is
// authd.ErrNotFound; connection failures, network errors, timeouts, class
// 08, 53 and 58 errors, 57P01–57P05 (server shut down, starting,
// terminated the session), 57014 and 25006 (a standby) are
// authd.ErrUnavailable, as is every call after Close and a context
// deadline. Every error names the operation: "postgres: find session: …".
//
// Keys that come from clients (an email, a session id from a URL, a client
// id from Basic credentials) may hold bytes PostgreSQL's text cannot (NUL,
// invalid UTF-8): lookups by such a key answer ErrNotFound without asking
// the server; limiter keys and audit events are stored with those bytes
// replaced by U+FFFD.
//
// # Change feeds
//
// WatchSessions (watch.go) and ChangeProbe (probe.go) each hold one
// connection out of the pool, LISTENing; the notifications carry the
// schema, so that deployments sharing a database do not wake each other.
// ChangeProbe lets an idle node skip reading the revocation list: its
// changed is a flag the notifications set, no round trip, and its
// listener reconnects by itself, saying "changed" (with an error) while it
// is not listening. An idle node's revocation poller then reads the list
// once a second (token's fullSyncEvery) instead of every PollInterval, and
// its listener pings the server once every 30 s of silence.
//
// # Housekeeping
//
// The interfaces have no method to purge expired sessions or ended
// login-failure windows, so every 256th CreateSession (AddFailure) of a DB
// starts a background delete of at most 1,000 rows that expired more than
// an hour ago on the wall clock; store.go allows a store to delete a
// session once its ExpiresAt has passed. Close waits for it. Expired DPoP
// replay records are deleted by PruneReplays, which its caller runs, in
// batches of 1,000 rows.
//
// # Security
//
// NOTE: the database holds no secret a client presents. Sessions are keyed
// by the SHA-256 of the cookie value and refresh tokens are stored only as
// hashes, so a copy of the database gives no live session or token.
// Passwords and client secrets are argon2id PHC strings; authd's client
// secrets at upstream providers are sealed under --encryption-key-file,
// which is not in the database. The signing keys,
// however, are stored as they are (the private keys sign tokens): the
// database is as sensitive as a key file; give authd its own role, and
// use TLS (sslmode=verify-full) to a server on another machine.
//
// NOTE: errors never quote the database URL, which may hold a password.
package postgres
