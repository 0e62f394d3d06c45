package jws

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// accessToken is the Profile of authd's access tokens (RFC 9068).
var accessToken = Profile{
	Typ:      "at+jwt",
	Required: HeaderKID,
	Claims: []Claim{ // in the order authd writes them
		{"iss", String}, {"sub", String}, {"aud", AnyType}, {"exp", Number}, {"nbf", Number},
		{"iat", Number}, {"jti", String}, {"sid", String}, {"email", String}, {"roles", AnyType},
		{"client_id", String}, {"scope", String}, {"amr", AnyType}, {"acr", String}, {"cnf", AnyType},
	},
}

// ParseAccessToken is Parse with the profile of authd's access tokens:
// typ "at+jwt", kid required, no other header parameter than alg, kid and
// typ; exp, nbf and iat JSON numbers; iss, sub, jti, sid and email
// strings, and client_id and scope (RFC 9068 §2.2) too; no member named
// like one of those, aud or roles but for case (J7).
func ParseAccessToken(tok string) (Token, error) { return Parse(tok, &accessToken) }

// AccessClaims are the claims of authd's access tokens as authd writes
// them (RFC 9068): what token/ signs, and what token/ and verify/ decode.
type AccessClaims struct {
	jwt.RegisteredClaims
	// SessionID is sid: the refresh family's id or the session's public
	// id, revoked with it; absent from a client's own token.
	SessionID string   `json:"sid,omitempty"`
	Email     string   `json:"email,omitempty"`
	Roles     []string `json:"roles"`
	// ClientID is client_id: the client the token was issued to, when
	// the grant names one.
	ClientID string `json:"client_id,omitempty"`
	// Scope is scope: the granted scopes, space-separated.
	Scope string `json:"scope,omitempty"`
	// AMR and ACR are the authentication methods (RFC 8176) and the
	// assurance level ("aal1", "aal2") of the sign-in behind the token,
	// when it is known.
	AMR []string `json:"amr,omitempty"`
	ACR string   `json:"acr,omitempty"`
	// Cnf binds the token to the key whose RFC 7638 thumbprint is
	// Cnf.JKT (DPoP, RFC 9449 §6.1); nil for a bearer token.
	Cnf *Confirmation `json:"cnf,omitempty"`
}

// Confirmation is the cnf claim of a DPoP-bound token.
type Confirmation struct {
	JKT string `json:"jkt"`
}

// Times returns exp, iat and nbf, each the zero time when absent.
func (c *AccessClaims) Times() (exp, iat, nbf time.Time) {
	return timeOf(c.ExpiresAt), timeOf(c.IssuedAt), timeOf(c.NotBefore)
}

func timeOf(d *jwt.NumericDate) time.Time {
	if d == nil {
		return time.Time{}
	}
	return d.Time
}

// NewAccessValidator returns the golang-jwt Validator of access tokens'
// standard claims for the issuer at issuer that answers to audiences.
//
// NOTE: every hardening option of golang-jwt's Validator is on: exp
// required and not past, iss exactly issuer, aud naming one of audiences,
// nbf and iat not in the future, all with leeway (callers bound it to
// 30 s) on the clock now (SECURITY J4).
func NewAccessValidator(issuer string, audiences []string, leeway time.Duration, now func() time.Time) *jwt.Validator {
	return jwt.NewValidator(
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audiences...),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
		jwt.WithTimeFunc(now),
	)
}

// DecodeAccessClaims decodes the payload of an access token that passed
// ParseAccessToken and whose signature the caller has checked (claims are
// read only then: SECURITY J1), checks the standard claims with v (see
// NewAccessValidator) and that sub, jti and iat are present. An error
// wraps jwt.ErrTokenMalformed when the claims do not decode, and is v's
// own (wrapping jwt.ErrTokenExpired and the like) when v refuses them.
func DecodeAccessClaims(payload []byte, v *jwt.Validator) (*AccessClaims, error) {
	var c AccessClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: claims do not decode: %w", jwt.ErrTokenMalformed, err)
	}
	if err := v.Validate(&c); err != nil {
		return nil, err
	}
	// NOTE: sub names the user, jti and sid are what revocation is keyed
	// by (SECURITY J9), iat dates the token: authd writes all of them, and
	// a token without sub, jti or iat is not one of its access tokens.
	switch {
	case c.Subject == "":
		return nil, refusal("no sub")
	case c.ID == "":
		return nil, refusal("no jti")
	case c.IssuedAt == nil:
		return nil, refusal("no iat")
	case c.Cnf != nil && len(c.Cnf.JKT) != 43:
		// NOTE: a cnf that binds to nothing would make a bound token
		// look unbound to a check that only asks whether jkt is set.
		return nil, refusal("cnf without a SHA-256 jkt")
	}
	return &c, nil
}
