package authd

import (
	"context"
	"time"
)

// The store interfaces. Each method's doc comment is its contract; the
// storetest package turns those sentences into tests that every store runs.
// Every method returns ErrUnavailable (wrapped) when the store cannot be
// reached, and honours ctx cancellation: a call with a cancelled context
// returns an error wrapping ctx.Err() and changes nothing. Stores keep times
// to the microsecond.

// UserStore keeps accounts.
type UserStore interface {
	// CreateUser inserts u. u.ID and u.Email must be set; Email is compared
	// exactly (callers normalise it). Returns ErrConflict when the id or the
	// email is taken.
	CreateUser(ctx context.Context, u *User) error
	// UserByID returns the user, or ErrNotFound.
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByEmail returns the user with exactly this email, or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// SetPasswordHash replaces the user's password hash and UpdatedAt.
	// Returns ErrNotFound for an unknown id. Idempotent.
	SetPasswordHash(ctx context.Context, id, hash string, at time.Time) error
	// SetLocked sets or clears the user's lock. Returns ErrNotFound for an
	// unknown id. Idempotent.
	SetLocked(ctx context.Context, id string, locked bool, at time.Time) error
}

// SessionStore keeps server-side sessions, keyed by the SHA-256 of the
// cookie value and by their public id.
type SessionStore interface {
	// CreateSession inserts s. Returns ErrConflict when s.ID or s.Hash exists.
	CreateSession(ctx context.Context, s *Session) error
	// SessionByHash returns the session whose Hash is hash, or ErrNotFound
	// when there is none or it was deleted. It may return a session whose
	// ExpiresAt has passed (stores delete lazily); the caller checks expiry.
	SessionByHash(ctx context.Context, hash []byte) (*Session, error)
	// TouchSession sets LastSeenAt and ExpiresAt of the session with this
	// public id. Returns ErrNotFound when it does not exist. Idempotent.
	TouchSession(ctx context.Context, id string, lastSeen, expiresAt time.Time) error
	// ListSessions returns the user's sessions whose ExpiresAt is after now,
	// newest first; a non-nil empty slice when there are none.
	ListSessions(ctx context.Context, userID string, now time.Time) ([]*Session, error)
	// DeleteSession deletes the user's session with this public id. Returns
	// ErrNotFound when no such session belongs to userID (another user's id
	// is not found either). After it returns, SessionByHash of that session
	// returns ErrNotFound on every node.
	DeleteSession(ctx context.Context, userID, id string) error
	// DeleteUserSessions deletes every session of the user except the one
	// whose public id is except ("" for none), atomically, and returns the
	// public ids it deleted. Idempotent: a second call returns none.
	DeleteUserSessions(ctx context.Context, userID, except string) ([]string, error)
}

// RefreshStore keeps refresh token families. Only hashes of refresh tokens
// are stored, each with the generation that issued it.
type RefreshStore interface {
	// CreateFamily inserts f with its first token, whose hash is tokenHash
	// (generation f.Generation). Returns ErrConflict when f.ID or the hash
	// exists.
	CreateFamily(ctx context.Context, f *RefreshFamily, tokenHash []byte) error
	// UpdateFamilyByToken finds the family that issued the token whose hash
	// is tokenHash and calls fn with it and that token's generation, inside
	// one transaction that excludes every other update of the family: two
	// concurrent calls for one family run one after the other, the second
	// seeing the first's changes. When fn returns a nil error, the changes fn
	// made to f (Generation, RotatedAt, LastUsedAt, RevokedAt) are saved and,
	// when successorHash is non-nil, it is recorded as the token of
	// generation f.Generation. When fn returns an error nothing is saved and
	// that error is returned. A revoked or expired family is found: fn
	// decides. Recording a successorHash already recorded for this family and
	// generation is a no-op (a retry inside the grace window). fn must not
	// call the store. Returns ErrNotFound (and does not call fn) when no
	// family issued tokenHash; otherwise the family as saved.
	UpdateFamilyByToken(ctx context.Context, tokenHash []byte, fn func(f *RefreshFamily, generation int) (successorHash []byte, err error)) (*RefreshFamily, error)
	// FamilyByID returns the family, or ErrNotFound.
	FamilyByID(ctx context.Context, id string) (*RefreshFamily, error)
	// RevokeFamily marks the family revoked at at, if it was not already.
	// Returns ErrNotFound for an unknown id. Idempotent: revoking twice keeps
	// the first RevokedAt.
	RevokeFamily(ctx context.Context, id string, at time.Time) error
	// RevokeUserFamilies revokes every family of the user not yet revoked
	// (expired ones included: their access tokens may outlive them) and
	// returns the ones it revoked (a non-nil empty slice when none).
	// Idempotent.
	RevokeUserFamilies(ctx context.Context, userID string, at time.Time) ([]*RefreshFamily, error)
	// RevokeClientFamilies is RevokeUserFamilies for the families of the
	// user whose ClientID is clientID only.
	RevokeClientFamilies(ctx context.Context, userID, clientID string, at time.Time) ([]*RefreshFamily, error)
	// DeleteFamiliesBefore deletes families that expired or were revoked
	// before t, with their token hashes, and returns how many it deleted.
	DeleteFamiliesBefore(ctx context.Context, t time.Time) (int, error)
}

// KeyStore keeps the signing key ring.
type KeyStore interface {
	// EnsureKey inserts k as the current key if there is no current key and
	// returns the current key either way. Many nodes starting at once end up
	// with one current key.
	EnsureKey(ctx context.Context, k *Key) (*Key, error)
	// RotateKey inserts k as the current key and marks the previous current
	// key retired at k.CreatedAt, in one transaction. Returns ErrConflict
	// when k.ID exists.
	RotateKey(ctx context.Context, k *Key) error
	// Keys returns every key that is current or retired after retiredAfter,
	// the current one first, then newest first.
	Keys(ctx context.Context, retiredAfter time.Time) ([]*Key, error)
}

// RevocationList keeps the revoked sids and jtis of access tokens. Entries
// live only until ExpiresAt, so the list stays small.
type RevocationList interface {
	// Revoke adds r. Idempotent: revoking an id already listed keeps the
	// later of the two ExpiresAt.
	Revoke(ctx context.Context, r Revocation) error
	// RevokedSince returns the entries added after cursor whose ExpiresAt is
	// after now, oldest first, and the cursor to pass next time. The cursor
	// "" means the beginning. A cursor is opaque; a malformed one is an
	// *InvalidError. Entries added concurrently with a call are returned by
	// this call or by the next one, never lost.
	RevokedSince(ctx context.Context, cursor string, now time.Time) ([]Revocation, string, error)
	// PruneRevocations deletes entries whose ExpiresAt is before now.
	PruneRevocations(ctx context.Context, now time.Time) error
}

// Limiter counts login attempts per key (an account or a client IP) in
// fixed windows shared by every node. The rules above it count an attempt
// before its password is checked (AddFailure's count is the attempt's slot),
// and take the count back with ForgiveFailure or ResetFailures when the
// attempt succeeds; so what stays counted is the failures.
type Limiter interface {
	// Failures returns the failures counted for key in its current window and
	// when that window ends. A key with no live window has count 0.
	Failures(ctx context.Context, key string, now time.Time) (count int, resetAt time.Time, err error)
	// AddFailure counts one failure for key. The first failure opens a window
	// [now, now+window); later ones count in it until it ends (a failure at
	// its end opens a new one; a later call's window length does not move
	// the end). Returns the new
	// count and the window's end. Safe for concurrent use across nodes: n
	// concurrent calls add exactly n.
	AddFailure(ctx context.Context, key string, window time.Duration, now time.Time) (count int, resetAt time.Time, err error)
	// ResetFailures forgets key's window. Idempotent.
	ResetFailures(ctx context.Context, key string) error
	// ForgiveFailure takes one count back from key's window when it is live
	// at now and its count is above zero; otherwise it does nothing. The
	// window's end does not move. Each call takes one (not idempotent);
	// atomic like AddFailure, so n concurrent calls take exactly n (never
	// below zero).
	ForgiveFailure(ctx context.Context, key string, now time.Time) error
}

// ClientStore keeps the registered clients. It checks nothing about a
// client (package oidc does): it keeps every field exactly as given.
type ClientStore interface {
	// CreateClient inserts c. Every field reads back exactly as given:
	// strings byte for byte, lists in their order (a nil list and an empty
	// one are the same). Returns ErrConflict when c.ID exists.
	CreateClient(ctx context.Context, c *Client) error
	// ClientByID returns the client whose id is exactly id, or ErrNotFound.
	ClientByID(ctx context.Context, id string) (*Client, error)
	// ListClients returns every client, ordered by id (byte order); a
	// non-nil empty slice when there are none.
	ListClients(ctx context.Context) ([]*Client, error)
	// DeleteClient deletes the client whose id is exactly id; after it
	// returns, ClientByID of that id is ErrNotFound. Returns ErrNotFound
	// when there is no such client.
	DeleteClient(ctx context.Context, id string) error
}

// AuditLog records authentication events.
type AuditLog interface {
	// RecordEvent appends e. It never fails because of e's content; a zero
	// At is stamped with the current time.
	RecordEvent(ctx context.Context, e AuditEvent) error
}

// Pinger is implemented by every store: Ping returns nil when the store
// answers, ErrUnavailable (wrapped) otherwise. /readyz uses it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// SessionWatcher is implemented by session stores whose changes a local
// cache can follow (the cache package). PostgreSQL uses LISTEN/NOTIFY,
// SQLite a short poll of a change table.
type SessionWatcher interface {
	// WatchSessions calls h.Subscribed once it is following changes, then
	// h.Invalidate with the hash of every session deleted or updated from
	// then on, by any node. It returns nil when ctx ends and an error when
	// it can no longer follow (connection lost): from that moment the caller
	// must treat everything it cached as unknown.
	WatchSessions(ctx context.Context, h SessionEvents) error
}

// SessionEvents receives a SessionWatcher's notifications.
type SessionEvents interface {
	Subscribed()
	Invalidate(hash []byte)
}

// CodeStore keeps authorization codes by the SHA-256 of the code.
type CodeStore interface {
	// CreateCode inserts c (UsedAt zero, TokenID, FamilyID "" and Reused
	// false whatever c holds). Returns ErrConflict when c.Hash exists.
	CreateCode(ctx context.Context, c *AuthCode) error
	// RedeemCode redeems the code whose hash is hash, atomically: when it
	// was never redeemed it records UsedAt=at, tokenID and familyID and
	// returns the code as saved and first=true; when it was, it sets Reused
	// and returns the code as saved (the first redemption's UsedAt, TokenID
	// and FamilyID) and first=false. Of n concurrent calls for one code
	// exactly one gets first=true. An expired code is redeemed like any
	// other (the caller checks ExpiresAt). Returns ErrNotFound when there is
	// no such code.
	RedeemCode(ctx context.Context, hash []byte, at time.Time, tokenID, familyID string) (c *AuthCode, first bool, err error)
	// CodeReused reports whether the code was presented again after its
	// redemption; ErrNotFound when there is no such code.
	CodeReused(ctx context.Context, hash []byte) (bool, error)
	// DeleteCodesBefore deletes the codes whose ExpiresAt is before t and
	// returns how many it deleted.
	DeleteCodesBefore(ctx context.Context, t time.Time) (int, error)
}

// ConsentStore keeps consents, one per user and client.
type ConsentStore interface {
	// PutConsent inserts c, or replaces the user's consent for c.ClientID
	// (scopes and GrantedAt) when there is one.
	PutConsent(ctx context.Context, c *Consent) error
	// ConsentFor returns the user's consent for the client, or ErrNotFound.
	ConsentFor(ctx context.Context, userID, clientID string) (*Consent, error)
	// ListConsents returns the user's consents ordered by client id; a
	// non-nil empty slice when there are none.
	ListConsents(ctx context.Context, userID string) ([]*Consent, error)
	// DeleteConsent deletes the user's consent for the client. Returns
	// ErrNotFound when there is none.
	DeleteConsent(ctx context.Context, userID, clientID string) error
}

// SessionClientStore remembers which clients received tokens through
// which browser session, so that the end of the session can be told to
// each of them (back-channel logout).
type SessionClientStore interface {
	// LinkSessionClient records that the client received tokens through
	// the session (its public id) of the user; the record may be deleted
	// after expiresAt. Idempotent: linking again keeps one record, with the
	// later expiresAt.
	LinkSessionClient(ctx context.Context, sessionID, clientID, userID string, expiresAt time.Time) error
	// TakeSessionClients deletes every record of the session and returns
	// their client ids, ordered; a non-nil empty slice when none. Of two
	// concurrent calls, each record goes to exactly one.
	TakeSessionClients(ctx context.Context, sessionID string) ([]string, error)
	// DeleteSessionClientsBefore deletes the records whose expiresAt is
	// before t and returns how many it deleted.
	DeleteSessionClientsBefore(ctx context.Context, t time.Time) (int, error)
}

// Outbox keeps messages until they are delivered or given up, shared by
// every node.
type Outbox interface {
	// Enqueue inserts m (m.ID set by the caller). Returns ErrConflict when
	// m.ID exists.
	Enqueue(ctx context.Context, m *OutboxMessage) error
	// Claim returns up to limit messages of kind whose NextAt is not after
	// now, oldest NextAt first, and in the same atomic step moves their
	// NextAt to now+lease and adds one to their Attempts (the returned
	// messages show both changes): no other call claims them again until
	// the lease ends. A non-nil empty slice when none is due.
	Claim(ctx context.Context, kind string, now time.Time, lease time.Duration, limit int) ([]*OutboxMessage, error)
	// Reschedule sets the message's NextAt and LastErr. Returns ErrNotFound
	// for an unknown id.
	Reschedule(ctx context.Context, id string, next time.Time, lastErr string) error
	// DeleteMessage deletes the message. Idempotent: an unknown id is not
	// an error.
	DeleteMessage(ctx context.Context, id string) error
}

// IDKeyStore keeps the asymmetric key that signs ID and logout tokens while
// the signing key ring is HS256: relying parties verify those tokens with
// the published JWKS, and an HMAC secret cannot be published.
type IDKeyStore interface {
	// EnsureIDKey inserts k as the ID-token key when there is none and
	// returns the ID-token key either way (k's RetiredAt is ignored; the
	// key returned has none). Many nodes starting at once end up with one
	// key.
	EnsureIDKey(ctx context.Context, k *Key) (*Key, error)
}

// FactorStore keeps second factors: a user's authenticator app, recovery
// codes (as hashes) and passkeys. It checks nothing (package mfa does).
type FactorStore interface {
	// PutTOTP inserts t, or replaces the user's TOTP (a new enrolment
	// starts over).
	PutTOTP(ctx context.Context, t *TOTP) error
	// TOTPOf returns the user's TOTP, or ErrNotFound.
	TOTPOf(ctx context.Context, userID string) (*TOTP, error)
	// ConfirmTOTP sets Confirmed and LastStep to step. ErrNotFound when the
	// user has no TOTP.
	ConfirmTOTP(ctx context.Context, userID string, step int64) error
	// UseTOTPStep sets LastStep to step and reports true when the user's
	// TOTP is confirmed and its LastStep is below step, atomically: of n
	// concurrent calls with one step at most one is true. Otherwise it
	// changes nothing and reports false. ErrNotFound when there is no TOTP.
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	// DeleteTOTP deletes the user's TOTP. ErrNotFound when there is none.
	DeleteTOTP(ctx context.Context, userID string) error

	// SetRecoveryCodes replaces the user's recovery codes with hashes
	// (nil or empty: none).
	SetRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error
	// UseRecoveryCode deletes the user's code whose hash is hash and
	// reports whether it was there, atomically: of n concurrent calls at
	// most one is true.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte) (bool, error)
	// RecoveryCodesLeft returns how many recovery codes the user has.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)

	// AddPasskey inserts p. ErrConflict when p.ID or p.CredentialID exists.
	AddPasskey(ctx context.Context, p *Passkey) error
	// Passkeys returns the user's passkeys, oldest first; a non-nil empty
	// slice when none.
	Passkeys(ctx context.Context, userID string) ([]*Passkey, error)
	// PasskeyByCredentialID returns the passkey with this credential id,
	// or ErrNotFound.
	PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*Passkey, error)
	// UsePasskey records a use of the passkey id: when count is above the
	// stored SignCount, or both are zero (an authenticator without a
	// counter), it sets SignCount to count and LastUsedAt to at and
	// reports true, atomically; otherwise it changes nothing and reports
	// false (the counter went backwards: a cloned authenticator).
	// ErrNotFound for an unknown id.
	UsePasskey(ctx context.Context, id string, count uint32, at time.Time) (bool, error)
	// RenamePasskey sets the name of the user's passkey id. ErrNotFound when
	// no such passkey is the user's.
	RenamePasskey(ctx context.Context, userID, id, name string) error
	// DeletePasskey deletes the user's passkey id. ErrNotFound when no such
	// passkey is the user's.
	DeletePasskey(ctx context.Context, userID, id string) error

	// DeleteFactors deletes every second factor of the user (TOTP,
	// recovery codes, passkeys). Idempotent.
	DeleteFactors(ctx context.Context, userID string) error
}

// ChallengeStore keeps the server side of WebAuthn ceremonies: each
// challenge is used once.
type ChallengeStore interface {
	// PutChallenge stores data under key until expiresAt. ErrConflict when
	// key exists.
	PutChallenge(ctx context.Context, key string, data []byte, expiresAt time.Time) error
	// TakeChallenge deletes and returns the data under key, atomically: of
	// n concurrent calls at most one gets it. ErrNotFound when there is
	// none or it expired before now.
	TakeChallenge(ctx context.Context, key string, now time.Time) ([]byte, error)
	// DeleteChallengesBefore deletes the challenges that expired before t.
	DeleteChallengesBefore(ctx context.Context, t time.Time) (int, error)
}
