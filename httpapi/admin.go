package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/account"
	"github.com/authd/authd/oidc"
)

// ScopeAdmin is the scope that lets a client (client_credentials) use the
// administration API.
const ScopeAdmin = "admin"

// errNotAdmin and errAdminAAL are the two refusals of an authenticated
// caller at /admin.
var (
	errNotAdmin = errors.New("httpapi: not an administrator")
	errAdminAAL = errors.New("httpapi: an administrator without a second factor")
)

// adminActor authenticates r as an administrator: a user with the role
// admin (signed in with a second factor when --require-mfa-role admin),
// or a client's own token carrying the admin scope.
//
// NOTE: checked on every request, server-side, from the credential the
// request carries (D1): a session's roles are its sign-in's, and every
// change of roles ends the user's sessions and token families.
func (s *Server) adminActor(r *http.Request) (account.Actor, *authd.Principal, error) {
	p, err := s.principal(r)
	if err != nil {
		return "", nil, err
	}
	if p.Token != nil && p.Token.ForClient() {
		if !slices.Contains(strings.Fields(p.Token.Scope), ScopeAdmin) {
			return "", nil, errNotAdmin
		}
		return account.ClientActor(p.Token.ClientID), p, nil
	}
	if !slices.Contains(p.Roles, account.RoleAdmin) {
		return "", nil, errNotAdmin
	}
	if slices.Contains(s.cfg.RequireMFARoles, account.RoleAdmin) && authd.AAL(p.AMR) < 2 {
		return "", nil, errAdminAAL
	}
	return account.UserActor(p.UserID), p, nil
}

// withAdmin runs h for an administrator; anyone else gets 401 or 403.
func (s *Server) withAdmin(h func(w http.ResponseWriter, r *http.Request, actor account.Actor)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		actor, _, err := s.adminActor(r)
		switch {
		case err == nil:
			h(w, r, actor)
		case errors.Is(err, errNotAdmin):
			writeProblem(w, r, http.StatusForbidden, "administrators only: this needs the role admin, or a client token with the admin scope")
		case errors.Is(err, errAdminAAL):
			writeProblem(w, r, http.StatusForbidden, "administrators must sign in with a second factor here (--require-mfa-role admin): sign in again with one")
		default:
			s.failAuth(w, r, err)
		}
	}
}

// adminUserJSON is a user as the administration API shows it.
type adminUserJSON struct {
	ID            string         `json:"id"`
	Email         string         `json:"email"`
	Roles         []string       `json:"roles"`
	Locked        bool           `json:"locked"`
	EmailVerified bool           `json:"email_verified"`
	MFA           adminMFAJSON   `json:"mfa"`
	CreatedAt     time.Time      `json:"created_at"`
	LastLoginAt   *time.Time     `json:"last_login_at"`
	Sessions      *[]sessionJSON `json:"sessions,omitempty"`
}

type adminMFAJSON struct {
	TOTP     bool `json:"totp"`
	Passkeys int  `json:"passkeys"`
}

// adminUser describes u: its factors and last sign-in (from the audit log).
func (s *Server) adminUser(r *http.Request, u *authd.User) (adminUserJSON, error) {
	out := adminUserJSON{ID: u.ID, Email: u.Email, Roles: rolesOrEmpty(u.Roles), Locked: u.Locked, EmailVerified: u.EmailVerified, CreatedAt: u.CreatedAt}
	if s.deps.MFA != nil {
		st, err := s.deps.MFA.Status(r.Context(), u.ID)
		if err != nil {
			return out, err
		}
		out.MFA = adminMFAJSON{TOTP: st.TOTP, Passkeys: len(st.Passkeys)}
	}
	if s.deps.Audit != nil {
		evs, _, err := s.deps.Audit.ListEvents(r.Context(), authd.AuditQuery{UserID: u.ID, Event: authd.EventLoginSucceeded, Limit: 1})
		if err != nil {
			return out, err
		}
		if len(evs) > 0 {
			t := evs[0].At
			out.LastLoginAt = &t
		}
	}
	return out, nil
}

// queryInt reads the query parameter name as an integer (def when absent).
func queryInt(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, authd.Invalidf(name, "%s must be a whole number", name)
	}
	return n, nil
}

// adminPageSize is the default page of users and events.
const adminPageSize = 50

func (s *Server) handleAdminUsers(w http.ResponseWriter, r *http.Request, _ account.Actor) {
	limit, err := queryInt(r, "limit", adminPageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	us, next, err := s.deps.Directory.ListUsers(r.Context(), authd.UserQuery{Query: q.Get("query"), Limit: limit, Cursor: q.Get("cursor")})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]adminUserJSON, 0, len(us))
	for _, u := range us {
		v, err := s.adminUser(r, u)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out, "next_cursor": next})
}

// adminUserBody is the body of POST and PATCH /admin/v1/users.
type adminUserBody struct {
	Email    *string   `json:"email"`
	Password *string   `json:"password"`
	Roles    *[]string `json:"roles"`
	Locked   *bool     `json:"locked"`
}

// adminBody decodes a JSON body into v, or answers 400 and returns false.
func (s *Server) adminBody(w http.ResponseWriter, r *http.Request, v any) bool {
	raw, ok := s.rawJSON(w, r, false)
	if !ok {
		return false
	}
	if err := json.Unmarshal(raw, v); err != nil {
		writeProblem(w, r, http.StatusBadRequest, "the body must be a JSON object with the documented members and types")
		return false
	}
	return true
}

func (s *Server) handleAdminCreateUser(w http.ResponseWriter, r *http.Request, actor account.Actor) {
	var b adminUserBody
	if !s.adminBody(w, r, &b) {
		return
	}
	if b.Email == nil {
		writeProblemField(w, r, http.StatusBadRequest, "email is required", "email")
		return
	}
	var pw string
	if b.Password != nil {
		pw = *b.Password
		if pw == "" {
			writeProblemField(w, r, http.StatusBadRequest, "password must not be empty; leave it out to invite the user by mail", "password")
			return
		}
	}
	var roles []string
	if b.Roles != nil {
		roles = *b.Roles
	}
	u, err := s.deps.Accounts.CreateByAdmin(r.Context(), *b.Email, pw, roles, actor, s.meta(r))
	if errors.Is(err, authd.ErrConflict) {
		writeProblemField(w, r, http.StatusConflict, "an account with this email already exists", "email")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeAdminUser(w, r, http.StatusCreated, u, false)
}

// writeAdminUser answers the user, with their live sessions when sessions.
func (s *Server) writeAdminUser(w http.ResponseWriter, r *http.Request, status int, u *authd.User, sessions bool) {
	v, err := s.adminUser(r, u)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if sessions {
		ss, err := s.deps.Sessions.List(r.Context(), u.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		list := make([]sessionJSON, 0, len(ss))
		for _, x := range ss {
			list = append(list, sessionJSON{x.ID, x.CreatedAt, x.LastSeenAt, x.ExpiresAt, x.IP, x.UserAgent, false})
		}
		v.Sessions = &list
	}
	writeJSON(w, status, v)
}

// adminTarget finds the user of the route's {id}, or answers 404.
func (s *Server) adminTarget(w http.ResponseWriter, r *http.Request) (*authd.User, bool) {
	u, err := s.deps.Accounts.UserByID(r.Context(), r.PathValue("id"))
	if errors.Is(err, authd.ErrNotFound) {
		writeProblem(w, r, http.StatusNotFound, "no user has this id")
		return nil, false
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return u, true
}

func (s *Server) handleAdminUser(w http.ResponseWriter, r *http.Request, _ account.Actor) {
	if u, ok := s.adminTarget(w, r); ok {
		s.writeAdminUser(w, r, http.StatusOK, u, true)
	}
}

func (s *Server) handleAdminPatchUser(w http.ResponseWriter, r *http.Request, actor account.Actor) {
	u, ok := s.adminTarget(w, r)
	if !ok {
		return
	}
	var b adminUserBody
	if !s.adminBody(w, r, &b) {
		return
	}
	if b.Password != nil {
		writeProblemField(w, r, http.StatusBadRequest, "a password is not set here: the user sets it (POST /v1/recovery), or `authd user passwd`", "password")
		return
	}
	ctx, meta := r.Context(), s.meta(r)
	var err error
	if b.Roles != nil {
		_, err = s.deps.Accounts.SetRoles(ctx, u.ID, *b.Roles, actor, meta)
	}
	if err == nil && b.Email != nil {
		err = s.deps.Accounts.SetEmailByAdmin(ctx, u.ID, *b.Email, actor, meta)
	}
	if err == nil && b.Locked != nil {
		err = s.deps.Accounts.SetLocked(ctx, u.ID, *b.Locked, actor, meta)
	}
	if errors.Is(err, authd.ErrConflict) {
		writeProblemField(w, r, http.StatusConflict, "another account has this email", "email")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if u, ok = s.adminTarget(w, r); ok {
		s.writeAdminUser(w, r, http.StatusOK, u, false)
	}
}

func (s *Server) handleAdminDeleteUser(w http.ResponseWriter, r *http.Request, actor account.Actor) {
	u, ok := s.adminTarget(w, r)
	if !ok {
		return
	}
	if err := s.deps.Accounts.Delete(r.Context(), u.ID, actor, s.meta(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleAdminEndSessions(w http.ResponseWriter, r *http.Request, actor account.Actor) {
	u, ok := s.adminTarget(w, r)
	if !ok {
		return
	}
	if err := s.deps.Accounts.EndSessions(r.Context(), u.ID, actor, s.meta(r)); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleAdminResetMFA(w http.ResponseWriter, r *http.Request, actor account.Actor) {
	u, ok := s.adminTarget(w, r)
	if !ok {
		return
	}
	if s.deps.MFA == nil {
		writeProblem(w, r, http.StatusNotFound, "second factors are not enabled on this server")
		return
	}
	if err := s.resetFactors(r, actor, u.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// resetFactors removes every second factor of the user for an
// administrator, audited with the actor (the API and the /admin page).
func (s *Server) resetFactors(r *http.Request, actor account.Actor, userID string) error {
	if err := s.deps.MFA.Reset(r.Context(), userID); err != nil {
		return err
	}
	s.deps.Accounts.RecordAdmin(r.Context(), actor, userID, "second factors reset", s.meta(r))
	return nil
}

// adminEventJSON is an audit event as the administration API shows it.
type adminEventJSON struct {
	At        time.Time `json:"at"`
	Event     string    `json:"event"`
	UserID    string    `json:"user_id,omitempty"`
	SessionID string    `json:"session_id,omitempty"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"user_agent,omitempty"`
	Detail    string    `json:"detail,omitempty"`
}

func (s *Server) handleAdminAudit(w http.ResponseWriter, r *http.Request, _ account.Actor) {
	if s.deps.Audit == nil {
		writeProblem(w, r, http.StatusNotFound, "the audit log cannot be read on this server")
		return
	}
	q := r.URL.Query()
	limit, err := queryInt(r, "limit", adminPageSize)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	aq := authd.AuditQuery{UserID: q.Get("user_id"), Event: q.Get("event"), Limit: limit, Cursor: q.Get("cursor")}
	if v := q.Get("since"); v != "" {
		if aq.Since, err = time.Parse(time.RFC3339, v); err != nil {
			writeProblemField(w, r, http.StatusBadRequest, "since must be an RFC 3339 time like 2026-12-01T00:00:00Z", "since")
			return
		}
	}
	evs, next, err := s.deps.Audit.ListEvents(r.Context(), aq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]adminEventJSON, 0, len(evs))
	for _, e := range evs {
		out = append(out, adminEventJSON{e.At, e.Event, e.UserID, e.SessionID, e.IP, e.UserAgent, e.Detail})
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out, "next_cursor": next})
}

// adminClientJSON is a client as the administration API shows it.
//
// NOTE: it has no member for the secret or its hash: neither ever leaves
// authd.
type adminClientJSON struct {
	ID                     string    `json:"id"`
	Name                   string    `json:"name"`
	Confidential           bool      `json:"confidential"`
	RedirectURIs           []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs []string  `json:"post_logout_redirect_uris"`
	BackchannelLogoutURI   string    `json:"backchannel_logout_uri"`
	Scopes                 []string  `json:"scopes"`
	Grants                 []string  `json:"grants"`
	FirstParty             bool      `json:"first_party"`
	CreatedAt              time.Time `json:"created_at"`
}

func adminClient(c *authd.Client) adminClientJSON {
	return adminClientJSON{ID: c.ID, Name: c.Name, Confidential: c.Confidential(), RedirectURIs: rolesOrEmpty(c.RedirectURIs),
		PostLogoutRedirectURIs: rolesOrEmpty(c.PostLogoutRedirectURIs), BackchannelLogoutURI: c.BackchannelLogoutURI,
		Scopes: rolesOrEmpty(c.Scopes), Grants: rolesOrEmpty(c.Grants), FirstParty: c.FirstParty, CreatedAt: c.CreatedAt}
}

func (s *Server) handleAdminClients(w http.ResponseWriter, r *http.Request, _ account.Actor) {
	l, err := s.deps.Registry.List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]adminClientJSON, 0, len(l))
	for _, c := range l {
		out = append(out, adminClient(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"clients": out})
}

func (s *Server) handleAdminCreateClient(w http.ResponseWriter, r *http.Request, actor account.Actor) {
	var b struct {
		ID                     string   `json:"id"`
		Secret                 string   `json:"secret"`
		Name                   string   `json:"name"`
		RedirectURIs           []string `json:"redirect_uris"`
		PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
		BackchannelLogoutURI   string   `json:"backchannel_logout_uri"`
		Scopes                 []string `json:"scopes"`
		Grants                 []string `json:"grants"`
		FirstParty             bool     `json:"first_party"`
	}
	if !s.adminBody(w, r, &b) {
		return
	}
	c, _, err := s.deps.Registry.Create(r.Context(), oidc.ClientSpec{ID: b.ID, Name: b.Name, Public: b.Secret == "", Secret: b.Secret,
		RedirectURIs: b.RedirectURIs, PostLogoutRedirectURIs: b.PostLogoutRedirectURIs, BackchannelLogoutURI: b.BackchannelLogoutURI,
		Scopes: b.Scopes, Grants: b.Grants, FirstParty: b.FirstParty})
	if errors.Is(err, authd.ErrConflict) {
		writeProblemField(w, r, http.StatusConflict, "a client with this id exists", "id")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.deps.Accounts.RecordAdmin(r.Context(), actor, "", "client "+c.ID+" registered", s.meta(r))
	writeJSON(w, http.StatusCreated, adminClient(c))
}

func (s *Server) handleAdminDeleteClient(w http.ResponseWriter, r *http.Request, actor account.Actor) {
	id := r.PathValue("id")
	if err := s.deps.Registry.Delete(r.Context(), id); err != nil {
		if errors.Is(err, authd.ErrNotFound) {
			writeProblem(w, r, http.StatusNotFound, "no client has this id")
			return
		}
		s.fail(w, r, err)
		return
	}
	s.deps.Accounts.RecordAdmin(r.Context(), actor, "", "client "+id+" deleted", s.meta(r))
	w.WriteHeader(http.StatusNoContent)
}
