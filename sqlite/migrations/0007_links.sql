-- 0007: mailed single-use links (authd.LinkStore), whether a user's
-- address was verified, and what the administration pages read: users
-- page by id (their primary key), audit events newest first by id, for
-- one user or one event name.
--
-- Times are INTEGER unix microseconds, as in 0001. The users already here
-- never used a link: their address is not verified (0).
--
-- No foreign key to users, as for sessions (0001) and the factors (0006):
-- the stores are independent interfaces. DeleteUser removes a user's
-- links with the rest of their rows; it finds auth_codes, session_clients
-- and outbox rows without an index on user_id: their rows live minutes,
-- and an index would tax every authorization for a rare call.
--
-- NOTE: email_links.hash is the SHA-256 of the token in the mailed link;
-- the token itself is never stored, so a copy of the file opens no
-- account (SECURITY.md E1).
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;  -- 0 or 1

CREATE TABLE email_links (
	hash       BLOB    PRIMARY KEY,  -- SHA-256 of the token
	purpose    TEXT    NOT NULL,     -- verify_email, change_email or recover
	user_id    TEXT    NOT NULL,
	email      TEXT    NOT NULL,     -- the address the link was sent to
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX email_links_user ON email_links (user_id, purpose);
CREATE INDEX email_links_expires ON email_links (expires_at);

-- ListEvents filters by user or by event and pages by id, newest first.
-- audit_events_user (0001) orders a user's events by at, which need not
-- follow the order of recording.
CREATE INDEX audit_events_user_id ON audit_events (user_id, id) WHERE user_id IS NOT NULL;
CREATE INDEX audit_events_event ON audit_events (event, id);
