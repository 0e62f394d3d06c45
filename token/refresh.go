package token

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/authd/authd"
)

// ErrReuseDetected is wrapped (together with authd.ErrInvalidGrant) in the
// error Refresh returns when a spent refresh token was presented again after
// the grace window: the family has been revoked.
var ErrReuseDetected = errors.New("token: refresh token reuse detected")

// refreshTokenLen is the length of a refresh token: 32 bytes, base64url.
const refreshTokenLen = 43

// looksLikeRefreshToken reports whether s has the shape of a refresh token:
// 43 strict base64url characters (32 bytes).
func looksLikeRefreshToken(s string) bool {
	if len(s) != refreshTokenLen {
		return false
	}
	var b [32]byte
	// Strict: no padding, no non-zero trailing bits; a line break (which
	// a decoder skips) leaves fewer than 32 bytes.
	n, err := base64.RawURLEncoding.Strict().Decode(b[:], []byte(s))
	return err == nil && n == len(b)
}

// hashRefresh is what the store keeps of a refresh token.
//
// NOTE: only the SHA-256 of a refresh token is stored: a leaked database
// holds no usable token. A fast hash is right here: the token has 256 bits
// of entropy, so there is nothing to brute-force.
func hashRefresh(tok string) []byte {
	h := sha256.Sum256([]byte(tok))
	return h[:]
}

// successor derives the token that replaces tok in its family.
//
// NOTE: the successor is HMAC-SHA256(family secret, presented token), not a
// fresh random value. A client that retries a refresh (lost response, two
// tabs racing) inside the grace window therefore gets the very same
// successor, never a second independent one: at no time do two live refresh
// tokens exist in a family. It is as unpredictable as a random token to
// anyone without the family's 256-bit secret, which lives only in the store.
func successor(secret []byte, tok string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(tok))
	return b64(m.Sum(nil))
}

// IssuePair runs after a successful password grant: it starts a new refresh
// family for user and returns an access token and the family's first refresh
// token (the user must not be locked: authd.ErrInvalidCredentials).
// audience narrows aud (RFC 8707 resource); empty means
// Config.Audiences; a value not in Config.Audiences gives an error wrapping
// ErrInvalidTarget. The caller has authenticated the user.
func (s *Service) IssuePair(ctx context.Context, user *authd.User, audience []string, opts ...IssueOption) (Pair, error) {
	o := issueOpts(opts)
	if user.Locked {
		return Pair{}, authd.ErrInvalidCredentials // defence in depth: the caller checks too
	}
	aud, err := s.narrow(audience)
	if err != nil {
		return Pair{}, err
	}
	now := s.cfg.Now()
	f := &authd.RefreshFamily{
		ID:         randomString(16),
		UserID:     user.ID,
		Audience:   aud,
		Secret:     randomBytes(32),
		Generation: 1,
		CreatedAt:  now,
		LastUsedAt: now,
		ExpiresAt:  now.Add(s.cfg.RefreshTTL),
		// NOTE: the password grant names no client, so nothing but the
		// token authenticates a refresh: a DPoP key binds the family.
		JKT: o.jkt,
	}
	tok := randomString(32)
	if err := s.st.Refresh.CreateFamily(ctx, f, hashRefresh(tok)); err != nil {
		return Pair{}, fmt.Errorf("token: create refresh family: %w", err)
	}
	p, err := s.issueAccess(subject{id: user.ID, email: user.Email, roles: user.Roles, sid: f.ID, amr: []string{authd.AMRPassword}, jkt: o.jkt}, aud)
	if err != nil {
		return Pair{}, err
	}
	p.RefreshToken = tok
	return p, nil
}

// narrow checks requested audiences against Config.Audiences.
func (s *Service) narrow(audience []string) ([]string, error) {
	if len(audience) == 0 {
		return slices.Clone(s.cfg.Audiences), nil
	}
	var aud []string
	for _, a := range audience {
		if !slices.Contains(s.cfg.Audiences, a) {
			return nil, fmt.Errorf("%w: %q is not an audience of this issuer", ErrInvalidTarget, a)
		}
		if !slices.Contains(aud, a) {
			aud = append(aud, a)
		}
	}
	return aud, nil
}

// refreshOutcome is what the rules decided inside the store transaction.
type refreshOutcome int

const (
	outcomeRefused refreshOutcome = iota
	outcomeRotated
	outcomeRetried
	outcomeReuse
)

var errGrant = fmt.Errorf("token: refresh token not usable: %w", authd.ErrInvalidGrant)

// familyDead reports why f can no longer be used at now, or "".
func (s *Service) familyDead(f *authd.RefreshFamily, now time.Time) string {
	switch {
	case f.Revoked():
		return "revoked"
	case !now.Before(f.ExpiresAt):
		return "expired"
	case now.Sub(f.LastUsedAt) > s.cfg.RefreshIdle:
		return "idle"
	}
	return ""
}

// Refresh runs the refresh grant: it spends tok and returns a new access
// token and tok's successor. Unknown, malformed, spent, revoked and expired
// tokens give an error wrapping authd.ErrInvalidGrant; a store failure gives
// its own error (authd.ErrUnavailable: 503). The rules are in the package
// documentation ("Refresh tokens").
//
// clientID is the client that authenticated for the request ("" when
// none did). A family granted to a client (RefreshFamily.ClientID) is
// refreshed only by that client; anyone else's attempt is invalid_grant
// and changes nothing: it spends no token and is not reuse.
//
// NOTE: OpenID Connect Core §12.2 and RFC 6749 §6 bind a refresh token to
// the client it was issued to; without the check, a confidential client's
// stolen refresh token would work without its secret.
//
// A family bound to a DPoP key (BoundTo at its start) refreshes only with
// a proof of that key (opts has BoundTo with the same thumbprint);
// otherwise the answer is ErrInvalidGrant and nothing changes (RFC 9449
// §5). The new access token is bound to the proof's key when there is one.
func (s *Service) Refresh(ctx context.Context, tok, clientID string, opts ...IssueOption) (Pair, error) {
	if !looksLikeRefreshToken(tok) {
		return Pair{}, errGrant
	}
	o := issueOpts(opts)
	var outcome refreshOutcome
	var spentGen int
	fam, err := s.st.Refresh.UpdateFamilyByToken(ctx, hashRefresh(tok), func(f *authd.RefreshFamily, gen int) ([]byte, error) {
		now := s.cfg.Now()
		outcome, spentGen = outcomeRefused, gen
		if f.ClientID != "" && f.ClientID != clientID {
			return nil, errGrant
		}
		if f.JKT != "" && subtle.ConstantTimeCompare([]byte(f.JKT), []byte(o.jkt)) != 1 {
			// NOTE: a bound family's token without a proof of its key is
			// worth nothing to a thief; refused before any state changes,
			// so it is not reuse either.
			return nil, errGrant
		}
		if s.familyDead(f, now) != "" {
			return nil, errGrant
		}
		switch {
		case gen == f.Generation:
			// The live token: rotate.
			f.Generation++
			f.RotatedAt = now
			f.LastUsedAt = now
			outcome = outcomeRotated
			return hashRefresh(successor(f.Secret, tok)), nil
		case gen == f.Generation-1 && now.Sub(f.RotatedAt) <= s.cfg.RefreshGrace:
			// The token spent by the last rotation, inside the grace
			// window: its successor is the live token; hand it out again.
			f.LastUsedAt = now
			outcome = outcomeRetried
			return nil, nil
		default:
			// NOTE: a spent token presented again means two parties hold
			// the family's tokens, and we cannot tell the thief from the
			// user: the whole family dies (RFC 9700 §4.14.2, SECURITY R2).
			// Only this family: the user's other families and sessions are
			// other devices, untouched by this leak (unlike Keycloak
			// #16081, which revoked them all).
			f.RevokedAt = now
			outcome = outcomeReuse
			return nil, nil
		}
	})
	switch {
	case errors.Is(err, authd.ErrNotFound) || errors.Is(err, errGrant):
		return Pair{}, errGrant
	case err != nil:
		return Pair{}, fmt.Errorf("token: refresh: %w", err)
	}
	if outcome == outcomeReuse {
		return Pair{}, s.reuseDetected(ctx, fam, spentGen)
	}
	user, err := s.st.Users.UserByID(ctx, fam.UserID)
	switch {
	case errors.Is(err, authd.ErrNotFound):
		return Pair{}, errGrant
	case err != nil:
		return Pair{}, fmt.Errorf("token: refresh: load user: %w", err)
	case user.Locked:
		return Pair{}, errGrant
	}
	p, err := s.issueAccess(subject{id: user.ID, email: user.Email, roles: user.Roles, sid: fam.ID,
		clientID: fam.ClientID, scope: strings.Join(fam.Scopes, " "), jkt: o.jkt}, fam.Audience)
	if err != nil {
		return Pair{}, err
	}
	p.RefreshToken = successor(fam.Secret, tok)
	p.Scope = strings.Join(fam.Scopes, " ")
	detail := fmt.Sprintf("generation %d", fam.Generation)
	if outcome == outcomeRetried {
		detail += " (retry inside grace window)"
	}
	s.audit(ctx, authd.AuditEvent{Event: authd.EventRefreshRotated, UserID: fam.UserID, SessionID: fam.ID, Detail: detail})
	return p, nil
}

// reuseDetected finishes a reuse: the family is already revoked in the
// store; its access tokens go on the revocation list until the last of them
// has expired, and the event is audited.
func (s *Service) reuseDetected(ctx context.Context, fam *authd.RefreshFamily, gen int) error {
	s.log.Warn("token: refresh token reuse detected; family revoked", "family", fam.ID, "user", fam.UserID, "generation", gen, "live_generation", fam.Generation)
	s.audit(ctx, authd.AuditEvent{Event: authd.EventRefreshReuseDetected, UserID: fam.UserID, SessionID: fam.ID,
		Detail: fmt.Sprintf("spent generation %d presented; live generation %d; family revoked", gen, fam.Generation)})
	rev := authd.Revocation{Kind: authd.RevokeSID, ID: fam.ID, ExpiresAt: fam.RevokedAt.Add(s.cfg.AccessTTL)}
	if err := s.revs.Revoke(ctx, rev); err != nil {
		return fmt.Errorf("token: refresh reuse: family revoked, its access tokens not: %w", err)
	}
	return fmt.Errorf("token: refresh: %w", errors.Join(ErrReuseDetected, authd.ErrInvalidGrant))
}

// RevokeRefreshToken revokes the family of tok (RFC 7009) and puts the
// family's sid on the revocation list, so its access tokens die too. Any
// token of the family, live or spent, revokes it. An unknown or malformed
// token is not an error; errors are store failures only.
func (s *Service) RevokeRefreshToken(ctx context.Context, tok string) error {
	if !looksLikeRefreshToken(tok) {
		return nil
	}
	revoked := false
	fam, err := s.st.Refresh.UpdateFamilyByToken(ctx, hashRefresh(tok), func(f *authd.RefreshFamily, gen int) ([]byte, error) {
		revoked = false
		if f.Revoked() {
			return nil, nil
		}
		f.RevokedAt = s.cfg.Now()
		revoked = true
		return nil, nil
	})
	switch {
	case errors.Is(err, authd.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("token: revoke refresh token: %w", err)
	case !revoked:
		return nil
	}
	if err := s.revs.Revoke(ctx, authd.Revocation{Kind: authd.RevokeSID, ID: fam.ID, ExpiresAt: fam.RevokedAt.Add(s.cfg.AccessTTL)}); err != nil {
		return err
	}
	s.audit(ctx, authd.AuditEvent{Event: authd.EventTokenRevoked, UserID: fam.UserID, SessionID: fam.ID, Detail: "refresh token family"})
	return nil
}

// RevokeUser revokes every refresh family of the user and puts their sids
// on the revocation list (password change, lock). Sessions and the tokens
// exchanged from them are the session layer's: call RevokeSID for each
// session id it deletes.
func (s *Service) RevokeUser(ctx context.Context, userID string) error {
	now := s.cfg.Now()
	fams, err := s.st.Refresh.RevokeUserFamilies(ctx, userID, now)
	if err != nil {
		return fmt.Errorf("token: revoke user's families: %w", err)
	}
	for _, f := range fams {
		at := f.RevokedAt
		if at.IsZero() {
			at = now
		}
		if err := s.revs.Revoke(ctx, authd.Revocation{Kind: authd.RevokeSID, ID: f.ID, ExpiresAt: at.Add(s.cfg.AccessTTL)}); err != nil {
			return err
		}
	}
	return nil
}
