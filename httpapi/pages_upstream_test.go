package httpapi_test

// Tests of the pages of sign-in through other providers
// (pages_upstream.go) over plain net/http: the "Sign in with NAME"
// buttons of /login (and of the pages that answer a failed upstream
// sign-in), and the "Linked sign-ins" section of /account with its
// unlink forms and "Link NAME" buttons. The flow itself (start, callback)
// is upstream.go's and is tested against real providers elsewhere.

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/authd/authd"
	"github.com/authd/authd/httpapi"
	"github.com/authd/authd/session"
	"github.com/authd/authd/upstream"
)

// upsHarness is a server with sign-in through other providers and the
// providers specs registered (then loaded, as the 5 s reload would).
func upsHarness(t *testing.T, specs ...upstream.Spec) *harness {
	t.Helper()
	h := newHarness(t, withUpstreams())
	for _, s := range specs {
		if _, err := h.upstreams.Register(t.Context(), s); err != nil {
			t.Fatalf("register %s: %v", s.ID, err)
		}
	}
	if err := h.upstreams.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	return h
}

// upsCorp and upsGitLab are two providers; upsDown is one whose issuer
// refuses connections (a loopback port nothing listens on).
var (
	upsCorp   = upstream.Spec{ID: "corp", Issuer: "https://idp.example.com", ClientID: "authd", Name: "Corp & <Partners>"}
	upsGitLab = upstream.Spec{ID: "gitlab", Issuer: "https://gitlab.example.com", ClientID: "authd", Name: "GitLab"}
	upsDown   = upstream.Spec{ID: "down", Issuer: "http://127.0.0.1:1", ClientID: "authd", Name: "Down"}
)

// upsButton finds the links to /v1/upstream/{id}/start and their texts.
var upsButton = regexp.MustCompile(`<a class="btn[^"]*" href="(/v1/upstream/[^"]*)">([^<]*)</a>`)

type upsLink struct {
	id, ret, text string
	hasReturn     bool
}

// upsButtons returns the provider buttons of a page, in order.
func upsButtons(t *testing.T, body string) []upsLink {
	t.Helper()
	var out []upsLink
	for _, m := range upsButton.FindAllStringSubmatch(body, -1) {
		u, err := url.Parse(html.UnescapeString(m[1]))
		if err != nil {
			t.Fatalf("button href %q: %v", m[1], err)
		}
		id, ok := strings.CutPrefix(u.Path, "/v1/upstream/")
		id, ok2 := strings.CutSuffix(id, "/start")
		if !ok || !ok2 {
			t.Fatalf("button href %q is not a start URL", m[1])
		}
		_, has := u.Query()["return"]
		out = append(out, upsLink{id: id, ret: u.Query().Get("return"), text: html.UnescapeString(m[2]), hasReturn: has})
	}
	return out
}

// upsWantButtons checks the sign-in buttons of body: one per provider
// (id, name), in order, each carrying ret ("" for none).
func upsWantButtons(t *testing.T, body, ret string, idNames ...string) {
	t.Helper()
	got := upsButtons(t, body)
	if len(got) != len(idNames)/2 {
		t.Fatalf("%d provider buttons, want %d: %+v\n%s", len(got), len(idNames)/2, got, body)
	}
	for i, b := range got {
		id, name := idNames[2*i], idNames[2*i+1]
		if b.id != id || b.text != "Sign in with "+name {
			t.Errorf("button %d: %q to %q, want %q to %q", i, b.text, b.id, "Sign in with "+name, id)
		}
		if b.ret != ret || b.hasReturn != (ret != "") {
			t.Errorf("button %d carries return %q (present %v), want %q", i, b.ret, b.hasReturn, ret)
		}
	}
}

// upsUser registers email and returns its id.
func upsUser(t *testing.T, h *harness, email string) string {
	t.Helper()
	h.register(email)
	u, err := h.db.UserByEmail(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// upsLink links the user userID to the subject sub at the provider up.
func upsLinkIdentity(t *testing.T, h *harness, userID, up, sub, email string) {
	t.Helper()
	if err := h.db.LinkIdentity(t.Context(), &authd.Identity{UpstreamID: up, Subject: sub, UserID: userID, Email: email, LinkedAt: h.clock.Now()}); err != nil {
		t.Fatal(err)
	}
}

// upsIdentities are the upstream ids the user has identities at.
func upsIdentities(t *testing.T, h *harness, userID string) []string {
	t.Helper()
	l, err := h.db.ListIdentities(t.Context(), userID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, i := range l {
		out = append(out, i.UpstreamID)
	}
	return out
}

// upsUnlinked counts the identity_unlinked rows about the user.
func upsUnlinked(t *testing.T, h *harness, userID string) []string {
	t.Helper()
	h.accounts.Wait()
	evs, _, err := h.db.ListEvents(context.Background(), authd.AuditQuery{UserID: userID, Event: authd.EventIdentityUnlinked, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, e.Detail)
	}
	return out
}

// upsPasswordless makes a user without a password, linked to corp, and
// returns a browser signed in as them and their id.
func upsPasswordless(t *testing.T, h *harness, email string) (*http.Client, string) {
	t.Helper()
	now := h.clock.Now()
	u := &authd.User{ID: authd.NewID(), Email: email, Roles: []string{}, EmailVerified: true, CreatedAt: now, UpdatedAt: now}
	if err := h.db.CreateUserWithIdentity(t.Context(), u, &authd.Identity{UpstreamID: "corp", Subject: "sub-" + email, UserID: u.ID, Email: email, LinkedAt: now}); err != nil {
		t.Fatal(err)
	}
	val, _, err := h.sessions.Create(t.Context(), u, session.Meta{IP: "192.0.2.1", UserAgent: "test", AMR: []string{authd.AMRFederated}})
	if err != nil {
		t.Fatal(err)
	}
	c := h.client()
	su, _ := url.Parse(h.srv.URL)
	c.Jar.SetCookies(su, []*http.Cookie{{Name: httpapi.CookieName(h.cfg.Dev), Value: val, Path: "/"}})
	htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK)
	return c, u.ID
}

// TestPageUpstreamSignInButtons: /login shows one "Sign in with NAME"
// link per provider, ordered by id, names escaped, each carrying the
// page's validated return path; none without providers or without the
// feature.
func TestPageUpstreamSignInButtons(t *testing.T) {
	for name, h := range map[string]*harness{"feature off": newHarness(t), "no provider": upsHarness(t)} {
		body := htmlPage(t, h.do(h.client(), "GET", "/login", nil), http.StatusOK)
		if strings.Contains(body, "/v1/upstream/") || strings.Contains(body, "Sign in with ") && !strings.Contains(body, "Sign in with a passkey") {
			t.Fatalf("%s: /login offers providers:\n%s", name, body)
		}
		if strings.Contains(body, `class="upstreams"`) {
			t.Fatalf("%s: /login has the providers box", name)
		}
	}

	h := upsHarness(t, upsGitLab, upsCorp)
	body := htmlPage(t, h.do(h.client(), "GET", "/login", nil), http.StatusOK)
	upsWantButtons(t, body, "", "corp", "Corp & <Partners>", "gitlab", "GitLab")
	pageHas(t, body, "Sign in with Corp &amp; &lt;Partners&gt;", `href="/v1/upstream/corp/start"`)
	if strings.Contains(body, "<Partners>") {
		t.Fatal("a provider's name reached the page unescaped")
	}
	// The buttons are links: no script, no form.
	if strings.Contains(body, `action="/v1/upstream`) {
		t.Fatal("a provider button is a form")
	}

	// The return path goes on: an authorization request that came through
	// the sign-in page continues after an upstream sign-in.
	ret := "/oauth2/authorize?client_id=app&response_type=code&scope=openid&state=a+b&redirect_uri=https%3A%2F%2Fapp.example%2Fcb"
	body = htmlPage(t, h.do(h.client(), "GET", "/login?"+url.Values{"return": {ret}}.Encode(), nil), http.StatusOK)
	upsWantButtons(t, body, ret, "corp", "Corp & <Partners>", "gitlab", "GitLab")
	// An unsafe one does not.
	for _, bad := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example"} {
		body = htmlPage(t, h.do(h.client(), "GET", "/login?"+url.Values{"return": {bad}}.Encode(), nil), http.StatusOK)
		upsWantButtons(t, body, "", "corp", "Corp & <Partners>", "gitlab", "GitLab")
	}

	// The page that answers a wrong password keeps the buttons, with the
	// return path that the form posted.
	h.register("ann@example.com")
	r := h.do(h.client(), "POST", "/login", pageForm("email", "ann@example.com", "password", "wrong password here!", "return", "/account#security"))
	body = htmlPage(t, r, http.StatusUnauthorized)
	upsWantButtons(t, body, "/account#security", "corp", "Corp & <Partners>", "gitlab", "GitLab")

	// With sign-up open, the sign-up side says the buttons make accounts.
	pageHas(t, body, "Signing in with one of these creates it")

	// A fresh sign-in asked of a signed-in browser offers no provider:
	// going there would link rather than sign in again.
	c := h.client()
	h.pageSignIn(c, "ann@example.com")
	body = htmlPage(t, h.do(c, "GET", "/login?reauth=1&return=%2Faccount", nil), http.StatusOK)
	upsWantButtons(t, body, "")

	// A provider added later shows within the reload.
	if _, err := h.upstreams.Register(t.Context(), upstream.Spec{ID: "a-first", Issuer: "https://a.example.com", ClientID: "x", Name: "Alpha"}); err != nil {
		t.Fatal(err)
	}
	if err := h.upstreams.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	body = htmlPage(t, h.do(h.client(), "GET", "/login", nil), http.StatusOK)
	upsWantButtons(t, body, "", "a-first", "Alpha", "corp", "Corp & <Partners>", "gitlab", "GitLab")
}

// TestPageUpstreamSignInNoSignup: without --signup the buttons stay (a
// linked identity signs in) but the sign-up hint does not.
func TestPageUpstreamSignInNoSignup(t *testing.T) {
	h := newHarness(t, withUpstreams(), func(o *options) { o.http.Signup = false })
	if _, err := h.upstreams.Register(t.Context(), upsCorp); err != nil {
		t.Fatal(err)
	}
	if err := h.upstreams.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	body := htmlPage(t, h.do(h.client(), "GET", "/login", nil), http.StatusOK)
	upsWantButtons(t, body, "", "corp", "Corp & <Partners>")
	if strings.Contains(body, "creates it") {
		t.Fatal("the sign-up hint is shown with sign-up closed")
	}
}

// TestPageUpstreamFailurePages: a failed upstream sign-in answers the
// sign-in page with its message at the top (no field error needed) and
// the provider buttons, with no session.
func TestPageUpstreamFailurePages(t *testing.T) {
	h := upsHarness(t, upsCorp, upsDown)
	c := h.client()

	// A callback this browser did not start.
	r := h.do(c, "GET", "/v1/upstream/corp/callback?code=abc&state=forged", nil)
	body := htmlPage(t, r, http.StatusBadRequest)
	pageHas(t, body, `<p class="form-error" role="alert" id="login-form-error">This sign-in expired or was started in another browser. Try again.</p>`)
	upsWantButtons(t, body, "", "corp", "Corp & <Partners>", "down", "Down")
	if strings.Contains(body, `aria-invalid="true"`) {
		t.Fatal("the failure page marks a field invalid")
	}
	if h.cookie(c) != "" {
		t.Fatal("a failed upstream sign-in set a session cookie")
	}

	// A provider that cannot be reached, started from a sign-in page with
	// a return path: the page keeps it on its buttons and its form.
	ret := "/account#identities"
	r = h.do(c, "GET", "/v1/upstream/down/start?"+url.Values{"return": {ret}}.Encode(), nil)
	body = htmlPage(t, r, http.StatusServiceUnavailable)
	pageHas(t, body, "The provider cannot be reached right now.", `name="return" value="/account#identities"`)
	upsWantButtons(t, body, ret, "corp", "Corp & <Partners>", "down", "Down")

	// An unknown provider is a 404 page.
	pageHas(t, htmlPage(t, h.do(c, "GET", "/v1/upstream/nope/start", nil), http.StatusNotFound), "No such provider")
}

// TestPageUpstreamAccountSection: /account lists the user's linked
// sign-ins (provider name, the address the provider gave, when) each
// with an unlink form, and a "Link NAME" link for every other provider;
// no section without the feature.
func TestPageUpstreamAccountSection(t *testing.T) {
	off := newHarness(t)
	off.register("ann@example.com")
	c := off.client()
	off.pageSignIn(c, "ann@example.com")
	if body := htmlPage(t, off.do(c, "GET", "/account", nil), http.StatusOK); strings.Contains(body, "Linked sign-ins") {
		t.Fatal("/account has Linked sign-ins with the feature off")
	}

	h := upsHarness(t, upsCorp, upsGitLab, upsDown)
	id := upsUser(t, h, "ann@example.com")
	c = h.client()
	h.pageSignIn(c, "ann@example.com")
	body := htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK)
	pageHas(t, body, "Linked sign-ins", "No other account is linked.",
		`href="/v1/upstream/corp/start?return=%2Faccount"`, ">Link Corp &amp; &lt;Partners&gt;</a>", ">Link GitLab</a>", ">Link Down</a>")

	upsLinkIdentity(t, h, id, "corp", "s-1", "ann@corp.example")
	// A provider deleted since (its identity not yet gone): listed by id.
	upsLinkIdentity(t, h, id, "old", "s-2", "")
	body = htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK)
	pageHas(t, body, "Corp &amp; &lt;Partners&gt;", "ann@corp.example", `action="/account/identities/corp/unlink"`,
		`aria-label="Unlink Corp &amp; &lt;Partners&gt;"`, `action="/account/identities/old/unlink"`, "no address given",
		`<span class="label">Linked</span> <time`, ">Link GitLab</a>", ">Link Down</a>")
	if strings.Contains(body, ">Link Corp") || strings.Contains(body, "No other account is linked.") {
		t.Fatalf("/account offers to link a linked provider:\n%s", body)
	}
	if strings.Contains(body, "<Partners>") {
		t.Fatal("a provider's name reached the page unescaped")
	}
	// Another user's identities are not shown.
	other := upsUser(t, h, "bob@example.com")
	upsLinkIdentity(t, h, other, "gitlab", "s-3", "bob@gitlab.example")
	if body = htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK); strings.Contains(body, "bob@gitlab.example") {
		t.Fatal("/account shows another user's identity")
	}

	// The notice of a finished link.
	pageHas(t, htmlPage(t, h.do(c, "GET", "/account?notice=linked", nil), http.StatusOK), "is linked: you can sign in with it")
}

// TestPageUpstreamUnlink: the unlink form removes the identity, is
// audited identity_unlinked, and says so; a second post finds nothing.
func TestPageUpstreamUnlink(t *testing.T) {
	h := upsHarness(t, upsCorp, upsGitLab)
	id := upsUser(t, h, "ann@example.com")
	upsLinkIdentity(t, h, id, "corp", "s-1", "ann@corp.example")
	c := h.client()
	h.pageSignIn(c, "ann@example.com")

	wantSeeOther(t, h.do(c, "POST", "/account/identities/corp/unlink", pageForm()), "/account?notice=unlinked")
	if got := upsIdentities(t, h, id); len(got) != 0 {
		t.Fatalf("identities after unlink: %v", got)
	}
	if got := upsUnlinked(t, h, id); len(got) != 1 || got[0] != "upstream corp" {
		t.Fatalf("identity_unlinked rows: %q", got)
	}
	body := htmlPage(t, h.do(c, "GET", "/account?notice=unlinked", nil), http.StatusOK)
	pageHas(t, body, "The sign-in is unlinked", "No other account is linked.", ">Link Corp &amp; &lt;Partners&gt;</a>")

	// Again (another tab): nothing to unlink, nothing audited.
	wantSeeOther(t, h.do(c, "POST", "/account/identities/corp/unlink", pageForm()), "/account?notice=already-removed")
	wantSeeOther(t, h.do(c, "POST", "/account/identities/nope/unlink", pageForm()), "/account?notice=already-removed")
	if got := upsUnlinked(t, h, id); len(got) != 1 {
		t.Fatalf("identity_unlinked rows: %q", got)
	}

	// Another user's identity cannot be unlinked from here.
	bob := upsUser(t, h, "bob@example.com")
	upsLinkIdentity(t, h, bob, "gitlab", "s-2", "bob@gitlab.example")
	wantSeeOther(t, h.do(c, "POST", "/account/identities/gitlab/unlink", pageForm()), "/account?notice=already-removed")
	if got := upsIdentities(t, h, bob); len(got) != 1 {
		t.Fatalf("bob's identities: %v", got)
	}

	// Without a session: to sign in, nothing unlinked.
	wantSeeOther(t, h.do(h.client(), "POST", "/account/identities/gitlab/unlink", pageForm()), "/login")
	if got := upsIdentities(t, h, bob); len(got) != 1 {
		t.Fatalf("bob's identities: %v", got)
	}
}

// TestPageUpstreamUnlinkLastWay: a user without a password whose only way
// in is one identity cannot unlink it: the account page says why (409),
// and nothing changes. With a second identity either may go.
func TestPageUpstreamUnlinkLastWay(t *testing.T) {
	h := upsHarness(t, upsCorp, upsGitLab)
	c, id := upsPasswordless(t, h, "eve@example.com")

	r := h.do(c, "POST", "/account/identities/corp/unlink", pageForm())
	body := htmlPage(t, r, http.StatusConflict)
	pageHas(t, body, `<p class="form-error" role="alert">This is your only way to sign in: set a password (Forgot password?) or add a passkey first.</p>`,
		`action="/account/identities/corp/unlink"`, "Your account")
	if got := upsIdentities(t, h, id); len(got) != 1 || got[0] != "corp" {
		t.Fatalf("identities after a refused unlink: %v", got)
	}
	if got := upsUnlinked(t, h, id); len(got) != 0 {
		t.Fatalf("a refused unlink was audited: %q", got)
	}

	upsLinkIdentity(t, h, id, "gitlab", "s-eve", "eve@gitlab.example")
	wantSeeOther(t, h.do(c, "POST", "/account/identities/corp/unlink", pageForm()), "/account?notice=unlinked")
	// Now gitlab is the last way in.
	htmlPage(t, h.do(c, "POST", "/account/identities/gitlab/unlink", pageForm()), http.StatusConflict)
	if got := upsIdentities(t, h, id); len(got) != 1 || got[0] != "gitlab" {
		t.Fatalf("identities: %v", got)
	}
}

// TestPageUpstreamUnlinkGetRedirects: a GET of the unlink URL changes
// nothing and goes to /account.
func TestPageUpstreamUnlinkGetRedirects(t *testing.T) {
	for _, h := range []*harness{upsHarness(t, upsCorp), newHarness(t)} {
		id := upsUser(t, h, "ann@example.com")
		c := h.client()
		h.pageSignIn(c, "ann@example.com")
		if h.upstreams != nil {
			upsLinkIdentity(t, h, id, "corp", "s-1", "ann@corp.example")
		}
		wantSeeOther(t, h.do(c, "GET", "/account/identities/corp/unlink", nil), "/account")
		wantSeeOther(t, h.do(h.client(), "GET", "/account/identities/corp/unlink", nil), "/account")
		if h.upstreams != nil {
			if got := upsIdentities(t, h, id); len(got) != 1 {
				t.Fatalf("identities after a GET: %v", got)
			}
		}
	}
}

// TestPageUpstreamUnlinkCrossOrigin: an unlink posted from another
// origin is refused and changes nothing.
func TestPageUpstreamUnlinkCrossOrigin(t *testing.T) {
	h := upsHarness(t, upsCorp)
	id := upsUser(t, h, "ann@example.com")
	upsLinkIdentity(t, h, id, "corp", "s-1", "ann@corp.example")
	c := h.client()
	h.pageSignIn(c, "ann@example.com")
	for _, hdr := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Site", "same-site"}, {"Origin", "http://evil.example"}} {
		if r := h.do(c, "POST", "/account/identities/corp/unlink", pageForm(), hdr...); r.StatusCode != http.StatusForbidden {
			t.Fatalf("POST with %v: %d", hdr, r.StatusCode)
		}
	}
	if got := upsIdentities(t, h, id); len(got) != 1 {
		t.Fatalf("identities after cross-origin posts: %v", got)
	}
	if got := upsUnlinked(t, h, id); len(got) != 0 {
		t.Fatalf("audited: %q", got)
	}
}
