-- 0002: a change feed of sessions, for the local session caches of every
-- process sharing this file (package cache). Triggers write it in the same
-- transaction as the change, so no change can be missed; WatchSessions
-- polls it. Rows are pruned after a minute.
CREATE TABLE session_events (
	seq  INTEGER PRIMARY KEY AUTOINCREMENT,
	hash BLOB    NOT NULL,
	at   INTEGER NOT NULL  -- unix microseconds
) STRICT;

CREATE TRIGGER sessions_deleted AFTER DELETE ON sessions BEGIN
	INSERT INTO session_events (hash, at) VALUES (OLD.hash, CAST(unixepoch('subsec') * 1000000 AS INTEGER));
END;

CREATE TRIGGER sessions_updated AFTER UPDATE ON sessions BEGIN
	INSERT INTO session_events (hash, at) VALUES (OLD.hash, CAST(unixepoch('subsec') * 1000000 AS INTEGER));
END;
