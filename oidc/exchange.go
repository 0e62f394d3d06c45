package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/token"
)

// errGrant is every refusal of a code: one answer, invalid_grant (RFC
// 6749 §5.2), whatever the reason; the reason goes to the log only.
var errGrant = fmt.Errorf("oidc: %w", authd.ErrInvalidGrant)

// Exchange redeems an authorization code for the client cl (already
// authenticated, or public and named by client_id): the authorization_code
// grant of /oauth2/token (RFC 6749 §4.1.3, RFC 7636 §4.6). Every refusal
// wraps authd.ErrInvalidGrant.
//
// NOTE: the code is redeemed (marked used, atomically, in the store)
// before anything is checked or minted: two exchanges racing with one
// code cannot both win (zitadel/oidc mints first and lets them race), and
// a wrong verifier or redirect URI burns the code, so a stolen code cannot
// be tried again. The jti and refresh family id are chosen before the
// redemption and recorded with it, so that a second presentation — which
// means the code leaked (RFC 6749 §4.1.2) — revokes exactly what the
// first one issued; and the first one looks again after minting, in case
// the second came while it was minting (SECURITY A2).
func (p *Provider) Exchange(ctx context.Context, cl *authd.Client, code, redirectURI, verifier string, opts ...token.IssueOption) (token.Pair, error) {
	clientID := cl.ID
	if len(code) != codeLen || !unreserved(code) {
		return token.Pair{}, errGrant
	}
	hash := hashCode(code)
	jti, familyID := authd.NewID(), authd.NewID()
	now := p.cfg.Now()
	c, first, err := p.st.Codes.RedeemCode(ctx, hash, now, jti, familyID)
	switch {
	case errors.Is(err, authd.ErrNotFound):
		return token.Pair{}, errGrant
	case err != nil:
		return token.Pair{}, fmt.Errorf("oidc: redeem code: %w", err)
	case !first:
		p.audit(ctx, authd.AuditEvent{Event: authd.EventCodeReuseDetected, UserID: c.UserID, SessionID: c.SessionID,
			Detail: "client " + c.ClientID + ": the tokens it issued are revoked"})
		if err := p.tokens.RevokeIssued(ctx, c.TokenID, c.FamilyID, c.UsedAt); err != nil {
			return token.Pair{}, err
		}
		return token.Pair{}, errGrant
	}
	if reason := checkCode(c, clientID, redirectURI, verifier, now); reason != "" {
		p.log.InfoContext(ctx, "oidc: code refused", "client_id", clientID, "reason", reason)
		return token.Pair{}, errGrant
	}
	// NOTE: a session that ended (logout, revocation, password change,
	// lock) is on the revocation list within milliseconds on every node:
	// an in-memory check, not a store read. A code outlives its session
	// by at most its 60 s only when the session merely expired.
	if ended, err := p.tokens.Revocations().SIDRevoked(c.SessionID); err != nil {
		return token.Pair{}, err
	} else if ended {
		return token.Pair{}, errGrant
	}
	user, err := p.st.Users.UserByID(ctx, c.UserID)
	switch {
	case errors.Is(err, authd.ErrNotFound):
		return token.Pair{}, errGrant
	case err != nil:
		return token.Pair{}, fmt.Errorf("oidc: load user: %w", err)
	case user.Locked:
		return token.Pair{}, errGrant
	}
	g := token.Grant{
		User: user, ClientID: clientID, Scopes: c.Scopes, Audience: c.Audience, SessionID: c.SessionID,
		Offline: slices.Contains(c.Scopes, ScopeOfflineAccess) && slices.Contains(cl.Grants, authd.GrantRefreshToken),
		TokenID: jti, FamilyID: familyID,
		OpenID: slices.Contains(c.Scopes, ScopeOpenID), Nonce: c.Nonce, AuthTime: c.AuthTime, AMR: c.AMR, ACR: c.ACR,
		Email: slices.Contains(c.Scopes, ScopeEmail), Public: !cl.Confidential(),
	}
	pair, err := p.tokens.IssueGrant(ctx, g, opts...)
	if err != nil {
		return token.Pair{}, err
	}
	if reused, err := p.st.Codes.CodeReused(ctx, hash); err != nil || reused {
		// Presented again while we minted: what we just issued dies too.
		if rerr := p.tokens.RevokeIssued(ctx, jti, familyID, now); rerr != nil {
			return token.Pair{}, rerr
		}
		if err != nil {
			return token.Pair{}, fmt.Errorf("oidc: check code: %w", err)
		}
		return token.Pair{}, errGrant
	}
	if cl.BackchannelLogoutURI != "" {
		if err := p.st.Links.LinkSessionClient(ctx, c.SessionID, clientID, c.UserID, now.Add(p.cfg.SessionMax)); err != nil {
			return token.Pair{}, fmt.Errorf("oidc: link session: %w", err)
		}
	}
	return pair, nil
}

// checkCode returns why c cannot be redeemed by clientID with redirectURI
// and verifier at now, or "" when it can.
func checkCode(c *authd.AuthCode, clientID, redirectURI, verifier string, now time.Time) string {
	switch {
	case c.ClientID != clientID:
		return "issued to another client"
	case now.After(c.ExpiresAt):
		return "expired"
	case c.RedirectURI != redirectURI:
		// NOTE: RFC 6749 §4.1.3: the redirect_uri of the token request
		// must be the one the code was sent to.
		return "redirect_uri differs"
	case !verifierMatches(verifier, c.Challenge):
		return "PKCE verifier does not match"
	}
	return ""
}

// verifierMatches checks a PKCE code_verifier against an S256 challenge
// (RFC 7636 §4.6): 43 to 128 unreserved characters whose SHA-256,
// base64url, is the challenge.
func verifierMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 || !unreserved(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}
