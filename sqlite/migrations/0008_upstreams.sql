-- 0008: other OpenID Connect providers users may sign in with
-- (authd.UpstreamStore), and the identities users have at them
-- (authd.IdentityStore).
--
-- Times are INTEGER unix microseconds, lists JSON arrays in TEXT, as in
-- 0001.
--
-- An identity is the pair (upstream_id, subject), its primary key, never
-- the email; UNIQUE (user_id, upstream_id) keeps one identity per user and
-- provider, and its index serves ListIdentities and DeleteUser. The
-- primary key's serves DeleteUpstream, by its first column.
--
-- No foreign key to users, as for sessions (0001) and links (0007): the
-- stores are independent interfaces; DeleteUser removes a user's
-- identities with the rest of their rows. None to upstreams either:
-- LinkIdentity's contract does not require the provider to exist, and
-- DeleteUpstream deletes a provider's identities in its own transaction.
--
-- NOTE: upstreams.secret_sealed is authd's client secret at the provider,
-- sealed under --encryption-key-file, which is not in this file: sealed,
-- not hashed, since authd must present it to the provider, yet a copy of
-- the file does not give it. NULL for a public client (PKCE alone).
CREATE TABLE upstreams (
	id            TEXT    PRIMARY KEY,  -- [a-z0-9-]+, the name in URLs
	issuer        TEXT    NOT NULL,
	client_id     TEXT    NOT NULL,
	secret_sealed BLOB,                 -- NULL for a public client
	name          TEXT    NOT NULL,
	scopes        TEXT    NOT NULL,     -- JSON array
	trust_email   INTEGER NOT NULL,     -- 0 or 1
	created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE identities (
	upstream_id TEXT    NOT NULL,
	subject     TEXT    NOT NULL,  -- the provider's sub, compared exactly
	user_id     TEXT    NOT NULL,
	email       TEXT    NOT NULL,  -- as the provider said it when linked
	linked_at   INTEGER NOT NULL,
	PRIMARY KEY (upstream_id, subject),
	UNIQUE (user_id, upstream_id)
) STRICT, WITHOUT ROWID;
