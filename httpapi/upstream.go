package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/account"
	"github.com/authd/authd/httpapi/pages"
	"github.com/authd/authd/upstream"
)

// upstreamCookie is the cookie that binds an upstream sign-in's state to
// the browser that started it (F1). SameSite=Lax, not Strict: the
// callback is a top-level GET from the provider's site.
func (s *Server) upstreamCookie() string {
	if s.cfg.Dev {
		return "authd_upstream"
	}
	return "__Host-authd_upstream"
}

func (s *Server) setUpstreamCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: s.upstreamCookie(), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: !s.cfg.Dev, SameSite: http.SameSiteLaxMode})
}

// handleUpstreamStart serves GET /v1/upstream/{id}/start: off to the
// provider. A signed-in browser links the identity to its account.
func (p *pageHandlers) handleUpstreamStart(w http.ResponseWriter, r *http.Request) {
	s := p.s
	ret, _ := pages.SafeReturn(r.URL.Query().Get("return"))
	link := ""
	if _, sess, err := s.fromSession(r.Context(), r); err == nil {
		link = sess.UserID
	}
	authURL, binding, err := s.deps.Upstreams.Start(r.Context(), r.PathValue("id"), ret, link)
	if err != nil {
		p.upstreamFailed(w, r, err)
		return
	}
	s.setUpstreamCookie(w, binding, int(upstream.FlowTTL/time.Second))
	http.Redirect(w, r, authURL, http.StatusFound)
}

// handleUpstreamCallback serves GET /v1/upstream/{id}/callback: the
// provider's answer, checked (upstream.Finish), then the account rules
// (account.SignInUpstream), then a session, or a second step.
func (p *pageHandlers) handleUpstreamCallback(w http.ResponseWriter, r *http.Request) {
	s := p.s
	binding := ""
	if c, err := r.Cookie(s.upstreamCookie()); err == nil {
		binding = c.Value
	}
	s.setUpstreamCookie(w, "", -1)
	res, err := s.deps.Upstreams.Finish(r.Context(), r.PathValue("id"), r.URL.Query(), binding)
	if err != nil {
		p.upstreamFailed(w, r, err)
		return
	}
	if res.LinkUserID != "" {
		// NOTE: the link is made for the user who started it only if this
		// browser is still theirs.
		if _, sess, err := s.fromSession(r.Context(), r); err != nil || sess.UserID != res.LinkUserID {
			p.upstreamFailed(w, r, upstream.ErrState)
			return
		}
	}
	claims := account.UpstreamClaims{Subject: res.Subject, Email: res.Email, EmailVerified: res.EmailVerified}
	u, err := s.deps.Accounts.SignInUpstream(r.Context(), res.Upstream, claims, res.LinkUserID, s.meta(r))
	if err != nil {
		p.upstreamFailed(w, r, err)
		return
	}
	if res.LinkUserID != "" {
		p.r.SeeOther(w, pathAccount+"?notice=linked")
		return
	}
	sess, _, err := s.firstFactorDone(w, r, u, []string{authd.AMRFederated}, "upstream "+res.Upstream.ID)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if sess.Pending {
		loc := pathSecondFactor
		if res.Return != "" {
			loc += "?" + url.Values{"return": {res.Return}}.Encode()
		}
		p.r.SeeOther(w, loc)
		return
	}
	p.r.SeeOther(w, returnTo(res.Return))
}

// upstreamFailed answers a failed upstream sign-in: the sign-in page with
// a clear message, no session, audited upstream_failed.
func (p *pageHandlers) upstreamFailed(w http.ResponseWriter, r *http.Request, err error) {
	s := p.s
	status, msg := http.StatusBadGateway, ""
	switch {
	case errors.Is(err, upstream.ErrUnknown):
		p.message(w, r, http.StatusNotFound, "No such provider", "There is no sign-in provider at this address.")
		return
	case errors.Is(err, upstream.ErrState):
		status, msg = http.StatusBadRequest, "This sign-in expired or was started in another browser. Try again."
	case errors.Is(err, upstream.ErrDenied):
		status, msg = http.StatusForbidden, "The sign-in was cancelled at the provider."
	case errors.Is(err, upstream.ErrProviderDown):
		status, msg = http.StatusServiceUnavailable, "The provider cannot be reached right now. Try again in a moment, or sign in another way."
	case errors.Is(err, upstream.ErrProvider), errors.Is(err, upstream.ErrToken):
		msg = "The provider's answer could not be verified, so you are not signed in. Try again, or sign in another way."
	case errors.Is(err, account.ErrLinkFirst), errors.Is(err, account.ErrIdentityTaken), errors.Is(err, account.ErrNoEmail):
		status, msg = http.StatusConflict, pages.Sentence(err.Error())
	case errors.Is(err, authd.ErrEmailUnverified):
		status, msg = http.StatusForbidden, "Verify your email address first: follow the link we mailed you (a new one is on its way)."
	case errors.Is(err, authd.ErrInvalidCredentials):
		status, msg = http.StatusForbidden, "This account cannot sign in."
	case errors.Is(err, authd.ErrForbidden):
		status, msg = http.StatusForbidden, "Sign-up is closed on this server. Ask an administrator for an account."
	default:
		p.fail(w, r, err)
		return
	}
	s.deps.Accounts.Record(r.Context(), authd.AuditEvent{Event: authd.EventUpstreamFailed, IP: s.clientIP(r), UserAgent: r.UserAgent(),
		Detail: "upstream " + r.PathValue("id") + ": " + err.Error()})
	v := p.signInPage(r)
	v.Login.Error = msg
	v.Focus = ""
	p.render(w, r, status, "signin", v)
}

type identityJSON struct {
	Upstream string    `json:"upstream"`
	Subject  string    `json:"subject"`
	Email    string    `json:"email"`
	LinkedAt time.Time `json:"linked_at"`
}

// handleIdentities serves GET /v1/identities: the caller's linked
// accounts at upstream providers.
func (s *Server) handleIdentities(w http.ResponseWriter, r *http.Request) {
	p, err := s.userPrincipal(r)
	if err != nil {
		s.failAuth(w, r, err)
		return
	}
	ids, err := s.deps.Accounts.Identities(r.Context(), p.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]identityJSON, 0, len(ids))
	for _, i := range ids {
		out = append(out, identityJSON{i.UpstreamID, i.Subject, i.Email, i.LinkedAt})
	}
	writeJSON(w, http.StatusOK, out)
}

// handleUnlink serves DELETE /v1/identities/{upstream}.
func (s *Server) handleUnlink(w http.ResponseWriter, r *http.Request) {
	p, err := s.userPrincipal(r)
	if err != nil {
		s.failAuth(w, r, err)
		return
	}
	if err := s.unlink(r, p.UserID, r.PathValue("upstream")); err != nil {
		if errors.Is(err, account.ErrLastSignIn) {
			writeProblem(w, r, http.StatusConflict, err.Error())
			return
		}
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// unlink removes the user's identity at upstreamID (account.Unlink),
// telling it whether the user has a passkey left to sign in with.
func (s *Server) unlink(r *http.Request, userID, upstreamID string) error {
	hasPasskey := false
	if s.deps.MFA != nil {
		st, err := s.deps.MFA.Status(r.Context(), userID)
		if err != nil {
			return err
		}
		hasPasskey = len(st.Passkeys) > 0
	}
	return s.deps.Accounts.Unlink(r.Context(), userID, upstreamID, hasPasskey, s.meta(r))
}

// adminUpstreamJSON is a provider as the administration API shows it.
//
// NOTE: no member for the secret: it never leaves authd (F3).
type adminUpstreamJSON struct {
	ID          string    `json:"id"`
	Issuer      string    `json:"issuer"`
	ClientID    string    `json:"client_id"`
	HasSecret   bool      `json:"has_secret"`
	Name        string    `json:"name"`
	Scopes      []string  `json:"scopes"`
	TrustEmail  bool      `json:"trust_email"`
	RedirectURI string    `json:"redirect_uri"`
	CreatedAt   time.Time `json:"created_at"`
}

func (s *Server) adminUpstream(u *authd.Upstream) adminUpstreamJSON {
	return adminUpstreamJSON{ID: u.ID, Issuer: u.Issuer, ClientID: u.ClientID, HasSecret: len(u.SecretSealed) > 0, Name: u.Name,
		Scopes: rolesOrEmpty(u.Scopes), TrustEmail: u.TrustEmail, RedirectURI: s.deps.Upstreams.RedirectURI(u.ID), CreatedAt: u.CreatedAt}
}

func (s *Server) handleAdminUpstreams(w http.ResponseWriter, r *http.Request, _ account.Actor) {
	l, err := s.deps.Upstreams.List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]adminUpstreamJSON, 0, len(l))
	for _, u := range l {
		out = append(out, s.adminUpstream(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"upstreams": out})
}

func (s *Server) handleAdminCreateUpstream(w http.ResponseWriter, r *http.Request, actor account.Actor) {
	var b struct {
		ID         string   `json:"id"`
		Issuer     string   `json:"issuer"`
		ClientID   string   `json:"client_id"`
		Secret     string   `json:"secret"`
		Name       string   `json:"name"`
		Scopes     []string `json:"scopes"`
		TrustEmail bool     `json:"trust_email"`
	}
	if !s.adminBody(w, r, &b) {
		return
	}
	u, err := s.deps.Upstreams.Register(r.Context(), upstream.Spec{ID: b.ID, Issuer: b.Issuer, ClientID: b.ClientID, Secret: b.Secret,
		Name: b.Name, Scopes: b.Scopes, TrustEmail: b.TrustEmail})
	if errors.Is(err, authd.ErrConflict) {
		writeProblemField(w, r, http.StatusConflict, "a provider with this id exists", "id")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.deps.Accounts.RecordAdmin(r.Context(), actor, "", "upstream "+u.ID+" registered", s.meta(r))
	writeJSON(w, http.StatusCreated, s.adminUpstream(u))
}

func (s *Server) handleAdminDeleteUpstream(w http.ResponseWriter, r *http.Request, actor account.Actor) {
	id := r.PathValue("id")
	if err := s.deps.Upstreams.Delete(r.Context(), id); err != nil {
		if errors.Is(err, authd.ErrNotFound) {
			writeProblem(w, r, http.StatusNotFound, "no provider has this id")
			return
		}
		s.fail(w, r, err)
		return
	}
	s.deps.Accounts.RecordAdmin(r.Context(), actor, "", "upstream "+id+" deleted", s.meta(r))
	w.WriteHeader(http.StatusNoContent)
}
