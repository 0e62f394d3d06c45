-- 0004: the authorization server (OpenID Connect): refresh families bound
-- to a client, authorization codes, consents, the clients each browser
-- session gave tokens to (back-channel logout), and an outbox of messages
-- to deliver.
--
-- Times are timestamptz, lists text[], as in 0001. The rows already in
-- refresh_families were issued by the password grant: they get client_id
-- '' and no scope.
--
-- NOTE: auth_codes.hash is the SHA-256 of the code; the code itself is
-- never stored, so a copy of the database redeems nothing (SECURITY.md A2).
--
-- Every statement is idempotent (see Migrate).
ALTER TABLE refresh_families ADD COLUMN IF NOT EXISTS client_id text   NOT NULL DEFAULT '';  -- '' for the password grant
ALTER TABLE refresh_families ADD COLUMN IF NOT EXISTS scopes    text[] NOT NULL DEFAULT '{}';
CREATE INDEX IF NOT EXISTS refresh_families_user_client ON refresh_families (user_id, client_id);

CREATE TABLE IF NOT EXISTS auth_codes (
	hash         bytea       PRIMARY KEY,  -- SHA-256 of the code
	client_id    text        NOT NULL,
	user_id      text        NOT NULL,
	session_id   text        NOT NULL,     -- public id of the browser session
	redirect_uri text        NOT NULL,
	challenge    text        NOT NULL,     -- PKCE S256 code_challenge
	nonce        text        NOT NULL,
	scopes       text[]      NOT NULL,
	audience     text[]      NOT NULL,
	auth_time    timestamptz NOT NULL,
	amr          text[]      NOT NULL,
	acr          text        NOT NULL,
	created_at   timestamptz NOT NULL,
	expires_at   timestamptz NOT NULL,
	used_at      timestamptz,              -- NULL until redeemed
	token_id     text        NOT NULL,     -- what the redemption issued ('' before, or for none)
	family_id    text        NOT NULL,
	reused       boolean     NOT NULL      -- presented again after its redemption
);
CREATE INDEX IF NOT EXISTS auth_codes_expires ON auth_codes (expires_at);

CREATE TABLE IF NOT EXISTS consents (
	user_id    text        NOT NULL,
	client_id  text        NOT NULL,
	scopes     text[]      NOT NULL,
	granted_at timestamptz NOT NULL,
	PRIMARY KEY (user_id, client_id)
);

CREATE TABLE IF NOT EXISTS session_clients (
	session_id text        NOT NULL,  -- public id of the browser session
	client_id  text        NOT NULL,
	user_id    text        NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (session_id, client_id)
);
CREATE INDEX IF NOT EXISTS session_clients_expires ON session_clients (expires_at);

CREATE TABLE IF NOT EXISTS outbox (
	id         text        PRIMARY KEY,
	kind       text        NOT NULL,
	target     text        NOT NULL,  -- a URL, an address
	body       bytea       NOT NULL,
	user_id    text        NOT NULL,
	session_id text        NOT NULL,
	client_id  text        NOT NULL,
	attempts   bigint      NOT NULL,  -- deliveries begun (Claim counts them)
	created_at timestamptz NOT NULL,
	next_at    timestamptz NOT NULL,  -- when it may next be claimed
	last_err   text        NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (kind, next_at);
