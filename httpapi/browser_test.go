package httpapi_test

// End-to-end tests of the pages in headless Chromium (Debian's chromium
// package), driven by chromedp, against the real server of the harness
// (SQLite, --dev cookies on plain-HTTP 127.0.0.1).
//
// Chromium is installed by scripts/install-chromium when /usr/bin/chromium
// is missing; if that fails the tests skip, or fail under CI=true. They
// skip under -short. With AUTHD_SCREENSHOTS=1 the screenshots go to
// docs/screenshots/ (committed, linked from the README); otherwise to a
// temporary directory.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/authd/authd/httpapi"

	"github.com/authd/authd/internal/browsertest"
)

// browser is one headless Chromium with a user-data dir of its own: its own
// cookies, so two of them are two devices.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	ctx := browsertest.Start(t, 1280, 900)
	return &browser{t: t, ctx: ctx}
}

// step bounds one browser step in time.
func (b *browser) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, 20*time.Second)
}

func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v\npage: %s", what, err, b.bodyText())
	}
}

// submit clicks sel, waits for the page it leads to, and returns that
// page's HTTP status (after redirects).
func (b *browser) submit(sel string) int64 {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("click %s: %v", sel, err)
	}
	return resp.Status
}

func (b *browser) open(url string) int64 {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		b.t.Fatalf("open %s: %v", url, err)
	}
	return resp.Status
}

func evalIn[T any](b *browser, js string) T {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// bodyText is the text a person sees on the page.
func (b *browser) bodyText() string {
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return fmt.Sprintf("(no text: %v)", err)
	}
	return s
}

func (b *browser) path() string {
	return evalIn[string](b, `location.pathname + location.search`)
}

func (b *browser) sees(wants ...string) {
	b.t.Helper()
	text := b.bodyText()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			b.t.Fatalf("page %s does not show %q:\n%s", b.path(), w, text)
		}
	}
}

func (b *browser) seesNot(nots ...string) {
	b.t.Helper()
	text := b.bodyText()
	for _, w := range nots {
		if strings.Contains(text, w) {
			b.t.Fatalf("page %s shows %q:\n%s", b.path(), w, text)
		}
	}
}

// signIn fills and posts the sign-in form on the current page.
func (b *browser) signIn(email, pw string) int64 {
	b.t.Helper()
	b.do("fill the sign-in form",
		chromedp.WaitVisible(chromedp.CSS("#login-email")),
		chromedp.Clear(chromedp.CSS("#login-email")),
		chromedp.SendKeys(chromedp.CSS("#login-email"), email),
		chromedp.SendKeys(chromedp.CSS("#login-password"), pw),
	)
	return b.submit(`form[action="/login"] button[type="submit"]`)
}

// screenshot saves the full page as name.png at the given width: to
// docs/screenshots/ when AUTHD_SCREENSHOTS=1, else to a temporary directory.
func (b *browser) screenshot(name string, width int64) {
	b.t.Helper()
	dir := b.t.TempDir()
	if os.Getenv("AUTHD_SCREENSHOTS") == "1" {
		dir = filepath.Join("..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.t.Fatal(err)
		}
	}
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900)); err != nil {
		b.t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		b.t.Fatal(err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot %s", p)
}

// TestBrowserAccountFlow: sign up, the account page and its session, the
// HttpOnly cookie, the token panel, sign out and Back, a wrong password.
func TestBrowserAccountFlow(t *testing.T) {
	h := newHarness(t)
	b := newBrowser(t)

	if st := b.open(h.srv.URL + "/"); st != http.StatusOK {
		t.Fatalf("GET /: %d", st)
	}
	b.sees("Sign in", "Create an account", "At least 15 characters")
	// Keyboard: the email field has the focus, Tab moves on to the
	// password, and the focus is visible.
	if id := evalIn[string](b, `document.activeElement.id`); id != "login-email" {
		t.Fatalf("focus on %q, want login-email", id)
	}
	b.do("tab", chromedp.KeyEvent("\t"))
	if id := evalIn[string](b, `document.activeElement.id`); id != "login-password" {
		t.Fatalf("after Tab the focus is on %q, want login-password", id)
	}
	if o := evalIn[string](b, `getComputedStyle(document.activeElement).outlineStyle`); o == "none" {
		t.Fatal("the focused field has no visible outline")
	}
	b.screenshot("signin", 1280)
	b.screenshot("signin-mobile", 390)

	// Sign up: the new account is signed in and lands on /account.
	b.do("fill the sign-up form",
		chromedp.SendKeys(chromedp.CSS("#signup-email"), "ann@example.com"),
		chromedp.SendKeys(chromedp.CSS("#signup-password"), goodPassword),
	)
	if st := b.submit(`form[action="/signup"] button[type="submit"]`); st != http.StatusOK {
		t.Fatalf("sign-up landed on a %d", st)
	}
	if p := b.path(); p != "/account" {
		t.Fatalf("after sign-up on %s", p)
	}
	b.sees("Your account", "ann@example.com", "Where you are signed in", "This device", "Headless Chrome on Linux", "127.0.0.1")

	// The session cookie is HttpOnly: the browser holds it, scripts do not see it.
	ctx, cancel := b.step()
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{h.srv.URL}})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	var held bool
	for _, c := range cookies.Cookies {
		if c.Name == httpapi.CookieNameDev {
			held = true
			if !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax {
				t.Fatalf("session cookie is not HttpOnly + SameSite=Lax: %+v", c)
			}
		}
	}
	if !held {
		t.Fatal("the browser holds no session cookie")
	}
	if dc := evalIn[string](b, `document.cookie`); strings.Contains(dc, httpapi.CookieNameDev) {
		t.Fatalf("document.cookie shows the session cookie: %q", dc)
	}

	// A second device, so the screenshot shows a revocable session.
	phone := h.client()
	h.do(phone, "POST", "/login", pageForm("email", "ann@example.com", "password", goodPassword), "User-Agent",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1")

	// The token panel: header and claims decoded, expiry counting down.
	b.open(h.srv.URL + "/account")
	b.sees("Safari on iPhone", "Sign out everywhere else")
	if st := b.submit(`form[action="/account/token#token"] button`); st != http.StatusOK {
		t.Fatalf("token: %d", st)
	}
	b.sees(`"typ": "at+jwt"`, `"alg": "EdDSA"`, `"sid": "`, `"sub": "`, `"aud": [`, "Expires at")
	ctx, cancel = b.step()
	_, err = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](
		`/in (14|15):\d\d/.test(document.querySelector("[data-countdown]").textContent)`,
		chromedp.WithPollingTimeout(10*time.Second)))
	cancel()
	if err != nil {
		t.Fatalf("the countdown does not run: %v\n%s", err, b.bodyText())
	}
	b.screenshot("account", 1280)
	b.screenshot("account-mobile", 390)

	// Sign out, then Back: the account page is not shown again.
	b.open(h.srv.URL + "/account")
	if st := b.submit(`.whoami button`); st != http.StatusOK {
		t.Fatalf("sign out: %d", st)
	}
	b.sees("You are signed out.")
	b.do("back", chromedp.NavigateBack())
	time.Sleep(200 * time.Millisecond)
	b.seesNot("ann@example.com", "Where you are signed in", "This device", "Safari on iPhone")
	if p := b.path(); p != "/login" {
		t.Fatalf("Back after signing out shows %s", p)
	}

	// A wrong password: the message sits next to the password field.
	if st := b.signIn("ann@example.com", "this is not the password"); st != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", st)
	}
	b.sees("The email or password is wrong.")
	if v := evalIn[string](b, `document.getElementById("login-password").getAttribute("aria-describedby")`); v != "login-password-error" {
		t.Fatalf("password field aria-describedby = %q", v)
	}
	if id := evalIn[string](b, `document.activeElement.id`); id != "login-password" {
		t.Fatalf("after a wrong password the focus is on %q", id)
	}
	if st := b.signIn("ann@example.com", goodPassword); st != http.StatusOK || b.path() != "/account" {
		t.Fatalf("sign in: %d on %s", st, b.path())
	}
	b.sees("ann@example.com", "This device")
}

// TestBrowserRevokedDeviceSentToSignIn: two browsers sign in; the first
// revokes the second, whose next click lands on the sign-in page.
func TestBrowserRevokedDeviceSentToSignIn(t *testing.T) {
	h := newHarness(t)
	h.register("ann@example.com")
	first, second := newBrowser(t), newBrowser(t)
	for _, b := range []*browser{first, second} {
		b.open(h.srv.URL + "/login")
		if st := b.signIn("ann@example.com", goodPassword); st != http.StatusOK {
			t.Fatalf("sign in: %d", st)
		}
	}
	first.open(h.srv.URL + "/account")
	if n := evalIn[int](first, `document.querySelectorAll(".session").length`); n != 2 {
		t.Fatalf("%d sessions listed, want 2", n)
	}
	if st := first.submit(`.session:not(.session-current) button`); st != http.StatusOK {
		t.Fatalf("revoke: %d", st)
	}
	first.sees("That session has ended.")
	if n := evalIn[int](first, `document.querySelectorAll(".session").length`); n != 1 {
		t.Fatalf("%d sessions listed after revoking, want 1", n)
	}

	// The second browser still shows its old page; its next click is sent
	// to sign in, and told why.
	second.sees("ann@example.com")
	second.submit(`form[action="/account/token#token"] button`)
	if p := second.path(); p != "/login?notice=ended" {
		t.Fatalf("revoked device is on %s", p)
	}
	second.sees("Your session ended. Sign in again.")
	second.seesNot("ann@example.com")
}

// TestBrowserCrossOriginFormRefused: a page on another origin auto-submits
// a form to authd; the browser carries the victim's cookie where SameSite
// allows it, and authd refuses the post either way.
func TestBrowserCrossOriginFormRefused(t *testing.T) {
	h := newHarness(t)
	h.register("ann@example.com")
	b := newBrowser(t)
	b.open(h.srv.URL + "/login")
	if st := b.signIn("ann@example.com", goodPassword); st != http.StatusOK {
		t.Fatalf("sign in: %d", st)
	}

	var target atomic.Value // the authd URL the forged form posts to
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><title>Win a prize</title>
<form id="f" method="post" action="%s"><input type="hidden" name="x" value="1"></form>
<script src="/go.js"></script>`, target.Load())
		case "/go.js":
			w.Header().Set("Content-Type", "text/javascript")
			fmt.Fprint(w, `document.getElementById("f").submit();`)
		}
	}))
	defer attacker.Close()
	port := attacker.URL[strings.LastIndex(attacker.URL, ":")+1:]

	// 127.0.0.1 on another port is the same site (the Lax cookie is sent)
	// but another origin; localhost is another site altogether.
	for _, origin := range []string{"http://127.0.0.1:" + port, "http://localhost:" + port} {
		for _, path := range []string{"/logout", "/account/signout-everywhere"} {
			target.Store(h.srv.URL + path)
			ctx, cancel := b.step()
			responses := chromedp.Events(ctx, network.ResponseReceived)
			if err := chromedp.Do(ctx, chromedp.Navigate(origin+"/")); err != nil {
				cancel()
				t.Fatalf("open attacker page: %v", err)
			}
			var status int64
			for ev, err := range responses {
				if err != nil {
					cancel()
					t.Fatalf("waiting for the forged post from %s to %s: %v", origin, path, err)
				}
				if ev.Type == network.ResourceTypeDocument && ev.Response.URL == h.srv.URL+path {
					status = ev.Response.Status
					break
				}
			}
			cancel()
			if status != http.StatusForbidden {
				t.Fatalf("forged post from %s to %s: %d, want 403", origin, path, status)
			}
			// The victim is still signed in.
			if st := b.open(h.srv.URL + "/account"); st != http.StatusOK || b.path() != "/account" {
				t.Fatalf("after the forged post from %s to %s: %d on %s", origin, path, st, b.path())
			}
			b.sees("ann@example.com", "This device")
		}
	}
}
