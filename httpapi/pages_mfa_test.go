package httpapi_test

// Tests of the second-factor pages over plain net/http (no browser): the
// second step of a sign-in and the Security section of /account.
// browser_mfa_test.go drives the same pages, passkeys included, in
// headless Chromium.

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/account"
	"github.com/authd/authd/httpapi"
	"github.com/authd/authd/session"
)

const basePolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'"

// pagePending signs ann (who has a second factor) in with her password on
// the sign-in page and returns the browser holding the pending sign-in.
func pagePending(t *testing.T, h *harness, ret string) *http.Client {
	t.Helper()
	c := h.client()
	f := pageForm("email", "ann@example.com", "password", goodPassword)
	want := "/login/second-factor"
	if ret != "" {
		f.Set("return", ret)
		want += "?" + url.Values{"return": {ret}}.Encode()
	}
	wantSeeOther(t, h.do(c, "POST", "/login", f), want)
	return c
}

func TestPageSecondFactorNeedsPendingSignIn(t *testing.T) {
	h := newHarness(t)
	mfaUser(t, h)
	// No cookie: back to sign in, the return path kept.
	wantSeeOther(t, h.do(h.client(), "GET", "/login/second-factor", nil), "/login")
	wantSeeOther(t, h.do(h.client(), "GET", "/login/second-factor?return=%2Faccount%3Fx%3D1", nil), "/login?return=%2Faccount%3Fx%3D1")
	wantSeeOther(t, h.do(h.client(), "GET", "/login/second-factor?return=https://evil.example/", nil), "/login")
	// A cookie that names nothing: cleared, and the sign-in page says why.
	r := h.do(h.client(), "GET", "/login/second-factor", nil, "Cookie", "authd_session=bogus")
	wantSeeOther(t, r, "/login?notice=second-step-expired")
	if !strings.Contains(r.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("dead cookie not cleared: %q", r.Header.Get("Set-Cookie"))
	}
	page := htmlPage(t, h.do(h.client(), "GET", "/login?notice=second-step-expired", nil), http.StatusOK)
	pageHas(t, page, "Your sign-in was not finished in time.")
	// A full session is no pending sign-in: it goes on to the account.
	full := h.client()
	h.register("bob@example.com")
	h.pageSignIn(full, "bob@example.com")
	wantSeeOther(t, h.do(full, "GET", "/login/second-factor", nil), "/account")
	// The forms refuse too, without counting anything.
	wantSeeOther(t, h.do(h.client(), "POST", "/login/second-factor/totp", pageForm("code", "123456")), "/login")
	wantSeeOther(t, h.do(h.client(), "POST", "/login/second-factor/recovery", pageForm("code", "abcde-fghjk", "return", "/account")), "/login?return=%2Faccount")
	// A pending sign-in is not a session for the account pages.
	c := pagePending(t, h, "")
	wantSeeOther(t, h.do(c, "GET", "/account", nil), "/login?notice=ended")
}

func TestPageSecondFactorTOTP(t *testing.T) {
	h := newHarness(t)
	_, secret, _ := mfaUser(t, h)
	h.clock.Add(30 * time.Second) // past the enrolment's step
	c := pagePending(t, h, "")
	pending := h.cookie(c)
	r := h.do(c, "GET", "/login/second-factor", nil)
	page := htmlPage(t, r, http.StatusOK)
	if got := r.Header.Get("Content-Security-Policy"); got != basePolicy {
		t.Errorf("CSP %q", got)
	}
	pageHas(t, page, "Confirm it is you", "ann@example.com", `action="/login/second-factor/totp"`,
		`autocomplete="one-time-code"`, `inputmode="numeric"`, `action="/login/second-factor/recovery"`, "Use a recovery code")
	if strings.Contains(page, "data-passkey") {
		t.Error("a passkey button without passkeys")
	}

	// Empty, then wrong: the page again with the message by the field.
	page = htmlPage(t, h.do(c, "POST", "/login/second-factor/totp", pageForm("code", "")), http.StatusBadRequest)
	pageHas(t, page, "Enter the code.", `aria-invalid="true"`)
	wrong := "000000"
	for _, s := range []int{-1, 0, 1} {
		if code(t, h, secret, s) == wrong {
			wrong = "999999"
		}
	}
	page = htmlPage(t, h.do(c, "POST", "/login/second-factor/totp", pageForm("code", wrong)), http.StatusUnauthorized)
	pageHas(t, page, "That code is not right.", `aria-describedby="totp-code-hint totp-code-error"`)

	// The right code: a new session (not the pending one's id), two factors.
	wantSeeOther(t, h.do(c, "POST", "/login/second-factor/totp", pageForm("code", code(t, h, secret, 0))), "/account")
	if got := h.cookie(c); got == "" || got == pending {
		t.Fatal("the sign-in kept the pending sign-in's id")
	}
	me := h.do(c, "GET", "/v1/me", nil).json(t)
	if jsonOf(me["amr"]) != `["pwd","otp","mfa"]` || me["aal"] != float64(2) {
		t.Errorf("me: %v", me)
	}
	// The pending sign-in is spent.
	wantSeeOther(t, h.do(h.client(), "GET", "/login/second-factor", nil, "Cookie", "authd_session="+pending), "/login?notice=second-step-expired")
}

func TestPageSecondFactorReturnPath(t *testing.T) {
	h := newHarness(t)
	_, secret, _ := mfaUser(t, h)
	h.clock.Add(30 * time.Second)
	const ret = "/account?notice=revoked"
	c := pagePending(t, h, ret)
	page := htmlPage(t, h.do(c, "GET", "/login/second-factor?return="+url.QueryEscape(ret), nil), http.StatusOK)
	pageHas(t, page, `name="return" value="/account?notice=revoked"`)
	wantSeeOther(t, h.do(c, "POST", "/login/second-factor/totp", pageForm("code", code(t, h, secret, 0), "return", ret)), ret)
	// An unsafe return path is dropped.
	h.clock.Add(30 * time.Second)
	c = pagePending(t, h, "")
	wantSeeOther(t, h.do(c, "POST", "/login/second-factor/totp", pageForm("code", code(t, h, secret, 0), "return", "//evil.example/")), "/account")
}

func TestPageSecondFactorRecoveryCode(t *testing.T) {
	h := newHarness(t)
	_, _, codes := mfaUser(t, h)
	c := pagePending(t, h, "")
	page := htmlPage(t, h.do(c, "POST", "/login/second-factor/recovery", pageForm("code", "aaaaa-aaaaa")), http.StatusUnauthorized)
	pageHas(t, page, "That recovery code is not right, or it was used before.", "<details class=\"method\" open>")
	wantSeeOther(t, h.do(c, "POST", "/login/second-factor/recovery", pageForm("code", codes[0])), "/account?notice=recovery-code-used")
	page = htmlPage(t, h.do(c, "GET", "/account?notice=recovery-code-used", nil), http.StatusOK)
	pageHas(t, page, "You signed in with a recovery code.", "<strong>9</strong> of 10 left.")
	// Each code works once.
	c = pagePending(t, h, "")
	htmlPage(t, h.do(c, "POST", "/login/second-factor/recovery", pageForm("code", codes[0])), http.StatusUnauthorized)
}

func TestPageSecondFactorThrottled(t *testing.T) {
	h := newHarness(t)
	mfaUser(t, h)
	c := pagePending(t, h, "")
	// The harness allows 5 failures per account in the window; the
	// password and the codes count alike.
	var r resp
	for i := 0; i < 10; i++ {
		r = h.do(c, "POST", "/login/second-factor/totp", pageForm("code", "12345"))
		if r.StatusCode == http.StatusTooManyRequests {
			break
		}
		htmlPage(t, r, http.StatusUnauthorized)
	}
	page := htmlPage(t, r, http.StatusTooManyRequests)
	pageHas(t, page, "Too many attempts. Try again in ")
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}

func TestPageMFAGetRedirects(t *testing.T) {
	h := newHarness(t)
	c := h.client()
	for path, to := range map[string]string{
		"/login/second-factor/totp":               "/login/second-factor",
		"/login/second-factor/recovery":           "/login/second-factor",
		"/login/second-factor/enrol/totp":         "/login/second-factor",
		"/login/second-factor/enrol/totp/confirm": "/login/second-factor",
		"/account/security/totp":                  "/account",
		"/account/security/totp/confirm":          "/account",
		"/account/security/totp/remove":           "/account",
		"/account/security/passkeys/abc/remove":   "/account",
		"/account/security/recovery-codes":        "/account",
	} {
		wantSeeOther(t, h.do(c, "GET", path, nil), to)
	}
	// Signed out, the account forms send the browser to sign in.
	for _, path := range []string{"/account/security/totp", "/account/security/totp/confirm", "/account/security/totp/remove",
		"/account/security/passkeys/abc/remove", "/account/security/recovery-codes"} {
		wantSeeOther(t, h.do(c, "POST", path, pageForm()), "/login")
	}
}

var secretOnPage = regexp.MustCompile(`data-secret="([A-Z2-7]+)"`)

func TestPageSecurityTOTP(t *testing.T) {
	h := newHarness(t)
	h.register("ann@example.com")
	c := h.client()
	h.pageSignIn(c, "ann@example.com")
	page := htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK)
	pageHas(t, page, `id="security"`, "Authenticator app", "Not set up.", `action="/account/security/totp#totp"`,
		"Passkeys are not available on this server.")
	if strings.Contains(page, "Recovery codes") || strings.Contains(page, "Changes here need a recent sign-in") {
		t.Error("recovery codes or a reauth hint without a factor, or in a fresh session")
	}
	page = htmlPage(t, h.do(c, "POST", "/account/security/recovery-codes", nil), http.StatusConflict)
	pageHas(t, page, "Recovery codes come with a second factor")

	// Set up: the QR code (a data: image, allowed on this page only), the
	// secret as text, a link for phones, the confirm form.
	r := h.do(c, "POST", "/account/security/totp", nil)
	page = htmlPage(t, r, http.StatusOK)
	if got, want := r.Header.Get("Content-Security-Policy"), strings.Replace(basePolicy, "img-src 'self'", "img-src 'self' data:", 1); got != want {
		t.Errorf("CSP %q, want %q", got, want)
	}
	pageHas(t, page, `<img class="qr" src="data:image/png;base64,`, `href="otpauth://totp/`,
		`action="/account/security/totp/confirm#totp"`, `autocomplete="one-time-code"`)
	m := secretOnPage.FindStringSubmatch(page)
	if m == nil || len(m[1]) != 32 {
		t.Fatalf("no secret on the page:\n%s", page)
	}
	secret := m[1]
	if strings.Contains(page, "ZgotmplZ") {
		t.Fatal("the template filtered a URL out")
	}
	// Other pages keep img-src 'self'.
	if got := h.do(c, "GET", "/account", nil).Header.Get("Content-Security-Policy"); got != basePolicy {
		t.Errorf("/account CSP %q", got)
	}

	// A wrong code: the form again, with a way to start over.
	page = htmlPage(t, h.do(c, "POST", "/account/security/totp/confirm", pageForm("code", "12345")), http.StatusBadRequest)
	pageHas(t, page, "That code is not right.", "Start again with a new QR code", `aria-invalid="true"`)
	// The right one: on, with the recovery codes shown once.
	page = htmlPage(t, h.do(c, "POST", "/account/security/totp/confirm", pageForm("code", code(t, h, secret, 0))), http.StatusOK)
	pageHas(t, page, "Your authenticator app is set up.", "Your new recovery codes", "not shown again")
	if n := strings.Count(page, "<li><code>"); n != 10 {
		t.Errorf("%d recovery codes shown, want 10", n)
	}
	page = htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK)
	pageHas(t, page, "Signing in asks for a code from your authenticator app.", "<strong>10</strong> of 10 left.",
		`action="/account/security/totp/remove"`, `action="/account/security/recovery-codes#security"`)
	if strings.Contains(page, "<li><code>") {
		t.Error("the recovery codes are shown again")
	}
	// Set up again while on: refused.
	page = htmlPage(t, h.do(c, "POST", "/account/security/totp", nil), http.StatusConflict)
	pageHas(t, page, "An authenticator app is already set up.")

	// New recovery codes, shown once.
	page = htmlPage(t, h.do(c, "POST", "/account/security/recovery-codes", nil), http.StatusOK)
	if n := strings.Count(page, "<li><code>"); n != 10 {
		t.Errorf("%d new recovery codes shown, want 10", n)
	}

	// Remove: off again, and the recovery codes with it.
	wantSeeOther(t, h.do(c, "POST", "/account/security/totp/remove", nil), "/account?notice=totp-removed#security")
	page = htmlPage(t, h.do(c, "GET", "/account?notice=totp-removed", nil), http.StatusOK)
	pageHas(t, page, "The authenticator app is removed.", "Not set up.")
	if strings.Contains(page, "of 10 left") {
		t.Error("recovery codes left without a factor")
	}
	wantSeeOther(t, h.do(c, "POST", "/account/security/totp/remove", nil), "/account?notice=already-removed#security")
	wantSeeOther(t, h.do(c, "POST", "/account/security/passkeys/nope/remove", nil), "/account?notice=already-removed#security")
	// Confirming with nothing being set up.
	page = htmlPage(t, h.do(c, "POST", "/account/security/totp/confirm", pageForm("code", "123456")), http.StatusConflict)
	pageHas(t, page, "No authenticator app is being set up.")
}

func TestPageSecurityNeedsRecentSignIn(t *testing.T) {
	h := newHarness(t)
	c, _, _ := mfaUser(t, h)
	h.clock.Add(h.cfg.ReauthWindow + time.Minute)
	page := htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK)
	pageHas(t, page, "Changes here need a recent sign-in.", `href="/login?reauth=1&amp;return=%2Faccount"`)
	for _, path := range []string{"/account/security/totp", "/account/security/totp/remove",
		"/account/security/recovery-codes", "/account/security/passkeys/x/remove"} {
		page := htmlPage(t, h.do(c, "POST", path, nil), http.StatusForbidden)
		pageHas(t, page, "Sign in again to continue", "Nothing was changed.", `href="/login?reauth=1&amp;return=%2Faccount"`)
	}
	page = htmlPage(t, h.do(c, "POST", "/account/security/totp/confirm", pageForm("code", "123456")), http.StatusForbidden)
	pageHas(t, page, "Sign in again to continue")
	// Nothing changed: the app is still on.
	if m := h.do(c, "GET", "/v1/mfa", nil).json(t); m["totp"] != true || m["recovery_codes_left"] != float64(10) {
		t.Errorf("after refused changes: %v", m)
	}
	// The reauth link shows the sign-in form to the signed-in user.
	page = htmlPage(t, h.do(c, "GET", "/login?reauth=1&return=%2Faccount", nil), http.StatusOK)
	pageHas(t, page, "Sign in again to continue", `name="return" value="/account"`)
}

func TestPageSignInPasskeyButton(t *testing.T) {
	// Passkeys off: the sign-in form as before.
	h := newHarness(t)
	page := htmlPage(t, h.do(nil, "GET", "/login", nil), http.StatusOK)
	pageHas(t, page, `autocomplete="username"`)
	if strings.Contains(page, "data-passkey") || strings.Contains(page, "webauthn") {
		t.Error("passkey sign-in offered with passkeys off")
	}
	// Passkeys on: the button (hidden until the script shows it) and
	// autofill on the email field.
	h = newHarness(t, webauthnParty("localhost", "http://localhost:8080"))
	page = htmlPage(t, h.do(nil, "GET", "/login?return=%2Faccount%3Fnotice%3Drevoked", nil), http.StatusOK)
	pageHas(t, page, `autocomplete="username webauthn"`, `data-passkey="signin"`, `data-begin="/v1/passkey/begin"`,
		`data-finish="/v1/passkey/finish"`, `data-next="/account?notice=revoked"`, "Sign in with a passkey", "data-passkey-box hidden")
	if strings.Contains(page, "<script>") || strings.Contains(page, "style=") {
		t.Error("inline script or style")
	}
	// The account page offers to add one.
	h.register("ann@example.com")
	c := h.client()
	h.pageSignIn(c, "ann@example.com")
	page = htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK)
	pageHas(t, page, `data-passkey="add"`, `data-begin="/v1/mfa/passkeys/begin"`, `data-finish="/v1/mfa/passkeys/finish"`,
		`id="passkey-name"`, "Add a passkey")
}

// requireMFAHarness is a harness under --require-mfa-role admin with ann,
// an admin without a second factor.
func requireMFAHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	opts = append(opts, with(func(c *httpapi.Config, _ *account.Config, _ *session.Config) { c.RequireMFARoles = []string{"admin"} }))
	h := newHarness(t, opts...)
	if _, err := h.accounts.Create(t.Context(), "ann@example.com", goodPassword, []string{"admin"}); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestPageEnrolAtSignInTOTP: an admin without a second factor under
// --require-mfa-role admin signs in with the password, is told why the
// sign-in cannot finish yet, sets up an authenticator app on the second
// step (the same set-up as on /account), and is signed in with both
// factors, the recovery codes shown once.
func TestPageEnrolAtSignInTOTP(t *testing.T) {
	h := requireMFAHarness(t)
	const ret = "/account?notice=revoked"
	c := pagePending(t, h, ret)
	here := "/login/second-factor?" + url.Values{"return": {ret}}.Encode()
	r := h.do(c, "GET", here, nil)
	page := htmlPage(t, r, http.StatusOK)
	if got := r.Header.Get("Content-Security-Policy"); got != basePolicy {
		t.Errorf("CSP %q", got)
	}
	pageHas(t, page, "Set up a second factor", "ann@example.com", "your administrator requires it for your role",
		`action="/login/second-factor/enrol/totp"`, "Set up an authenticator app", `name="return" value="/account?notice=revoked"`)
	for _, not := range []string{"Code from your authenticator app", "Use a recovery code", "data-passkey=", "data-passkey-box", "<script>", "style="} {
		if strings.Contains(page, not) {
			t.Errorf("the set-up page has %q", not)
		}
	}
	// Not signed in yet, and the code forms of the second step only send
	// the browser back here.
	if r := h.do(c, "GET", "/v1/me", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/v1/me while setting up: %d", r.StatusCode)
	}
	wantSeeOther(t, h.do(c, "POST", "/login/second-factor/totp", pageForm("code", "123456", "return", ret)), here)
	wantSeeOther(t, h.do(c, "POST", "/login/second-factor/recovery", pageForm("code", "abcde-fghjk")), "/login/second-factor")
	wantSeeOther(t, h.do(c, "GET", "/account", nil), "/login?notice=ended")
	c = pagePending(t, h, ret)
	pending := h.cookie(c)

	// Set up: QR code (data: images allowed on this page only), secret,
	// otpauth link, the confirm form carrying the return path.
	r = h.do(c, "POST", "/login/second-factor/enrol/totp", pageForm("return", ret))
	page = htmlPage(t, r, http.StatusOK)
	if got, want := r.Header.Get("Content-Security-Policy"), strings.Replace(basePolicy, "img-src 'self'", "img-src 'self' data:", 1); got != want {
		t.Errorf("CSP %q, want %q", got, want)
	}
	pageHas(t, page, "Set up an authenticator app", `<img class="qr" src="data:image/png;base64,`, `href="otpauth://totp/`,
		`action="/login/second-factor/enrol/totp/confirm"`, `autocomplete="one-time-code"`, `inputmode="numeric"`,
		`name="return" value="/account?notice=revoked"`, "Turn on and sign in", `href="`+strings.ReplaceAll(here, "&", "&amp;")+`"`)
	if strings.Contains(page, "ZgotmplZ") {
		t.Fatal("the template filtered a URL out")
	}
	m := secretOnPage.FindStringSubmatch(page)
	if m == nil || len(m[1]) != 32 {
		t.Fatalf("no secret on the page:\n%s", page)
	}
	first := m[1]

	// Empty and wrong codes: the form again; the secret cannot be shown
	// again, so the page offers to start again. Still not signed in.
	page = htmlPage(t, h.do(c, "POST", "/login/second-factor/enrol/totp/confirm", pageForm("code", " ", "return", ret)), http.StatusBadRequest)
	pageHas(t, page, "Enter the code the app shows.")
	wrong := "000000"
	for _, s := range []int{-1, 0, 1} {
		if code(t, h, first, s) == wrong {
			wrong = "999999"
		}
	}
	page = htmlPage(t, h.do(c, "POST", "/login/second-factor/enrol/totp/confirm", pageForm("code", wrong, "return", ret)), http.StatusBadRequest)
	pageHas(t, page, "That code is not right.", `aria-invalid="true"`, "Start again with a new QR code",
		`action="/login/second-factor/enrol/totp"`, `name="return" value="/account?notice=revoked"`)
	if strings.Contains(page, "data-secret") || strings.Contains(page, first) {
		t.Error("the secret is shown again after a wrong code")
	}
	if h.cookie(c) != pending {
		t.Fatal("a wrong code changed the pending sign-in")
	}
	if r := h.do(c, "GET", "/v1/me", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/v1/me after a wrong code: %d", r.StatusCode)
	}

	// Start again: a new secret; the old one is void.
	page = htmlPage(t, h.do(c, "POST", "/login/second-factor/enrol/totp", pageForm("return", ret)), http.StatusOK)
	m = secretOnPage.FindStringSubmatch(page)
	if m == nil || m[1] == first {
		t.Fatalf("no new secret on the page:\n%s", page)
	}
	secret := m[1]
	if c1, c2 := code(t, h, first, 0), code(t, h, secret, 0); c1 != c2 {
		htmlPage(t, h.do(c, "POST", "/login/second-factor/enrol/totp/confirm", pageForm("code", c1, "return", ret)), http.StatusBadRequest)
	}

	// The right code: signed in with both factors (a new session id), the
	// recovery codes shown once, and a link on to the return path.
	r = h.do(c, "POST", "/login/second-factor/enrol/totp/confirm", pageForm("code", code(t, h, secret, 0), "return", ret))
	page = htmlPage(t, r, http.StatusOK)
	pageHas(t, page, "You are signed in", "Your recovery codes", "not shown again", `href="/account?notice=revoked">Continue</a>`)
	if n := strings.Count(page, "<li><code>"); n != 10 {
		t.Errorf("%d recovery codes shown, want 10", n)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	if got := h.cookie(c); got == "" || got == pending {
		t.Fatal("the sign-in kept the pending sign-in's id")
	}
	me := h.do(c, "GET", "/v1/me", nil).json(t)
	if jsonOf(me["amr"]) != `["pwd","otp","mfa"]` || me["aal"] != float64(2) {
		t.Errorf("me: %v", me)
	}
	page = htmlPage(t, h.do(c, "GET", ret, nil), http.StatusOK)
	pageHas(t, page, "Signing in asks for a code from your authenticator app.", "<strong>10</strong> of 10 left.")
	if strings.Contains(page, "<li><code>") {
		t.Error("the recovery codes are shown again")
	}
	// The spent pending sign-in sets nothing up any more.
	wantSeeOther(t, h.do(h.client(), "POST", "/login/second-factor/enrol/totp", pageForm(), "Cookie", "authd_session="+pending),
		"/login?notice=second-step-expired")

	// From now on the password asks for the app's code, and the set-up
	// forms refuse this pending sign-in: it has a factor to use.
	h.clock.Add(30 * time.Second)
	c = pagePending(t, h, "")
	page = htmlPage(t, h.do(c, "GET", "/login/second-factor", nil), http.StatusOK)
	pageHas(t, page, "Confirm it is you", `action="/login/second-factor/totp"`)
	if strings.Contains(page, "Set up a second factor") {
		t.Error("asked to set up a factor again")
	}
	wantSeeOther(t, h.do(c, "POST", "/login/second-factor/enrol/totp", pageForm()), "/login/second-factor")
	wantSeeOther(t, h.do(c, "POST", "/login/second-factor/enrol/totp/confirm", pageForm("code", code(t, h, secret, 0))), "/login/second-factor")
	if r := h.do(c, "GET", "/v1/me", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/v1/me after a refused set-up: %d", r.StatusCode)
	}
	wantSeeOther(t, h.do(c, "POST", "/login/second-factor/totp", pageForm("code", code(t, h, secret, 0))), "/account")
}

// TestPageEnrolAtSignInOnlyWhenRequired: a user without the required role
// signs in with the password alone; the set-up forms refuse a pending
// sign-in of a user who has a factor (and needs none), a full session,
// and no session.
func TestPageEnrolAtSignInOnlyWhenRequired(t *testing.T) {
	h := requireMFAHarness(t)
	h.register("bob@example.com")
	bob := h.client()
	h.pageSignIn(bob, "bob@example.com")
	if me := h.do(bob, "GET", "/v1/me", nil).json(t); me["aal"] != float64(1) {
		t.Fatalf("bob: %v", me)
	}
	// A full session: the set-up at sign-in is not for it.
	wantSeeOther(t, h.do(bob, "POST", "/login/second-factor/enrol/totp", pageForm()), "/account")
	wantSeeOther(t, h.do(bob, "POST", "/login/second-factor/enrol/totp/confirm", pageForm("code", "123456", "return", "/account#security")), "/account#security")
	if m := h.do(bob, "GET", "/v1/mfa", nil).json(t); m["totp"] != false {
		t.Fatalf("bob's factors: %v", m)
	}
	page := htmlPage(t, h.do(bob, "GET", "/account", nil), http.StatusOK)
	pageHas(t, page, "Not set up.")
	// No session at all.
	wantSeeOther(t, h.do(h.client(), "POST", "/login/second-factor/enrol/totp", pageForm("return", "/account")), "/login?return=%2Faccount")

	// On another server ann has an authenticator app and no role: her
	// pending sign-in may not set up another factor.
	h2 := newHarness(t, with(func(c *httpapi.Config, _ *account.Config, _ *session.Config) { c.RequireMFARoles = []string{"admin"} }))
	_, secret, _ := mfaUser(t, h2)
	h2.clock.Add(30 * time.Second)
	c := pagePending(t, h2, "")
	page = htmlPage(t, h2.do(c, "GET", "/login/second-factor", nil), http.StatusOK)
	pageHas(t, page, "Confirm it is you")
	if strings.Contains(page, "Set up a second factor") || strings.Contains(page, "administrator") {
		t.Error("a user with a factor is asked to set one up")
	}
	wantSeeOther(t, h2.do(c, "POST", "/login/second-factor/enrol/totp", pageForm()), "/login/second-factor")
	wantSeeOther(t, h2.do(c, "POST", "/login/second-factor/enrol/totp/confirm", pageForm("code", code(t, h2, secret, 0))), "/login/second-factor")
	if r := h2.do(c, "GET", "/v1/me", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/v1/me after a refused set-up: %d", r.StatusCode)
	}
	// Her app still works (nothing was replaced), and the sign-in ends.
	wantSeeOther(t, h2.do(c, "POST", "/login/second-factor/totp", pageForm("code", code(t, h2, secret, 0))), "/account")
}

// TestPageEnrolAtSignInPasskeyOffer: with passkeys on, the set-up at
// sign-in offers "Add a passkey" (app.js, against the JSON API, which
// accepts this pending sign-in) beside the authenticator app.
func TestPageEnrolAtSignInPasskeyOffer(t *testing.T) {
	h := requireMFAHarness(t, webauthnParty("localhost", "http://localhost:8080"))
	c := pagePending(t, h, "/account#security")
	page := htmlPage(t, h.do(c, "GET", "/login/second-factor?return=%2Faccount%23security", nil), http.StatusOK)
	pageHas(t, page, "Set up a second factor", "Set up an authenticator app", `data-passkey="add"`,
		`data-begin="/v1/mfa/passkeys/begin"`, `data-finish="/v1/mfa/passkeys/finish"`, `data-next="/account#security"`,
		`data-expired="/login?notice=second-step-expired&amp;return=%2Faccount%23security"`, `href="/account#security">Continue</a>`,
		"Add a passkey", "data-passkey-box hidden")
	if strings.Contains(page, "data-reauth") {
		t.Error("a reauthentication link on the sign-in")
	}
	// The JSON API's ceremony starts for this pending sign-in.
	if r := h.do(c, "POST", "/v1/mfa/passkeys/begin", "{}", "Sec-Fetch-Site", "same-origin"); r.StatusCode != http.StatusOK {
		t.Fatalf("passkeys/begin while setting up: %d %s", r.StatusCode, r.body)
	}
}
