-- 0003: clients become the client registry of OpenID Connect (API.md
-- "Clients"). Lists are JSON arrays of strings, kept in their order and
-- exactly as given (redirect URIs are compared as exact strings, SECURITY.md
-- A1). A public client has secret_hash '' (it has no secret).
--
-- The rows already here are the introspection clients of 0001: they keep
-- their secret and get no redirect URI, no grant and no scope, which makes
-- them confidential resource servers, allowed /oauth2/introspect as before.
ALTER TABLE clients ADD COLUMN name                      TEXT    NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN redirect_uris             TEXT    NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT    NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN backchannel_logout_uri    TEXT    NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN scopes                    TEXT    NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN grants                    TEXT    NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN first_party               INTEGER NOT NULL DEFAULT 0;  -- 0 or 1
