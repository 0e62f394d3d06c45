package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/authd/authd"
	"github.com/authd/authd/account"
	"github.com/authd/authd/httpapi"
	"github.com/authd/authd/oidc"
	"github.com/authd/authd/session"
)

// adminSecret is the secret of the test's clients.
var adminSecret = strings.Repeat("a", 40)

// makeAdmin gives email's user the role admin (ending their sessions).
func (h *harness) makeAdmin(email string) string {
	h.t.Helper()
	u, err := h.db.UserByEmail(context.Background(), email)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.accounts.SetRoles(context.Background(), u.ID, []string{"admin"}, account.ActorCLI, account.Meta{}); err != nil {
		h.t.Fatal(err)
	}
	return u.ID
}

// signIn signs email in with the harness password.
func (h *harness) signIn(email string) *http.Client {
	h.t.Helper()
	c := h.client()
	if r := h.do(c, "POST", "/v1/login", creds(email, goodPassword)); r.StatusCode != http.StatusOK {
		h.t.Fatalf("login %s: %d %s", email, r.StatusCode, r.body)
	}
	return c
}

// clientToken registers a client_credentials client with scopes and
// returns a header with its access token.
func (h *harness) clientToken(id string, scopes ...string) []string {
	h.t.Helper()
	if _, _, err := h.clients.Create(context.Background(), oidc.ClientSpec{ID: id, Secret: adminSecret,
		Grants: []string{"client_credentials"}, Scopes: append([]string{"orders.read"}, scopes...)}); err != nil {
		h.t.Fatal(err)
	}
	r := h.do(nil, "POST", "/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {adminSecret},
		"scope": {strings.Join(append([]string{"orders.read"}, scopes...), " ")}})
	var out struct {
		Token string `json:"access_token"`
	}
	json.Unmarshal(r.body, &out)
	tok := out.Token
	if tok == "" {
		h.t.Fatalf("client_credentials for %s: %d %s", id, r.StatusCode, r.body)
	}
	return []string{"Authorization", "Bearer " + tok}
}

// TestAdminAuthorization: who may use /admin/v1 (D1), on every route.
func TestAdminAuthorization(t *testing.T) {
	h := newHarness(t, with(func(hc *httpapi.Config, _ *account.Config, _ *session.Config) {
		hc.RequireMFARoles = []string{"admin"}
	}))
	h.register("user@example.com")
	user := h.signIn("user@example.com")
	// ann is an admin with an authenticator app: her password alone is
	// aal1, with the code aal2.
	_, secret, _ := mfaUser(t, h)
	h.makeAdmin("ann@example.com")
	annAAL2 := pendingLogin(t, h)
	if r := h.do(annAAL2, "POST", "/v1/login/totp", `{"code":"`+code(t, h, secret, 1)+`"}`); r.StatusCode != http.StatusOK {
		t.Fatalf("second step: %d %s", r.StatusCode, r.body)
	}
	// bob is an admin without a second factor: his sign-in is a pending
	// one that must enrol a factor first; a session of his from before
	// --require-mfa-role admin was set is aal1.
	h.register("bob@example.com")
	h.makeAdmin("bob@example.com")
	bobPending := h.client()
	if r := h.do(bobPending, "POST", "/v1/login", creds("bob@example.com", goodPassword)); r.StatusCode != http.StatusOK || r.json(t)["mfa_required"] != true {
		t.Fatalf("bob's sign-in: %d %s", r.StatusCode, r.body)
	}
	bobUser, _ := h.db.UserByEmail(context.Background(), "bob@example.com")
	value, _, err := h.sessions.Create(context.Background(), bobUser, session.Meta{AMR: []string{authd.AMRPassword}})
	if err != nil {
		t.Fatal(err)
	}
	bob := h.client()
	base, _ := url.Parse(h.srv.URL)
	bob.Jar.SetCookies(base, []*http.Cookie{{Name: httpapi.CookieName(h.cfg.Dev), Value: value, Path: "/"}})
	tok := h.do(annAAL2, "POST", "/v1/session/token", nil).json(t)["access_token"].(string)
	annBearer := []string{"Authorization", "Bearer " + tok}
	adminClient := h.clientToken("ops", "admin")
	plainClient := h.clientToken("svc")
	target := h.userID("user@example.com")

	routes := []struct{ method, path, body string }{
		{"GET", "/admin/v1/users", ""},
		{"GET", "/admin/v1/users/" + target, ""},
		{"GET", "/admin/v1/audit", ""},
		{"GET", "/admin/v1/clients", ""},
		{"PATCH", "/admin/v1/users/" + target, `{"locked":false}`},
		{"DELETE", "/admin/v1/users/" + target + "/sessions", ""},
		{"DELETE", "/admin/v1/users/" + target + "/mfa", ""},
		{"POST", "/admin/v1/users", `{"email":"new-%d@example.com","password":"` + goodPassword + `"}`},
	}
	callers := []struct {
		name   string
		c      *http.Client
		hdr    []string
		status int
	}{
		{"no credentials", nil, nil, http.StatusUnauthorized},
		{"a user", user, nil, http.StatusForbidden},
		{"an admin's pending sign-in", bobPending, nil, http.StatusUnauthorized},
		{"an admin without a second factor", bob, nil, http.StatusForbidden},
		{"a client without the admin scope", nil, plainClient, http.StatusForbidden},
		{"an admin with a second factor", annAAL2, nil, 0},
		{"an admin's access token with a second factor", nil, annBearer, 0},
		{"a client with the admin scope", nil, adminClient, 0},
	}
	n := 0
	for _, c := range callers {
		for _, rt := range routes {
			t.Run(c.name+"/"+rt.method+" "+rt.path, func(t *testing.T) {
				var body any
				if rt.body != "" {
					n++
					body = strings.ReplaceAll(rt.body, "%d", fmt.Sprint(n))
				}
				r := h.do(c.c, rt.method, rt.path, body, c.hdr...)
				if c.status != 0 {
					assertProblem(t, r, c.status)
					return
				}
				if r.StatusCode >= 300 {
					t.Fatalf("%d %s", r.StatusCode, r.body)
				}
			})
		}
	}
	// Every change was audited with its actor.
	evs, _, err := h.db.ListEvents(context.Background(), authd.AuditQuery{Event: authd.EventAdminAction, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	annID := h.userID("ann@example.com")
	for _, actor := range []string{"user:" + annID, "client:ops"} {
		if !slices.ContainsFunc(evs, func(e authd.AuditEvent) bool { return strings.HasPrefix(e.Detail, actor+": ") }) {
			t.Errorf("no admin_action by %s", actor)
		}
	}
	for _, e := range evs {
		if strings.Contains(e.Detail, h.userID("bob@example.com")) || strings.Contains(e.Detail, "client:svc") {
			t.Errorf("an admin_action by a refused caller: %+v", e)
		}
	}
}

// userID returns the id of email's user.
func (h *harness) userID(email string) string {
	h.t.Helper()
	u, err := h.db.UserByEmail(context.Background(), email)
	if err != nil {
		h.t.Fatal(err)
	}
	return u.ID
}

// adminClient is an admin's signed-in browser (no second factor needed
// without --require-mfa-role admin).
func adminHarness(t *testing.T, opts ...option) (*harness, *http.Client) {
	h := newHarness(t, opts...)
	h.register("root@example.com")
	h.makeAdmin("root@example.com")
	return h, h.signIn("root@example.com")
}

// TestAdminUsers: list, search, page, show, create, patch, delete.
func TestAdminUsers(t *testing.T) {
	h, root := adminHarness(t)
	for i := range 7 {
		h.register(fmt.Sprintf("user%d@example.com", i))
	}
	type page struct {
		Users []struct {
			ID, Email string
			Roles     []string
			MFA       map[string]any `json:"mfa"`
		} `json:"users"`
		Next string `json:"next_cursor"`
	}
	var seen []string
	cursor := ""
	for {
		var p page
		mustJSON(t, h.do(root, "GET", "/admin/v1/users?limit=3&query=USER&cursor="+url.QueryEscape(cursor), nil), &p)
		for _, u := range p.Users {
			seen = append(seen, u.Email)
			if u.MFA == nil {
				t.Fatalf("user without mfa member: %+v", u)
			}
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	slices.Sort(seen)
	if len(seen) != 7 || seen[0] != "user0@example.com" || slices.Compact(slices.Clone(seen))[6] != "user6@example.com" {
		t.Fatalf("paged search returned %v", seen)
	}
	assertProblem(t, h.do(root, "GET", "/admin/v1/users?limit=0", nil), http.StatusBadRequest)
	assertProblem(t, h.do(root, "GET", "/admin/v1/users?limit=x", nil), http.StatusBadRequest)
	assertProblem(t, h.do(root, "GET", "/admin/v1/users?cursor=nonsense", nil), http.StatusBadRequest)
	assertProblem(t, h.do(root, "GET", "/admin/v1/users/nobody", nil), http.StatusNotFound)

	// Create with a password; a taken email; a weak password; bad roles.
	r := h.do(root, "POST", "/admin/v1/users", `{"email":"Carol@Example.com","password":"`+goodPassword+`","roles":["billing"]}`)
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", r.StatusCode, r.body)
	}
	carol := r.json(t)
	if carol["email"] != "carol@example.com" || jsonOf(carol["roles"]) != `["billing"]` {
		t.Fatalf("created %v", carol)
	}
	assertProblem(t, h.do(root, "POST", "/admin/v1/users", `{"email":"carol@example.com","password":"`+goodPassword+`"}`), http.StatusConflict)
	assertProblem(t, h.do(root, "POST", "/admin/v1/users", `{"email":"dan@example.com","password":"short"}`), http.StatusBadRequest)
	assertProblem(t, h.do(root, "POST", "/admin/v1/users", `{"email":"dan@example.com","password":"`+goodPassword+`","roles":["no spaces"]}`), http.StatusBadRequest)
	assertProblem(t, h.do(root, "POST", "/admin/v1/users", `{"email":"dan@example.com","roles":"admin"}`), http.StatusBadRequest)
	// Without a password it is an invitation, which needs mail.
	assertProblem(t, h.do(root, "POST", "/admin/v1/users", `{"email":"dan@example.com"}`), http.StatusServiceUnavailable)

	// Show with live sessions; patch roles ends them.
	carolC := h.signIn("carol@example.com")
	id := carol["id"].(string)
	show := h.do(root, "GET", "/admin/v1/users/"+id, nil).json(t)
	if ss, _ := show["sessions"].([]any); len(ss) != 1 || show["last_login_at"] == nil {
		t.Fatalf("show %v", show)
	}
	r = h.do(root, "PATCH", "/admin/v1/users/"+id, `{"roles":["billing","support"]}`)
	if r.StatusCode != http.StatusOK || jsonOf(r.json(t)["roles"]) != `["billing","support"]` {
		t.Fatalf("patch roles: %d %s", r.StatusCode, r.body)
	}
	if r := h.do(carolC, "GET", "/v1/me", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a session from before the change of roles: %d", r.StatusCode)
	}
	carolC = h.signIn("carol@example.com")
	if me := h.do(carolC, "GET", "/v1/me", nil).json(t); jsonOf(me["roles"]) != `["billing","support"]` {
		t.Fatalf("roles after sign-in: %v", me)
	}
	// Lock ends sessions and refuses sign-in; unlock lets in again.
	if r := h.do(root, "PATCH", "/admin/v1/users/"+id, `{"locked":true}`); r.StatusCode != http.StatusOK || r.json(t)["locked"] != true {
		t.Fatalf("lock: %d %s", r.StatusCode, r.body)
	}
	if r := h.do(carolC, "GET", "/v1/me", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a session of a locked user: %d", r.StatusCode)
	}
	assertProblem(t, h.do(h.client(), "POST", "/v1/login", creds("carol@example.com", goodPassword)), http.StatusUnauthorized)
	h.do(root, "PATCH", "/admin/v1/users/"+id, `{"locked":false}`)
	// Change of email: taken is 409; otherwise unverified at the new one.
	assertProblem(t, h.do(root, "PATCH", "/admin/v1/users/"+id, `{"email":"user1@example.com"}`), http.StatusConflict)
	if r := h.do(root, "PATCH", "/admin/v1/users/"+id, `{"email":"carol@new.example"}`); r.StatusCode != http.StatusOK || r.json(t)["email"] != "carol@new.example" {
		t.Fatalf("email: %d %s", r.StatusCode, r.body)
	}
	assertProblem(t, h.do(root, "PATCH", "/admin/v1/users/"+id, `{"password":"x"}`), http.StatusBadRequest)
	carolC = h.signIn("carol@new.example")

	// End sessions, then delete.
	if r := h.do(root, "DELETE", "/admin/v1/users/"+id+"/sessions", nil); r.StatusCode != http.StatusNoContent {
		t.Fatalf("end sessions: %d %s", r.StatusCode, r.body)
	}
	if r := h.do(carolC, "GET", "/v1/me", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a session after its end: %d", r.StatusCode)
	}
	if r := h.do(root, "DELETE", "/admin/v1/users/"+id, nil); r.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.StatusCode, r.body)
	}
	assertProblem(t, h.do(root, "GET", "/admin/v1/users/"+id, nil), http.StatusNotFound)
	assertProblem(t, h.do(root, "DELETE", "/admin/v1/users/"+id, nil), http.StatusNotFound)
	// The audit keeps the id and what happened, never the email.
	evs, _, err := h.db.ListEvents(context.Background(), authd.AuditQuery{UserID: id, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 || evs[0].Event != authd.EventAdminAction {
		t.Fatalf("audit of the deleted user: %+v", evs)
	}
	for _, e := range evs {
		if strings.Contains(e.Detail, "carol") {
			t.Fatalf("an audit event names the deleted user's email: %+v", e)
		}
	}
}

// TestAdminInvite: without a password, the user gets a link to set one.
func TestAdminInvite(t *testing.T) {
	h, mp := mailHarness(t, account.VerificationOff)
	h.register("root@example.com")
	h.makeAdmin("root@example.com")
	root := h.signIn("root@example.com")
	if r := h.do(root, "POST", "/admin/v1/users", `{"email":"dan@example.com","roles":["support"]}`); r.StatusCode != http.StatusCreated {
		t.Fatalf("invite: %d %s", r.StatusCode, r.body)
	}
	// Nobody can sign in before the link is used.
	assertProblem(t, h.do(h.client(), "POST", "/v1/login", creds("dan@example.com", "")), http.StatusUnauthorized)
	token := lastToken(t, mp, "dan@example.com", 1, "recover")
	pw := "dan's own new passphrase"
	if r := h.do(nil, "POST", "/v1/recovery/complete", jsonBody("token", token, "new_password", pw)); r.StatusCode != http.StatusNoContent {
		t.Fatalf("set the password: %d %s", r.StatusCode, r.body)
	}
	c := h.client()
	if r := h.do(c, "POST", "/v1/login", creds("dan@example.com", pw)); r.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d %s", r.StatusCode, r.body)
	}
	if me := h.do(c, "GET", "/v1/me", nil).json(t); me["email_verified"] != true || jsonOf(me["roles"]) != `["support"]` {
		t.Fatalf("me %v", me)
	}
}

// TestAdminResetMFA: the user's factors are gone; the next sign-in is one
// step.
func TestAdminResetMFA(t *testing.T) {
	h, root := adminHarness(t)
	mfaUser(t, h)
	id := h.userID("ann@example.com")
	if r := h.do(root, "DELETE", "/admin/v1/users/"+id+"/mfa", nil); r.StatusCode != http.StatusNoContent {
		t.Fatalf("reset: %d %s", r.StatusCode, r.body)
	}
	r := h.do(h.client(), "POST", "/v1/login", creds("ann@example.com", goodPassword))
	if r.StatusCode != http.StatusOK || r.json(t)["mfa_required"] == true {
		t.Fatalf("sign-in after the reset: %d %s", r.StatusCode, r.body)
	}
}

// TestAdminAudit: filters, paging newest first, bad input.
func TestAdminAudit(t *testing.T) {
	h, root := adminHarness(t)
	for range 5 {
		h.do(h.client(), "POST", "/v1/login", creds("root@example.com", "wrong password, wrong"))
	}
	type page struct {
		Events []struct {
			Event  string `json:"event"`
			UserID string `json:"user_id"`
		} `json:"events"`
		Next string `json:"next_cursor"`
	}
	var all []string
	cursor := ""
	for {
		var p page
		mustJSON(t, h.do(root, "GET", "/admin/v1/audit?event=login_failed&limit=2&cursor="+url.QueryEscape(cursor), nil), &p)
		for _, e := range p.Events {
			all = append(all, e.Event)
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	if len(all) != 5 {
		t.Fatalf("%d login_failed events, want 5", len(all))
	}
	var p struct {
		Events []map[string]any `json:"events"`
	}
	mustJSON(t, h.do(root, "GET", "/admin/v1/audit?since=2000-01-01T00:00:00Z&user_id="+h.userID("root@example.com"), nil), &p)
	if len(p.Events) == 0 {
		t.Fatal("no events of root")
	}
	for _, e := range p.Events {
		if e["user_id"] != h.userID("root@example.com") {
			t.Fatalf("event of another user: %v", e)
		}
	}
	assertProblem(t, h.do(root, "GET", "/admin/v1/audit?since=yesterday", nil), http.StatusBadRequest)
	assertProblem(t, h.do(root, "GET", "/admin/v1/audit?limit=5000", nil), http.StatusBadRequest)
}

// TestAdminClients: register, list (no secret), delete.
func TestAdminClients(t *testing.T) {
	h, root := adminHarness(t)
	body := `{"id":"billing","secret":"` + adminSecret + `","name":"Billing","grants":["client_credentials"],"scopes":["orders.read"]}`
	r := h.do(root, "POST", "/admin/v1/clients", body)
	if r.StatusCode != http.StatusCreated || r.json(t)["confidential"] != true {
		t.Fatalf("create: %d %s", r.StatusCode, r.body)
	}
	assertProblem(t, h.do(root, "POST", "/admin/v1/clients", body), http.StatusConflict)
	assertProblem(t, h.do(root, "POST", "/admin/v1/clients", `{"id":"bad id!"}`), http.StatusBadRequest)
	if r := h.do(root, "POST", "/admin/v1/clients", `{"id":"spa","redirect_uris":["https://app.example.com/cb"]}`); r.StatusCode != http.StatusCreated || r.json(t)["confidential"] != false {
		t.Fatalf("public client: %d %s", r.StatusCode, r.body)
	}
	list := h.do(root, "GET", "/admin/v1/clients", nil)
	if !strings.Contains(string(list.body), `"billing"`) || strings.Contains(string(list.body), adminSecret) || strings.Contains(string(list.body), "argon2") {
		t.Fatalf("list %s", list.body)
	}
	// The client works until it is deleted.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"billing"}, "client_secret": {adminSecret}}
	if r := h.do(nil, "POST", "/oauth2/token", form); r.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %s", r.StatusCode, r.body)
	}
	if r := h.do(root, "DELETE", "/admin/v1/clients/billing", nil); r.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.StatusCode, r.body)
	}
	assertProblem(t, h.do(root, "DELETE", "/admin/v1/clients/billing", nil), http.StatusNotFound)
	if r := h.do(nil, "POST", "/oauth2/token", form); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("token of a deleted client: %d %s", r.StatusCode, r.body)
	}
}

// TestAdminCrossOrigin: a cookie-authenticated admin change from another
// origin is refused; GET changes nothing.
func TestAdminCrossOrigin(t *testing.T) {
	h, root := adminHarness(t)
	h.register("ann@example.com")
	id := h.userID("ann@example.com")
	assertProblem(t, h.do(root, "DELETE", "/admin/v1/users/"+id, nil, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"), http.StatusForbidden)
	assertProblem(t, h.do(root, "PATCH", "/admin/v1/users/"+id, `{"locked":true}`, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"), http.StatusForbidden)
	if u, _ := h.db.UserByID(context.Background(), id); u == nil || u.Locked {
		t.Fatalf("the user after refused changes: %+v", u)
	}
}

// TestAdminConcurrentPaging: paging while users are added sees every
// user that existed before it began exactly once.
func TestAdminConcurrentPaging(t *testing.T) {
	h, root := adminHarness(t)
	var before []string
	for i := range 40 {
		email := fmt.Sprintf("p%02d@example.com", i)
		h.register(email)
		before = append(before, email)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			u := &authd.User{ID: authd.NewID(), Email: fmt.Sprintf("late%03d@example.com", i), PasswordHash: "x", Roles: []string{}}
			if err := h.db.CreateUser(context.Background(), u); err != nil {
				return
			}
		}
	}()
	seen := map[string]int{}
	cursor := ""
	for {
		var p struct {
			Users []struct{ Email string } `json:"users"`
			Next  string                   `json:"next_cursor"`
		}
		mustJSON(t, h.do(root, "GET", "/admin/v1/users?limit=7&cursor="+url.QueryEscape(cursor), nil), &p)
		for _, u := range p.Users {
			seen[u.Email]++
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	close(stop)
	wg.Wait()
	for _, e := range before {
		if seen[e] != 1 {
			t.Errorf("%s seen %d times", e, seen[e])
		}
	}
	for e, n := range seen {
		if n != 1 {
			t.Errorf("%s seen %d times", e, n)
		}
	}
}
