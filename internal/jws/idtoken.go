package jws

import (
	"encoding/json"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// idToken is the Profile of authd's OpenID Connect ID tokens, as authd
// reads them back (an id_token_hint at RP-initiated logout).
//
// NOTE: typ "JWT" (what OpenID Connect Core §2 examples and every RP
// library expect), distinct from "at+jwt" and "logout+jwt": an access
// token or a logout token is never taken for an ID token, nor the
// reverse (SECURITY A5, J5).
var idToken = Profile{
	Typ:      "JWT",
	Required: HeaderKID,
	Claims: []Claim{
		{"iss", String}, {"sub", String}, {"aud", AnyType}, {"exp", Number}, {"iat", Number},
		{"auth_time", Number}, {"nonce", String}, {"sid", String}, {"at_hash", String},
		{"amr", AnyType}, {"acr", String}, {"azp", String}, {"email", String},
	},
}

// ParseIDToken is Parse with the profile of authd's ID tokens.
func ParseIDToken(tok string) (Token, error) { return Parse(tok, &idToken) }

// IDClaims are the claims of authd's ID tokens (OpenID Connect Core §2).
type IDClaims struct {
	jwt.RegisteredClaims
	AuthTime *jwt.NumericDate `json:"auth_time,omitempty"`
	Nonce    string           `json:"nonce,omitempty"`
	// SessionID is sid: the public id of the browser session (Front- and
	// Back-Channel Logout).
	SessionID     string   `json:"sid,omitempty"`
	AtHash        string   `json:"at_hash,omitempty"`
	AMR           []string `json:"amr,omitempty"`
	ACR           string   `json:"acr,omitempty"`
	AuthorizedBy  string   `json:"azp,omitempty"`
	Email         string   `json:"email,omitempty"`
	EmailVerified *bool    `json:"email_verified,omitempty"`
}

// DecodeIDClaims decodes the payload of an ID token that passed
// ParseIDToken and whose signature the caller has checked, and checks it
// with v; sub and aud must be present.
func DecodeIDClaims(payload []byte, v *jwt.Validator) (*IDClaims, error) {
	var c IDClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: claims do not decode: %w", jwt.ErrTokenMalformed, err)
	}
	if err := v.Validate(&c); err != nil {
		return nil, err
	}
	if c.Subject == "" || len(c.Audience) == 0 {
		return nil, refusal("no sub or aud")
	}
	return &c, nil
}

// LogoutClaims are the claims of a logout token (OpenID Connect
// Back-Channel Logout 1.0 §2.4): never a nonce.
type LogoutClaims struct {
	jwt.RegisteredClaims
	SessionID string                     `json:"sid,omitempty"`
	Events    map[string]json.RawMessage `json:"events"`
}

// BackchannelLogoutEvent is the member of a logout token's events claim.
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"
