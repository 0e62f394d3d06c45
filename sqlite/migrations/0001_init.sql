-- 0001: the initial schema.
--
-- Times are INTEGER unix microseconds (UTC), the precision PostgreSQL keeps;
-- a nullable time column holds NULL for "never" (the zero time.Time).
-- Lists (roles, audiences) are JSON arrays in TEXT. STRICT tables refuse
-- values of the wrong type.
--
-- NOTE: no column holds a secret a client presents. sessions.hash and
-- refresh_tokens.hash are SHA-256 values of the cookie and of the refresh
-- token; users.password_hash and clients.secret_hash are argon2id PHC strings.

CREATE TABLE users (
	id            TEXT    PRIMARY KEY,
	email         TEXT    NOT NULL UNIQUE,   -- compared exactly (BINARY); callers normalise
	password_hash TEXT    NOT NULL,
	roles         TEXT    NOT NULL,          -- JSON array
	locked        INTEGER NOT NULL,          -- 0 or 1
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
) STRICT;

-- No foreign key to users: sessions may live in another store (Redis), and
-- the stores are independent interfaces.
CREATE TABLE sessions (
	id                  TEXT    PRIMARY KEY,      -- public id
	hash                BLOB    NOT NULL UNIQUE,  -- SHA-256 of the cookie value
	user_id             TEXT    NOT NULL,
	email               TEXT    NOT NULL,
	roles               TEXT    NOT NULL,         -- JSON array
	created_at          INTEGER NOT NULL,
	last_seen_at        INTEGER NOT NULL,
	expires_at          INTEGER NOT NULL,
	absolute_expires_at INTEGER NOT NULL,
	ip                  TEXT    NOT NULL,
	user_agent          TEXT    NOT NULL
) STRICT;
CREATE INDEX sessions_user_created ON sessions (user_id, created_at);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE refresh_families (
	id           TEXT    PRIMARY KEY,
	user_id      TEXT    NOT NULL,
	audience     TEXT    NOT NULL,   -- JSON array
	secret       BLOB    NOT NULL,   -- per-family derivation key (see authd.RefreshFamily)
	generation   INTEGER NOT NULL,
	rotated_at   INTEGER,            -- NULL before the first refresh
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	revoked_at   INTEGER             -- NULL while live
) STRICT;
CREATE INDEX refresh_families_user ON refresh_families (user_id);
CREATE INDEX refresh_families_expires ON refresh_families (expires_at);
CREATE INDEX refresh_families_revoked ON refresh_families (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE refresh_tokens (
	hash       BLOB    PRIMARY KEY,  -- SHA-256 of the refresh token
	family_id  TEXT    NOT NULL REFERENCES refresh_families (id) ON DELETE CASCADE,
	generation INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE keys (
	id         TEXT    PRIMARY KEY,  -- kid
	alg        TEXT    NOT NULL,
	private    BLOB    NOT NULL,     -- PKCS#8 DER or the HS256 secret
	public     BLOB    NOT NULL,     -- PKIX DER; empty for HS256
	created_at INTEGER NOT NULL,
	retired_at INTEGER               -- NULL for the current key
) STRICT;
-- At most one current key, whatever the callers do.
CREATE UNIQUE INDEX keys_one_current ON keys ((retired_at IS NULL)) WHERE retired_at IS NULL;

-- seq orders the feed; AUTOINCREMENT so that a seq is never reused, even
-- after the newest rows are pruned (a reused seq would hide an entry from a
-- cursor that already passed it).
CREATE TABLE revocations (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	kind       TEXT    NOT NULL,     -- sid or jti
	id         TEXT    NOT NULL,
	expires_at INTEGER NOT NULL,
	UNIQUE (kind, id)
) STRICT;
CREATE INDEX revocations_expires ON revocations (expires_at);

CREATE TABLE login_failures (
	key      TEXT    PRIMARY KEY,    -- an account or a client IP
	count    INTEGER NOT NULL,
	reset_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE clients (
	id          TEXT    PRIMARY KEY,
	secret_hash TEXT    NOT NULL,
	created_at  INTEGER NOT NULL
) STRICT;

-- The columns API.md names. Empty strings are stored as NULL.
CREATE TABLE audit_events (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	at         INTEGER NOT NULL,
	event      TEXT    NOT NULL,
	user_id    TEXT,
	session_id TEXT,
	ip         TEXT,
	user_agent TEXT,
	detail     TEXT
) STRICT;
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_user ON audit_events (user_id, at) WHERE user_id IS NOT NULL;
