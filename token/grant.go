package token

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/jws"
)

// Grant is what a user granted a client through the authorization code
// flow (package oidc decides it; this package signs and stores).
type Grant struct {
	User     *authd.User
	ClientID string
	Scopes   []string
	// Audience narrows aud (RFC 8707); empty means Config.Audiences.
	Audience []string
	// SessionID is the public id of the browser session the grant was
	// made through.
	SessionID string
	// Offline starts a refresh family bound to the client that outlives
	// the session (the offline_access scope).
	Offline bool
	// TokenID and FamilyID are the jti of the access token and the id of
	// the refresh family to issue, chosen by the caller beforehand so that
	// it can record them (a reused code revokes them); "" makes new ones.
	TokenID, FamilyID string

	// OpenID asks for an ID token (the openid scope), with these claims.
	OpenID   bool
	Nonce    string
	AuthTime time.Time
	AMR      []string
	ACR      string
	// Email adds email and email_verified (the email scope).
	Email bool
	// Public is true for a public client: with BoundTo, its refresh
	// family is bound to the DPoP key too (RFC 9449 §5).
	Public bool
}

// IssueGrant issues the tokens of an authorization code grant: an RFC 9068
// access token with client_id and scope; a refresh token when g.Offline;
// an ID token when g.OpenID.
//
// NOTE: without offline_access the access token's sid is the session's
// public id, so that ending the session revokes it through the revocation
// feed like every token of the session (API.md: tokens issued through a
// browser session end with it). An offline family's tokens carry the
// family's id instead: they outlive the session until the family is
// revoked or expires.
func (s *Service) IssueGrant(ctx context.Context, g Grant, opts ...IssueOption) (Pair, error) {
	jkt := issueOpts(opts).jkt
	if g.User == nil || g.ClientID == "" || g.SessionID == "" {
		return Pair{}, errors.New("token: IssueGrant: user, client and session are required")
	}
	if g.User.Locked {
		return Pair{}, authd.ErrInvalidGrant
	}
	aud, err := s.narrow(g.Audience)
	if err != nil {
		return Pair{}, err
	}
	if g.OpenID {
		// Before anything is stored: a grant that cannot have its ID
		// token leaves no refresh family behind.
		if _, err := s.idKey(); err != nil {
			return Pair{}, err
		}
	}
	scope := strings.Join(g.Scopes, " ")
	sub := subject{id: g.User.ID, email: g.User.Email, roles: g.User.Roles, sid: g.SessionID,
		clientID: g.ClientID, scope: scope, jti: g.TokenID, amr: g.AMR, jkt: jkt}
	var refresh string
	if g.Offline {
		now := s.cfg.Now()
		f := &authd.RefreshFamily{
			ID: g.FamilyID, UserID: g.User.ID, Audience: aud, ClientID: g.ClientID, Scopes: g.Scopes,
			Secret: randomBytes(32), Generation: 1, CreatedAt: now, LastUsedAt: now,
			ExpiresAt: now.Add(s.cfg.RefreshTTL),
		}
		if g.Public {
			// NOTE: a public client has no secret to authenticate its
			// refreshes: its DPoP key does (RFC 9449 §5).
			f.JKT = jkt
		}
		if f.ID == "" {
			f.ID = randomString(16)
		}
		refresh = randomString(32)
		if err := s.st.Refresh.CreateFamily(ctx, f, hashRefresh(refresh)); err != nil {
			return Pair{}, fmt.Errorf("token: create refresh family: %w", err)
		}
		sub.sid = f.ID
	}
	p, err := s.issueAccess(sub, aud)
	if err != nil {
		return Pair{}, err
	}
	p.RefreshToken, p.Scope = refresh, scope
	if g.OpenID {
		if p.IDToken, err = s.signIDToken(g, p.AccessToken); err != nil {
			return Pair{}, err
		}
	}
	return p, nil
}

// ErrNoIDTokenKey is the error of an ID or logout token when the key ring
// holds no asymmetric key to sign it with (the ring is HS256 only).
var ErrNoIDTokenKey = errors.New("token: no asymmetric key to sign ID tokens")

// idKey is the key ID and logout tokens are signed with: the current key,
// or under HS256 the ring's ID-token key (an ES256 key of its own, kept by
// the IDKeyStore and published in the JWKS).
//
// NOTE: ID tokens are verified by relying parties through the JWKS, so
// they are never signed with the HS256 secret, which is shared with
// resource servers only.
func (s *Service) idKey() (*ringKey, error) {
	st := s.ring.state.Load()
	for _, k := range st.keys {
		if k.alg != authd.AlgHS256 && k.signer != nil && (k == st.current || k.idOnly) {
			return k, nil
		}
	}
	return nil, ErrNoIDTokenKey
}

// IDTokenAlgs returns the algorithms ID tokens are signed with now (for
// discovery); empty when there is no key to sign them.
func (s *Service) IDTokenAlgs() []string {
	if k, err := s.idKey(); err == nil {
		return []string{k.alg}
	}
	return []string{}
}

// leftHash is at_hash (OpenID Connect Core §3.1.3.6): the left half of the
// hash of the access token, with the hash of the signing algorithm.
//
// NOTE: for EdDSA (Ed25519) the hash is SHA-512, as go-oidc, zitadel/oidc
// and openid-client compute it.
func leftHash(alg, tok string) string {
	var h hash.Hash
	if alg == authd.AlgEdDSA {
		h = sha512.New()
	} else {
		h = sha256.New()
	}
	h.Write([]byte(tok))
	sum := h.Sum(nil)
	return b64(sum[:len(sum)/2])
}

func (s *Service) signIDToken(g Grant, accessToken string) (string, error) {
	k, err := s.idKey()
	if err != nil {
		return "", err
	}
	now := s.cfg.Now().Truncate(time.Second)
	c := &jws.IDClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.cfg.Issuer,
			Subject:   g.User.ID,
			Audience:  jwt.ClaimStrings{g.ClientID},
			ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.AccessTTL)),
			IssuedAt:  jwt.NewNumericDate(now),
		},
		AuthTime:  jwt.NewNumericDate(g.AuthTime),
		Nonce:     g.Nonce,
		SessionID: g.SessionID,
		AtHash:    leftHash(k.alg, accessToken),
		AMR:       g.AMR,
		ACR:       g.ACR,
	}
	if g.Email {
		verified := g.User.EmailVerified
		c.Email, c.EmailVerified = g.User.Email, &verified
	}
	return s.sign(k, "JWT", c)
}

func (s *Service) sign(k *ringKey, typ string, c jwt.Claims) (string, error) {
	t := jwt.NewWithClaims(k.method, c)
	t.Header["kid"] = k.kid
	t.Header["typ"] = typ
	raw, err := t.SignedString(k.signer)
	if err != nil {
		return "", fmt.Errorf("token: sign: %w", err)
	}
	return raw, nil
}

// LogoutTokenTTL is the lifetime of a logout token. It is only checked
// when the client receives it, so it covers one delivery attempt, not the
// retries: each attempt signs a new one.
const LogoutTokenTTL = 2 * time.Minute

// SignLogoutToken signs a back-channel logout token (OpenID Connect
// Back-Channel Logout 1.0 §2.4) telling clientID that the session sid of
// user sub ended: typ logout+jwt, iss, aud, iat, exp, jti, sub, sid and
// the backchannel-logout event; never a nonce (§2.4: so that it is never
// taken for an ID token).
func (s *Service) SignLogoutToken(clientID, sub, sid string) (string, error) {
	k, err := s.idKey()
	if err != nil {
		return "", err
	}
	now := s.cfg.Now().Truncate(time.Second)
	c := &jws.LogoutClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: s.cfg.Issuer, Subject: sub, Audience: jwt.ClaimStrings{clientID},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(LogoutTokenTTL)),
			ID: randomString(16),
		},
		SessionID: sid,
		Events:    map[string]json.RawMessage{jws.BackchannelLogoutEvent: json.RawMessage("{}")},
	}
	return s.sign(k, "logout+jwt", c)
}

// IDTokenHint is what RP-initiated logout reads from an id_token_hint.
type IDTokenHint struct {
	Subject   string
	SessionID string
	Audience  []string
}

// VerifyIDTokenHint checks an ID token this service signed, as an
// id_token_hint (OpenID Connect RP-Initiated Logout 1.0 §2): structure,
// typ JWT, a kid of the ring, the key's own algorithm, the signature and
// iss. It may have expired (§2: the hint is often an old ID token). Any
// refusal is an *InvalidTokenError.
func (s *Service) VerifyIDTokenHint(ctx context.Context, raw string) (*IDTokenHint, error) {
	p, err := jws.ParseIDToken(raw)
	if err != nil {
		return nil, &InvalidTokenError{Reason: "structure", Err: err}
	}
	k := s.ring.lookup(ctx, p.KID)
	switch {
	case k == nil:
		return nil, invalid("unknown kid")
	case string(p.Alg) != k.alg || k.alg == authd.AlgHS256:
		return nil, invalid("alg does not match the key's algorithm")
	}
	if err := k.method.Verify(p.SigningInput, p.Signature, k.verifier); err != nil {
		return nil, &InvalidTokenError{Reason: "signature", Err: errors.Join(jwt.ErrTokenSignatureInvalid, err)}
	}
	var c jws.IDClaims
	if err := json.Unmarshal(p.Payload, &c); err != nil {
		return nil, &InvalidTokenError{Reason: "claims", Err: err}
	}
	if c.Issuer != s.cfg.Issuer || c.Subject == "" || len(c.Audience) == 0 {
		return nil, invalid("iss, sub or aud")
	}
	return &IDTokenHint{Subject: c.Subject, SessionID: c.SessionID, Audience: c.Audience}, nil
}

// RevokeIssued revokes what one authorization code issued (a reused
// code, RFC 6749 §4.1.2): the access token with jti until it expires,
// and the refresh family familyID ("" for none) with its access tokens.
func (s *Service) RevokeIssued(ctx context.Context, jti, familyID string, issuedAt time.Time) error {
	if jti != "" {
		if err := s.revs.Revoke(ctx, authd.Revocation{Kind: authd.RevokeJTI, ID: jti, ExpiresAt: issuedAt.Add(s.cfg.AccessTTL + time.Minute)}); err != nil {
			return err
		}
	}
	if familyID == "" {
		return nil
	}
	now := s.cfg.Now()
	err := s.st.Refresh.RevokeFamily(ctx, familyID, now)
	if err != nil && !errors.Is(err, authd.ErrNotFound) {
		return fmt.Errorf("token: revoke family: %w", err)
	}
	return s.revs.Revoke(ctx, authd.Revocation{Kind: authd.RevokeSID, ID: familyID, ExpiresAt: now.Add(s.cfg.AccessTTL)})
}

// RevokeClient revokes every refresh family the user granted clientID,
// with their access tokens (consent withdrawn).
func (s *Service) RevokeClient(ctx context.Context, userID, clientID string) error {
	now := s.cfg.Now()
	fams, err := s.st.Refresh.RevokeClientFamilies(ctx, userID, clientID, now)
	if err != nil {
		return fmt.Errorf("token: revoke client's families: %w", err)
	}
	for _, f := range fams {
		if err := s.revs.Revoke(ctx, authd.Revocation{Kind: authd.RevokeSID, ID: f.ID, ExpiresAt: now.Add(s.cfg.AccessTTL)}); err != nil {
			return err
		}
	}
	return nil
}
