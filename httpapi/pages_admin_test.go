package httpapi_test

// Tests of the administration page (pages_admin.go) over plain net/http:
// who may see and use it (D1), the list with its search and pages, each
// action with its audit row naming the administrator, the GET of an
// action's URL, the confirmation of a deletion, the link on /account, and
// that the page needs no script.

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/authd/authd"
	"github.com/authd/authd/account"
	"github.com/authd/authd/httpapi"
	"github.com/authd/authd/httpapi/pages"
	"github.com/authd/authd/session"
)

// admRegister registers email (a plain user) and returns its id.
func admRegister(t *testing.T, h *harness, email string) string {
	t.Helper()
	r := h.do(nil, "POST", "/v1/register", creds(email, goodPassword))
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("register %s: %d %s", email, r.StatusCode, r.body)
	}
	id, _ := r.json(t)["id"].(string)
	if id == "" {
		t.Fatalf("register %s: no id: %s", email, r.body)
	}
	return id
}

// admSignIn signs email in through the sign-in page.
func admSignIn(t *testing.T, h *harness, email string) *http.Client {
	t.Helper()
	c := h.client()
	h.pageSignIn(c, email)
	return c
}

// admAdmin registers email, makes it an administrator (through the account
// rules, as the command line does) and signs it in again (SetRoles ended
// its sessions). It returns the browser and the id.
func admAdmin(t *testing.T, h *harness, email string) (*http.Client, string) {
	t.Helper()
	id := admRegister(t, h, email)
	if _, err := h.accounts.SetRoles(t.Context(), id, []string{account.RoleAdmin}, account.ActorCLI, account.Meta{}); err != nil {
		t.Fatal(err)
	}
	return admSignIn(t, h, email), id
}

// admUserPath is the page of the user id.
func admUserPath(id string) string { return "/admin/users/" + url.PathEscape(id) }

// admActions are the actions of a user's page.
var admActions = []string{"lock", "unlock", "sessions/revoke", "mfa/reset", "roles", "delete"}

// admEvents are the admin_action rows about the user id.
func admEvents(t *testing.T, h *harness, id string) []string {
	t.Helper()
	evs, _, err := h.db.ListEvents(context.Background(), authd.AuditQuery{UserID: id, Event: authd.EventAdminAction, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Detail)
	}
	return out
}

// admAudited checks that an admin_action row about the user id says what,
// made by the administrator adminID.
func admAudited(t *testing.T, h *harness, id, adminID, what string) {
	t.Helper()
	want := string(account.UserActor(adminID)) + ": " + what
	got := admEvents(t, h, id)
	for _, d := range got {
		if d == want {
			return
		}
	}
	t.Fatalf("no admin_action %q about %s; have %q", want, id, got)
}

// admRows counts the users in a list page.
func admRows(body string) int { return strings.Count(body, `data-label="Email"`) }

var admNextLink = regexp.MustCompile(`href="(/admin\?[^"]*)" rel="next"`)

// admNext returns the next-page link of a list page ("" for none).
func admNext(body string) string {
	m := admNextLink.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// admRequireMFAAdmin is a server under --require-mfa-role admin with an
// administrator signed in by a session of the given methods (amr), made
// directly (a password-only admin session cannot be had by signing in
// there: it must set up a factor first; such a session remains from
// before the server required one).
func admRequireMFAAdmin(t *testing.T, amr []string) (*harness, *http.Client, string) {
	t.Helper()
	h := newHarness(t, with(func(c *httpapi.Config, _ *account.Config, _ *session.Config) { c.RequireMFARoles = []string{"admin"} }))
	u, err := h.accounts.Create(t.Context(), "root@example.org", goodPassword, []string{account.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	raw, _, err := h.sessions.Create(t.Context(), u, session.Meta{AMR: amr})
	if err != nil {
		t.Fatal(err)
	}
	c := h.client()
	base, _ := url.Parse(h.srv.URL)
	c.Jar.SetCookies(base, []*http.Cookie{{Name: httpapi.CookieName(true), Value: raw, Path: "/"}})
	return h, c, u.ID
}

// TestPageAdminAccess: GET /admin and a POST action, for nobody, a user,
// an administrator, and an administrator without a second factor where
// administrators need one (D1). Refused posts change nothing.
func TestPageAdminAccess(t *testing.T) {
	h := newHarness(t)
	admin, adminID := admAdmin(t, h, "root@example.org")
	bobID := admRegister(t, h, "bob@example.com")
	user := admSignIn(t, h, "bob@example.com")
	lock := admUserPath(bobID) + "/lock"

	// Nobody: to sign in, and back.
	wantSeeOther(t, h.do(h.client(), "GET", "/admin", nil), "/login?return=%2Fadmin")
	wantSeeOther(t, h.do(h.client(), "GET", "/admin?query=bob", nil), "/login?return=%2Fadmin%3Fquery%3Dbob")
	wantSeeOther(t, h.do(h.client(), "GET", admUserPath(bobID), nil), "/login?return="+url.QueryEscape(admUserPath(bobID)))
	wantSeeOther(t, h.do(h.client(), "POST", lock, pageForm()), "/login?return=%2Fadmin")
	// A dead session cookie is cleared and said so.
	dead := h.client()
	base, _ := url.Parse(h.srv.URL)
	dead.Jar.SetCookies(base, []*http.Cookie{{Name: httpapi.CookieName(true), Value: "bm90IGEgc2Vzc2lvbg", Path: "/"}})
	wantSeeOther(t, h.do(dead, "GET", "/admin", nil), "/login?notice=ended&return=%2Fadmin")

	// A user: 403 pages.
	for _, r := range []resp{h.do(user, "GET", "/admin", nil), h.do(user, "GET", admUserPath(bobID), nil), h.do(user, "POST", lock, pageForm())} {
		pageHas(t, htmlPage(t, r, http.StatusForbidden), "Administrators only", "does not have the role admin")
	}
	if u, _ := h.accounts.UserByID(t.Context(), bobID); u.Locked {
		t.Fatal("a user's post locked the account")
	}
	if got := admEvents(t, h, bobID); len(got) != 0 {
		t.Fatalf("refused posts were audited as actions: %q", got)
	}

	// An administrator.
	body := htmlPage(t, h.do(admin, "GET", "/admin", nil), http.StatusOK)
	pageHas(t, body, "<h1>Administration</h1>", "bob@example.com", "root@example.org")
	pageHas(t, htmlPage(t, h.do(admin, "GET", admUserPath(bobID), nil), http.StatusOK), "bob@example.com", `action="`+lock+`"`)
	wantSeeOther(t, h.do(admin, "POST", lock, pageForm()), admUserPath(bobID)+"?notice=admin-locked")
	admAudited(t, h, bobID, adminID, "locked")

	// A cross-origin post is refused before it reaches the page.
	if r := h.do(admin, "POST", admUserPath(bobID)+"/unlock", pageForm(), "Sec-Fetch-Site", "cross-site"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site unlock: %d", r.StatusCode)
	}
	if u, _ := h.accounts.UserByID(t.Context(), bobID); !u.Locked {
		t.Fatal("a cross-site post unlocked the account")
	}

	// Under --require-mfa-role admin: a password-only session is refused
	// with the way to sign in with a second factor; a two-factor one is let in.
	h2, weak, _ := admRequireMFAAdmin(t, []string{authd.AMRPassword})
	carolID := admRegister(t, h2, "carol@example.com")
	for _, r := range []resp{h2.do(weak, "GET", "/admin", nil), h2.do(weak, "POST", admUserPath(carolID)+"/lock", pageForm())} {
		body := htmlPage(t, r, http.StatusForbidden)
		pageHas(t, body, "Sign in with a second factor", `href="/login?reauth=1&amp;return=%2Fadmin"`)
	}
	if u, _ := h2.accounts.UserByID(t.Context(), carolID); u.Locked {
		t.Fatal("a password-only admin session locked the account")
	}
	h3, strong, rootID := admRequireMFAAdmin(t, []string{authd.AMRPassword, authd.AMROTP, authd.AMRMFA})
	daveID := admRegister(t, h3, "dave@example.com")
	htmlPage(t, h3.do(strong, "GET", "/admin", nil), http.StatusOK)
	wantSeeOther(t, h3.do(strong, "POST", admUserPath(daveID)+"/lock", pageForm()), admUserPath(daveID)+"?notice=admin-locked")
	admAudited(t, h3, daveID, rootID, "locked")
}

// TestPageAdminSearchAndPaging: 50 users a page with a link to the next,
// which keeps the search; the search is a part of the email, in any case.
func TestPageAdminSearchAndPaging(t *testing.T) {
	h := newHarness(t)
	admin, _ := admAdmin(t, h, "root@example.org")
	for i := range 60 {
		if _, err := h.accounts.Create(t.Context(), fmt.Sprintf("user%02d@example.com", i), goodPassword, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Every user, 61 of them: 50, then 11.
	first := htmlPage(t, h.do(admin, "GET", "/admin", nil), http.StatusOK)
	if n := admRows(first); n != 50 {
		t.Fatalf("first page: %d users, want 50", n)
	}
	next := admNext(first)
	if next == "" || !strings.Contains(next, "cursor=") || strings.Contains(first, "First page") {
		t.Fatalf("first page: next link %q", next)
	}
	second := htmlPage(t, h.do(admin, "GET", next, nil), http.StatusOK)
	if n := admRows(second); n != 11 {
		t.Fatalf("second page: %d users, want 11", n)
	}
	if admNext(second) != "" {
		t.Fatal("the last page has a next link")
	}
	pageHas(t, second, `href="/admin">First page</a>`)
	seen := map[string]bool{}
	for _, b := range []string{first, second} {
		for _, m := range regexp.MustCompile(`>(user\d\d@example\.com|root@example\.org)</a>`).FindAllStringSubmatch(b, -1) {
			if seen[m[1]] {
				t.Fatalf("%s on both pages", m[1])
			}
			seen[m[1]] = true
		}
	}
	if len(seen) != 61 {
		t.Fatalf("the pages show %d users, want 61", len(seen))
	}

	// A search, in any case.
	for _, q := range []string{"user5", "USER5", "  user5 "} {
		body := htmlPage(t, h.do(admin, "GET", "/admin?"+url.Values{"query": {q}}.Encode(), nil), http.StatusOK)
		if n := admRows(body); n != 10 || admNext(body) != "" || !strings.Contains(body, "user57@example.com") {
			t.Fatalf("query %q: %d users, next %q", q, n, admNext(body))
		}
		pageHas(t, body, `value="`+strings.TrimSpace(q)+`"`, `href="/admin">Show all</a>`)
	}
	// A search over more than a page: the next link keeps it.
	body := htmlPage(t, h.do(admin, "GET", "/admin?query=example.com", nil), http.StatusOK)
	next = admNext(body)
	if n := admRows(body); n != 50 || !strings.Contains(next, "query=example.com") {
		t.Fatalf("query example.com: %d users, next %q", n, next)
	}
	body = htmlPage(t, h.do(admin, "GET", next, nil), http.StatusOK)
	if n := admRows(body); n != 10 || strings.Contains(body, "root@example.org</a>") {
		t.Fatalf("query example.com, page 2: %d users", n)
	}
	pageHas(t, body, `href="/admin?query=example.com">First page</a>`)
	// Nothing found; a malformed cursor.
	pageHas(t, htmlPage(t, h.do(admin, "GET", "/admin?query=nobody", nil), http.StatusOK), "No user’s email contains “nobody”.")
	htmlPage(t, h.do(admin, "GET", "/admin?cursor=%21%21", nil), http.StatusBadRequest)
	// The list shows the columns, and the administrator (on either page,
	// the order is the ids') as "You".
	pageHas(t, first, "<th scope=\"col\">Second factors</th>", "<th scope=\"col\">Last sign-in</th>")
	pageHas(t, first+second, `root@example.org</a> <span class="badge">You</span>`)
}

// TestPageAdminActions: each action works, answers 303 back to the page
// with a notice, and is audited with the administrator as the actor.
func TestPageAdminActions(t *testing.T) {
	h := newHarness(t)
	admin, adminID := admAdmin(t, h, "root@example.org")
	ann, _, _ := mfaUser(t, h) // ann@example.com, with an authenticator app
	annID := h.do(ann, "GET", "/v1/me", nil).json(t)["id"].(string)
	page := admUserPath(annID)
	post := func(action string, form url.Values) resp { return h.do(admin, "POST", page+"/"+action, form) }

	// The page: the user, their session, the factors.
	body := htmlPage(t, h.do(admin, "GET", page, nil), http.StatusOK)
	pageHas(t, body, "ann@example.com", annID, "Authenticator app", "Live sessions", "<span class=\"label\">IP</span>",
		`action="`+page+`/sessions/revoke"`, `action="`+page+`/mfa/reset"`, `action="`+page+`/roles#roles"`, `action="`+page+`/delete#delete"`)

	// Lock: her session ends, she cannot sign in.
	wantSeeOther(t, post("lock", pageForm()), page+"?notice=admin-locked")
	admAudited(t, h, annID, adminID, "locked")
	if r := h.do(ann, "GET", "/v1/me", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a locked user's session: %d", r.StatusCode)
	}
	pageHas(t, htmlPage(t, h.do(admin, "GET", page+"?notice=admin-locked", nil), http.StatusOK),
		"The account is locked", `<span class="badge badge-warn">Locked</span>`, `action="`+page+`/unlock"`)
	// Unlock.
	wantSeeOther(t, post("unlock", pageForm()), page+"?notice=admin-unlocked")
	admAudited(t, h, annID, adminID, "unlocked")
	if u, _ := h.accounts.UserByID(t.Context(), annID); u.Locked {
		t.Fatal("still locked")
	}

	// End all sessions.
	u, _ := h.accounts.UserByID(t.Context(), annID)
	if _, _, err := h.sessions.Create(t.Context(), u, session.Meta{IP: "192.0.2.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"}); err != nil {
		t.Fatal(err)
	}
	pageHas(t, htmlPage(t, h.do(admin, "GET", page, nil), http.StatusOK), "192.0.2.7", "Firefox")
	sessions, _ := h.sessions.List(t.Context(), annID)
	if len(sessions) == 0 {
		t.Fatal("no session to end")
	}
	wantSeeOther(t, post("sessions/revoke", pageForm()), page+"?notice=admin-sessions-ended")
	admAudited(t, h, annID, adminID, "every session and token family ended")
	if sessions, _ := h.sessions.List(t.Context(), annID); len(sessions) != 0 {
		t.Fatalf("%d sessions left", len(sessions))
	}

	// Reset second factors.
	wantSeeOther(t, post("mfa/reset", pageForm()), page+"?notice=admin-mfa-reset")
	admAudited(t, h, annID, adminID, "second factors reset")
	if st, err := h.mfa.Status(t.Context(), annID); err != nil || st.TOTP {
		t.Fatalf("after the reset: %+v %v", st, err)
	}

	// Roles: spaces or commas; malformed ones show the form again.
	wantSeeOther(t, post("roles", pageForm("roles", "editor, viewer  ops,")), page+"?notice=admin-roles-set")
	admAudited(t, h, annID, adminID, "roles set to [editor viewer ops]")
	if u, _ := h.accounts.UserByID(t.Context(), annID); strings.Join(u.Roles, " ") != "editor viewer ops" {
		t.Fatalf("roles %q", u.Roles)
	}
	body = htmlPage(t, post("roles", pageForm("roles", "editor no/slashes")), http.StatusBadRequest)
	pageHas(t, body, `value="editor no/slashes"`, `id="roles-error"`, `aria-invalid="true"`)
	if u, _ := h.accounts.UserByID(t.Context(), annID); strings.Join(u.Roles, " ") != "editor viewer ops" {
		t.Fatalf("roles after a refused change %q", u.Roles)
	}
	wantSeeOther(t, post("roles", pageForm("roles", "")), page+"?notice=admin-roles-set")
	admAudited(t, h, annID, adminID, "roles set to []")

	// Delete: needs the address typed.
	for confirm, want := range map[string]string{"": "Type the user&#39;s address", "bob@example.com": "nothing was deleted"} {
		body := htmlPage(t, post("delete", pageForm("confirm_email", confirm)), http.StatusBadRequest)
		pageHas(t, body, `id="delete-confirm-error"`, want)
	}
	if _, err := h.accounts.UserByID(t.Context(), annID); err != nil {
		t.Fatalf("deleted without the confirmation: %v", err)
	}
	wantSeeOther(t, post("delete", pageForm("confirm_email", " ANN@example.com ")), "/admin?notice=admin-user-deleted")
	admAudited(t, h, annID, adminID, "deleted")
	if _, err := h.accounts.UserByID(t.Context(), annID); err == nil {
		t.Fatal("the user is still there")
	}
	pageHas(t, htmlPage(t, h.do(admin, "GET", "/admin?notice=admin-user-deleted", nil), http.StatusOK), "The user is deleted")
	// Her page and its actions are gone.
	htmlPage(t, h.do(admin, "GET", page, nil), http.StatusNotFound)
	htmlPage(t, post("lock", pageForm()), http.StatusNotFound)
}

// TestPageAdminSelf: an administrator may not lock or delete themself
// here (the page says why); ending their own sessions or changing their
// own roles signs them out.
func TestPageAdminSelf(t *testing.T) {
	h := newHarness(t)
	admin, adminID := admAdmin(t, h, "root@example.org")
	page := admUserPath(adminID)
	body := htmlPage(t, h.do(admin, "GET", page, nil), http.StatusOK)
	pageHas(t, body, "You cannot lock your own account here", "You cannot delete your own account here", "This is you")
	if strings.Contains(body, `action="`+page+`/lock"`) || strings.Contains(body, `action="`+page+`/delete`) {
		t.Fatal("the own page offers lock or delete")
	}
	pageHas(t, htmlPage(t, h.do(admin, "POST", page+"/lock", pageForm()), http.StatusConflict), "You cannot lock your own account here")
	pageHas(t, htmlPage(t, h.do(admin, "POST", page+"/delete", pageForm("confirm_email", "root@example.org")), http.StatusConflict),
		"You cannot delete your own account here")
	if u, err := h.accounts.UserByID(t.Context(), adminID); err != nil || u.Locked {
		t.Fatalf("after refused self-actions: %+v %v", u, err)
	}
	wantSeeOther(t, h.do(admin, "POST", page+"/roles", pageForm("roles", "admin ops")), "/login?notice=admin-own-roles")
	wantSeeOther(t, h.do(admin, "GET", "/admin", nil), "/login?return=%2Fadmin")
	admin = admSignIn(t, h, "root@example.org")
	wantSeeOther(t, h.do(admin, "POST", page+"/sessions/revoke", pageForm()), "/login?notice=signed-out-everywhere")
	wantSeeOther(t, h.do(admin, "GET", "/admin", nil), "/login?return=%2Fadmin")
	admAudited(t, h, adminID, adminID, "every session and token family ended")
}

// TestPageAdminGetRedirects: a GET of an action's URL goes to the user's
// page and does nothing, for an administrator and for anyone.
func TestPageAdminGetRedirects(t *testing.T) {
	h := newHarness(t)
	admin, _ := admAdmin(t, h, "root@example.org")
	bobID := admRegister(t, h, "bob@example.com")
	for _, c := range []*http.Client{admin, h.client()} {
		for _, a := range admActions {
			wantSeeOther(t, h.do(c, "GET", admUserPath(bobID)+"/"+a, nil), admUserPath(bobID))
		}
	}
	if got := admEvents(t, h, bobID); len(got) != 0 {
		t.Fatalf("GETs were audited as actions: %q", got)
	}
	if _, err := h.accounts.UserByID(t.Context(), bobID); err != nil {
		t.Fatal(err)
	}
	wantSeeOther(t, h.do(admin, "GET", "/admin/", nil), "/admin")
}

// TestPageAdminAccountLink: /account links to /admin for administrators
// only.
func TestPageAdminAccountLink(t *testing.T) {
	h := newHarness(t)
	admin, _ := admAdmin(t, h, "root@example.org")
	admRegister(t, h, "bob@example.com")
	user := admSignIn(t, h, "bob@example.com")
	pageHas(t, htmlPage(t, h.do(admin, "GET", "/account", nil), http.StatusOK), `href="/admin"`, "Administration")
	if body := htmlPage(t, h.do(user, "GET", "/account", nil), http.StatusOK); strings.Contains(body, `href="/admin"`) {
		t.Fatal("a user's /account links to /admin")
	}
}

// TestPageAdminWithoutScript: the pages carry the pages' CSP and headers,
// have no inline script, style or event handler, and every action is a
// form post.
func TestPageAdminWithoutScript(t *testing.T) {
	h := newHarness(t)
	admin, _ := admAdmin(t, h, "root@example.org")
	bobID := admRegister(t, h, "bob@example.com")
	scriptTag := regexp.MustCompile(`<script[^>]*>`)
	inline := regexp.MustCompile(`(?i)\son[a-z]+=|\sstyle=|javascript:`)
	form := regexp.MustCompile(`<form[^>]*>`)
	for _, path := range []string{"/admin", admUserPath(bobID)} {
		r := h.do(admin, "GET", path, nil)
		body := htmlPage(t, r, http.StatusOK)
		if got := r.Header.Get("Content-Security-Policy"); got != pages.ContentSecurityPolicy {
			t.Errorf("%s: CSP %q", path, got)
		}
		for k, v := range map[string]string{"X-Frame-Options": "DENY", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"} {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s: %s %q, want %q", path, k, got, v)
			}
		}
		for _, tag := range scriptTag.FindAllString(body, -1) {
			if !strings.Contains(tag, `src="/assets/app.js?v=`) {
				t.Errorf("%s: script %s", path, tag)
			}
		}
		if strings.Count(body, "<script") != 1 || !strings.Contains(body, "defer></script>") {
			t.Errorf("%s: a script other than app.js", path)
		}
		if m := inline.FindString(body); m != "" {
			t.Errorf("%s: inline %q", path, m)
		}
		for _, f := range form.FindAllString(body, -1) {
			if strings.Contains(f, `action="/admin/users/`) && !strings.Contains(f, `method="post"`) {
				t.Errorf("%s: an action that is not a post: %s", path, f)
			}
		}
	}
}

// TestBrowserPageAdmin: /admin in headless Chromium: from the link on
// /account to the list, a user's page, a lock and a deletion by clicks;
// at phone width nothing scrolls sideways (each user is a card).
// Screenshots admin.png and admin-mobile.png (docs/screenshots/ with
// AUTHD_SCREENSHOTS=1).
func TestBrowserPageAdmin(t *testing.T) {
	h := newHarness(t)
	rootID := admRegister(t, h, "root@example.org")
	for _, e := range []string{"ann@example.com", "bob@example.com", "carol.with.a.rather.long.address@example.com"} {
		admRegister(t, h, e)
	}
	if _, err := h.accounts.SetRoles(t.Context(), rootID, []string{account.RoleAdmin, "ops"}, account.ActorCLI, account.Meta{}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	b.open(h.srv.URL + "/login")
	if st := b.signIn("root@example.org", goodPassword); st != http.StatusOK || b.path() != "/account" {
		t.Fatalf("sign in: %d on %s", st, b.path())
	}
	if st := b.submit(`a[href="/admin"]`); st != http.StatusOK || b.path() != "/admin" {
		t.Fatalf("Administration: %d on %s", st, b.path())
	}
	b.sees("Administration", "ann@example.com", "bob@example.com", "admin, ops")
	b.screenshot("admin", 1280)
	b.screenshot("admin-mobile", 390)
	ctx, cancel := b.step()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 900)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if w := evalIn[int](b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("at 390 px the list is %d px wide", w)
	}
	if d := evalIn[string](b, `getComputedStyle(document.querySelector('.admin-table thead')).display`); d != "none" {
		t.Errorf("at 390 px the table head is %q, want hidden (cards)", d)
	}

	// A user's page, a lock, a deletion.
	if st := b.submit(`a[href^="/admin/users/"]:not([href$="` + url.PathEscape(rootID) + `"])`); st != http.StatusOK {
		t.Fatalf("a user's page: %d", st)
	}
	b.sees("Live sessions", "Lock the account", "Delete the user")
	if w := evalIn[int](b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("at 390 px the user's page is %d px wide", w)
	}
	b.screenshot("admin-user-mobile", 390)
	if st := b.submit(`#lock button[type="submit"]`); st != http.StatusOK {
		t.Fatalf("lock: %d", st)
	}
	b.sees("The account is locked", "Unlock")
	email := evalIn[string](b, `document.querySelector('h1').textContent.trim()`)
	b.do("confirm the deletion", chromedp.SendKeys(chromedp.CSS("#delete-confirm-email"), email))
	if st := b.submit(`#delete button[type="submit"]`); st != http.StatusOK || b.path() != "/admin?notice=admin-user-deleted" {
		t.Fatalf("delete: %d on %s", st, b.path())
	}
	b.sees("The user is deleted")
	b.seesNot(email)
}
