package authd

import (
	"context"
	"time"
)

// Upstream is another OpenID Connect provider users may sign in with (a
// company IdP, Google, GitLab, another authd): authd is its relying party.
type Upstream struct {
	// ID is the short name used in URLs: [a-z0-9-]+, at most 64.
	ID string
	// Issuer is the provider's issuer; its discovery document is read
	// from there, and ID tokens must name it exactly.
	Issuer   string
	ClientID string
	// SecretSealed is authd's client secret at the provider, sealed under
	// --encryption-key-file; nil for a public client (PKCE alone).
	//
	// NOTE: the secret is sealed, not hashed: authd must present it to the
	// provider, so it must be recoverable, and a copy of the database
	// alone does not give it.
	SecretSealed []byte
	// Name is the button's text: "Sign in with Name".
	Name   string
	Scopes []string
	// TrustEmail accepts the provider's email_verified: true as proof that
	// the user owns the address (account linking; SECURITY.md F2).
	TrustEmail bool
	CreatedAt  time.Time
}

// Identity links an account at an upstream provider — the pair
// (UpstreamID, Subject), never the email — to a user.
type Identity struct {
	UpstreamID string
	Subject    string
	UserID     string
	// Email is what the provider said the address was when the identity
	// was linked (shown to the user; never used to find them).
	Email    string
	LinkedAt time.Time
}

// AMRFederated is the authentication method of a sign-in through an
// upstream provider (RFC 8176 "fed").
const AMRFederated = "fed"

// Audit events of upstream sign-in.
const (
	EventUpstreamFailed   = "upstream_failed"
	EventIdentityLinked   = "identity_linked"
	EventIdentityUnlinked = "identity_unlinked"
)

// UpstreamStore keeps the registered upstream providers. It checks nothing
// about them (package upstream does): it keeps every field exactly as
// given.
type UpstreamStore interface {
	// CreateUpstream inserts u. Every field reads back exactly as given
	// (lists in their order; nil and empty the same). Returns ErrConflict
	// when u.ID exists.
	CreateUpstream(ctx context.Context, u *Upstream) error
	// UpstreamByID returns the provider, or ErrNotFound.
	UpstreamByID(ctx context.Context, id string) (*Upstream, error)
	// ListUpstreams returns every provider ordered by id (byte order); a
	// non-nil empty slice when none.
	ListUpstreams(ctx context.Context) ([]*Upstream, error)
	// DeleteUpstream deletes the provider and, in the same transaction,
	// every identity linked at it. Returns ErrNotFound when there is none.
	DeleteUpstream(ctx context.Context, id string) error
}

// IdentityStore keeps the identities users have at upstream providers: at
// most one per (upstream, subject), and at most one per user and upstream.
type IdentityStore interface {
	// LinkIdentity inserts i. Returns ErrConflict when (i.UpstreamID,
	// i.Subject) is linked already, or i.UserID has an identity at
	// i.UpstreamID; then nothing is written.
	LinkIdentity(ctx context.Context, i *Identity) error
	// CreateUserWithIdentity is UserStore.CreateUser(u) and
	// LinkIdentity(i) in one transaction: ErrConflict when either would
	// be, and then nothing is written.
	CreateUserWithIdentity(ctx context.Context, u *User, i *Identity) error
	// IdentityBySubject returns the identity (upstreamID, subject), or
	// ErrNotFound.
	IdentityBySubject(ctx context.Context, upstreamID, subject string) (*Identity, error)
	// ListIdentities returns the user's identities ordered by upstream id;
	// a non-nil empty slice when none.
	ListIdentities(ctx context.Context, userID string) ([]*Identity, error)
	// UnlinkIdentity deletes the user's identity at upstreamID. Returns
	// ErrNotFound when there is none.
	UnlinkIdentity(ctx context.Context, userID, upstreamID string) error
}
