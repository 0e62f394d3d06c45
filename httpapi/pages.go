package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/account"
	"github.com/authd/authd/httpapi/pages"
	"github.com/authd/authd/oidc"
)

// pageHandlers serve the HTML pages (issue #5). They call the same services
// and helpers as the JSON API (s.login, s.logout, s.fromSession, ...);
// package pages owns the templates, the assets and the security headers.
// See pages/doc.go for the design and the security reasoning.
type pageHandlers struct {
	s *Server
	r *pages.Renderer
}

func (s *Server) newPages() *pageHandlers {
	return &pageHandlers{s: s, r: pages.New(pages.Options{TLS: s.cfg.TLS})}
}

// Page paths.
const (
	pathLogin        = "/login"
	pathAccount      = "/account"
	pathSecondFactor = "/login/second-factor"
)

func (p *pageHandlers) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	if err := p.r.Render(w, status, name, data); err != nil {
		p.s.log.ErrorContext(r.Context(), "page failed", "route", r.Pattern, "page", name, "err", err)
	}
}

// message answers a page that only says something.
func (p *pageHandlers) message(w http.ResponseWriter, r *http.Request, status int, heading, text string) {
	m := pages.MessagePage{Page: pages.Page{Title: heading}, Heading: heading, Text: text, Link: "/", LinkText: "Go to sign in"}
	// A page of a mailed link (linkPage) keeps no-referrer in its meta
	// tag too.
	m.NoReferrer = w.Header().Get("Referrer-Policy") == pages.ReferrerNone
	if _, sess, err := p.s.fromSession(r.Context(), r); err == nil {
		m.SignedInAs = sess.Email
		m.Link, m.LinkText = pathAccount, "Go to your account"
	}
	p.render(w, r, status, "message", m)
}

// fail answers an error as a page: never a raw error or a stack trace.
func (p *pageHandlers) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, detail := errorStatus(err)
	switch {
	case errors.Is(err, authd.ErrMailUnavailable):
		p.message(w, r, status, "This server cannot send mail",
			"authd on this server is not set up to send mail, so it cannot send you a link. Nothing was changed. Ask your administrator for help.")
	case status == http.StatusServiceUnavailable:
		p.message(w, r, status, "Try again in a moment", "authd cannot reach its data store right now, so it cannot check who you are. Nothing was changed. Try again shortly.")
	case status >= 500:
		p.s.log.ErrorContext(r.Context(), "page request failed", "route", r.Pattern, "status", status, "err", err)
		p.message(w, r, status, "Something went wrong", "authd could not finish this request. Try again; if it keeps happening, tell your administrator (request "+requestID(r.Context())+").")
	default:
		p.message(w, r, status, http.StatusText(status), pages.Sentence(detail))
	}
}

// form reads a posted form into fields (bounded, no repeated fields), or
// answers an error page and returns false.
func (p *pageHandlers) form(w http.ResponseWriter, r *http.Request, fields map[string]*string) bool {
	err := decodeBody(w, r, true, fields)
	if err == nil {
		return true
	}
	var eb *errBody
	if errors.As(err, &eb) {
		p.message(w, r, eb.status, "This form could not be read", pages.Sentence(eb.detail))
		return false
	}
	p.fail(w, r, err)
	return false
}

// withSession runs h for a request with a live session. Without one the
// browser is sent to sign in (303); when it came with a session cookie that
// is no longer live (expired, revoked elsewhere), the dead cookie is
// cleared and the sign-in page says that the session ended.
func (p *pageHandlers) withSession(h func(w http.ResponseWriter, r *http.Request, sess *authd.Session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, sess, err := p.s.fromSession(r.Context(), r)
		switch {
		case err == nil:
			h(w, r, sess)
		case errors.Is(err, authd.ErrUnauthenticated):
			loc := pathLogin
			if _, present := p.s.sessionCookie(r); present {
				p.s.clearSessionCookie(w)
				loc += "?notice=ended"
			}
			p.r.SeeOther(w, loc)
		default:
			p.fail(w, r, err)
		}
	}
}

// returnTo is where a successful sign-in goes: the validated return path,
// else /account.
func returnTo(raw string) string {
	if v, ok := pages.SafeReturn(raw); ok {
		return v
	}
	return pathAccount
}

func (p *pageHandlers) signInPage(r *http.Request) pages.SignInPage {
	ret, _ := pages.SafeReturn(r.URL.Query().Get("return"))
	return pages.SignInPage{Page: pages.Page{Title: "Sign in", FormTargets: p.returnTargets(r, ret)},
		Return: ret, Signup: p.s.cfg.Signup, Focus: "login-email",
		Passkeys: p.passkeysOn(), Next: returnTo(ret), Providers: p.providers()}
}

// returnTargets are the outside URIs a sign-in returning to ret may end
// at: the client's redirect URI when ret is an authorization request that
// names a registered one.
func (p *pageHandlers) returnTargets(r *http.Request, ret string) []string {
	q, ok := strings.CutPrefix(ret, pathAuthorize+"?")
	if !ok || p.s.deps.OIDC == nil {
		return nil
	}
	req, err := p.s.deps.OIDC.ParseAuthorize(r.Context(), q)
	if req == nil || err != nil && !errors.As(err, new(*oidc.RedirectError)) {
		return nil
	}
	return []string{req.RedirectURI}
}

// handleSignIn serves GET / and GET /login: the sign-in and sign-up forms.
// A browser that is already signed in goes straight on.
//
// With reauth=1 (an app asked for a fresh sign-in: prompt=login, max_age)
// the form is shown to a signed-in user too; signing in ends the old
// session. login_hint (OpenID Connect) fills in the email.
func (p *pageHandlers) handleSignIn(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	reauth := q.Get("reauth") == "1"
	if _, _, err := p.s.fromSession(r.Context(), r); err == nil && !reauth {
		p.r.SeeOther(w, returnTo(q.Get("return")))
		return
	}
	v := p.signInPage(r)
	v.Reauth = reauth
	if reauth {
		// NOTE: a signed-in browser that goes to a provider links the
		// identity rather than signing in again (upstream.go): no
		// buttons when the page asks for a fresh sign-in.
		v.Providers = nil
	}
	if h := q.Get("login_hint"); len(h) <= 254 && strings.Contains(h, "@") {
		v.Login.Email = h
		v.Focus = "login-password"
	}
	v.Notice = pages.NoticeFor(r.URL.Query().Get("notice"))
	p.render(w, r, http.StatusOK, "signin", v)
}

// redirect answers a GET with a redirect to the page at to (a constant).
func (p *pageHandlers) redirect(to string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { p.r.SeeOther(w, to) }
}

// credentialsForm reads the email, password and return fields that the
// sign-in and sign-up forms post, and starts the page that answers them. It
// reports false when it has answered the request itself (a bad body).
func (p *pageHandlers) credentialsForm(w http.ResponseWriter, r *http.Request) (email, pw, ret string, v pages.SignInPage, ok bool) {
	if !p.form(w, r, map[string]*string{"email": &email, "password": &pw, "return": &ret}) {
		return "", "", "", v, false
	}
	v = p.signInPage(r)
	v.Return, _ = pages.SafeReturn(ret)
	v.FormTargets = p.returnTargets(r, v.Return)
	v.Next = returnTo(v.Return)
	return email, pw, ret, v, true
}

// handleLoginForm serves POST /login.
func (p *pageHandlers) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	email, pw, ret, v, ok := p.credentialsForm(w, r)
	if !ok {
		return
	}
	v.Login.Email = email
	switch {
	case email == "":
		v.Login.SetErr("email", "Enter your email address")
		v.Focus = "login-email"
	case pw == "":
		v.Login.SetErr("password", "Enter your password")
		v.Focus = "login-password"
	}
	if v.Login.Errors != nil {
		p.render(w, r, http.StatusBadRequest, "signin", v)
		return
	}
	_, sess, _, err := p.s.login(w, r, email, pw)
	var thr *authd.ThrottledError
	switch {
	case err == nil && sess.Pending:
		loc := pathSecondFactor
		if ret, ok := pages.SafeReturn(ret); ok {
			loc += "?" + url.Values{"return": {ret}}.Encode()
		}
		p.r.SeeOther(w, loc)
	case err == nil:
		p.r.SeeOther(w, returnTo(ret))
	case errors.As(err, &thr):
		w.Header().Set("Retry-After", retryAfter(thr.RetryAfter))
		v.Login.Error = pages.TryAgain(thr.RetryAfter)
		v.Focus = ""
		p.render(w, r, http.StatusTooManyRequests, "signin", v)
	case errors.Is(err, authd.ErrInvalidCredentials):
		// NOTE: unknown email, wrong password and locked account read the
		// same (P4): the service returns one error for all three.
		v.Login.SetErr("password", "The email or password is wrong")
		v.Focus = "login-password"
		p.render(w, r, http.StatusUnauthorized, "signin", v)
	default:
		p.fail(w, r, err)
	}
}

// handleSignupForm serves POST /signup: create the account, then sign in.
func (p *pageHandlers) handleSignupForm(w http.ResponseWriter, r *http.Request) {
	email, pw, ret, v, ok := p.credentialsForm(w, r)
	if !ok {
		return
	}
	v.Register.Email = email
	v.Focus = "signup-email"
	if !p.s.cfg.Signup {
		v.Signup = true // show the form with its answer
		v.Register.Error = "Sign-up is closed on this server. Ask an administrator for an account."
		p.render(w, r, http.StatusForbidden, "signin", v)
		return
	}
	_, err := p.s.deps.Accounts.Register(r.Context(), email, pw)
	var inv *authd.InvalidError
	switch {
	case errors.Is(err, authd.ErrConflict):
		v.Register.SetErr("email", "An account with this email already exists. Sign in instead")
		p.render(w, r, http.StatusConflict, "signin", v)
		return
	case errors.As(err, &inv):
		field := "email"
		if inv.Field == "password" {
			field, v.Focus = "password", "signup-password"
		}
		v.Register.SetErr(field, inv.Message)
		p.render(w, r, http.StatusBadRequest, "signin", v)
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	if _, _, _, err := p.s.login(w, r, email, pw); err != nil {
		// The account exists; only signing in failed (the IP throttle, a
		// store): let the person sign in by hand.
		v = p.signInPage(r)
		v.Return, _ = pages.SafeReturn(ret)
		v.FormTargets = p.returnTargets(r, v.Return)
		v.Next = returnTo(v.Return)
		v.Login.Email = email
		v.Notice = &pages.Notice{Kind: "success", Text: "Your account is created. Sign in to continue."}
		var thr *authd.ThrottledError
		if errors.As(err, &thr) {
			v.Login.Error = pages.TryAgain(thr.RetryAfter)
		}
		p.render(w, r, http.StatusOK, "signin", v)
		return
	}
	p.r.SeeOther(w, returnTo(ret))
}

// handleLogoutForm serves POST /logout.
func (p *pageHandlers) handleLogoutForm(w http.ResponseWriter, r *http.Request) {
	if err := p.s.logout(w, r); err != nil {
		p.fail(w, r, err)
		return
	}
	p.r.SeeOther(w, pathLogin+"?notice=signed-out")
}

// accountPage builds /account for the session's user.
func (p *pageHandlers) accountPage(r *http.Request, cur *authd.Session) (pages.AccountPage, error) {
	list, err := p.s.deps.Sessions.List(r.Context(), cur.UserID)
	if err != nil {
		return pages.AccountPage{}, err
	}
	// NOTE: the session's snapshot of the user has no verified flag (it
	// changes without a new sign-in): the user is read.
	verified, err := p.s.emailVerified(r, cur.UserID, cur.Email)
	if err != nil {
		return pages.AccountPage{}, err
	}
	now := p.s.cfg.Now()
	v := pages.AccountPage{
		Page:   pages.Page{Title: "Your account", SignedInAs: cur.Email},
		UserID: cur.UserID, Email: cur.Email, Roles: cur.Roles,
		TokensEnabled: p.s.deps.Tokens != nil,
		EmailVerified: verified, CanMail: p.s.deps.Accounts.CanMail(),
		// The link only: /admin checks the role itself (D1).
		Admin: p.adminPages() && slices.Contains(cur.Roles, account.RoleAdmin),
	}
	for _, x := range list {
		sv := pages.SessionView{ID: x.ID, Device: pages.Device(x.UserAgent), IP: x.IP,
			Created: pages.NewTime(x.CreatedAt, now), LastUsed: pages.NewTime(x.LastSeenAt, now), Current: x.ID == cur.ID}
		if sv.IP == "" {
			sv.IP = "unknown"
		}
		if sv.Current {
			// This device first.
			v.Sessions = append([]pages.SessionView{sv}, v.Sessions...)
			continue
		}
		v.Sessions = append(v.Sessions, sv)
		v.Others++
	}
	v.AppsEnabled = p.s.deps.OIDC != nil
	if v.Apps, err = p.appViews(r, cur.UserID); err != nil {
		return pages.AccountPage{}, err
	}
	if v.Security, err = p.securityView(r, cur); err != nil {
		return pages.AccountPage{}, err
	}
	if v.Identities, err = p.identitiesView(r, cur.UserID); err != nil {
		return pages.AccountPage{}, err
	}
	return v, nil
}

// handleAccount serves GET /account.
func (p *pageHandlers) handleAccount(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	v, err := p.accountPage(r, cur)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v.Notice = pages.NoticeFor(r.URL.Query().Get("notice"))
	p.render(w, r, http.StatusOK, "account", v)
}

// handleRevokeForm serves POST /account/sessions/{id}/revoke. Revoking this
// device's own session signs it out.
func (p *pageHandlers) handleRevokeForm(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	id := r.PathValue("id")
	if id == cur.ID {
		if err := p.s.logout(w, r); err != nil {
			p.fail(w, r, err)
			return
		}
		p.r.SeeOther(w, pathLogin+"?notice=signed-out")
		return
	}
	err := p.s.deps.Sessions.Revoke(r.Context(), cur.UserID, id)
	switch {
	case errors.Is(err, authd.ErrNotFound):
		// Already ended, or another user's id: the same answer either way.
		p.r.SeeOther(w, pathAccount+"?notice=already-ended")
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	p.s.metrics.sessionsRevoked.Inc()
	m := p.s.meta(r)
	p.s.deps.Accounts.Record(r.Context(), authd.AuditEvent{Event: authd.EventSessionRevoked, UserID: cur.UserID, SessionID: id, IP: m.IP, UserAgent: m.UserAgent})
	p.r.SeeOther(w, pathAccount+"?notice=revoked")
}

// handleRevokeOthersForm serves POST /account/sessions/revoke-others.
func (p *pageHandlers) handleRevokeOthersForm(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	if err := p.s.revokeOthers(r, cur, cur.ID); err != nil {
		p.fail(w, r, err)
		return
	}
	p.r.SeeOther(w, pathAccount+"?notice=others-revoked")
}

// handleSignOutEverywhere serves POST /account/signout-everywhere: every
// session of the user ends, this one included, and so does every refresh
// token family (apps signed in with the password grant): "everywhere"
// means everywhere.
func (p *pageHandlers) handleSignOutEverywhere(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	if err := p.s.revokeOthers(r, cur, ""); err != nil {
		p.fail(w, r, err)
		return
	}
	if p.s.deps.Tokens != nil {
		if err := p.s.deps.Tokens.RevokeUser(r.Context(), cur.UserID); err != nil {
			p.fail(w, r, err)
			return
		}
	}
	p.s.clearSessionCookie(w)
	w.Header().Set("Clear-Site-Data", `"cookies"`)
	p.r.SeeOther(w, pathLogin+"?notice=signed-out-everywhere")
}

// handlePasswordForm serves POST /account/password.
func (p *pageHandlers) handlePasswordForm(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	var current, next string
	if !p.form(w, r, map[string]*string{"current_password": &current, "new_password": &next}) {
		return
	}
	err := p.s.deps.Accounts.ChangePassword(r.Context(), cur.UserID, current, next, cur.ID, p.s.meta(r))
	if err == nil {
		p.r.SeeOther(w, pathAccount+"?notice=password-changed")
		return
	}
	var inv *authd.InvalidError
	var form pages.Form
	status := http.StatusBadRequest
	switch {
	case errors.Is(err, authd.ErrForbidden):
		status = http.StatusForbidden
		form.SetErr("current_password", "Your current password is wrong")
	case errors.As(err, &inv):
		form.SetErr("new_password", inv.Message)
	default:
		p.fail(w, r, err)
		return
	}
	v, err := p.accountPage(r, cur)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v.Password = form
	p.render(w, r, status, "account", v)
}

// handleTokenForm serves POST /account/token: it exchanges the session for
// an access token (as POST /v1/session/token does) and shows it decoded on
// the account page. NOTE: the token is rendered into this no-store response
// only; it never goes into a URL, a redirect or a cookie.
func (p *pageHandlers) handleTokenForm(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	pair, err := p.s.deps.Tokens.IssueForSession(r.Context(), cur)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v, err := p.accountPage(r, cur)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	hdr, claims, err := pages.DecodeJWT(pair.AccessToken)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	now := p.s.cfg.Now()
	exp := now.Add(time.Duration(pair.ExpiresIn) * time.Second)
	if pair.Claims != nil && !pair.Claims.ExpiresAt.IsZero() {
		exp = pair.Claims.ExpiresAt
	}
	v.Token = &pages.TokenView{Raw: pair.AccessToken, Header: hdr, Claims: claims,
		Expires: pages.NewTime(exp, now), TTL: max(int(exp.Sub(now)/time.Second), 0)}
	p.render(w, r, http.StatusOK, "account", v)
}

// handleAsset serves GET /assets/{name}.
func (p *pageHandlers) handleAsset(w http.ResponseWriter, r *http.Request) {
	if !p.r.ServeAsset(w, r, r.PathValue("name")) {
		p.message(w, r, http.StatusNotFound, "Page not found", "There is nothing at "+(&url.URL{Path: r.URL.Path}).String()+".")
	}
}
