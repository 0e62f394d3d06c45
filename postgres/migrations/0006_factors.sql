-- 0006: second factors (authd.FactorStore, authd.ChallengeStore) and what
-- a session records of its sign-in: the authentication methods (RFC 8176)
-- and whether its second factor is still due.
--
-- Times are timestamptz, lists text[], as in 0001. The sessions already
-- here were password sign-ins: they get no methods ('{}', read back as
-- none) and are not pending. The session trigger of 0002 names the hash
-- only: it needs no change.
--
-- No foreign key to users, as for sessions and refresh_families (0001): the
-- stores are independent interfaces. DeleteFactors removes a user's
-- factors.
--
-- NOTE: totp.sealed is the secret encrypted by package mfa under a key that
-- is not in the database; recovery_codes.hash is a hash of the code, never
-- the code. A copy of the database gives neither.
--
-- Every statement is idempotent (see Migrate).
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS amr     text[]  NOT NULL DEFAULT '{}';
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS pending boolean NOT NULL DEFAULT false;

CREATE TABLE IF NOT EXISTS totp (
	user_id    text        PRIMARY KEY,
	sealed     bytea       NOT NULL,  -- the secret, sealed by package mfa
	confirmed  boolean     NOT NULL,
	last_step  bigint      NOT NULL,  -- the last time step accepted
	created_at timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS recovery_codes (
	user_id text  NOT NULL,
	hash    bytea NOT NULL,
	PRIMARY KEY (user_id, hash)
);

CREATE TABLE IF NOT EXISTS passkeys (
	id            text        PRIMARY KEY,      -- public id
	user_id       text        NOT NULL,
	name          text        NOT NULL,
	credential_id bytea       NOT NULL UNIQUE,  -- the WebAuthn credential id
	credential    bytea       NOT NULL,         -- as package mfa encodes it
	sign_count    bigint      NOT NULL,         -- 0 to 2^32-1
	created_at    timestamptz NOT NULL,
	last_used_at  timestamptz                   -- NULL until first used
);
CREATE INDEX IF NOT EXISTS passkeys_user ON passkeys (user_id, created_at);

CREATE TABLE IF NOT EXISTS webauthn_challenges (
	key        text        PRIMARY KEY,
	data       bytea       NOT NULL,  -- the ceremony's session data
	expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS webauthn_challenges_expires ON webauthn_challenges (expires_at);
