-- 0008: other OpenID Connect providers users may sign in with
-- (authd.UpstreamStore), and the identities users have at them
-- (authd.IdentityStore).
--
-- Times are timestamptz, lists text[], as in 0001.
--
-- An identity is the pair (upstream_id, subject), its primary key, never
-- the email; UNIQUE (user_id, upstream_id) keeps one identity per user and
-- provider, and its index serves ListIdentities and DeleteUser. The
-- primary key's serves DeleteUpstream, by its first column. Two concurrent
-- links of one pair, or of one user at one provider, meet on these
-- indexes: the second waits for the first's commit, then fails with
-- 23505 (ErrConflict).
--
-- No foreign key to users, as for sessions (0001) and links (0007): the
-- stores are independent interfaces; DeleteUser removes a user's
-- identities with the rest of their rows. None to upstreams either:
-- LinkIdentity's contract does not require the provider to exist, and
-- DeleteUpstream deletes a provider's identities in its own transaction.
--
-- NOTE: upstreams.secret_sealed is authd's client secret at the provider,
-- sealed under --encryption-key-file, which is not in the database:
-- sealed, not hashed, since authd must present it to the provider, yet a
-- copy of the database does not give it. NULL for a public client (PKCE
-- alone).
--
-- Every statement is idempotent (see Migrate).
CREATE TABLE IF NOT EXISTS upstreams (
	id            text        PRIMARY KEY,  -- [a-z0-9-]+, the name in URLs
	issuer        text        NOT NULL,
	client_id     text        NOT NULL,
	secret_sealed bytea,                    -- NULL for a public client
	name          text        NOT NULL,
	scopes        text[]      NOT NULL,
	trust_email   boolean     NOT NULL,
	created_at    timestamptz NOT NULL
);

CREATE TABLE IF NOT EXISTS identities (
	upstream_id text        NOT NULL,
	subject     text        NOT NULL,  -- the provider's sub, compared exactly
	user_id     text        NOT NULL,
	email       text        NOT NULL,  -- as the provider said it when linked
	linked_at   timestamptz NOT NULL,
	PRIMARY KEY (upstream_id, subject),
	UNIQUE (user_id, upstream_id)
);
