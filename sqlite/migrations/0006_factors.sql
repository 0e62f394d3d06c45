-- 0006: second factors (authd.FactorStore, authd.ChallengeStore) and what
-- a session records of its sign-in: the authentication methods (RFC 8176)
-- and whether its second factor is still due.
--
-- Times are INTEGER unix microseconds, lists JSON arrays in TEXT, as in
-- 0001. The sessions already here were password sign-ins: they get no
-- methods ('[]', read back as none) and are not pending.
--
-- No foreign key to users, as for sessions and refresh_families (0001): the
-- stores are independent interfaces. DeleteFactors removes a user's
-- factors.
--
-- NOTE: totp.sealed is the secret encrypted by package mfa under a key that
-- is not in this file; recovery_codes.hash is a hash of the code, never the
-- code. A copy of the file gives neither.
ALTER TABLE sessions ADD COLUMN amr     TEXT    NOT NULL DEFAULT '[]';  -- JSON array
ALTER TABLE sessions ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;     -- 0 or 1

CREATE TABLE totp (
	user_id    TEXT    PRIMARY KEY,
	sealed     BLOB    NOT NULL,  -- the secret, sealed by package mfa
	confirmed  INTEGER NOT NULL,  -- 0 or 1
	last_step  INTEGER NOT NULL,  -- the last time step accepted
	created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE recovery_codes (
	user_id TEXT NOT NULL,
	hash    BLOB NOT NULL,
	PRIMARY KEY (user_id, hash)
) STRICT, WITHOUT ROWID;

CREATE TABLE passkeys (
	id            TEXT    PRIMARY KEY,      -- public id
	user_id       TEXT    NOT NULL,
	name          TEXT    NOT NULL,
	credential_id BLOB    NOT NULL UNIQUE,  -- the WebAuthn credential id
	credential    BLOB    NOT NULL,         -- as package mfa encodes it
	sign_count    INTEGER NOT NULL,         -- 0 to 2^32-1
	created_at    INTEGER NOT NULL,
	last_used_at  INTEGER                   -- NULL until first used
) STRICT;
CREATE INDEX passkeys_user ON passkeys (user_id, created_at);

CREATE TABLE webauthn_challenges (
	key        TEXT    PRIMARY KEY,
	data       BLOB    NOT NULL,  -- the ceremony's session data
	expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX webauthn_challenges_expires ON webauthn_challenges (expires_at);
