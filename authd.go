// Package authd holds the domain of the authd authentication service: its
// types (User, Session, RefreshFamily, Key, Client, Principal, Claims), the
// store interfaces every backend implements, and the errors shared by all
// layers.
//
// It imports the standard library only. The business rules live in the
// session, token, account and oidc packages; stores live in sqlite,
// postgres and redis; cmd/authd wires them together.
package authd

import (
	"log/slog"
	"time"
)

// Version is the build version, set with -ldflags "-X github.com/authd/authd.Version=…".
var Version = "dev"

// User is an account. Email is stored lower-cased and trimmed: it is the login
// name and is unique.
type User struct {
	ID           string
	Email        string
	PasswordHash string // PHC string (argon2id); never logged, never serialised to clients
	Roles        []string
	Locked       bool
	// EmailVerified is set when a link mailed to Email was used (or an
	// administrator said so); a change of Email clears it unless the new
	// address was verified the same way.
	EmailVerified bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Session is a server-side login session.
//
// NOTE: the cookie value (the secret) is never stored; Hash is its SHA-256,
// so a leaked database gives no live session. ID is a separate, public
// identifier: it is what /v1/sessions lists, what DELETE /v1/sessions/{id}
// names and what the sid claim of a session-derived access token carries.
//
// Email and Roles are a snapshot of the user at login, so that validating a
// session is one store read. Every change that could make them wrong (lock,
// password change) revokes the user's sessions.
type Session struct {
	ID         string
	Hash       []byte
	UserID     string
	Email      string
	Roles      []string
	CreatedAt  time.Time
	LastSeenAt time.Time
	// ExpiresAt is when the session dies if it is not used again: the earlier
	// of LastSeenAt+idle and CreatedAt+max. Stores may delete a session once
	// this has passed.
	ExpiresAt time.Time
	// AbsoluteExpiresAt is CreatedAt+max; activity never moves it.
	AbsoluteExpiresAt time.Time
	IP                string
	UserAgent         string
	// AMR are the authentication methods of the sign-in (RFC 8176); nil
	// for a session created before they were recorded, which was a
	// password sign-in.
	AMR []string
	// Pending marks a sign-in whose second factor is due: it grants
	// nothing but finishing the sign-in, which creates a new session.
	Pending bool
}

// Principal is the authenticated caller of one request, whichever way it
// authenticated.
type Principal struct {
	UserID    string
	Email     string
	Roles     []string
	Auth      string // AuthSession or AuthToken
	SessionID string // public session id (AuthSession) or the token's sid (AuthToken)
	// AMR are the authentication methods of the sign-in behind the
	// request (RFC 8176); nil when unknown.
	AMR   []string
	Token *Claims
}

// Ways a Principal authenticated.
const (
	AuthSession = "session"
	AuthToken   = "token"
)

// Claims are the verified claims of an RFC 9068 access token.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	ExpiresAt time.Time
	IssuedAt  time.Time
	NotBefore time.Time
	ID        string // jti
	SessionID string // sid: refresh family id or public session id
	Email     string
	Roles     []string
	// ClientID is client_id (RFC 9068 §2.2): the client the token was
	// issued to; "" for tokens of the password grant, refresh and session
	// exchange, which name no client.
	ClientID string
	// Scope is scope (RFC 9068 §2.2.3): the granted scopes, space-separated;
	// "" when the token names none.
	Scope string
	// AMR and ACR are the authentication methods (RFC 8176) and assurance
	// level of the sign-in behind the token; nil and "" when unknown (a
	// refreshed token, a client's own).
	AMR []string
	ACR string
	// JKT is cnf.jkt (RFC 9449 §6.1): the RFC 7638 thumbprint of the key
	// the token is bound to; "" for a bearer token. A bound token is
	// accepted only with a DPoP proof signed by that key.
	JKT string
}

// ForClient reports whether the token belongs to a client itself (the
// client_credentials grant): it names a client and its sub is that
// client's id, so there is no user behind it.
//
// NOTE: RFC 9068 §2.2 lets sub be the client id when no resource owner is
// involved; authd user ids are 128 random bits (NewID), so a sub equal to
// the client_id is the client's own token.
func (c *Claims) ForClient() bool { return c.ClientID != "" && c.Subject == c.ClientID }

// RefreshFamily is the chain of refresh tokens descended from one password
// grant. Every refresh spends the presented token and issues its successor;
// only the newest generation is live.
//
// NOTE: Secret is a per-family random key from which each successor token is
// derived (HMAC of the presented token). It lets a retry inside the grace
// window receive the same successor again without the store ever holding a
// usable token: a leaked row holds the secret and hashes, never a token.
type RefreshFamily struct {
	ID       string // public; the sid claim of the family's access tokens
	UserID   string
	Audience []string
	// ClientID is the client the family was granted to through the
	// authorization code flow ("" for the password grant): only that client
	// may refresh it. Scopes are the scopes it was granted.
	ClientID   string
	Scopes     []string
	Secret     []byte
	Generation int       // generation of the live token
	RotatedAt  time.Time // when generation Generation-1 was spent (zero before the first refresh)
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time // absolute end of the family
	RevokedAt  time.Time // zero while live
	// JKT binds the family to a DPoP key (RFC 9449 §5): its tokens refresh
	// only with a proof of the key whose thumbprint this is; "" unbound.
	JKT string
}

// Revoked reports whether the family has been revoked.
func (f *RefreshFamily) Revoked() bool { return !f.RevokedAt.IsZero() }

// Key is a signing key of the key ring.
type Key struct {
	ID        string // kid
	Alg       string // EdDSA, ES256, RS256 or HS256
	Private   []byte // PKCS#8 DER, or the raw HMAC secret for HS256; never leaves the store but to sign
	Public    []byte // PKIX DER; empty for HS256
	CreatedAt time.Time
	// RetiredAt is zero for the current key. A retired key still verifies
	// tokens until RetiredAt plus the access token lifetime.
	RetiredAt time.Time
}

// Signing algorithms.
const (
	AlgEdDSA = "EdDSA"
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
	AlgHS256 = "HS256"
)

// Revocation is one entry of the revocation list: every access token whose
// sid (Kind "sid") or jti (Kind "jti") equals ID is refused until ExpiresAt,
// when the last such token would have expired anyway.
type Revocation struct {
	Kind      string
	ID        string
	ExpiresAt time.Time
}

// Revocation kinds.
const (
	RevokeSID = "sid"
	RevokeJTI = "jti"
)

// Client is an application or service that authd knows (API.md "Clients"):
// a site or app that signs users in through authd, a service that asks for
// tokens of its own, or a resource server that checks tokens at
// /oauth2/introspect. Package oidc holds the rules; stores keep a Client as
// it is given.
//
// A client with a SecretHash is confidential: it proves who it is with its
// secret. A client without one is public (a browser or native app, which
// can keep no secret): PKCE is its only proof, and it can never
// authenticate with a secret. A confidential client with no redirect URI
// and no grant is a resource server: it may only call /oauth2/introspect.
type Client struct {
	ID         string
	SecretHash string // PHC string (argon2id); "" for a public client. Never shown.
	Name       string // shown on the consent page; may be ""
	// RedirectURIs are the only places the authorization endpoint redirects
	// to, each compared with the request's redirect_uri as an exact string.
	RedirectURIs []string
	// PostLogoutRedirectURIs are where RP-initiated logout may return to,
	// compared as exact strings.
	PostLogoutRedirectURIs []string
	BackchannelLogoutURI   string   // where logout tokens are POSTed; may be ""
	Scopes                 []string // the scopes the client may ask for
	Grants                 []string // GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials
	FirstParty             bool     // trusted: no consent page
	CreatedAt              time.Time
}

// Confidential reports whether the client has a secret.
func (c *Client) Confidential() bool { return c.SecretHash != "" }

// ResourceServer reports whether the client is a resource server: a
// confidential client with no redirect URI and no grant.
func (c *Client) ResourceServer() bool {
	return c.Confidential() && len(c.RedirectURIs) == 0 && len(c.Grants) == 0
}

// OAuth 2.0 grant types a client may be registered for.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// AuditEvent is one authentication event of the audit log.
type AuditEvent struct {
	At        time.Time
	Event     string
	UserID    string
	SessionID string // public session id or refresh family id
	IP        string
	UserAgent string
	Detail    string
}

// Audit event names, as API.md lists them.
const (
	EventLoginSucceeded       = "login_succeeded"
	EventLoginFailed          = "login_failed"
	EventLogout               = "logout"
	EventSessionRevoked       = "session_revoked"
	EventPasswordChanged      = "password_changed"
	EventUserLocked           = "user_locked"
	EventUserUnlocked         = "user_unlocked"
	EventRefreshRotated       = "refresh_rotated"
	EventRefreshReuseDetected = "refresh_reuse_detected"
	EventTokenRevoked         = "token_revoked"
)

// String names the key without its private part. NOTE: keys end up in
// error messages and debug prints; the private bytes must never follow.
func (k Key) String() string {
	return "Key{ID:" + k.ID + " Alg:" + k.Alg + " Private:[redacted]}"
}

// LogValue keeps the private part out of structured logs.
func (k Key) LogValue() slog.Value {
	return slog.GroupValue(slog.String("kid", k.ID), slog.String("alg", k.Alg))
}
