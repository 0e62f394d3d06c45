-- 0009: the DPoP replay set (authd.ReplaySet): the jti of every proof
-- accepted (RFC 9449 §11.1), kept until the proof could no longer be
-- accepted, so that a captured proof is refused when it is sent again.
--
-- Times are INTEGER unix microseconds, as in 0001.
--
-- One row a DPoP-checked request: Remember is one UPSERT on the primary
-- key (a row whose expires_at is before now is taken over in place), and
-- PruneReplays deletes expired rows through the index on expires_at.
-- WITHOUT ROWID: the key is the row's only lookup, and the table is
-- written on the hot path.
--
-- key is TEXT compared with BINARY collation: any string is a key, bytes
-- that are not UTF-8 (and NUL) included, compared exactly.
CREATE TABLE dpop_replays (
	key        TEXT    PRIMARY KEY,  -- as the caller chose it (a proof's jti)
	expires_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX dpop_replays_expires ON dpop_replays (expires_at);
