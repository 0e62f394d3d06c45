-- 0007: mailed single-use links (authd.LinkStore), whether a user's
-- address was verified, and what the administration pages read: users
-- page by id (their primary key), audit events newest first by id, for
-- one user or one event name.
--
-- Times are timestamptz, as in 0001. The users already here never used a
-- link: their address is not verified (false, a default PostgreSQL 11 and
-- later set without rewriting the table).
--
-- No foreign key to users, as for sessions (0001) and the factors (0006):
-- the stores are independent interfaces. DeleteUser removes a user's
-- links with the rest of their rows; it finds auth_codes, session_clients
-- and outbox rows without an index on user_id: their rows live minutes,
-- and an index would tax every authorization for a rare call.
--
-- NOTE: email_links.hash is the SHA-256 of the token in the mailed link;
-- the token itself is never stored, so a copy of the database opens no
-- account (SECURITY.md E1).
--
-- Every statement is idempotent (see Migrate).
ALTER TABLE users ADD COLUMN IF NOT EXISTS email_verified boolean NOT NULL DEFAULT false;

CREATE TABLE IF NOT EXISTS email_links (
	hash       bytea       PRIMARY KEY,  -- SHA-256 of the token
	purpose    text        NOT NULL,     -- verify_email, change_email or recover
	user_id    text        NOT NULL,
	email      text        NOT NULL,     -- the address the link was sent to
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS email_links_user ON email_links (user_id, purpose);
CREATE INDEX IF NOT EXISTS email_links_expires ON email_links (expires_at);

-- ListEvents filters by user or by event and pages by id, newest first.
-- audit_events_user (0001) orders a user's events by at, which need not
-- follow the order of recording.
CREATE INDEX IF NOT EXISTS audit_events_user_id ON audit_events (user_id, id) WHERE user_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_events_event ON audit_events (event, id);
