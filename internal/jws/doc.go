// Package jws is authd's one strict parser of compact JWS (RFC 7515): the
// structural checks every signed token authd reads goes through before any
// key lookup, signature or claim decoding. token/ (authd itself) and
// verify/ (other Go services) parse access tokens with it; DPoP proofs and
// logout tokens are meant to reuse it through their own Profile.
//
// It owns, for SECURITY J1–J3 and J5–J8:
//   - the size bound, checked before anything splits the token
//     (MaxTokenSize);
//   - the compact serialization: exactly three non-empty segments of strict
//     base64url (no padding, no '+' or '/', no line breaks, no non-zero
//     trailing bits), so JSON serialization and JWE are refused;
//   - the JOSE header: one JSON object holding alg, typ and only the
//     parameters the Profile allows, alg never "none" in any casing, typ
//     exactly the Profile's, kid (when allowed) a string of at most
//     MaxKIDLen bytes; jku, x5u, x5c and crit always refused, jwk unless the
//     Profile allows it;
//   - the payload: one JSON object, no duplicate member names at any depth
//     (compared after unescaping), nesting at most MaxDepth, the Profile's
//     claims of the right JSON type, and no member whose name differs from
//     one of them only by case;
//   - the algorithms authd signs with and verifiers accept (Algorithms,
//     Method) and the key sizes that go with them.
//
// It checks no signature and no claim value: the caller looks the key up
// (by kid among keys it holds, never by anything fetched), checks the
// signature over Token.SigningInput with that key's own algorithm, then
// decodes Token.Payload.
//
// It is internal: its rules are authd's, and it may change with them.
package jws
