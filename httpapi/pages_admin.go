package httpapi

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/authd/authd"
	"github.com/authd/authd/account"
	"github.com/authd/authd/httpapi/pages"
)

// The administration page (issue #16, API.md "Administration" and
// "Pages"): /admin lists and searches the users, /admin/users/{id} shows
// one with their live sessions and the administrator's actions, each a
// POST answered by 303 (Post/Redirect/Get). They call the same rules as
// the JSON API of admin.go (account.Service's SetLocked, EndSessions,
// SetRoles, Delete, RecordAdmin; mfa.Service's Reset) with the signed-in
// administrator as the actor, so every change is audited with who made
// it.
//
// NOTE (SECURITY D1): every handler, GET and POST, asks s.adminActor
// itself, on every request, from the session the request carries; the
// link on /account is a convenience and decides nothing. No action is a
// GET: a GET of an action's URL redirects to the user's page. The posts
// go through the server's cross-origin check like every other form.
//
// An administrator may not lock or delete their own account here (a
// refusal that says why: it would sign them out for good, and deleting
// oneself is /account's "Delete account", which asks for the password).
// Ending their own sessions, resetting their own second factors and
// changing their own roles are allowed, with a warning on the page; the
// first and last end this session too, and the browser goes to /login.

// Paths of the administration page.
const (
	pathAdmin      = "/admin"
	pathAdminUsers = "/admin/users/"
)

// adminPages reports whether this server serves /admin (it lists users
// through the user directory).
func (p *pageHandlers) adminPages() bool { return p.s.deps.Directory != nil }

// adminPageHandler is a handler of /admin: actor is the administrator
// (account.UserActor of me.UserID) for the audit log.
type adminPageHandler func(w http.ResponseWriter, r *http.Request, actor account.Actor, me *authd.Principal)

// withAdmin runs h for an administrator signed in with a session (D1):
// without a session the browser goes to sign in and comes back; a user
// who is not an administrator gets a 403 page; an administrator without
// a second factor under --require-mfa-role admin gets a 403 page that
// asks for a sign-in with one.
func (p *pageHandlers) withAdmin(h adminPageHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		actor, me, err := p.s.adminActor(r)
		if err == nil && me.Auth != authd.AuthSession {
			// NOTE: a bearer token (a client's, or a user's) is for the
			// JSON API under /admin/v1; the page acts for a browser's
			// session only, so its actor is always a user.
			p.adminRefused(w, r, "This page is for a browser signed in to authd. With an access token, use the administration API under /admin/v1.")
			return
		}
		switch {
		case err == nil:
			h(w, r, actor, me)
		case errors.Is(err, authd.ErrUnauthenticated):
			q := url.Values{"return": {adminReturn(r)}}
			if _, bearerPresent, _ := bearer(r); !bearerPresent {
				if _, present := p.s.sessionCookie(r); present {
					p.s.clearSessionCookie(w)
					q.Set("notice", "ended")
				}
			}
			p.r.SeeOther(w, pathLogin+"?"+q.Encode())
		case errors.Is(err, errNotAdmin):
			p.adminRefused(w, r, "This page is for administrators of authd, and your account does not have the role admin. Ask an administrator if you need it.")
		case errors.Is(err, errAdminAAL):
			reauth := pathLogin + "?" + url.Values{"reauth": {"1"}, "return": {adminReturn(r)}}.Encode()
			m := pages.MessagePage{Page: pages.Page{Title: "Sign in with a second factor"}, Heading: "Sign in with a second factor",
				Text: "On this server administrators must sign in with a second factor (an authenticator app or a passkey), " +
					"and this session signed in with the password alone. Sign in again with your second factor to use this page.",
				Link: reauth, LinkText: "Sign in again"}
			if _, sess, err := p.s.fromSession(r.Context(), r); err == nil {
				m.SignedInAs = sess.Email
			}
			p.render(w, r, http.StatusForbidden, "message", m)
		default:
			p.fail(w, r, err)
		}
	}
}

// adminReturn is where a sign-in for r comes back to: the page itself
// for a GET, /admin for a post (its action is not repeated).
func adminReturn(r *http.Request) string {
	if r.Method == http.MethodGet {
		if v, ok := pages.SafeReturn(r.URL.RequestURI()); ok {
			return v
		}
	}
	return pathAdmin
}

// adminRefused answers a 403 page with text: "Administrators only".
func (p *pageHandlers) adminRefused(w http.ResponseWriter, r *http.Request, text string) {
	m := pages.MessagePage{Page: pages.Page{Title: "Administrators only"}, Heading: "Administrators only", Text: text,
		Link: "/", LinkText: "Go to sign in"}
	if _, sess, err := p.s.fromSession(r.Context(), r); err == nil {
		m.SignedInAs = sess.Email
		m.Link, m.LinkText = pathAccount, "Go to your account"
	}
	p.render(w, r, http.StatusForbidden, "message", m)
}

// adminUserPath is the address of the page of the user id.
func adminUserPath(id string) string { return pathAdminUsers + url.PathEscape(id) }

// adminUserView describes u as the page shows it, with the same details
// as the JSON API (s.adminUser: factors, last sign-in).
func (p *pageHandlers) adminUserView(r *http.Request, u *authd.User, me *authd.Principal) (pages.AdminUserView, error) {
	j, err := p.s.adminUser(r, u)
	if err != nil {
		return pages.AdminUserView{}, err
	}
	now := p.s.cfg.Now()
	v := pages.AdminUserView{ID: j.ID, Email: j.Email, Roles: j.Roles, Locked: j.Locked, EmailVerified: j.EmailVerified,
		TOTP: j.MFA.TOTP, Passkeys: j.MFA.Passkeys, Created: pages.NewTime(j.CreatedAt, now), Self: j.ID == me.UserID}
	if j.LastLoginAt != nil {
		t := pages.NewTime(*j.LastLoginAt, now)
		v.LastSignIn = &t
	}
	return v, nil
}

// handleAdmin serves GET /admin?query=&cursor=: a page of users (50),
// searched by a part of the email, with a link to the next page.
func (p *pageHandlers) handleAdmin(w http.ResponseWriter, r *http.Request, _ account.Actor, me *authd.Principal) {
	q := r.URL.Query()
	query, cursor := strings.TrimSpace(q.Get("query")), q.Get("cursor")
	us, next, err := p.s.deps.Directory.ListUsers(r.Context(), authd.UserQuery{Query: query, Limit: adminPageSize, Cursor: cursor})
	if err != nil {
		// A malformed cursor is a 400 page saying so.
		p.fail(w, r, err)
		return
	}
	v := pages.AdminPage{Page: pages.Page{Title: "Administration", SignedInAs: me.Email}, Query: query, MFA: p.s.deps.MFA != nil}
	for _, u := range us {
		uv, err := p.adminUserView(r, u, me)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		v.Users = append(v.Users, uv)
	}
	list := url.Values{}
	if query != "" {
		list.Set("query", query)
	}
	if cursor != "" {
		v.First = pathAdmin
		if len(list) > 0 {
			v.First += "?" + list.Encode()
		}
	}
	if next != "" {
		list.Set("cursor", next)
		v.Next = pathAdmin + "?" + list.Encode()
	}
	v.Notice = pages.NoticeFor(q.Get("notice"))
	p.render(w, r, http.StatusOK, "admin", v)
}

// adminTarget finds the user of the route's {id}, or answers a 404 page.
func (p *pageHandlers) adminTarget(w http.ResponseWriter, r *http.Request, me *authd.Principal) (*authd.User, bool) {
	u, err := p.s.deps.Accounts.UserByID(r.Context(), r.PathValue("id"))
	if errors.Is(err, authd.ErrNotFound) {
		p.render(w, r, http.StatusNotFound, "message", pages.MessagePage{Page: pages.Page{Title: "No such user", SignedInAs: me.Email},
			Heading: "No such user", Text: "No user has this id: it may have been deleted.", Link: pathAdmin, LinkText: "Go to all users"})
		return nil, false
	}
	if err != nil {
		p.fail(w, r, err)
		return nil, false
	}
	return u, true
}

// adminUserPage builds the page of the user u.
func (p *pageHandlers) adminUserPage(r *http.Request, u *authd.User, me *authd.Principal) (pages.AdminUserPage, error) {
	uv, err := p.adminUserView(r, u, me)
	if err != nil {
		return pages.AdminUserPage{}, err
	}
	list, err := p.s.deps.Sessions.List(r.Context(), u.ID)
	if err != nil {
		return pages.AdminUserPage{}, err
	}
	v := pages.AdminUserPage{Page: pages.Page{Title: u.Email + " · Administration", SignedInAs: me.Email},
		User: uv, MFA: p.s.deps.MFA != nil, RolesInput: uv.RolesText()}
	now := p.s.cfg.Now()
	for _, x := range list {
		sv := pages.SessionView{ID: x.ID, Device: pages.Device(x.UserAgent), IP: x.IP,
			Created: pages.NewTime(x.CreatedAt, now), LastUsed: pages.NewTime(x.LastSeenAt, now), Current: x.ID == me.SessionID}
		if sv.IP == "" {
			sv.IP = "unknown"
		}
		v.Sessions = append(v.Sessions, sv)
	}
	return v, nil
}

// renderAdminUser answers the page of u with status, after edit has set
// what a refused action shows (an error, a form again).
func (p *pageHandlers) renderAdminUser(w http.ResponseWriter, r *http.Request, status int, u *authd.User, me *authd.Principal, edit func(*pages.AdminUserPage)) {
	v, err := p.adminUserPage(r, u, me)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if edit != nil {
		edit(&v)
	}
	p.render(w, r, status, "adminuser", v)
}

// handleAdminUser serves GET /admin/users/{id}.
func (p *pageHandlers) handleAdminUser(w http.ResponseWriter, r *http.Request, _ account.Actor, me *authd.Principal) {
	u, ok := p.adminTarget(w, r, me)
	if !ok {
		return
	}
	notice := pages.NoticeFor(r.URL.Query().Get("notice"))
	p.renderAdminUser(w, r, http.StatusOK, u, me, func(v *pages.AdminUserPage) { v.Notice = notice })
}

// adminDone answers a finished action on u: back to the user's page
// with the notice code.
func (p *pageHandlers) adminDone(w http.ResponseWriter, u *authd.User, notice string) {
	p.r.SeeOther(w, adminUserPath(u.ID)+"?notice="+notice)
}

// handleAdminLock serves POST /admin/users/{id}/lock: the account is
// locked and every session and token family of the user ends.
func (p *pageHandlers) handleAdminLock(w http.ResponseWriter, r *http.Request, actor account.Actor, me *authd.Principal) {
	u, ok := p.adminTarget(w, r, me)
	if !ok {
		return
	}
	if u.ID == me.UserID {
		p.renderAdminUser(w, r, http.StatusConflict, u, me, func(v *pages.AdminUserPage) {
			v.Error = "You cannot lock your own account here: you would be signed out and could not sign in again. Another administrator can lock it."
		})
		return
	}
	if err := p.s.deps.Accounts.SetLocked(r.Context(), u.ID, true, actor, p.s.meta(r)); err != nil {
		p.fail(w, r, err)
		return
	}
	p.adminDone(w, u, "admin-locked")
}

// handleAdminUnlock serves POST /admin/users/{id}/unlock.
func (p *pageHandlers) handleAdminUnlock(w http.ResponseWriter, r *http.Request, actor account.Actor, me *authd.Principal) {
	u, ok := p.adminTarget(w, r, me)
	if !ok {
		return
	}
	if err := p.s.deps.Accounts.SetLocked(r.Context(), u.ID, false, actor, p.s.meta(r)); err != nil {
		p.fail(w, r, err)
		return
	}
	p.adminDone(w, u, "admin-unlocked")
}

// handleAdminEndSessions serves POST /admin/users/{id}/sessions/revoke:
// every session and token family of the user ends. The administrator's
// own ends this browser's session too: it goes to /login.
func (p *pageHandlers) handleAdminEndSessions(w http.ResponseWriter, r *http.Request, actor account.Actor, me *authd.Principal) {
	u, ok := p.adminTarget(w, r, me)
	if !ok {
		return
	}
	if err := p.s.deps.Accounts.EndSessions(r.Context(), u.ID, actor, p.s.meta(r)); err != nil {
		p.fail(w, r, err)
		return
	}
	if u.ID == me.UserID {
		p.s.clearSessionCookie(w)
		p.r.SeeOther(w, pathLogin+"?notice=signed-out-everywhere")
		return
	}
	p.adminDone(w, u, "admin-sessions-ended")
}

// handleAdminResetMFA serves POST /admin/users/{id}/mfa/reset: every
// second factor of the user is removed, as DELETE
// /admin/v1/users/{id}/mfa does.
func (p *pageHandlers) handleAdminResetMFA(w http.ResponseWriter, r *http.Request, actor account.Actor, me *authd.Principal) {
	u, ok := p.adminTarget(w, r, me)
	if !ok {
		return
	}
	if p.s.deps.MFA == nil {
		p.message(w, r, http.StatusNotFound, "Second factors are off", "Second factors are not enabled on this server, so there is nothing to reset.")
		return
	}
	if err := p.s.resetFactors(r, actor, u.ID); err != nil {
		p.fail(w, r, err)
		return
	}
	p.adminDone(w, u, "admin-mfa-reset")
}

// splitRoles reads the roles field: roles separated by spaces or commas.
func splitRoles(v string) []string {
	return strings.FieldsFunc(v, func(c rune) bool { return c == ',' || unicode.IsSpace(c) })
}

// handleAdminRoles serves POST /admin/users/{id}/roles: the user's roles
// are replaced and their sessions end (they carry the roles they signed
// in with). Malformed roles show the form again with the reason. The
// administrator's own change ends this browser's session too.
func (p *pageHandlers) handleAdminRoles(w http.ResponseWriter, r *http.Request, actor account.Actor, me *authd.Principal) {
	var roles string
	if !p.form(w, r, map[string]*string{"roles": &roles}) {
		return
	}
	u, ok := p.adminTarget(w, r, me)
	if !ok {
		return
	}
	_, err := p.s.deps.Accounts.SetRoles(r.Context(), u.ID, splitRoles(roles), actor, p.s.meta(r))
	var inv *authd.InvalidError
	switch {
	case errors.As(err, &inv):
		p.renderAdminUser(w, r, http.StatusBadRequest, u, me, func(v *pages.AdminUserPage) {
			v.RolesInput = roles
			v.Roles.SetErr("roles", inv.Message)
		})
		return
	case err != nil:
		p.fail(w, r, err)
		return
	}
	if u.ID == me.UserID {
		p.s.clearSessionCookie(w)
		p.r.SeeOther(w, pathLogin+"?notice=admin-own-roles")
		return
	}
	p.adminDone(w, u, "admin-roles-set")
}

// handleAdminDelete serves POST /admin/users/{id}/delete: the user and
// everything of theirs is deleted when confirm_email is their address.
// An administrator's own account is deleted on /account instead.
func (p *pageHandlers) handleAdminDelete(w http.ResponseWriter, r *http.Request, actor account.Actor, me *authd.Principal) {
	var confirm string
	if !p.form(w, r, map[string]*string{"confirm_email": &confirm}) {
		return
	}
	u, ok := p.adminTarget(w, r, me)
	if !ok {
		return
	}
	if u.ID == me.UserID {
		p.renderAdminUser(w, r, http.StatusConflict, u, me, func(v *pages.AdminUserPage) {
			v.Error = "You cannot delete your own account here. Use “Delete account” on your account page."
		})
		return
	}
	if account.NormalizeEmail(confirm) != u.Email {
		p.renderAdminUser(w, r, http.StatusBadRequest, u, me, func(v *pages.AdminUserPage) {
			v.Delete.Email = confirm
			if strings.TrimSpace(confirm) == "" {
				v.Delete.SetErr("confirm_email", "Type the user's address to confirm the deletion")
			} else {
				v.Delete.SetErr("confirm_email", "That is not the user's address: nothing was deleted")
			}
		})
		return
	}
	if err := p.s.deps.Accounts.Delete(r.Context(), u.ID, actor, p.s.meta(r)); err != nil {
		p.fail(w, r, err)
		return
	}
	p.r.SeeOther(w, pathAdmin+"?notice=admin-user-deleted")
}

// adminRedirect answers a GET of an action's URL: the user's page (the
// action is never taken through GET, D1). The page checks the caller.
func (p *pageHandlers) adminRedirect(w http.ResponseWriter, r *http.Request) {
	p.r.SeeOther(w, adminUserPath(r.PathValue("id")))
}
