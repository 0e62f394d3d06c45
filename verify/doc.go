// Package verify lets a Go service accept authd's access tokens without
// asking authd on every request: it reads authd's discovery document,
// keeps its public keys (the JWKS) and its revocation list in memory, and
// checks each token with the same strictness as authd itself.
//
// It imports the standard library, golang-jwt/jwt/v5 (signatures and
// claims), go-jose/v4 (JWK parsing, DPoP proof signatures), authd's dpop
// package (DPoP proof checks) and the internal packages it shares with
// authd itself: the strict JWS parser, the verified-token cache and the
// revocation set. No store driver and no other authd package, so a
// service that imports it pulls in little (a test enforces this).
//
// # Use
//
//	v, err := verify.New(ctx, "https://auth.example.com", verify.WithAudience("orders"))
//	if err != nil { … }              // authd unreachable, or misconfigured
//	defer v.Close()
//	mux.Handle("GET /orders", v.Middleware(orders))           // 401 / 503 handled
//	mux.Handle("GET /admin", v.Middleware(verify.RequireRole("admin")(admin)))
//
//	func orders(w http.ResponseWriter, r *http.Request) {
//		c, _ := verify.ClaimsFrom(r.Context()) // c.Subject, c.Email, c.Roles
//	}
//
// Or call Verify directly: errors.Is(err, verify.ErrInvalidToken) means 401,
// errors.Is(err, verify.ErrUnavailable) means 503.
//
// New needs authd to answer: it fails when the discovery document, the
// JWKS or the revocation list cannot be read within ctx. The issuer URL
// must be exactly authd's --issuer. WithAudience is required.
//
// # What Verify checks
//
// In this order, the first failure refusing the token (ErrInvalidToken):
//   - size at most 8 KiB, before anything splits or parses it (J8);
//   - the compact serialization: exactly three non-empty segments of
//     strict base64url (no padding, no '+' or '/', no non-zero trailing
//     bits), so JSON serialization and JWE are refused (J6);
//   - the header: one JSON object with alg, kid and typ only, each a
//     string; jwk, jku, x5u, x5c (embedded or remote keys) and crit refused;
//     alg "none" in any casing refused; typ exactly "at+jwt" (J2, J3, J5);
//   - the payload: one JSON object with no duplicate member names at any
//     depth, nesting at most 8 deep, exp/nbf/iat JSON numbers, iss, sub,
//     jti, sid and email strings, no member named like one of those but
//     for case (J7);
//   - the kid names a key held (an unknown kid causes one JWKS fetch, at
//     most once per 10 s); the token's alg is that key's alg;
//   - the signature, with the key's own golang-jwt method (J1);
//   - the claims, with golang-jwt's Validator: exp required and not past,
//     iss exactly the issuer, aud naming one of WithAudience's, nbf and iat
//     not in the future, leeway WithLeeway (default and maximum 30 s) (J4);
//     sub, jti and iat present;
//   - neither the jti nor the sid is on the revocation list (J9).
//
// When the revocation list is stale (see below), Verify returns
// ErrUnavailable instead, whatever the token.
//
// NOTE: the algorithm is pinned to the key, not taken from the token. Each
// JWKS member must name its alg, and its material must fit it exactly
// (EdDSA: OKP Ed25519; ES256: EC P-256, the point on the curve; RS256: RSA
// of 2048 to 4096 bits); the signature is checked with that key's method,
// and the token's alg must merely agree. So an RSA or Ed25519 public key
// can never be used as an HS256 secret, and "none" has no key (RFC 8725
// §3.1). HS256 secrets are never taken from a JWKS: authd does not publish
// them, and a JWKS member with private or symmetric material is refused.
// Give them with WithHMACSecret.
//
// NOTE: RS256 (RSASSA-PKCS1-v1_5) is accepted only because authd offers it
// for interoperability; OWASP ASVS 5.0 Appendix C disallows it. Prefer
// EdDSA (authd's default) or ES256.
//
// # Sender-constrained tokens (DPoP)
//
// A client that sent a DPoP proof to authd's token endpoint (RFC 9449)
// gets a token bound to its key: cnf.jkt, the key's RFC 7638 thumbprint,
// which Verify returns as Claims.JKT. Verify checks a bound token as any
// other; the binding is the middleware's to enforce, since only it sees
// the request. Give the service's public URL to accept them:
//
//	v, err := verify.New(ctx, "https://auth.example.com", verify.WithAudience("orders"),
//		verify.WithPublicURL("https://orders.example.com"))
//
// Then Middleware accepts a bound token only as "Authorization: DPoP
// <token>" with a DPoP header holding a proof (package dpop runs RFC 9449
// §4.3's checks: typ dpop+jwt, an asymmetric alg, a public jwk, the
// signature, htm the request's method, htu WithPublicURL and the
// request's path, iat within 60 s, ath the token's hash, and jti not seen
// before), whose key must be the one the token is bound to. A bound token
// sent as a bearer token is refused, as is a token that is not bound sent
// with the DPoP scheme. WithDPoPRequired refuses bearer tokens altogether
// (authd's --dpop-required). Refusals are 401 with `WWW-Authenticate:
// DPoP error="invalid_token"` or `error="invalid_dpop_proof"` and the
// algs accepted (RFC 9449 §7.1). Server nonces (DPoP-Nonce) are not asked
// for.
//
// Without WithPublicURL every DPoP-bound token is refused, and a warning
// says why: a proof names the URL the client addressed (htu), which
// behind a proxy is not the one the service sees, and the verifier will
// not guess it from Host or X-Forwarded-* headers a client can set.
//
// NOTE: a replayed proof is caught by the verifier's own replay set,
// which is in this process's memory only: a proof captured and replayed
// to another instance of the same service, within its 60 s window, is
// NOT detected. Services run as several instances that need that share a
// replay set with WithReplays: any authd.ReplaySet (authd's SQLite,
// PostgreSQL or Redis store) is one. The own set is bounded
// (WithReplayCapacity, DefaultReplayCapacity proofs, some 10 MB, about
// 1,500 DPoP requests a second sustained): records are dropped as they
// expire, soonest first, and when the set is full of live ones the
// middleware refuses the proof with 503 rather than forget a record and
// let its proof be replayed (fail closed), as it does when a shared set
// fails.
//
// # Keys
//
// The JWKS is fetched at New, then again when its Cache-Control max-age
// runs out (between 10 s and 24 h; 5 min without one) and when a token
// names a kid not held, at most once per KeyRefetchInterval (10 s) so that
// tokens with made-up kids cannot make the verifier hammer authd. A failed
// refresh keeps the keys held. A key authd stops publishing (a retired key
// past its last token's expiry) is dropped at the next refresh, and cached
// tokens it verified die with it.
//
// # Revocations, and why the default is to fail closed
//
// The revocation list is loaded whole at New (GET /v1/revocations), then
// followed from its cursor with long polls (?since=CURSOR&wait=…): authd
// answers the moment a token or session is revoked, so a revocation
// reaches every verifier within a round trip. After a network failure the
// verifier retries from the same cursor with backoff (100 ms to 2 s); a
// cursor authd does not know (400) makes it load the whole list again.
// Checking the list is a map lookup: Verify never calls the network for
// it.
//
// An answer of the feed proves the list complete as of when its request
// was sent. When no answer has come for longer than WithMaxStaleness
// (default 5 s), the verifier cannot know whether a token was revoked in
// the meantime, and Verify returns ErrUnavailable for every token (the
// middleware answers 503 with Retry-After) until the feed answers again.
// The long-poll's wait is min(30 s, max staleness / 3), so a quiet but
// live feed keeps the list provably current.
//
// NOTE: failing closed is the default because the point of the feed is
// that logout, password change, account lock and refresh-token reuse end
// a user's access at once, everywhere. A verifier that went on accepting
// tokens while it cannot see revocations would turn a network partition
// (or an attacker who can block the verifier's requests to authd) into up
// to an access token's lifetime (15 min) of access for a stolen, revoked
// token; authd itself refuses bearer tokens (503) under the same
// condition, with the same 5 s bound (--revocation-max-staleness), and
// sessions fail closed the same way. A 503 is visible, retried and
// alerted on; a silently accepted revoked token is not. Services that
// prefer availability can say so explicitly with WithFailOpen(d): for d
// past the staleness bound, tokens are checked against the last copy of
// the list (a warning is logged), then the verifier fails closed anyway,
// so the exposure is bounded by d rather than by the token lifetime.
//
// A revocation is kept until 30 s past its exp (the largest leeway), since
// a token is accepted until exp plus leeway.
//
// # Verified-token cache
//
// Tokens that passed every check but revocation are kept (WithCacheSize,
// 10,000 by default; 0 disables), keyed by the exact token string, until
// their exp and while the key that verified them is held; a repeated
// Verify then costs a map lookup. Staleness and revocation are checked on
// every hit, so a cached token is refused the moment it is revoked.
package verify
