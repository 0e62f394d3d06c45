-- 0009: the DPoP replay set (authd.ReplaySet): the jti of every proof
-- accepted (RFC 9449 §11.1), kept until the proof could no longer be
-- accepted, so that a captured proof is refused on every node when it is
-- sent again.
--
-- Times are timestamptz, as in 0001.
--
-- One row a DPoP-checked request: Remember is one INSERT … ON CONFLICT DO
-- UPDATE on the primary key (a row whose expires_at is before now is taken
-- over in place). Concurrent calls with one key meet on the primary key's
-- index: the others wait for the first's commit, then re-check the WHERE
-- of DO UPDATE on the committed row, so exactly one reports true.
-- PruneReplays deletes expired rows through the index on expires_at.
--
-- key is bytea, not text: a key is any string the caller chooses (a jti
-- straight from a client's proof), and text cannot hold NUL or invalid
-- UTF-8; bytea compares every key exactly, byte for byte.
--
-- Every statement is idempotent (see Migrate).
CREATE TABLE IF NOT EXISTS dpop_replays (
	key        bytea       PRIMARY KEY,  -- as the caller chose it (a proof's jti)
	expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS dpop_replays_expires ON dpop_replays (expires_at);
