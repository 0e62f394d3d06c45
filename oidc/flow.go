package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/token"
)

// Step is what the authorization endpoint does next with a request.
type Step int

// Steps of the browser flow.
const (
	// StepSignIn: the user must sign in (again); send the browser to the
	// sign-in page, then back to Outcome.Return.
	StepSignIn Step = iota + 1
	// StepConsent: show the consent page.
	StepConsent
	// StepRedirect: send the browser to Outcome.Redirect (a code or an
	// error for the client).
	StepRedirect
)

// Outcome is the next step of an authorization request.
type Outcome struct {
	Step     Step
	Redirect string // StepRedirect
	// Return is the authorization request to come back to after signing
	// in (StepSignIn): its query, without what the sign-in satisfies.
	Return string
	// Reauth: a session exists but is not good enough (prompt=login,
	// max_age); the sign-in page must ask again.
	Reauth bool
}

// Authorize decides the next step of a checked request r for the browser
// session sess (nil when there is none).
func (p *Provider) Authorize(ctx context.Context, r *AuthRequest, sess *authd.Session) (Outcome, error) {
	redirect := func(code, desc string) (Outcome, error) {
		return Outcome{Step: StepRedirect, Redirect: p.ErrorRedirect(r, &RedirectError{code, desc})}, nil
	}
	now := p.cfg.Now()
	stale := sess != nil && (r.Has("login") || r.MaxAge >= 0 && now.Sub(sess.CreatedAt) > time.Duration(r.MaxAge)*time.Second)
	switch {
	case (sess == nil || stale) && r.Has("none"):
		// NOTE: prompt=none never shows a page (SECURITY A4).
		return redirect("login_required", "the user is not signed in")
	case sess == nil:
		return Outcome{Step: StepSignIn, Return: r.Query}, nil
	case stale:
		return Outcome{Step: StepSignIn, Return: reauthQuery(r.Query), Reauth: true}, nil
	}
	if slices.Contains(r.ACRValues, ACRTwoFactor) && authd.AAL(sessionAMR(sess)) < 2 {
		// NOTE: a request that asks for two factors gets them or an
		// error, never a weaker sign-in the client might not check: the
		// user signs in again (the second step follows when they have a
		// second factor); a user without one cannot meet it.
		has, err := p.hasSecondFactor(ctx, sess.UserID)
		switch {
		case err != nil:
			return Outcome{}, err
		case !has || r.Has("none"):
			return redirect("unmet_authentication_requirements", "this sign-in needs a second factor (acr aal2)")
		}
		return Outcome{Step: StepSignIn, Return: reauthQuery(r.Query), Reauth: true}, nil
	}
	need, err := p.needsConsent(ctx, r, sess.UserID)
	if err != nil {
		return Outcome{}, err
	}
	if need {
		if r.Has("none") {
			return redirect("consent_required", "the user has not approved this client")
		}
		return Outcome{Step: StepConsent}, nil
	}
	loc, err := p.issueCode(ctx, r, sess)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Step: StepRedirect, Redirect: loc}, nil
}

// reauthQuery is the request to come back to after a forced sign-in:
// without prompt=login and max_age, which the fresh sign-in satisfies
// (otherwise max_age=0 would send the user round for ever). The ID
// token's auth_time still tells the client when the user signed in.
func reauthQuery(raw string) string {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return raw
	}
	q.Del("max_age")
	if pr := strings.Fields(q.Get("prompt")); len(pr) > 0 {
		pr = slices.DeleteFunc(pr, func(v string) bool { return v == "login" })
		if len(pr) == 0 {
			q.Del("prompt")
		} else {
			q.Set("prompt", strings.Join(pr, " "))
		}
	}
	return q.Encode()
}

// needsConsent reports whether r needs the user's approval: a client
// that is not first-party, asking for a scope the user has not approved
// for it, or prompt=consent.
func (p *Provider) needsConsent(ctx context.Context, r *AuthRequest, userID string) (bool, error) {
	if r.Client.FirstParty {
		return false, nil
	}
	if r.Has("consent") {
		return true, nil
	}
	c, err := p.st.Consents.ConsentFor(ctx, userID, r.Client.ID)
	switch {
	case errors.Is(err, authd.ErrNotFound):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("oidc: read consent: %w", err)
	}
	for _, s := range r.Scopes {
		if !slices.Contains(c.Scopes, s) {
			return true, nil
		}
	}
	return false, nil
}

// sessionAMR is the authentication methods of sess: a session of before
// they were recorded was a password sign-in.
func sessionAMR(sess *authd.Session) []string {
	if len(sess.AMR) == 0 {
		return []string{authd.AMRPassword}
	}
	return sess.AMR
}

// ConsentToken is the anti-CSRF token of the consent form of request
// query for the session sess: an HMAC keyed by the session's hash.
//
// NOTE: the consent form is also protected by the cross-origin check of
// every cookie-authenticated POST and by frame-ancestors 'none'
// (SECURITY A4); this token binds the approval to the request the user
// saw and to their session, so a page cannot make the browser approve
// another request. The key is the SHA-256 of the cookie value: every node
// has it, and nobody without the cookie can compute it.
func ConsentToken(sess *authd.Session, query string) string {
	m := hmac.New(sha256.New, sess.Hash)
	m.Write([]byte("authd consent\x00"))
	m.Write([]byte(query))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// CheckConsentToken reports whether tok is ConsentToken(sess, query).
func CheckConsentToken(sess *authd.Session, query, tok string) bool {
	return hmac.Equal([]byte(ConsentToken(sess, query)), []byte(tok))
}

// Approve records the user's consent to r (adding its scopes to those
// already approved for the client) and issues the code.
func (p *Provider) Approve(ctx context.Context, r *AuthRequest, sess *authd.Session) (string, error) {
	scopes := slices.Clone(r.Scopes)
	old, err := p.st.Consents.ConsentFor(ctx, sess.UserID, r.Client.ID)
	switch {
	case err == nil:
		for _, s := range old.Scopes {
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	case !errors.Is(err, authd.ErrNotFound):
		return "", fmt.Errorf("oidc: read consent: %w", err)
	}
	if err := p.st.Consents.PutConsent(ctx, &authd.Consent{UserID: sess.UserID, ClientID: r.Client.ID, Scopes: scopes, GrantedAt: p.cfg.Now()}); err != nil {
		return "", fmt.Errorf("oidc: save consent: %w", err)
	}
	p.audit(ctx, authd.AuditEvent{Event: authd.EventConsentGranted, UserID: sess.UserID, SessionID: sess.ID,
		Detail: "client " + r.Client.ID + ": " + strings.Join(r.Scopes, " ")})
	return p.issueCode(ctx, r, sess)
}

// Deny answers r with access_denied.
func (p *Provider) Deny(r *AuthRequest) string {
	return p.ErrorRedirect(r, &RedirectError{"access_denied", "the user denied the request"})
}

// codeLen is the length of a code: 32 random bytes, base64url (256 bits,
// SECURITY A2).
const codeLen = 43

func hashCode(code string) []byte {
	h := sha256.Sum256([]byte(code))
	return h[:]
}

// issueCode makes a code for r and returns the redirect that carries it.
func (p *Provider) issueCode(ctx context.Context, r *AuthRequest, sess *authd.Session) (string, error) {
	b := make([]byte, 32)
	rand.Read(b)
	code := base64.RawURLEncoding.EncodeToString(b)
	now := p.cfg.Now()
	c := &authd.AuthCode{
		Hash: hashCode(code), ClientID: r.Client.ID, UserID: sess.UserID, SessionID: sess.ID,
		RedirectURI: r.RedirectURI, Challenge: r.Challenge, Nonce: r.Nonce, Scopes: r.Scopes,
		Audience: r.Resource, AuthTime: sess.CreatedAt, AMR: sessionAMR(sess), ACR: token.ACR(sessionAMR(sess)),
		CreatedAt: now, ExpiresAt: now.Add(CodeTTL),
	}
	if err := p.st.Codes.CreateCode(ctx, c); err != nil {
		return "", fmt.Errorf("oidc: save code: %w", err)
	}
	p.audit(ctx, authd.AuditEvent{Event: authd.EventCodeIssued, UserID: sess.UserID, SessionID: sess.ID, Detail: "client " + r.Client.ID})
	return p.redirectTo(r, url.Values{"code": {code}}), nil
}
