package authd

import "time"

// AuthCode is an authorization code (RFC 6749 §4.1) as the store keeps it:
// everything the code was bound to when it was issued, and what its one
// redemption issued.
//
// NOTE: the code itself is never stored; Hash is its SHA-256, so a leaked
// database redeems nothing (SECURITY.md A2).
type AuthCode struct {
	Hash        []byte
	ClientID    string
	UserID      string
	SessionID   string // public id of the browser session it was issued through
	RedirectURI string
	Challenge   string // PKCE S256 code_challenge
	Nonce       string
	Scopes      []string
	Audience    []string // narrowed by resource (RFC 8707); empty means the defaults
	AuthTime    time.Time
	AMR         []string
	ACR         string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	// UsedAt is zero until the code is redeemed. TokenID and FamilyID are
	// the jti of the access token and the id of the refresh family its
	// redemption issued ("" for none), recorded at redemption so that a
	// second presentation can revoke them.
	UsedAt   time.Time
	TokenID  string
	FamilyID string
	// Reused is set when the code is presented again after its redemption.
	Reused bool
}

// Consent is a user's remembered approval of a client for a set of scopes.
type Consent struct {
	UserID    string
	ClientID  string
	Scopes    []string
	GrantedAt time.Time
}

// OutboxMessage is something to deliver to the outside world (a
// back-channel logout token, later a mail), kept until it is delivered or
// given up, so that no outage of the receiver loses it.
type OutboxMessage struct {
	ID        string
	Kind      string // OutboxBackchannelLogout, ...
	Target    string // where it goes: a URL, an address
	Body      []byte
	UserID    string
	SessionID string
	ClientID  string
	// Attempts counts the deliveries begun; Claim increments it before a
	// try, so a node dying mid-try still counts.
	Attempts  int
	CreatedAt time.Time
	// NextAt is when the message may next be claimed.
	NextAt  time.Time
	LastErr string
}

// Outbox message kinds.
const (
	OutboxBackchannelLogout = "backchannel_logout"
)

// More audit events, for the authorization server.
const (
	EventCodeIssued              = "code_issued"
	EventCodeReuseDetected       = "code_reuse_detected"
	EventConsentGranted          = "consent_granted"
	EventConsentRevoked          = "consent_revoked"
	EventBackchannelLogoutSent   = "backchannel_logout_sent"
	EventBackchannelLogoutFailed = "backchannel_logout_failed"
)
