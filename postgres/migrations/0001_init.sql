-- 0001: the initial schema.
--
-- Plain SQL that PostgreSQL, CockroachDB and YugabyteDB all accept: no
-- extensions, no functions or triggers, no advisory locks, no sequences
-- read outside their own table. Every statement is idempotent (IF NOT
-- EXISTS, ON CONFLICT DO NOTHING), so that a database whose DDL is not
-- transactional can re-run a migration that stopped halfway.
--
-- Times are timestamptz (microseconds); a nullable time column holds NULL
-- for "never" (the zero time.Time). Roles and audiences are text[].
--
-- NOTE: no column holds a secret a client presents. sessions.hash and
-- refresh_tokens.hash are SHA-256 values of the cookie and of the refresh
-- token; users.password_hash and clients.secret_hash are argon2id PHC
-- strings. keys.private does hold the signing keys: the database is as
-- sensitive as a key file.

CREATE TABLE IF NOT EXISTS users (
	id            text        PRIMARY KEY,
	email         text        NOT NULL UNIQUE,  -- compared exactly; callers normalise
	password_hash text        NOT NULL,
	roles         text[]      NOT NULL,
	locked        boolean     NOT NULL,
	created_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL
);

-- No foreign key to users: sessions may live in another store (Redis), and
-- the stores are independent interfaces.
CREATE TABLE IF NOT EXISTS sessions (
	id                  text        PRIMARY KEY,      -- public id
	hash                bytea       NOT NULL UNIQUE,  -- SHA-256 of the cookie value
	user_id             text        NOT NULL,
	email               text        NOT NULL,
	roles               text[]      NOT NULL,
	created_at          timestamptz NOT NULL,
	last_seen_at        timestamptz NOT NULL,
	expires_at          timestamptz NOT NULL,
	absolute_expires_at timestamptz NOT NULL,
	ip                  text        NOT NULL,
	user_agent          text        NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user_created ON sessions (user_id, created_at);
CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires_at);

CREATE TABLE IF NOT EXISTS refresh_families (
	id           text        PRIMARY KEY,
	user_id      text        NOT NULL,
	audience     text[]      NOT NULL,
	secret       bytea       NOT NULL,  -- per-family derivation key (see authd.RefreshFamily)
	generation   bigint      NOT NULL,
	rotated_at   timestamptz,           -- NULL before the first refresh
	created_at   timestamptz NOT NULL,
	last_used_at timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	revoked_at   timestamptz            -- NULL while live
);
CREATE INDEX IF NOT EXISTS refresh_families_user ON refresh_families (user_id);
CREATE INDEX IF NOT EXISTS refresh_families_expires ON refresh_families (expires_at);
CREATE INDEX IF NOT EXISTS refresh_families_revoked ON refresh_families (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS refresh_tokens (
	hash       bytea  PRIMARY KEY,  -- SHA-256 of the refresh token
	family_id  text   NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
	generation bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE IF NOT EXISTS keys (
	id         text        PRIMARY KEY,  -- kid
	alg        text        NOT NULL,
	private    bytea       NOT NULL,     -- PKCS#8 DER or the HS256 secret
	public     bytea       NOT NULL,     -- PKIX DER; empty for HS256
	created_at timestamptz NOT NULL,
	retired_at timestamptz               -- NULL for the current key
);
-- At most one current key, whatever the callers do (a partial unique
-- index on a constant expression: every current key has the same value).
CREATE UNIQUE INDEX IF NOT EXISTS keys_one_current ON keys ((retired_at IS NULL)) WHERE retired_at IS NULL;

-- One row, locked (SELECT … FOR UPDATE) by EnsureKey's insert and by
-- RotateKey, so that changes of the key ring run one after another on every
-- node. The current key's row cannot serve: a rotation replaces it.
CREATE TABLE IF NOT EXISTS key_ring_lock (
	id smallint PRIMARY KEY CHECK (id = 1)
);
INSERT INTO key_ring_lock (id) VALUES (1) ON CONFLICT DO NOTHING;

-- The revocation feed. seq orders it; it comes from revocation_seq, whose
-- one row every Revoke updates in the same transaction that writes the
-- entry (see revocations.go): the row lock orders the writers' commits by
-- seq, so a reader never sees seq N+1 committed while N is still pending.
CREATE TABLE IF NOT EXISTS revocations (
	kind       text        NOT NULL,  -- sid or jti
	id         text        NOT NULL,
	expires_at timestamptz NOT NULL,
	seq        bigint      NOT NULL UNIQUE,
	PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS revocations_expires ON revocations (expires_at);

CREATE TABLE IF NOT EXISTS revocation_seq (
	id smallint PRIMARY KEY CHECK (id = 1),
	n  bigint   NOT NULL  -- the last seq handed out; never goes back, even when entries are pruned
);
INSERT INTO revocation_seq (id, n) VALUES (1, 0) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS login_failures (
	key      text        PRIMARY KEY,  -- an account or a client IP
	count    bigint      NOT NULL,
	reset_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_reset ON login_failures (reset_at);

CREATE TABLE IF NOT EXISTS clients (
	id          text        PRIMARY KEY,
	secret_hash text        NOT NULL,
	created_at  timestamptz NOT NULL
);

-- The columns API.md names. Empty strings are stored as NULL.
CREATE TABLE IF NOT EXISTS audit_events (
	id         bigint      GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	at         timestamptz NOT NULL,
	event      text        NOT NULL,
	user_id    text,
	session_id text,
	ip         text,
	user_agent text,
	detail     text
);
CREATE INDEX IF NOT EXISTS audit_events_at ON audit_events (at);
CREATE INDEX IF NOT EXISTS audit_events_user ON audit_events (user_id, at) WHERE user_id IS NOT NULL;
