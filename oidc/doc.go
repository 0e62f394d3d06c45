// Package oidc will hold authd's authorization server (OpenID Connect Core
// 1.0, OAuth 2.0 with PKCE): the authorization endpoint, authorization
// codes, consent, ID and logout tokens, back-channel delivery. For now it
// holds what those build on: the client registry.
//
// # Clients
//
// Clients registers clients under the rules of API.md "Clients" and
// authenticates the confidential ones:
//
//	clients := oidc.NewClients(db, hasher)
//	c, secret, err := clients.Create(ctx, oidc.ClientSpec{
//		ID:           "web",
//		Public:       true,
//		RedirectURIs: []string{"https://app.example.com/callback"},
//	})
//	c, err = clients.Authenticate(ctx, id, secret) // client_secret_basic or _post at /oauth2/token and /oauth2/introspect
//
// There are three kinds of client, told apart by what they hold
// (authd.Client):
//
//   - a client that signs users in: the authorization_code grant (and,
//     by default, refresh_token), at least one redirect URI; public (a
//     browser or native app: no secret, PKCE is its only proof) or
//     confidential;
//   - a service that asks for tokens of its own: confidential, the
//     client_credentials grant;
//   - a resource server: confidential, no redirect URI, no grant; it may
//     only call /oauth2/introspect. The clients of earlier authd versions
//     are resource servers.
//
// Every refusal of Create is an *authd.InvalidError whose Field is the
// API's snake_case name of the input at fault (redirect_uri, grant, …).
//
// The package depends on the root package's interfaces and on package
// password; its rules hold the same over every store.
package oidc
