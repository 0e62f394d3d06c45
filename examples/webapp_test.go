package examples_test

// Sign-in to another app with authd as its OpenID Connect provider, end to
// end in headless Chromium: examples/webapp (coreos/go-oidc and
// golang.org/x/oauth2, unchanged) and authd run as real processes; the
// browser goes through authd's sign-in and consent pages and back, signs
// out through authd's end_session_endpoint, and authd's back-channel
// logout must reach the app.
//
// Chromium is /usr/bin/chromium (Debian's), installed by
// scripts/install-chromium when missing; if that fails the test skips, or
// fails under CI=true (internal/testenv). It skips under -short.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/authd/authd/examples/authdtest"
	"github.com/authd/authd/internal/browsertest"
)

func TestWebAppSignInAndOut(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs authd and the web app, drives Chromium")
	}
	browsertest.Need(t)
	authd := authdtest.Start(t, authdtest.Options{})
	uid := authd.AddUser(t, email, password)
	bin := authdtest.Build(t, "github.com/authd/authd/examples/webapp")

	// The app's address is chosen first: the client's URIs name it.
	addr := authdtest.FreeAddr(t)
	app := "http://" + addr
	const clientID, secret = "webapp", "the web app's secret, 32 characters or more"
	authd.RegisterClient(t, authdtest.Client{
		ID: clientID, Secret: secret, Name: "Web app",
		RedirectURIs:           []string{app + "/callback"},
		PostLogoutRedirectURIs: []string{app + "/"},
		BackchannelLogoutURI:   app + "/backchannel-logout",
		// Not first-party: the consent page is part of the flow.
	})
	t.Setenv("WEBAPP_CLIENT_SECRET", secret) // as the README says: not on the command line
	authdtest.StartProcess(t, bin, "webapp listening on ",
		"--addr", addr, "--issuer", authd.URL, "--client-id", clientID, "--url", app)

	b := newBrowser(t)
	b.open(app + "/")
	b.sees("Sign in with authd")

	// Sign in: to authd's sign-in page, consent, and back signed in.
	b.click(`a[href="/login"]`)
	if !strings.HasPrefix(b.location(), authd.URL+"/login") {
		b.fatalf("Sign in with authd led to %s, want authd's sign-in page", b.location())
	}
	b.signIn(email, password)
	b.waitFor(`button[name=decision][value=approve]`, "authd's consent page")
	b.sees("Web app") // the consent page names the client
	b.click(`button[name=decision][value=approve]`)
	b.waitText(app+"/", "Signed in as "+email)

	// The session at authd this sign-in made: its public id is the sid
	// of the ID token, and so of the logout token to come.
	cookie := b.cookie(authd.URL, authdtest.CookieName)
	sid := currentSession(t, authd.URL, cookie)

	// Sign out: the app ends its session, authd ends its own (the ID token
	// as id_token_hint: no confirmation) and returns to the app.
	b.click(`form[action="/logout"] button`)
	b.waitText(app+"/", "Sign in with authd")
	b.seesNot("Signed in as")
	if st := statusOf(t, authd.URL+"/v1/me", cookie); st != http.StatusUnauthorized {
		t.Fatalf("authd's session still answers GET /v1/me after sign-out: %d", st)
	}
	b.open(authd.URL + "/account")
	if loc := b.location(); !strings.HasPrefix(loc, authd.URL+"/login") {
		b.fatalf("authd's /account after sign-out is %s, want the sign-in page", loc)
	}
	waitLogout(t, app, sid, uid)

	// Back-channel logout on its own: sign in again (the consent is
	// remembered), then end the session at authd, not at the app. The
	// app's page must turn signed out by itself.
	b.open(app + "/")
	b.click(`a[href="/login"]`)
	b.signIn(email, password)
	b.waitText(app+"/", "Signed in as "+email)
	cookie = b.cookie(authd.URL, authdtest.CookieName)
	sid2 := currentSession(t, authd.URL, cookie)
	if sid2 == sid {
		t.Fatalf("the second sign-in has the first one's session id %s", sid)
	}
	authd.Logout(t, cookie)
	waitLogout(t, app, sid2, uid)
	b.open(app + "/")
	b.sees("Sign in with authd")
	b.seesNot("Signed in as")
}

// currentSession is the public id of the session of cookie at authd, as
// GET /v1/sessions lists it.
func currentSession(t *testing.T, issuer string, cookie *http.Cookie) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, issuer+"/v1/sessions", nil)
	req.AddCookie(cookie)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET /v1/sessions: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var sessions []struct {
		ID      string `json:"id"`
		Current bool   `json:"current"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &sessions) != nil {
		t.Fatalf("GET /v1/sessions: %s: %s", resp.Status, body)
	}
	for _, s := range sessions {
		if s.Current {
			return s.ID
		}
	}
	t.Fatalf("GET /v1/sessions lists no current session: %s", body)
	return ""
}

// statusOf is the status of GET url with cookie.
func statusOf(t *testing.T, url string, cookie *http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	req.AddCookie(cookie)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// waitLogout polls the app's GET /backchannel-logouts until it lists the
// logout of sid (for user sub): authd sends it after the session ended,
// not before answering. Bounded at 10 s; no timing is asserted.
func waitLogout(t *testing.T, app, sid, sub string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	type logout struct{ SID, Sub string }
	var got []logout
	start := time.Now()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, app+"/backchannel-logouts", nil)
		if resp, err := client.Do(req); err == nil {
			got = nil
			_ = json.NewDecoder(resp.Body).Decode(&got)
			resp.Body.Close()
			if i := slices.IndexFunc(got, func(l logout) bool { return l.SID == sid }); i >= 0 {
				if got[i].Sub != sub {
					t.Fatalf("back-channel logout of sid %s for sub %q, want %q", sid, got[i].Sub, sub)
				}
				t.Logf("the back-channel logout of sid %s was listed after %s", sid, time.Since(start).Round(time.Millisecond))
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no back-channel logout of sid %s reached the app within 10 s; it received %+v", sid, got)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// browser is one headless Chromium with its own user-data dir.
type browser struct {
	t   *testing.T
	ctx context.Context

	mu      sync.Mutex
	console []string // the last messages of the console, for failures
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	ctx := browsertest.Start(t, 390, 844) // a phone: the app's pages must work there
	b := &browser{t: t, ctx: ctx}
	// The console's last messages go with a failure: page errors, failed
	// loads.
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, fmt.Sprintf("%s: %s", m.Type, m.Text))
			if len(b.console) > 20 {
				b.console = b.console[1:]
			}
			b.mu.Unlock()
		}
	}()
	return b
}

// step bounds one browser step in time, and ends it with the test.
func (b *browser) step() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	stop := context.AfterFunc(b.t.Context(), cancel)
	return ctx, func() { stop(); cancel() }
}

// fatalf fails the test with the page's location, HTML and the last
// console messages.
func (b *browser) fatalf(format string, args ...any) {
	b.t.Helper()
	b.mu.Lock()
	console := strings.Join(b.console, "\n")
	b.mu.Unlock()
	b.t.Fatalf("%s\nat %s:\n%s\nconsole:\n%s", fmt.Sprintf(format, args...), b.location(), b.html(), console)
}

func (b *browser) html() string {
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement ? document.documentElement.outerHTML : ""`))
	if err != nil {
		return fmt.Sprintf("(no HTML: %v)", err)
	}
	if len(s) > 8000 {
		s = s[:8000] + "…"
	}
	return s
}

func (b *browser) location() string {
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return fmt.Sprintf("(no location: %v)", err)
	}
	return s
}

func (b *browser) text() string {
	ctx, cancel := b.step()
	defer cancel()
	s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return s
}

// open loads url; a status of 400 or more fails the test.
func (b *browser) open(url string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
	if err != nil {
		b.fatalf("open %s: %v", url, err)
	}
	if resp.Status >= 400 {
		b.fatalf("open %s: %d", url, resp.Status)
	}
}

// click clicks sel and waits for the page it leads to, after redirects; a
// status of 400 or more fails the test.
func (b *browser) click(sel string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		hint := ""
		if strings.Contains(err.Error(), "ERR_ABORTED") {
			// What it has been so far: authd's pages send CSP form-action
			// 'self', and Chromium applies it to the redirects that answer
			// a form, so the redirect to the app's /callback is blocked.
			hint = " (did a Content-Security-Policy form-action block the redirect to another origin?)"
		}
		b.fatalf("click %s: %v%s", sel, err, hint)
	}
	if resp.Status >= 400 {
		b.fatalf("click %s: landed on a %d (%s)", sel, resp.Status, resp.URL)
	}
}

// signIn fills and posts authd's sign-in form (httpapi/pages/templates/signin.html).
func (b *browser) signIn(email, password string) {
	b.t.Helper()
	b.waitFor("#login-email", "authd's sign-in page")
	ctx, cancel := b.step()
	err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#login-email"), email),
		chromedp.SendKeys(chromedp.CSS("#login-password"), password),
	)
	cancel()
	if err != nil {
		b.fatalf("fill the sign-in form: %v", err)
	}
	b.click(`form[action="/login"] button[type="submit"]`)
}

// waitFor waits until sel is visible on the page (what names the page).
func (b *browser) waitFor(sel, what string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		b.fatalf("%s (%s) did not appear: %v", what, sel, err)
	}
}

// waitText waits until the page is under prefix and shows text.
func (b *browser) waitText(prefix, text string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	js := fmt.Sprintf(`location.href.startsWith(%q) && document.body && document.body.innerText.includes(%q)`, prefix, text)
	if _, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](js, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		b.fatalf("waiting for %q under %s: %v", text, prefix, err)
	}
}

func (b *browser) sees(want string) {
	b.t.Helper()
	if !strings.Contains(b.text(), want) {
		b.fatalf("the page does not show %q", want)
	}
}

func (b *browser) seesNot(not string) {
	b.t.Helper()
	if strings.Contains(b.text(), not) {
		b.fatalf("the page shows %q", not)
	}
}

// cookie is the browser's cookie name for url (HttpOnly ones included).
func (b *browser) cookie(url, name string) *http.Cookie {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
	if err != nil {
		b.t.Fatalf("cookies of %s: %v", url, err)
	}
	for _, c := range res.Cookies {
		if c.Name == name {
			return &http.Cookie{Name: c.Name, Value: c.Value}
		}
	}
	b.fatalf("the browser holds no cookie %s for %s", name, url)
	return nil
}
