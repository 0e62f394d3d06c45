// Package upstream signs users in through other OpenID Connect providers
// (a company IdP, Google, GitLab, another authd): authd is their relying
// party (issue #17, API.md "Signing in with another provider").
//
// It keeps the registry of providers (Register, Delete, Get, List, and the
// list every node reloads from the store, Providers), and runs the
// authorization code flow with the certified relying-party libraries
// github.com/coreos/go-oidc/v3 and golang.org/x/oauth2, never hand-written
// protocol code (SECURITY.md F1):
//
//   - Start makes state, nonce, a PKCE S256 verifier and a browser-binding
//     value, keeps them server-side (single use, 10 minutes) under a hash
//     of the state, and returns the provider's authorization URL;
//   - Finish takes the state back (single use; this browser's, this
//     provider's), checks the RFC 9207 iss parameter, maps error
//     responses, exchanges the code with the verifier, and verifies the ID
//     token as OpenID Connect Core §3.1.3.7 says: signature by the
//     provider's JWKS, iss exactly the registered issuer, aud, exp, the
//     nonce, at_hash when present.
//
// What to do with the result — find, create or link the user — is package
// account's (SECURITY.md F2); Result.EmailVerified is what the provider
// said, before Upstream.TrustEmail is applied.
//
// Client secrets are sealed at rest (SECURITY.md F3) by a Sealer
// (*mfa.Sealer) and opened only to talk to the provider.
package upstream
