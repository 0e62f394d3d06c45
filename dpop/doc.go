// Package dpop checks DPoP proofs (RFC 9449): the proof of possession of a
// key that a client sends, in a DPoP header, with a request for a token
// and with every use of a token bound to that key (SECURITY K1).
//
// A Checker runs RFC 9449 §4.3's checks, in this order, on the DPoP header
// values of one request:
//
//  1. exactly one DPoP header: none is ErrMissing, several are ErrInvalid
//     (never "no proof": a proxy that joins or repeats headers must not
//     turn a proof into a bearer request);
//  2. the value is parsed by internal/jws, the strict parser access tokens
//     go through too (one front door), with the DPoP profile: typ
//     dpop+jwt, header alg, typ and jwk and nothing else, the claims of
//     their JSON types, no duplicate or case-variant member;
//  3. alg is one of Algorithms (asymmetric: never none, never HS*), and
//     jwk is a public key of the type alg needs (EC P-256 for ES256, P-384
//     for ES384, OKP Ed25519 for EdDSA, RSA of 2048 to 4096 bits for RS256
//     and PS256), with no private member (d, p, q, dp, dq, qi, oth, k)
//     and, when it names one, the same alg and use "sig";
//  4. the signature verifies with that key (go-jose), before any claim is
//     read;
//  5. jti (1 to 256 bytes), htm, htu and iat are present; htm is the
//     request's method, exactly; htu is the request's URL (Request.URL)
//     once both are normalized as RFC 9449 §4.3 says (RFC 3986 §6.2.2 and
//     §6.2.3: scheme and host case, default port, percent-encoding, dot
//     segments, empty path), query and fragment ignored; iat is within
//     Config.Window of now, either way;
//  6. ath is present exactly when an access token is: with one it must be
//     ATH(token); at the token endpoint (no token) a proof with ath is
//     refused: it was made for a request that carries a token, and this
//     one does not (RFC 9449 §4.2 asks ath only "when used with an access
//     token"; refusing it elsewhere keeps "ath bound to the token" from
//     having an exception);
//  7. with a NonceSource, nonce is one it issued in the current or the
//     previous period, else ErrUseNonce (a UseNonceError carrying the
//     nonce to send in DPoP-Nonce, RFC 9449 §8);
//  8. last, the replay set: (thumbprint, jti) is remembered on every node
//     until iat + Window + Skew, the last moment any node, its clock off
//     by up to Skew, could still accept the proof; a pair already there
//     is ErrReplayed. A proof refused for any other reason is not
//     remembered.
//
// Binding the proof's key to the token (cnf.jkt, RFC 9449 §6) is the
// caller's: Proof.JKT is the key's RFC 7638 thumbprint to compare.
//
// Errors wrap ErrMissing, ErrInvalid, ErrReplayed or ErrUseNonce; their
// text names the rule and never holds the proof or the token, so it may be
// logged and shown (error_description). Any other error (the replay set
// failing, a malformed Request.URL) is the server's.
package dpop
