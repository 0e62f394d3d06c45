package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/account"
	"github.com/authd/authd/session"
)

func (s *Server) meta(r *http.Request) account.Meta {
	return account.Meta{IP: s.clientIP(r), UserAgent: r.UserAgent()}
}

// body decodes a request body or answers the problem and returns false.
func (s *Server) body(w http.ResponseWriter, r *http.Request, form bool, fields map[string]*string) bool {
	err := decodeBody(w, r, form, fields)
	if err == nil {
		return true
	}
	var eb *errBody
	if errors.As(err, &eb) {
		writeProblem(w, r, eb.status, eb.detail)
	} else {
		s.fail(w, r, err)
	}
	return false
}

type userJSON struct {
	ID    string   `json:"id"`
	Email string   `json:"email"`
	Roles []string `json:"roles"`
}

func rolesOrEmpty(r []string) []string {
	if r == nil {
		return []string{}
	}
	return r
}

func (s *Server) handleRegister(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.Signup {
		writeProblem(w, r, http.StatusForbidden, "sign-up is closed on this server; ask an administrator for an account")
		return
	}
	var email, pw string
	if !s.body(w, r, true, map[string]*string{"email": &email, "password": &pw}) {
		return
	}
	u, err := s.deps.Accounts.Register(r.Context(), email, pw)
	if errors.Is(err, authd.ErrConflict) {
		writeProblemField(w, r, http.StatusConflict, "an account with this email already exists", "email")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": u.ID, "email": u.Email})
}

// login checks the credentials and starts a session, ending the one the
// request came with, if any. Both the JSON API and the sign-in page use it.
// When the user has a second factor the session is a pending sign-in
// (sess.Pending) and methods lists the factors that can finish it.
func (s *Server) login(w http.ResponseWriter, r *http.Request, email, pw string) (u *authd.User, sess *authd.Session, methods []string, err error) {
	meta := s.meta(r)
	u, err = s.deps.Accounts.Authenticate(r.Context(), email, pw, meta)
	if err != nil {
		s.countLogin(err)
		return nil, nil, nil, err
	}
	sess, methods, err = s.firstFactorDone(w, r, u, []string{authd.AMRPassword}, "")
	return u, sess, methods, err
}

// firstFactorDone signs u in after a first factor (amr: a password, an
// upstream provider): with a second factor (or one to set up first under
// --require-mfa-role), a pending sign-in whose methods are the factors
// that can finish it; else a session. detail says how, for the audit log.
func (s *Server) firstFactorDone(w http.ResponseWriter, r *http.Request, u *authd.User, amr []string, detail string) (*authd.Session, []string, error) {
	meta := s.meta(r)
	if s.deps.MFA != nil {
		st, err := s.deps.MFA.Status(r.Context(), u.ID)
		if err != nil {
			return nil, nil, err
		}
		if methods := st.Methods(); len(methods) > 0 || s.mustEnrol(u, methods) {
			// NOTE: the first factor alone opens a pending sign-in that
			// grants nothing but its second step (SECURITY M4).
			value, pending, err := s.deps.Sessions.CreatePending(r.Context(), u, session.Meta{IP: meta.IP, UserAgent: meta.UserAgent, AMR: amr})
			if err != nil {
				return nil, nil, err
			}
			s.setSessionCookie(w, value, pending.AbsoluteExpiresAt)
			return pending, methods, nil
		}
	}
	sess, err := s.startSession(w, r, u, amr, detail)
	return sess, nil, err
}

// startSession starts a session for u signed in with the methods amr,
// ending the one the request came with, if any; detail says how, for the
// audit log.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u *authd.User, amr []string, detail string) (*authd.Session, error) {
	meta := s.meta(r)
	// NOTE: a sign-in never keeps the session the browser came with (a
	// pending sign-in included): it ends it and issues a new ID (fixation,
	// S4, M4).
	if v, ok := s.sessionCookie(r); ok {
		if old, err := s.deps.Sessions.LookupAny(r.Context(), v); err == nil {
			if old.Pending && old.UserID == u.ID && len(old.AMR) > 0 && len(amr) > 0 && amr[0] == authd.AMRPassword {
				// The second step of a pending sign-in: its first factor
				// is the pending sign-in's (a password, or fed).
				amr = append(slices.Clone(old.AMR), amr[1:]...)
			}
			if err := s.deps.Sessions.Revoke(r.Context(), old.UserID, old.ID); err != nil && !errors.Is(err, authd.ErrNotFound) {
				return nil, err
			}
			if !old.Pending {
				s.metrics.sessionsRevoked.Inc()
			}
		}
	}
	value, sess, err := s.deps.Sessions.Create(r.Context(), u, session.Meta{IP: meta.IP, UserAgent: meta.UserAgent, AMR: amr})
	if err != nil {
		return nil, err
	}
	s.metrics.logins.WithLabelValues("ok").Inc()
	s.metrics.sessionsCreated.Inc()
	s.deps.Accounts.Record(r.Context(), authd.AuditEvent{Event: authd.EventLoginSucceeded, UserID: u.ID, SessionID: sess.ID,
		IP: meta.IP, UserAgent: meta.UserAgent, Detail: detail})
	s.setSessionCookie(w, value, sess.AbsoluteExpiresAt)
	return sess, nil
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var email, pw string
	if !s.body(w, r, true, map[string]*string{"email": &email, "password": &pw}) {
		return
	}
	u, sess, methods, err := s.login(w, r, email, pw)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if sess.Pending {
		out := map[string]any{"mfa_required": true, "methods": methods, "expires_at": sess.AbsoluteExpiresAt}
		if len(methods) == 0 {
			out["enrollment_required"] = true
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"user":    userJSON{u.ID, u.Email, rolesOrEmpty(u.Roles)},
		"session": map[string]time.Time{"expires_at": sess.ExpiresAt},
	})
}

// logout ends the request's session, if it has a live one, and clears the
// cookie either way.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	_, sess, err := s.fromSession(r.Context(), r)
	switch {
	case err == nil:
		if err := s.deps.Sessions.Revoke(r.Context(), sess.UserID, sess.ID); err != nil && !errors.Is(err, authd.ErrNotFound) {
			return err
		}
		s.metrics.sessionsRevoked.Inc()
		m := s.meta(r)
		s.deps.Accounts.Record(r.Context(), authd.AuditEvent{Event: authd.EventLogout, UserID: sess.UserID, SessionID: sess.ID, IP: m.IP, UserAgent: m.UserAgent})
	case !errors.Is(err, authd.ErrUnauthenticated):
		return err
	}
	s.clearSessionCookie(w)
	w.Header().Set("Clear-Site-Data", `"cookies"`)
	return nil
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if err := s.logout(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) {
	p, err := s.userPrincipal(r)
	if err != nil {
		s.failAuth(w, r, err)
		return
	}
	out := meJSON{AAL: authd.AAL(p.AMR), AMR: p.AMR, Auth: p.Auth, Email: p.Email, ID: p.UserID,
		Roles: rolesOrEmpty(p.Roles), SessionID: p.SessionID}
	if out.AMR == nil {
		out.AMR = []string{}
	}
	if out.EmailVerified, err = s.emailVerified(r, p.UserID, p.Email); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	var buf [512]byte
	_, _ = w.Write(out.appendJSON(buf[:0]))
}

type sessionJSON struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

// withSession runs h for requests authenticated by a live session cookie.
func (s *Server) withSession(h func(w http.ResponseWriter, r *http.Request, sess *authd.Session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, sess, err := s.fromSession(r.Context(), r)
		if err != nil {
			s.failAuth(w, r, err)
			return
		}
		h(w, r, sess)
	}
}

func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	ss, err := s.deps.Sessions.List(r.Context(), cur.UserID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]sessionJSON, 0, len(ss))
	for _, x := range ss {
		out = append(out, sessionJSON{x.ID, x.CreatedAt, x.LastSeenAt, x.ExpiresAt, x.IP, x.UserAgent, x.ID == cur.ID})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleRevokeSession(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	id := r.PathValue("id")
	if err := s.deps.Sessions.Revoke(r.Context(), cur.UserID, id); err != nil {
		if errors.Is(err, authd.ErrNotFound) {
			writeProblem(w, r, http.StatusNotFound, "you have no session with this id")
			return
		}
		s.fail(w, r, err)
		return
	}
	s.metrics.sessionsRevoked.Inc()
	m := s.meta(r)
	s.deps.Accounts.Record(r.Context(), authd.AuditEvent{Event: authd.EventSessionRevoked, UserID: cur.UserID, SessionID: id, IP: m.IP, UserAgent: m.UserAgent})
	if id == cur.ID {
		s.clearSessionCookie(w)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) revokeOthers(r *http.Request, cur *authd.Session, except string) error {
	ids, err := s.deps.Sessions.RevokeAll(r.Context(), cur.UserID, except)
	if err != nil {
		return err
	}
	m := s.meta(r)
	for _, id := range ids {
		s.metrics.sessionsRevoked.Inc()
		s.deps.Accounts.Record(r.Context(), authd.AuditEvent{Event: authd.EventSessionRevoked, UserID: cur.UserID, SessionID: id, IP: m.IP, UserAgent: m.UserAgent})
	}
	return nil
}

func (s *Server) handleRevokeOthers(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	if err := s.revokeOthers(r, cur, cur.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handlePassword(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	var current, next string
	if !s.body(w, r, true, map[string]*string{"current_password": &current, "new_password": &next}) {
		return
	}
	if err := s.deps.Accounts.ChangePassword(r.Context(), cur.UserID, current, next, cur.ID, s.meta(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleAuthz is forward auth for nginx auth_request and Traefik
// ForwardAuth: 200 with the user in headers, or 401.
func (s *Server) handleAuthz(w http.ResponseWriter, r *http.Request) {
	p, err := s.userPrincipal(r)
	if err != nil {
		s.failAuth(w, r, err)
		return
	}
	h := w.Header()
	h.Set("X-Auth-User", p.UserID)
	h.Set("X-Auth-Email", p.Email)
	h.Set("X-Auth-Roles", strings.Join(p.Roles, ","))
	w.WriteHeader(http.StatusOK)
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	out := map[string]string{}
	ok := true
	for _, c := range s.deps.Ready {
		if err := c.Ping(r.Context()); err != nil {
			ok = false
			out[c.Name] = "unavailable: " + err.Error()
		} else {
			out[c.Name] = "ok"
		}
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"ready": ok, "checks": out})
}
