-- 0004: the authorization server (OpenID Connect): refresh families bound
-- to a client, authorization codes, consents, the clients each browser
-- session gave tokens to (back-channel logout), and an outbox of messages
-- to deliver.
--
-- Times are INTEGER unix microseconds, lists JSON arrays in TEXT, as in
-- 0001. The rows already in refresh_families were issued by the password
-- grant: they get client_id '' and no scope.
--
-- NOTE: auth_codes.hash is the SHA-256 of the code; the code itself is
-- never stored, so a copy of the file redeems nothing (SECURITY.md A2).
ALTER TABLE refresh_families ADD COLUMN client_id TEXT NOT NULL DEFAULT '';    -- '' for the password grant
ALTER TABLE refresh_families ADD COLUMN scopes    TEXT NOT NULL DEFAULT '[]';  -- JSON array
CREATE INDEX refresh_families_user_client ON refresh_families (user_id, client_id);

CREATE TABLE auth_codes (
	hash         BLOB    PRIMARY KEY,  -- SHA-256 of the code
	client_id    TEXT    NOT NULL,
	user_id      TEXT    NOT NULL,
	session_id   TEXT    NOT NULL,     -- public id of the browser session
	redirect_uri TEXT    NOT NULL,
	challenge    TEXT    NOT NULL,     -- PKCE S256 code_challenge
	nonce        TEXT    NOT NULL,
	scopes       TEXT    NOT NULL,     -- JSON array
	audience     TEXT    NOT NULL,     -- JSON array
	auth_time    INTEGER NOT NULL,
	amr          TEXT    NOT NULL,     -- JSON array
	acr          TEXT    NOT NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	used_at      INTEGER,              -- NULL until redeemed
	token_id     TEXT    NOT NULL,     -- what the redemption issued ('' before, or for none)
	family_id    TEXT    NOT NULL,
	reused       INTEGER NOT NULL      -- 0 or 1: presented again after its redemption
) STRICT, WITHOUT ROWID;
CREATE INDEX auth_codes_expires ON auth_codes (expires_at);

CREATE TABLE consents (
	user_id    TEXT    NOT NULL,
	client_id  TEXT    NOT NULL,
	scopes     TEXT    NOT NULL,  -- JSON array
	granted_at INTEGER NOT NULL,
	PRIMARY KEY (user_id, client_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE session_clients (
	session_id TEXT    NOT NULL,  -- public id of the browser session
	client_id  TEXT    NOT NULL,
	user_id    TEXT    NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (session_id, client_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX session_clients_expires ON session_clients (expires_at);

CREATE TABLE outbox (
	id         TEXT    PRIMARY KEY,
	kind       TEXT    NOT NULL,
	target     TEXT    NOT NULL,  -- a URL, an address
	body       BLOB    NOT NULL,
	user_id    TEXT    NOT NULL,
	session_id TEXT    NOT NULL,
	client_id  TEXT    NOT NULL,
	attempts   INTEGER NOT NULL,  -- deliveries begun (Claim counts them)
	created_at INTEGER NOT NULL,
	next_at    INTEGER NOT NULL,  -- when it may next be claimed
	last_err   TEXT    NOT NULL
) STRICT;
CREATE INDEX outbox_due ON outbox (kind, next_at);
