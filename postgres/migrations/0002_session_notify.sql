-- 0002: tell the local session caches of every node (package cache) when a
-- session is deleted or updated. The notification is sent at commit, by the
-- database itself, whichever statement made the change. The payload is the
-- schema and the hex hash, so that several deployments (or test schemas) in
-- one database do not invalidate each other's caches.
--
-- NOTE: LISTEN/NOTIFY is PostgreSQL's; on CockroachDB and YugabyteDB run
-- without the session cache (it is optional; correctness never depends on
-- it).
CREATE OR REPLACE FUNCTION authd_session_changed() RETURNS trigger AS $$
BEGIN
	PERFORM pg_notify('authd_sessions', current_schema() || ':' || encode(OLD.hash, 'hex'));
	RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS sessions_changed ON sessions;
CREATE TRIGGER sessions_changed AFTER UPDATE OR DELETE ON sessions
	FOR EACH ROW EXECUTE FUNCTION authd_session_changed();
