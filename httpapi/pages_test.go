package httpapi_test

// Tests of the HTML pages over plain net/http (no browser, no JavaScript):
// headers, redirects, the return-URL check, the form flows, and the pages
// for the throttle, a locked account and an ended session. browser_test.go
// drives the same pages in headless Chromium.

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/account"
	"github.com/authd/authd/httpapi"
	"github.com/authd/authd/httpapi/pages"
	"github.com/authd/authd/session"
)

func pageForm(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// seeOther checks that r is a 303 to want and returns it.
func wantSeeOther(t *testing.T, r resp, want string) {
	t.Helper()
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want 303 to %s: %s", r.StatusCode, want, r.body)
	}
	if got := r.Header.Get("Location"); got != want {
		t.Fatalf("Location %q, want %q", got, want)
	}
}

// page checks that r is an HTML page with status and returns its body.
func htmlPage(t *testing.T, r resp, status int) string {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", r.StatusCode, status, r.body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Fatalf("Content-Type %q, want HTML", ct)
	}
	return string(r.body)
}

func pageHas(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("page:\n%s", body)
		t.FailNow()
	}
}

// pageSignIn posts the sign-in form and expects to be sent to /account.
func (h *harness) pageSignIn(c *http.Client, email string) {
	h.t.Helper()
	r := h.do(c, "POST", "/login", pageForm("email", email, "password", goodPassword))
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/account" {
		h.t.Fatalf("sign in %s: %d %s %s", email, r.StatusCode, r.Header.Get("Location"), r.body)
	}
}

var pageRevokeAction = regexp.MustCompile(`action="/account/sessions/([A-Za-z0-9_-]+)/revoke"`)

func TestPageSecurityHeaders(t *testing.T) {
	for _, tls := range []bool{false, true} {
		h := newHarness(t, with(func(c *httpapi.Config, _ *account.Config, _ *session.Config) { c.TLS = tls }))
		h.register("ann@example.com")
		signedIn := h.client()
		h.pageSignIn(signedIn, "ann@example.com")
		cases := []struct {
			name string
			c    *http.Client
			do   func(c *http.Client) resp
			html bool
		}{
			{"GET /", nil, func(c *http.Client) resp { return h.do(c, "GET", "/", nil) }, true},
			{"GET /login", nil, func(c *http.Client) resp { return h.do(c, "GET", "/login?notice=ended", nil) }, true},
			{"GET /account", signedIn, func(c *http.Client) resp { return h.do(c, "GET", "/account", nil) }, true},
			{"POST /account/token", signedIn, func(c *http.Client) resp { return h.do(c, "POST", "/account/token", pageForm()) }, true},
			{"GET /account signed out", nil, func(c *http.Client) resp { return h.do(c, "GET", "/account", nil) }, false},
			{"POST /login wrong", nil, func(c *http.Client) resp {
				return h.do(c, "POST", "/login", pageForm("email", "ann@example.com", "password", "wrong password, long enough"))
			}, true},
			{"POST /login bad type", nil, func(c *http.Client) resp { return h.do(c, "POST", "/login", []byte("x"), "Content-Type", "text/plain") }, true},
			{"asset", nil, func(c *http.Client) resp { return h.do(c, "GET", "/assets/app.css", nil) }, false},
			{"unknown asset", nil, func(c *http.Client) resp { return h.do(c, "GET", "/assets/nope.js", nil) }, true},
		}
		for _, tc := range cases {
			t.Run(tc.name+map[bool]string{false: "", true: " TLS"}[tls], func(t *testing.T) {
				c := tc.c
				if c == nil {
					c = h.client()
				}
				r := tc.do(c)
				want := map[string]string{
					"Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
						"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'",
					"X-Frame-Options":        "DENY",
					"X-Content-Type-Options": "nosniff",
					"Referrer-Policy":        "same-origin",
				}
				if tls {
					want["Strict-Transport-Security"] = pages.HSTS
				}
				if tc.html {
					want["Cache-Control"] = "no-store"
					htmlPage(t, r, r.StatusCode)
				}
				for k, v := range want {
					if got := r.Header.Get(k); got != v {
						t.Errorf("%s: %q, want %q", k, got, v)
					}
				}
				if !tls && r.Header.Get("Strict-Transport-Security") != "" {
					t.Error("HSTS on a plain-HTTP server")
				}
			})
		}
	}
}

func TestPageRedirects(t *testing.T) {
	h := newHarness(t)
	h.register("ann@example.com")
	c := h.client()
	wantSeeOther(t, h.do(c, "GET", "/account", nil), "/login")
	htmlPage(t, h.do(c, "GET", "/", nil), http.StatusOK)
	htmlPage(t, h.do(c, "GET", "/login", nil), http.StatusOK)

	r := h.do(c, "POST", "/login", pageForm("email", "ann@example.com", "password", goodPassword))
	wantSeeOther(t, r, "/account")
	sc := r.Header.Get("Set-Cookie")
	for _, want := range []string{httpapi.CookieNameDev + "=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	// Signed in: the sign-in page goes straight on.
	wantSeeOther(t, h.do(c, "GET", "/", nil), "/account")
	wantSeeOther(t, h.do(c, "GET", "/login?return=%2Faccount%3Ftab%3D1", nil), "/account?tab=1")
	wantSeeOther(t, h.do(c, "GET", "/login?return=%2F%2Fevil.example", nil), "/account")
	htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK)

	// Unknown page paths are the router's; the API's own are unchanged.
	assertProblem(t, h.do(c, "GET", "/v1/nope", nil), http.StatusNotFound)
	assertProblem(t, h.do(c, "PUT", "/v1/login", nil), http.StatusMethodNotAllowed)
}

// TestPageCookieModes: the pages set the same cookie as the JSON API:
// __Host-authd_session, Secure, unless --dev.
func TestPageCookieModes(t *testing.T) {
	for _, dev := range []bool{true, false} {
		h := newHarness(t, with(func(c *httpapi.Config, _ *account.Config, _ *session.Config) { c.Dev = dev }))
		h.register("ann@example.com")
		r := h.do(h.client(), "POST", "/login", pageForm("email", "ann@example.com", "password", goodPassword))
		wantSeeOther(t, r, "/account")
		c := r.Cookies()
		if len(c) != 1 || c[0].Name != httpapi.CookieName(dev) || c[0].Secure == dev || !c[0].HttpOnly ||
			c[0].SameSite != http.SameSiteLaxMode || c[0].Path != "/" || c[0].Domain != "" {
			t.Fatalf("dev=%v: Set-Cookie %q", dev, r.Header.Values("Set-Cookie"))
		}
		if !dev && !strings.HasPrefix(c[0].Name, "__Host-") {
			t.Fatalf("cookie %q lacks the __Host- prefix", c[0].Name)
		}
	}
}

// TestPageReturnURL posts the sign-in form with open-redirect attempts: the
// browser always lands on this site.
func TestPageReturnURL(t *testing.T) {
	h := newHarness(t)
	h.register("ann@example.com")
	cases := map[string]string{
		"/account?tab=sessions":             "/account?tab=sessions",
		"/elsewhere/on/this/site":           "/elsewhere/on/this/site",
		"":                                  "/account",
		"//evil.example":                    "/account",
		"///evil.example":                   "/account",
		"/\\evil.example":                   "/account",
		"\\\\evil.example":                  "/account",
		"https://evil.example/account":      "/account",
		"http:evil.example":                 "/account",
		"javascript:alert(document.domain)": "/account",
		"/\t/evil.example":                  "/account",
		"/\r\n/evil.example":                "/account",
		"/account\x00":                      "/account",
		"evil.example":                      "/account",
		"/%2F%2Fevil.example":               "/account",
		"/%5Cevil.example":                  "/account",
		" //evil.example":                   "/account",
		"/\u2215\u2215evil.example":         "/account",
	}
	for ret, want := range cases {
		t.Run(url.QueryEscape(ret), func(t *testing.T) {
			c := h.client()
			r := h.do(c, "POST", "/login", pageForm("email", "ann@example.com", "password", goodPassword, "return", ret))
			wantSeeOther(t, r, want)
			// The sign-in page carries only a valid return path in its forms.
			body := htmlPage(t, h.do(h.client(), "GET", "/login?return="+url.QueryEscape(ret), nil), http.StatusOK)
			if hidden := strings.Contains(body, `name="return"`); hidden != (want != "/account") {
				t.Errorf("return %q: hidden input present = %v", ret, hidden)
			}
		})
	}
}

// TestPageFlowWithoutJS walks the pages as a browser without JavaScript
// would: sign up, see the account, revoke another device, change the
// password, show the token, sign out.
func TestPageFlowWithoutJS(t *testing.T) {
	h := newHarness(t)
	a := h.client()
	r := h.do(a, "POST", "/signup", pageForm("email", "Ann@Example.com", "password", goodPassword), "User-Agent",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36")
	wantSeeOther(t, r, "/account")
	body := htmlPage(t, h.do(a, "GET", "/account", nil), http.StatusOK)
	pageHas(t, body, "ann@example.com", "Chrome on Linux", "This device", "127.0.0.1", "Sign out everywhere")
	if strings.Contains(body, "Sign out everywhere else") {
		t.Error("one session, yet 'sign out everywhere else' is offered")
	}

	// A second device signs in; the first sees it and revokes it.
	b := h.client()
	r = h.do(b, "POST", "/login", pageForm("email", "ann@example.com", "password", goodPassword), "User-Agent", "curl/8.5.0")
	wantSeeOther(t, r, "/account")
	body = htmlPage(t, h.do(a, "GET", "/account", nil), http.StatusOK)
	pageHas(t, body, "curl", "Sign out everywhere else")
	ids := pageRevokeAction.FindAllStringSubmatch(body, -1)
	if len(ids) != 2 {
		t.Fatalf("want 2 revoke forms, got %d", len(ids))
	}
	other := ids[1][1] // this device is listed first
	wantSeeOther(t, h.do(a, "POST", "/account/sessions/"+other+"/revoke", pageForm()), "/account?notice=revoked")
	pageHas(t, htmlPage(t, h.do(a, "GET", "/account?notice=revoked", nil), http.StatusOK), "That session has ended")
	// The revoked device is sent to sign in, told why, and its dead cookie cleared.
	r = h.do(b, "GET", "/account", nil)
	wantSeeOther(t, r, "/login?notice=ended")
	if h.cookie(b) != "" {
		t.Error("the dead cookie was not cleared")
	}
	// Revoking it again, or another user's session, says it had ended.
	wantSeeOther(t, h.do(a, "POST", "/account/sessions/"+other+"/revoke", pageForm()), "/account?notice=already-ended")

	// Sign out everywhere else.
	h.pageSignIn(b, "ann@example.com")
	wantSeeOther(t, h.do(a, "POST", "/account/sessions/revoke-others", pageForm()), "/account?notice=others-revoked")
	wantSeeOther(t, h.do(b, "GET", "/account", nil), "/login?notice=ended")

	// Change the password: a wrong current one, a weak new one, then right.
	body = htmlPage(t, h.do(a, "POST", "/account/password", pageForm("current_password", "not my password at all", "new_password", "a brand new long passphrase")), http.StatusForbidden)
	pageHas(t, body, `aria-describedby="current-password-error"`, "Your current password is wrong.")
	body = htmlPage(t, h.do(a, "POST", "/account/password", pageForm("current_password", goodPassword, "new_password", "short")), http.StatusBadRequest)
	pageHas(t, body, `aria-invalid="true"`, "new-password-hint new-password-error", "too short")
	wantSeeOther(t, h.do(a, "POST", "/account/password", pageForm("current_password", goodPassword, "new_password", "a brand new long passphrase")),
		"/account?notice=password-changed")

	// The token panel: decoded header and claims, the expiry time.
	body = htmlPage(t, h.do(a, "POST", "/account/token", pageForm()), http.StatusOK)
	pageHas(t, body, "&#34;typ&#34;: &#34;at&#43;jwt&#34;", "&#34;sid&#34;: &#34;"+ids[0][1]+"&#34;", "&#34;sub&#34;", "Expires at", `data-ttl="900"`)

	// Sign out: the session ends, the cookie is cleared, /account is gone.
	r = h.do(a, "POST", "/logout", pageForm())
	wantSeeOther(t, r, "/login?notice=signed-out")
	if r.Header.Get("Clear-Site-Data") != `"cookies"` {
		t.Error("no Clear-Site-Data")
	}
	wantSeeOther(t, h.do(a, "GET", "/account", nil), "/login")
	pageHas(t, htmlPage(t, h.do(a, "GET", "/login?notice=signed-out", nil), http.StatusOK), "You are signed out.")
}

func TestPageSignOutEverywhere(t *testing.T) {
	h := newHarness(t)
	h.register("ann@example.com")
	a, b := h.client(), h.client()
	h.pageSignIn(a, "ann@example.com")
	h.pageSignIn(b, "ann@example.com")
	refresh := h.passwordGrant("ann@example.com", nil).json(t)["refresh_token"].(string)
	r := h.do(a, "POST", "/account/signout-everywhere", pageForm())
	wantSeeOther(t, r, "/login?notice=signed-out-everywhere")
	if r.Header.Get("Clear-Site-Data") != `"cookies"` || h.cookie(a) != "" {
		t.Error("this device's cookie was not cleared")
	}
	wantSeeOther(t, h.do(a, "GET", "/account", nil), "/login")
	wantSeeOther(t, h.do(b, "GET", "/account", nil), "/login?notice=ended")
	// Apps signed in with the password grant are signed out too.
	rr := h.do(nil, "POST", "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if rr.StatusCode != http.StatusBadRequest {
		t.Fatalf("refresh after signing out everywhere: %d %s", rr.StatusCode, rr.body)
	}
}

func TestPageWrongPasswordAndLockedLookAlike(t *testing.T) {
	h := newHarness(t)
	h.register("ann@example.com")
	wrong := h.do(h.client(), "POST", "/login", pageForm("email", "ann@example.com", "password", "not the password, though long"))
	body := htmlPage(t, wrong, http.StatusUnauthorized)
	pageHas(t, body, "The email or password is wrong.", `aria-describedby="login-password-error"`, `value="ann@example.com"`)
	if err := h.lock("ann@example.com"); err != nil {
		t.Fatal(err)
	}
	locked := h.do(h.client(), "POST", "/login", pageForm("email", "ann@example.com", "password", goodPassword))
	if got := htmlPage(t, locked, http.StatusUnauthorized); got != body {
		t.Errorf("a locked account's page differs from a wrong password's:\n%s\n---\n%s", got, body)
	}
	unknown := h.do(h.client(), "POST", "/login", pageForm("email", "nobody@example.com", "password", goodPassword))
	pageHas(t, htmlPage(t, unknown, http.StatusUnauthorized), "The email or password is wrong.")
	// Empty fields are pointed at, without counting as a failure.
	pageHas(t, htmlPage(t, h.do(h.client(), "POST", "/login", pageForm("email", "", "password", "x")), http.StatusBadRequest),
		"Enter your email address.", `aria-describedby="login-email-error"`)
}

func TestPageThrottle(t *testing.T) {
	h := newHarness(t) // 5 failures per account per 15 minutes
	h.register("ann@example.com")
	for i := 0; i < 5; i++ {
		htmlPage(t, h.do(h.client(), "POST", "/login", pageForm("email", "ann@example.com", "password", "wrong password number "+string(rune('a'+i)))), http.StatusUnauthorized)
	}
	r := h.do(h.client(), "POST", "/login", pageForm("email", "ann@example.com", "password", goodPassword))
	body := htmlPage(t, r, http.StatusTooManyRequests)
	pageHas(t, body, "Too many attempts. Try again in 15 minutes.", `role="alert"`)
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	h.clock.Add(10 * time.Minute)
	pageHas(t, htmlPage(t, h.do(h.client(), "POST", "/login", pageForm("email", "ann@example.com", "password", goodPassword)), http.StatusTooManyRequests),
		"Try again in 5 minutes.")
	h.clock.Add(6 * time.Minute)
	h.pageSignIn(h.client(), "ann@example.com")
}

func TestPageExpiredSession(t *testing.T) {
	h := newHarness(t) // idle timeout 1h
	h.register("ann@example.com")
	c := h.client()
	h.pageSignIn(c, "ann@example.com")
	htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK)
	h.clock.Add(61 * time.Minute)
	r := h.do(c, "GET", "/account", nil)
	wantSeeOther(t, r, "/login?notice=ended")
	if !strings.Contains(r.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("dead cookie not cleared: %q", r.Header.Get("Set-Cookie"))
	}
	body := htmlPage(t, h.do(c, "GET", "/login?notice=ended", nil), http.StatusOK)
	pageHas(t, body, "Your session ended. Sign in again.")
	// A form posted with the dead session goes the same way.
	c2 := h.client()
	h.pageSignIn(c2, "ann@example.com")
	h.clock.Add(61 * time.Minute)
	wantSeeOther(t, h.do(c2, "POST", "/account/sessions/revoke-others", pageForm()), "/login?notice=ended")
	// Unknown notices show nothing.
	if strings.Contains(htmlPage(t, h.do(c, "GET", "/login?notice=%3Cb%3Ehi", nil), http.StatusOK), "hi</b>") {
		t.Error("a notice from the URL was shown")
	}
}

func TestPageSignupErrors(t *testing.T) {
	h := newHarness(t)
	h.register("ann@example.com")
	body := htmlPage(t, h.do(h.client(), "POST", "/signup", pageForm("email", "bob@example.com", "password", "fourteen chars")), http.StatusBadRequest)
	pageHas(t, body, "Password is too short", `aria-describedby="signup-password-hint signup-password-error"`, `value="bob@example.com"`)
	body = htmlPage(t, h.do(h.client(), "POST", "/signup", pageForm("email", "ANN@example.com", "password", goodPassword)), http.StatusConflict)
	pageHas(t, body, "An account with this email already exists.", `aria-describedby="signup-email-error"`)
	body = htmlPage(t, h.do(h.client(), "POST", "/signup", pageForm("email", "not an email", "password", goodPassword)), http.StatusBadRequest)
	pageHas(t, body, "Email must be a plain address")
	// A sign-up carries its return path.
	wantSeeOther(t, h.do(h.client(), "POST", "/signup", pageForm("email", "cy@example.com", "password", goodPassword, "return", "/account?new=1")), "/account?new=1")

	closed := newHarness(t, with(func(c *httpapi.Config, _ *account.Config, _ *session.Config) { c.Signup = false }))
	if strings.Contains(htmlPage(t, closed.do(nil, "GET", "/login", nil), http.StatusOK), `action="/signup"`) {
		t.Error("sign-up form shown while sign-up is closed")
	}
	pageHas(t, htmlPage(t, closed.do(nil, "POST", "/signup", pageForm("email", "dee@example.com", "password", goodPassword)), http.StatusForbidden),
		"Sign-up is closed")
}

// TestPageCrossOriginRefused: a form posted from another origin changes
// nothing (browser_test.go does the same from a real page).
func TestPageCrossOriginRefused(t *testing.T) {
	h := newHarness(t)
	h.register("ann@example.com")
	c := h.client()
	h.pageSignIn(c, "ann@example.com")
	for _, path := range []string{"/logout", "/account/signout-everywhere", "/account/sessions/revoke-others"} {
		for _, hdr := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Site", "same-site"}, {"Origin", "http://evil.example"}} {
			r := h.do(c, "POST", path, pageForm(), hdr...)
			if r.StatusCode != http.StatusForbidden {
				t.Fatalf("POST %s with %v: %d", path, hdr, r.StatusCode)
			}
		}
	}
	htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK)
	// Login CSRF too.
	if r := h.do(h.client(), "POST", "/login", pageForm("email", "ann@example.com", "password", goodPassword), "Sec-Fetch-Site", "cross-site"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site sign-in: %d", r.StatusCode)
	}
}

func TestPageBadForms(t *testing.T) {
	h := newHarness(t)
	pageHas(t, htmlPage(t, h.do(nil, "POST", "/login", []byte("email=a"), "Content-Type", "text/plain"), http.StatusUnsupportedMediaType),
		"This form could not be read")
	htmlPage(t, h.do(nil, "POST", "/login", "email=a&email=b", "Content-Type", "application/x-www-form-urlencoded"), http.StatusBadRequest)
	big := pageForm("email", strings.Repeat("a", httpapi.MaxBodyBytes))
	htmlPage(t, h.do(nil, "POST", "/login", big), http.StatusRequestEntityTooLarge)
}
