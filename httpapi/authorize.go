package httpapi

import (
	"errors"
	"mime"
	"net/http"
	"net/url"

	"github.com/authd/authd"
	"github.com/authd/authd/httpapi/pages"
	"github.com/authd/authd/oidc"
	"github.com/authd/authd/token"
)

// The authorization server's browser endpoints (API.md "Signing users in
// to other apps"): /oauth2/authorize, the consent form, RP-initiated
// logout. The rules are package oidc's; these handlers only move the
// browser between them and the pages.

const pathAuthorize = "/oauth2/authorize"

// handleAuthorize serves GET and POST /oauth2/authorize (OpenID Connect
// Core §3.1.2.1: both methods; a POST carries the parameters as a form,
// which is read into the same query string a GET would carry).
func (p *pageHandlers) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	op := p.s.deps.OIDC
	raw := r.URL.RawQuery
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
			p.messageWith(w, r, http.StatusBadRequest, "This sign-in request is not valid",
				"An authorization request sent by POST must be a form (application/x-www-form-urlencoded) of at most 64 KiB.")
			return
		}
		raw = r.PostForm.Encode()
	}
	req, err := op.ParseAuthorize(r.Context(), raw)
	if !p.authorizeError(w, r, req, err) {
		return
	}
	_, sess, err := p.s.fromSession(r.Context(), r)
	switch {
	case errors.Is(err, authd.ErrUnauthenticated):
		sess = nil
	case err != nil:
		p.fail(w, r, err)
		return
	}
	p.authorizeStep(w, r, req, sess)
}

// authorizeStep decides and takes the next step of req.
func (p *pageHandlers) authorizeStep(w http.ResponseWriter, r *http.Request, req *oidc.AuthRequest, sess *authd.Session) {
	out, err := p.s.deps.OIDC.Authorize(r.Context(), req, sess)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	switch out.Step {
	case oidc.StepRedirect:
		http.Redirect(w, r, out.Redirect, http.StatusFound)
	case oidc.StepSignIn:
		q := url.Values{"return": {pathAuthorize + "?" + out.Return}}
		if out.Reauth {
			q.Set("reauth", "1")
		}
		if req.LoginHint != "" {
			q.Set("login_hint", req.LoginHint)
		}
		p.r.SeeOther(w, pathLogin+"?"+q.Encode())
	case oidc.StepConsent:
		p.render(w, r, http.StatusOK, "consent", consentView(req, sess))
	}
}

// authorizeError answers a request that ParseAuthorize refused and
// reports whether there was nothing to answer.
func (p *pageHandlers) authorizeError(w http.ResponseWriter, r *http.Request, req *oidc.AuthRequest, err error) bool {
	var pe *oidc.PageError
	var re *oidc.RedirectError
	switch {
	case err == nil:
		return true
	case errors.As(err, &pe):
		// NOTE: never redirected: the client or its redirect URI is not
		// established (SECURITY A1).
		p.messageWith(w, r, http.StatusBadRequest, "This sign-in request is not valid",
			pages.Sentence(pe.Reason)+" Go back to the app you came from and try again; if it keeps happening, tell the app's owner.")
	case errors.As(err, &re):
		http.Redirect(w, r, p.s.deps.OIDC.ErrorRedirect(req, re), http.StatusFound)
	default:
		p.fail(w, r, err)
	}
	return false
}

// messageWith is message without the link back to sign-in when the
// visitor came from another app.
func (p *pageHandlers) messageWith(w http.ResponseWriter, r *http.Request, status int, heading, text string) {
	p.render(w, r, status, "message", pages.MessagePage{Page: pages.Page{Title: heading}, Heading: heading, Text: text})
}

// consentView is the consent page of req.
func consentView(req *oidc.AuthRequest, sess *authd.Session) pages.ConsentPage {
	name := req.Client.Name
	if name == "" {
		name = req.Client.ID
	}
	v := pages.ConsentPage{
		Page:       pages.Page{Title: "Allow " + name + "?", SignedInAs: sess.Email, FormTargets: []string{req.RedirectURI}},
		ClientName: name, ClientID: req.Client.ID, RedirectHost: hostOf(req.RedirectURI),
		Request: req.Query, CSRF: oidc.ConsentToken(sess, req.Query),
	}
	for _, s := range req.Scopes {
		v.Scopes = append(v.Scopes, pages.ScopeText(s))
	}
	return v
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Host
}

// handleConsent serves POST /oauth2/consent: the approve and deny buttons
// of the consent page.
func (p *pageHandlers) handleConsent(w http.ResponseWriter, r *http.Request, sess *authd.Session) {
	var query, csrf, decision string
	if !p.form(w, r, map[string]*string{"request": &query, "csrf": &csrf, "decision": &decision}) {
		return
	}
	op := p.s.deps.OIDC
	req, err := op.ParseAuthorize(r.Context(), query)
	if !p.authorizeError(w, r, req, err) {
		return
	}
	// NOTE: the token binds the decision to this session and this request
	// (SECURITY A4); the cross-origin check has already refused a POST
	// from another site.
	if !oidc.CheckConsentToken(sess, query, csrf) {
		p.messageWith(w, r, http.StatusForbidden, "This approval cannot be used",
			"The approval form was not made for this session. Go back to the app you came from and sign in again.")
		return
	}
	switch decision {
	case "approve":
		loc, err := op.Approve(r.Context(), req, sess)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		http.Redirect(w, r, loc, http.StatusSeeOther)
	case "deny":
		http.Redirect(w, r, op.Deny(req), http.StatusSeeOther)
	default:
		p.messageWith(w, r, http.StatusBadRequest, "This form could not be read", "Choose Allow or Deny.")
	}
}

// handleEndSession serves GET /oauth2/logout (RP-Initiated Logout 1.0).
//
// NOTE: with a valid id_token_hint the client proves that it signed this
// user in, so the session ends at once; without one, any page could link
// here, so the user confirms first (no logout CSRF).
func (p *pageHandlers) handleEndSession(w http.ResponseWriter, r *http.Request) {
	lr, err := p.s.deps.OIDC.ParseLogout(r.Context(), r.URL.Query())
	if !p.logoutError(w, r, err) {
		return
	}
	_, sess, err := p.s.fromSession(r.Context(), r)
	switch {
	case errors.Is(err, authd.ErrUnauthenticated):
		sess = nil
	case err != nil:
		p.fail(w, r, err)
		return
	}
	switch {
	case lr.Hint != nil:
		if err := p.endHinted(w, r, lr.Hint, sess); err != nil {
			p.fail(w, r, err)
			return
		}
		p.signedOut(w, r, lr)
	case sess == nil:
		p.signedOut(w, r, lr) // nothing to end
	default:
		q := r.URL.Query()
		v := pages.LogoutPage{
			Page:     pages.Page{Title: "Sign out?", SignedInAs: sess.Email, FormTargets: []string{lr.Redirect}},
			ClientID: q.Get("client_id"), RedirectURI: q.Get("post_logout_redirect_uri"), State: q.Get("state"),
			CSRF: oidc.ConsentToken(sess, "logout"),
		}
		if lr.Client != nil {
			v.ClientName = lr.Client.Name
			if v.ClientName == "" {
				v.ClientName = lr.Client.ID
			}
		}
		p.render(w, r, http.StatusOK, "logout", v)
	}
}

// endHinted ends the session the hint names: the browser's own session
// when it is the hint's user's (its cookie is cleared), and the hint's sid
// in any case (the browser may have lost its cookie).
func (p *pageHandlers) endHinted(w http.ResponseWriter, r *http.Request, h *token.IDTokenHint, sess *authd.Session) error {
	sub, sid := h.Subject, h.SessionID
	if sess != nil && sess.UserID == sub {
		return p.s.logout(w, r)
	}
	if sid == "" {
		return nil
	}
	err := p.s.deps.Sessions.Revoke(r.Context(), sub, sid)
	if err != nil && !errors.Is(err, authd.ErrNotFound) {
		return err
	}
	if err == nil {
		m := p.s.meta(r)
		p.s.deps.Accounts.Record(r.Context(), authd.AuditEvent{Event: authd.EventLogout, UserID: sub, SessionID: sid, IP: m.IP, UserAgent: m.UserAgent, Detail: "RP-initiated logout"})
	}
	return nil
}

// handleEndSessionForm serves POST /oauth2/logout: the confirmation.
func (p *pageHandlers) handleEndSessionForm(w http.ResponseWriter, r *http.Request) {
	var clientID, redirectURI, state, csrf string
	if !p.form(w, r, map[string]*string{"client_id": &clientID, "post_logout_redirect_uri": &redirectURI, "state": &state, "csrf": &csrf}) {
		return
	}
	q := url.Values{}
	for k, v := range map[string]string{"client_id": clientID, "post_logout_redirect_uri": redirectURI, "state": state} {
		if v != "" {
			q.Set(k, v)
		}
	}
	lr, err := p.s.deps.OIDC.ParseLogout(r.Context(), q)
	if !p.logoutError(w, r, err) {
		return
	}
	_, sess, err := p.s.fromSession(r.Context(), r)
	switch {
	case errors.Is(err, authd.ErrUnauthenticated):
		p.signedOut(w, r, lr)
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	if !oidc.CheckConsentToken(sess, "logout", csrf) {
		p.messageWith(w, r, http.StatusForbidden, "This sign-out form cannot be used", "The form was not made for this session. You are still signed in.")
		return
	}
	if err := p.s.logout(w, r); err != nil {
		p.fail(w, r, err)
		return
	}
	p.signedOut(w, r, lr)
}

func (p *pageHandlers) logoutError(w http.ResponseWriter, r *http.Request, err error) bool {
	var pe *oidc.PageError
	switch {
	case err == nil:
		return true
	case errors.As(err, &pe):
		p.messageWith(w, r, http.StatusBadRequest, "This sign-out request is not valid", pages.Sentence(pe.Reason))
	default:
		p.fail(w, r, err)
	}
	return false
}

// signedOut answers a finished logout: back to the client (302 from the
// GET of RP-Initiated Logout, 303 after the confirmation form), or a page.
func (p *pageHandlers) signedOut(w http.ResponseWriter, r *http.Request, lr *oidc.LogoutRequest) {
	if lr.Redirect != "" {
		status := http.StatusFound
		if r.Method == http.MethodPost {
			status = http.StatusSeeOther
		}
		http.Redirect(w, r, lr.Redirect, status)
		return
	}
	p.render(w, r, http.StatusOK, "message", pages.MessagePage{Page: pages.Page{Title: "Signed out"},
		Heading: "You are signed out", Text: "You can close this window.", Link: pathLogin, LinkText: "Sign in again"})
}

// handleUserInfo serves GET and POST /oauth2/userinfo (OpenID Connect
// Core §5.3).
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	challenge := func(desc string) {
		// RFC 6750 §3.
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+desc+`"`)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_token", desc)
	}
	scheme, tok, present, err := credential(r)
	if !present {
		w.Header().Set("WWW-Authenticate", `Bearer realm="authd"`)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_token", "a bearer access token is required")
		return
	}
	if err != nil {
		challenge("the Authorization header is not a bearer token")
		return
	}
	// refused answers err: a refused token is a challenge with desc, a
	// store failure its status.
	refused := func(err error, desc string) bool {
		switch {
		case err == nil:
			return false
		case errors.Is(err, authd.ErrUnauthenticated):
			challenge(desc)
		default:
			s.failOAuth(w, r, err)
		}
		return true
	}
	c, err := s.deps.Verifier.Verify(r.Context(), tok)
	if refused(err, "the access token is not valid") {
		return
	}
	if err := s.checkBinding(r, scheme, tok, c); err != nil {
		if detail, ok := s.dpopChallenge(w, err); ok {
			writeOAuthError(w, http.StatusUnauthorized, "invalid_token", detail)
			return
		}
		s.failOAuth(w, r, err)
		return
	}
	info, err := s.deps.OIDC.UserInfo(r.Context(), c)
	if refused(err, "the access token does not grant the openid scope") {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, info)
}

// Connected apps on /account.

// handleRevokeAppForm serves POST /account/apps/revoke.
func (p *pageHandlers) handleRevokeAppForm(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	var clientID string
	if !p.form(w, r, map[string]*string{"client_id": &clientID}) {
		return
	}
	err := p.s.deps.OIDC.RevokeConsent(r.Context(), cur.UserID, cur.ID, clientID)
	switch {
	case err == nil:
		p.r.SeeOther(w, pathAccount+"?notice=app-revoked")
	case errors.Is(err, authd.ErrNotFound):
		p.r.SeeOther(w, pathAccount)
	default:
		p.fail(w, r, err)
	}
}

// appViews lists the user's connected apps for the account page.
func (p *pageHandlers) appViews(r *http.Request, userID string) ([]pages.AppView, error) {
	if p.s.deps.OIDC == nil {
		return nil, nil
	}
	apps, err := p.s.deps.OIDC.ConnectedApps(r.Context(), userID)
	if err != nil {
		return nil, err
	}
	now := p.s.cfg.Now()
	out := make([]pages.AppView, 0, len(apps))
	for _, a := range apps {
		v := pages.AppView{ClientID: a.ClientID, Name: a.Name, Granted: pages.NewTime(a.GrantedAt, now)}
		for _, s := range a.Scopes {
			v.Scopes = append(v.Scopes, pages.ScopeText(s))
		}
		out = append(out, v)
	}
	return out, nil
}
