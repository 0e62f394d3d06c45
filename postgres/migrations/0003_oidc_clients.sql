-- 0003: clients become the client registry of OpenID Connect (API.md
-- "Clients"). Lists are text[], kept in their order and exactly as given
-- (redirect URIs are compared as exact strings, SECURITY.md A1). A public
-- client has secret_hash '' (it has no secret).
--
-- The rows already here are the introspection clients of 0001: they keep
-- their secret and get no redirect URI, no grant and no scope, which makes
-- them confidential resource servers, allowed /oauth2/introspect as before.
--
-- Every statement is idempotent (see Migrate).
ALTER TABLE clients ADD COLUMN IF NOT EXISTS name                      text    NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN IF NOT EXISTS redirect_uris             text[]  NOT NULL DEFAULT '{}';
ALTER TABLE clients ADD COLUMN IF NOT EXISTS post_logout_redirect_uris text[]  NOT NULL DEFAULT '{}';
ALTER TABLE clients ADD COLUMN IF NOT EXISTS backchannel_logout_uri    text    NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN IF NOT EXISTS scopes                    text[]  NOT NULL DEFAULT '{}';
ALTER TABLE clients ADD COLUMN IF NOT EXISTS grants                    text[]  NOT NULL DEFAULT '{}';
ALTER TABLE clients ADD COLUMN IF NOT EXISTS first_party               boolean NOT NULL DEFAULT false;
