-- 0011: tell the revocation pollers of every node (token.Revocations.Run,
-- through DB.ChangeProbe) when the revocation list is written, so that an
-- idle node can sleep instead of reading the list every PollInterval. The
-- notification is sent at commit, by the database itself, whichever
-- statement wrote the table (Revoke's INSERT … ON CONFLICT DO UPDATE fires
-- it whether it inserted, updated or left the row alone). One per
-- statement: the payload is only the table's schema, so that several
-- deployments (or test schemas) in one database do not wake each other, and
-- PostgreSQL folds identical notifications of one transaction into one.
--
-- NOTE: LISTEN/NOTIFY is PostgreSQL's, as in 0002. A listener that cannot
-- LISTEN makes ChangeProbe fail, and the revocation list is then read in
-- full every PollInterval, as before: correctness never depends on it.
CREATE OR REPLACE FUNCTION authd_revocations_changed() RETURNS trigger AS $$
BEGIN
	PERFORM pg_notify('authd_revocations', TG_TABLE_SCHEMA);
	RETURN NULL;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS revocations_changed ON revocations;
CREATE TRIGGER revocations_changed AFTER INSERT OR UPDATE ON revocations
	FOR EACH STATEMENT EXECUTE FUNCTION authd_revocations_changed();
