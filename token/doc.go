// Package token owns authd's bearer tokens: the signing key ring, access
// tokens (RFC 9068 JWTs) and their strict verification, the JWKS, refresh
// tokens with rotation and reuse detection (RFC 9700 §4.14), revocation
// (RFC 7009) with an in-memory copy of the revocation list, and
// introspection (RFC 7662).
//
// It depends on the root package's interfaces only (KeyStore, RefreshStore,
// RevocationList, UserStore, AuditLog); the rules here hold the same over
// every store. Business rules never live in a store adapter.
//
// # Use
//
//	svc, err := token.New(ctx, cfg, token.Stores{Keys: db, IDKeys: db, Refresh: db, Revocations: db, Users: db, Audit: db})
//	go svc.Run(ctx) // key reload every 2 s, revocation poll every 100 ms
//	pair, err := svc.IssuePair(ctx, user, resources) // password grant
//	pair, err  = svc.Refresh(ctx, refreshToken, "")  // refresh grant
//	pair, err  = svc.IssueForClient(id, scopes, nil) // client_credentials grant
//	claims, err := svc.Verify(ctx, bearer)           // every request
//
// New generates the first key (Config.Alg, EdDSA by default) when the store
// has none; KeyStore.EnsureKey makes nodes starting together agree on one.
//
// # Access tokens
//
// Header {"alg","kid","typ":"at+jwt"}; claims iss, sub (user id), aud (an
// array), exp, iat, nbf, jti (128 random bits), sid (the refresh family's id
// or the session's public id), email and roles; a client's own token
// (IssueForClient) has sub and client_id the client id, scope, no sid, no
// email and empty roles. Lifetime Config.AccessTTL (15 min).
//
// Verify refuses, with an error wrapping authd.ErrUnauthenticated:
// anything over 8 KiB (checked before any split); anything but the compact
// serialization of exactly three non-empty, strict base64url segments (no
// padding, no '+' or '/', no line breaks, no non-zero trailing bits), so
// JSON serialization and JWE are refused; a header or payload that is not a
// single JSON object, has duplicate member names at any depth or nests over
// 8 deep; a header with anything but alg, kid and typ (jwk, jku, x5u, x5c
// and crit in particular); alg "none" in any casing; typ other than exactly
// "at+jwt"; a kid that is missing or not held (one rate-limited reload is
// tried first); a retired key past RetiredAt+AccessTTL; an alg that differs
// from the key's; a bad signature; exp missing or past, nbf or iat in the
// future (Config.Leeway, at most 30 s); iss other than Config.Issuer; aud
// naming none of Config.Audiences; exp, nbf or iat that are not JSON numbers
// and iss, sub, jti, sid or email that are not strings; a claim name that
// differs from one of those only by case ("EXP"); no sub, jti or iat; a
// revoked jti or sid. When the revocation set is stale (see below) Verify
// returns an error wrapping authd.ErrUnavailable instead: fail closed.
//
// NOTE: the algorithm is pinned to the key, not taken from the token. Each
// key has exactly one algorithm; kid selects the key among those held in
// memory, and the signature is checked with that key's own method. The
// token's alg must merely agree. This is what stops algorithm confusion
// (an RS256/EdDSA public key used as an HS256 secret; "none") and lets one
// ring hold keys of several algorithms during a rotation (RFC 8725 §3.1).
//
// NOTE: typ "at+jwt" is required so that no other JWT the same keys might
// ever sign (an ID token, a logout token) is accepted as an access token,
// and no access token is accepted where something else is expected (RFC
// 8725 §3.11, RFC 9068 §4). Refresh tokens and session IDs are opaque and
// cannot pass the pre-checks.
//
// NOTE: embedded or remote keys (jwk, jku, x5u, x5c) are refused, never
// fetched: keys come from authd's own ring only. crit is refused because we
// understand no extension (RFC 7515 §4.1.11).
//
// NOTE: the structural pre-checks (size, segments, strict base64url, the
// header's parameters, duplicate and case-variant members) are made before
// any cryptography by internal/jws, the one strict JWS parser that this
// package and verify share, because encoding/json keeps the last of
// duplicate members and matches names case-insensitively (SECURITY J6–J8).
// The token is decoded once; the signature is then checked with golang-jwt's signing
// method of the key (before any claim is read) and the standard claims with
// golang-jwt's Validator (WithIssuer, WithAudience, WithExpirationRequired,
// WithIssuedAt, WithLeeway, WithTimeFunc). We use those two golang-jwt parts
// directly instead of Parser.ParseWithClaims, whose only other work would be
// to decode the header and payload a second time; its WithValidMethods is
// replaced by the stronger rule above (the method is the key's, not the
// token's). No JOSE cryptography is written here.
//
// NOTE: revocation is keyed by jti and sid, never by token bytes: an ES256
// signature has two valid encodings, so bytes do not name a token (J9).
//
// # Keys
//
// Algorithms: EdDSA (Ed25519, the default), ES256 (P-256), RS256 (RSA 2048)
// and HS256 (a 256-bit secret). authd.Key holds PKCS#8 DER (the raw secret
// for HS256) and PKIX DER; kids are 128 random bits, base64url. RotateKey
// (authd keys rotate) makes a new current key; every Service picks it up
// within Config.KeyReload (2 s) through Run, or at once when a token with
// the new kid arrives. A retired key keeps verifying, and stays in the JWKS,
// until RetiredAt+AccessTTL, when the last token it signed has expired; then
// its kid is refused (SECURITY J12). The JWKS holds public keys only, each
// with kid, alg and use "sig"; HS256 keys are never published, so under
// HS256 the set is empty. Private keys never reach logs: the in-memory key
// type prints its kid and alg only.
//
// NOTE: RS256 is RSASSA-PKCS1-v1_5, which OWASP ASVS 5.0 Appendix C
// disallows. It is offered only for interoperability with verifiers that
// support nothing else; prefer EdDSA, or ES256 where Ed25519 is missing.
//
// # Refresh tokens
//
// A refresh token is 32 random bytes, base64url (43 characters). The store
// keeps only its SHA-256. The password grant starts a family
// (authd.RefreshFamily): its ID is the sid of its access tokens, it keeps
// the grant's audience (an RFC 8707 narrowing is kept by every refresh) and
// a 32-byte random Secret. The successor of token T is
// base64url(HMAC-SHA256(Secret, T)).
//
// NOTE: successors are derived, not drawn at random, so that a retry of
// the same refresh (lost response, two tabs) gets the very same successor:
// no family ever has two live tokens, and the store never holds a usable
// token (only hashes and the secret; a leaked row plus a hash gives
// nothing).
//
// When T of generation g is presented at time now, inside one store
// transaction (two refreshes of one family run one after the other):
//
//  1. Dead family: revoked, past its absolute end (CreatedAt+RefreshTTL,
//     14 days; refreshing never extends it), or idle (now - LastUsedAt >
//     RefreshIdle, 7 days, where LastUsedAt is the grant or the last
//     successful refresh) → invalid_grant. Nothing changes.
//  2. g is the live generation → rotation: T is spent, S = HMAC(Secret, T)
//     becomes the live token; RotatedAt = LastUsedAt = now. The response is
//     a new access token and S.
//  3. Grace rule. g is the generation spent by the latest rotation and
//     now - RotatedAt <= RefreshGrace (10 s by default, 0 disables it):
//     the response is a new access token (new jti, same sid) and the same
//     S that the rotation returned, which is still the one live token.
//     Only LastUsedAt changes: the generation does not move and RotatedAt
//     does not move, so the window runs from the rotation and retries do
//     not extend it. Any number of presentations inside the window get the
//     same S. After S itself has been rotated, T is two generations old
//     and falls under rule 4 even inside the window.
//  4. Anything else (an older generation, or the last spent one after the
//     grace window) → reuse: the family is revoked (saved in the same
//     transaction), then its sid goes on the revocation list until
//     RevokedAt+AccessTTL so its access tokens die everywhere, the audit
//     event refresh_reuse_detected is recorded, and the error wraps both
//     authd.ErrInvalidGrant and ErrReuseDetected.
//
// The grace window gives a thief of T nothing the user did not get (the
// same S), and the next rotation settles it: whoever rotates S first makes
// the other's S spent, and its next use is reuse (rule 4).
//
// NOTE: the family dies on reuse because a spent token presented again
// means two parties hold the family's tokens and we cannot tell the
// legitimate one from the thief (RFC 9700 §4.14.2). Only that family dies:
// the user's other families and sessions are other devices, which this leak
// did not touch; revoking them all (Keycloak #16081) would let anyone with
// one old token log a user out everywhere.
//
// Malformed, unknown, spent, revoked and expired tokens all give
// authd.ErrInvalidGrant; only a store failure gives another error. A client
// whose response was lost (or whose refresh failed after the rotation was
// saved, e.g. the user lookup timed out) retries with T inside the grace
// window and gets S.
//
// # Revocation
//
// Revocations is the node's in-memory copy of the authd.RevocationList:
// loaded whole at New, then followed by Sync from a cursor, expired entries
// pruned. Run syncs every PollInterval (serve: 20 ms); over a store that
// says when it is written (a ChangeProber: SQLite's data_version and
// inotify, PostgreSQL's LISTEN) it syncs at that pace only while the store
// is written, and otherwise once a second, so an idle node stays nearly
// idle. Verify checks jti and sid with a
// map lookup. Revoking on this node writes the store first, then the local
// set, so this node refuses at once and the others within a few polls.
// When the last successful Sync is older than MaxStaleness (5 s), Verify
// returns authd.ErrUnavailable (503): a node that cannot see revocations
// accepts no token. Feed serves the public revocation feed with long
// polling; Changed wakes waiters.
//
// Housekeep (run every minute by Run) prunes expired revocation entries
// from the store and deletes refresh families dead for over a day.
//
// # Verify cache
//
// Verified tokens are kept (Config.CacheSize, 10,000; negative disables) by
// their exact string, until their exp and while their key is usable, so a
// repeated Verify costs a map lookup. Revocation and staleness are checked
// on every hit.
package token
