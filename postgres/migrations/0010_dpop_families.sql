-- 0010: refresh families bound to a DPoP key (RFC 9449 §5): jkt is the
-- RFC 7638 thumbprint of the key whose proofs alone refresh the family's
-- tokens (authd.RefreshFamily.JKT). The rows already here were issued
-- without DPoP: they get jkt '' and stay unbound.
--
-- Fixed at creation like client_id and scopes (0004): UpdateFamilyByToken
-- never writes it, so a refresh cannot bind, rebind or unbind a family.
--
-- Every statement is idempotent (see Migrate).
ALTER TABLE refresh_families ADD COLUMN IF NOT EXISTS jkt text NOT NULL DEFAULT '';  -- '' unbound
