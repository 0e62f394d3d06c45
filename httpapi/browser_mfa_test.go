package httpapi_test

// End-to-end tests of second factors and passkeys in headless Chromium:
// a passkey added on /account with the DevTools virtual authenticator,
// then used alone ("Sign in with a passkey") and as the second step after
// a password; an authenticator app set up through the page (the code
// computed from the secret the page shows) and used at the second step.
//
// WebAuthn needs a secure context and a relying-party id that is a domain:
// http://localhost is one, 127.0.0.1 is not a valid RP id. The passkey
// tests therefore serve the harness's handler on a second listener that the
// browser reaches as http://localhost:PORT, with the RP id "localhost" and
// that origin.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/authd/authd/account"
	"github.com/authd/authd/httpapi"
	"github.com/authd/authd/session"
)

// webauthnParty sets the WebAuthn relying party of the harness: its RP id
// and the origins allowed in clientDataJSON.
func webauthnParty(rpID string, origins ...string) option {
	return func(o *options) { o.rpID, o.rpOrigins = rpID, origins }
}

// passkeyHarness starts a harness with passkeys on for the RP id
// "localhost", and returns it with the base URL (http://localhost:PORT) at
// which a browser reaches the same server.
func passkeyHarness(t *testing.T, opts ...option) (*harness, string) {
	t.Helper()
	// The port must be known before the harness is built (it is in the
	// allowed origin), so the listener comes first.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := fmt.Sprintf("http://localhost:%d", l.Addr().(*net.TCPAddr).Port)
	h := newHarness(t, append(opts, webauthnParty("localhost", base))...)
	ts := httptest.NewUnstartedServer(h.srv.Config.Handler)
	ts.Listener.Close()
	ts.Listener = l
	ts.Start()
	t.Cleanup(ts.Close)
	return h, base
}

// addAuthenticator gives the browser's tab a virtual platform
// authenticator (CTAP2, resident keys, user verification that succeeds,
// presence confirmed at once), as a phone or laptop with a screen lock.
func (b *browser) addAuthenticator() webauthn.AuthenticatorID {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		b.t.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Ctap2version:                webauthn.Ctap2versionCtap21,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		b.t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return res.AuthenticatorID
}

// credentials lists the passkeys the virtual authenticator holds.
func (b *browser) credentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		b.t.Fatalf("WebAuthn.getCredentials: %v", err)
	}
	return res.Credentials
}

// waitFor polls the JavaScript condition js until it is true. Unlike
// chromedp.Poll it outlives navigations (a script that signs in moves the
// page on while it is polled).
func (b *browser) waitFor(what, js string) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+js+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("%s: not within 15s (last error: %v)\non %s:\n%s", what, last, b.path(), b.bodyText())
}

// waitPath waits until the page is at path (pathname, no query).
func (b *browser) waitPath(path string) {
	b.t.Helper()
	b.waitFor("wait for "+path, fmt.Sprintf(`location.pathname === %q && document.readyState === "complete"`, path))
}

// me is GET /v1/me as the page's own script would ask it.
func (b *browser) me() map[string]any {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	m, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`fetch("/v1/me").then(r => r.json())`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("GET /v1/me: %v", err)
	}
	return m
}

// shot saves a screenshot at width to $AUTHD_MFA_SCREENSHOTS when set (a
// look at the layout on a phone), else nowhere.
func (b *browser) shot(name string, width int64) {
	b.t.Helper()
	dir := os.Getenv("AUTHD_MFA_SCREENSHOTS")
	if dir == "" {
		return
	}
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900)); err != nil {
		b.t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// beforePages runs the script src in every new document of the tab
// before the page's own scripts; remove undoes it.
func (b *browser) beforePages(src string) (remove func()) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
	if err != nil {
		b.t.Fatal(err)
	}
	return func() {
		ctx, cancel := b.step()
		defer cancel()
		if _, err := chromedp.Call(ctx, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams(res)); err != nil {
			b.t.Fatal(err)
		}
	}
}

// withoutJSONHelpers makes the tab's pages lack the WebAuthn L3 JSON
// helpers (PublicKeyCredential.parse*OptionsFromJSON and toJSON), as older
// browsers do, so app.js takes its base64url fallback.
func (b *browser) withoutJSONHelpers() {
	b.beforePages(`if (window.PublicKeyCredential) {
  delete PublicKeyCredential.parseRequestOptionsFromJSON;
  delete PublicKeyCredential.parseCreationOptionsFromJSON;
  delete PublicKeyCredential.prototype.toJSON;
}`)
}

// withoutAutofill makes the tab's pages report that passkey autofill
// (conditional mediation) is not available, as browsers without it do.
//
// NOTE: the virtual authenticator answers a conditional request at once,
// as if the person picked the passkey from the autofill list the moment
// the sign-in page loaded; tests of the button or of the password need it
// off.
func (b *browser) withoutAutofill() (remove func()) {
	return b.beforePages(`if (window.PublicKeyCredential) {
  PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);
}`)
}

// addPasskey signs ann in with her password at base and adds a passkey
// named name on /account; the first passkey shows the recovery codes.
func (b *browser) addPasskey(base, name string, first bool) {
	b.t.Helper()
	b.open(base + "/login")
	if st := b.signIn("ann@example.com", goodPassword); st != http.StatusOK || b.path() != "/account" {
		b.t.Fatalf("sign in: %d on %s", st, b.path())
	}
	b.sees("Security", "Authenticator app", "Passkeys", "No passkey yet")
	b.do("name the passkey",
		chromedp.WaitVisible(chromedp.CSS("#passkey-add")),
		chromedp.SendKeys(chromedp.CSS("#passkey-name"), name),
		chromedp.Click(chromedp.CSS("#passkey-add")),
	)
	if first {
		// The first second factor comes with recovery codes, shown once
		// before the page reloads.
		b.waitFor("recovery codes after the first passkey", `!document.querySelector("[data-passkey-codes]").hidden`)
		if n := evalIn[int](b, `document.querySelectorAll("[data-passkey-codes] .codes li").length`); n != 10 {
			b.t.Fatalf("%d recovery codes shown, want 10", n)
		}
		b.shot("passkey-codes-mobile", 390)
		b.do("continue", chromedp.Click(chromedp.CSS("[data-passkey-codes] a")))
	}
	b.waitFor("back on /account", `location.search.includes("notice=passkey-added") && document.readyState === "complete"`)
	b.sees("Your passkey is added.", name, "Last used never")
}

// TestBrowserPasskeySignIn: a passkey added on /account signs in alone
// with "Sign in with a passkey" (amr hwk + user: two factors in one), and
// the sign-in page offers it to the browser's autofill.
func TestBrowserPasskeySignIn(t *testing.T) {
	h, base := passkeyHarness(t)
	h.register("ann@example.com")
	b := newBrowser(t)
	auth := b.addAuthenticator()
	autofillBack := b.withoutAutofill()

	b.addPasskey(base, "Test laptop", true)
	creds := b.credentials(auth)
	if len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" {
		t.Fatalf("the authenticator holds %+v, want one discoverable credential for localhost", creds)
	}
	b.sees("10 of 10 left.")
	b.shot("security-mobile", 390)

	// Sign out; the sign-in page offers the passkey, and autofill.
	if st := b.submit(`.whoami button`); st != http.StatusOK {
		t.Fatalf("sign out: %d", st)
	}
	b.sees("You are signed out.", "Sign in with a passkey")
	if ac := evalIn[string](b, `document.getElementById("login-email").autocomplete`); ac != "username webauthn" {
		t.Fatalf("email autocomplete = %q, want username webauthn", ac)
	}
	b.shot("signin-passkey-mobile", 390)
	b.do("sign in with a passkey", chromedp.Click(chromedp.CSS("#passkey-signin")))
	b.waitPath("/account")
	b.sees("ann@example.com", "This device", "Test laptop")
	b.seesNot("Last used never")
	me := b.me()
	if jsonOf(me["amr"]) != `["hwk","user"]` || me["aal"] != float64(2) {
		t.Fatalf("after a passkey sign-in /v1/me is %v", me)
	}

	// A return path survives the passkey sign-in.
	b.open(base + "/account")
	b.submit(`.whoami button`)
	b.open(base + "/login?return=%2Faccount%3Fnotice%3Drevoked")
	b.do("sign in with a passkey", chromedp.WaitVisible(chromedp.CSS("#passkey-signin")), chromedp.Click(chromedp.CSS("#passkey-signin")))
	b.waitFor("the return path", `location.pathname + location.search === "/account?notice=revoked"`)

	// Autofill: the sign-in page starts a conditional request at once,
	// which the virtual authenticator answers as a person picking the
	// passkey from the email field's list would; no click needed.
	autofillBack()
	b.open(base + "/account")
	b.submit(`.whoami button`)
	b.waitPath("/account")
	b.sees("ann@example.com", "This device")
	if me := b.me(); jsonOf(me["amr"]) != `["hwk","user"]` {
		t.Fatalf("after autofill /v1/me is %v", me)
	}
}

// TestBrowserPasskeySecondStep: password, then the passkey as the second
// step on /login/second-factor. The browser here lacks the WebAuthn JSON
// helpers, so app.js's base64url fallback registers and uses the passkey.
func TestBrowserPasskeySecondStep(t *testing.T) {
	h, base := passkeyHarness(t)
	h.register("ann@example.com")
	b := newBrowser(t)
	b.addAuthenticator()
	b.withoutJSONHelpers()
	b.withoutAutofill()

	b.addPasskey(base, "Phone", true)
	if v := evalIn[string](b, `typeof PublicKeyCredential.parseCreationOptionsFromJSON + typeof PublicKeyCredential.prototype.toJSON`); v != "undefinedundefined" {
		t.Fatalf("the JSON helpers are still there: %s", v)
	}
	b.submit(`.whoami button`)

	// Password first: the second step asks for the passkey or a recovery
	// code (no authenticator app here).
	b.open(base + "/login?return=%2Faccount%23security")
	if st := b.signIn("ann@example.com", goodPassword); st != http.StatusOK {
		t.Fatalf("password: %d", st)
	}
	if p := b.path(); p != "/login/second-factor?return=%2Faccount%23security" {
		t.Fatalf("after the password on %s", p)
	}
	b.sees("Confirm it is you", "ann@example.com", "Use a passkey", "Use a recovery code")
	b.seesNot("Code from your authenticator app")
	b.shot("second-factor-passkey-mobile", 390)
	b.do("use the passkey", chromedp.WaitVisible(chromedp.CSS("#passkey-second")), chromedp.Click(chromedp.CSS("#passkey-second")))
	b.waitPath("/account")
	if hash := evalIn[string](b, `location.hash`); hash != "#security" {
		t.Fatalf("landed on /account%s, want the return path's #security", hash)
	}
	b.sees("ann@example.com", "Phone")
	me := b.me()
	if jsonOf(me["amr"]) != `["pwd","hwk","mfa","user"]` || me["aal"] != float64(2) {
		t.Fatalf("after password + passkey /v1/me is %v", me)
	}
}

// TestBrowserTOTPEnrolAndSignIn: an authenticator app set up through the
// page (QR code shown under the page's CSP, secret read from the page),
// then the password and the app's code at the second step; a wrong code
// first says so.
func TestBrowserTOTPEnrolAndSignIn(t *testing.T) {
	h := newHarness(t)
	h.register("ann@example.com")
	b := newBrowser(t)
	b.open(h.srv.URL + "/login")
	if st := b.signIn("ann@example.com", goodPassword); st != http.StatusOK {
		t.Fatalf("sign in: %d", st)
	}
	b.sees("Security", "Authenticator app", "Not set up.", "Passkeys are not available on this server.")
	if st := b.submit(`form[action="/account/security/totp#totp"] button`); st != http.StatusOK {
		t.Fatalf("set up: %d", st)
	}
	b.sees("Scan this QR code", "Or type in this secret", "Open in the authenticator app on this device")
	// The QR code is a data: image: it must load under this page's CSP.
	b.waitFor("the QR code loads", `(() => { const i = document.querySelector("img.qr"); return i && i.complete && i.naturalWidth > 0; })()`)
	secret := evalIn[string](b, `document.getElementById("totp-secret").dataset.secret`)
	if shown := strings.ReplaceAll(evalIn[string](b, `document.getElementById("totp-secret").textContent`), " ", ""); shown != secret || len(secret) != 32 {
		t.Fatalf("secret %q, shown as %q", secret, shown)
	}
	b.shot("totp-setup-mobile", 390)
	b.do("enter the code", chromedp.SendKeys(chromedp.CSS("#totp-confirm-code"), code(t, h, secret, 0)))
	if st := b.submit(`form[action="/account/security/totp/confirm#totp"] button`); st != http.StatusOK {
		t.Fatalf("confirm: %d", st)
	}
	b.sees("Your authenticator app is set up.", "Your new recovery codes", "not shown again")
	if n := evalIn[int](b, `document.querySelectorAll("[data-recovery-codes] li").length`); n != 10 {
		t.Fatalf("%d recovery codes shown, want 10", n)
	}
	b.open(h.srv.URL + "/account")
	b.seesNot("Your new recovery codes")
	b.sees("Signing in asks for a code from your authenticator app.", "10 of 10 left.")
	b.submit(`.whoami button`)

	// Password, then the second step.
	h.clock.Add(30 * time.Second) // past the step whose code set the app up
	if st := b.signIn("ann@example.com", goodPassword); st != http.StatusOK {
		t.Fatalf("password: %d", st)
	}
	if p := b.path(); p != "/login/second-factor" {
		t.Fatalf("after the password on %s", p)
	}
	b.sees("Code from your authenticator app", "Use a recovery code")
	b.seesNot("Use a passkey")
	for attr, want := range map[string]string{"autocomplete": "one-time-code", "inputMode": "numeric"} {
		if got := evalIn[string](b, `document.getElementById("totp-code").`+attr); got != want {
			t.Fatalf("code input %s = %q, want %q", attr, got, want)
		}
	}
	if id := evalIn[string](b, `document.activeElement.id`); id != "totp-code" {
		t.Fatalf("focus on %q, want the code input", id)
	}
	b.shot("second-factor-totp-mobile", 390)
	wrong := "000000"
	for _, s := range []int{-1, 0, 1} {
		if code(t, h, secret, s) == wrong {
			wrong = "999999"
		}
	}
	b.do("a wrong code", chromedp.SendKeys(chromedp.CSS("#totp-code"), wrong))
	if st := b.submit(`form[action="/login/second-factor/totp"] button`); st != http.StatusUnauthorized {
		t.Fatalf("a wrong code: %d", st)
	}
	b.sees("That code is not right.")
	b.do("the right code", chromedp.SendKeys(chromedp.CSS("#totp-code"), code(t, h, secret, 0)))
	if st := b.submit(`form[action="/login/second-factor/totp"] button`); st != http.StatusOK {
		t.Fatalf("the right code: %d", st)
	}
	if p := b.path(); p != "/account" {
		t.Fatalf("after the code on %s", p)
	}
	b.sees("ann@example.com", "This device")
	if me := b.me(); jsonOf(me["amr"]) != `["pwd","otp","mfa"]` {
		t.Fatalf("after password + code /v1/me is %v", me)
	}
}

// TestBrowserEnrolPasskeyAtSignIn: under --require-mfa-role admin an admin
// without a second factor signs in with the password, is asked to set one
// up first, adds a passkey on that page (app.js against the JSON API,
// which finishes the sign-in), sees the recovery codes once and continues
// to the return path, signed in with two factors.
func TestBrowserEnrolPasskeyAtSignIn(t *testing.T) {
	h, base := passkeyHarness(t, with(func(c *httpapi.Config, _ *account.Config, _ *session.Config) { c.RequireMFARoles = []string{"admin"} }))
	if _, err := h.accounts.Create(t.Context(), "ann@example.com", goodPassword, []string{"admin"}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	auth := b.addAuthenticator()
	b.withoutAutofill()

	b.open(base + "/login?return=%2Faccount%23security")
	if st := b.signIn("ann@example.com", goodPassword); st != http.StatusOK {
		t.Fatalf("password: %d", st)
	}
	if p := b.path(); p != "/login/second-factor?return=%2Faccount%23security" {
		t.Fatalf("after the password on %s", p)
	}
	b.sees("Set up a second factor", "ann@example.com", "your administrator requires it for your role",
		"Set up an authenticator app", "Add a passkey")
	b.seesNot("Code from your authenticator app", "Use a recovery code")
	b.shot("enrol-at-sign-in-mobile", 390)
	b.do("add a passkey",
		chromedp.WaitVisible(chromedp.CSS("#passkey-add")),
		chromedp.SendKeys(chromedp.CSS("#passkey-name"), "Admin laptop"),
		chromedp.Click(chromedp.CSS("#passkey-add")),
	)
	b.waitFor("recovery codes after the passkey", `!document.querySelector("[data-passkey-codes]").hidden`)
	if n := evalIn[int](b, `document.querySelectorAll("[data-passkey-codes] .codes li").length`); n != 10 {
		t.Fatalf("%d recovery codes shown, want 10", n)
	}
	b.sees("Your passkey is added and you are signed in.")
	b.seesNot("Set up an authenticator app", "Start again", "your administrator requires it")
	b.shot("enrol-passkey-codes-mobile", 390)
	if creds := b.credentials(auth); len(creds) != 1 || creds[0].RpID != "localhost" {
		t.Fatalf("the authenticator holds %+v", creds)
	}
	b.do("continue", chromedp.Click(chromedp.CSS("[data-passkey-codes] a")))
	b.waitPath("/account")
	if hash := evalIn[string](b, `location.hash`); hash != "#security" {
		t.Fatalf("landed on /account%s, want the return path's #security", hash)
	}
	b.sees("ann@example.com", "This device", "Admin laptop", "10 of 10 left.")
	me := b.me()
	if amr, _ := me["amr"].([]any); me["aal"] != float64(2) || !strings.Contains(jsonOf(amr), `"hwk"`) || !strings.Contains(jsonOf(amr), `"pwd"`) {
		t.Fatalf("after setting up a passkey at sign-in /v1/me is %v", me)
	}

	// The next sign-in with the password asks for the passkey.
	b.submit(`.whoami button`)
	if st := b.signIn("ann@example.com", goodPassword); st != http.StatusOK {
		t.Fatalf("password: %d", st)
	}
	b.sees("Confirm it is you", "Use a passkey")
	b.seesNot("Set up a second factor")
}

// TestBrowserEnrolTOTPAtSignIn: the same with an authenticator app, as
// forms: the QR code loads under the page's CSP, a code from the secret
// on the page finishes the sign-in, "Continue" goes on.
func TestBrowserEnrolTOTPAtSignIn(t *testing.T) {
	h := newHarness(t, with(func(c *httpapi.Config, _ *account.Config, _ *session.Config) { c.RequireMFARoles = []string{"admin"} }))
	if _, err := h.accounts.Create(t.Context(), "ann@example.com", goodPassword, []string{"admin"}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	b.open(h.srv.URL + "/login")
	if st := b.signIn("ann@example.com", goodPassword); st != http.StatusOK {
		t.Fatalf("password: %d", st)
	}
	b.sees("Set up a second factor", "your administrator requires it for your role")
	b.seesNot("Add a passkey")
	if st := b.submit(`form[action="/login/second-factor/enrol/totp"] button`); st != http.StatusOK {
		t.Fatalf("set up: %d", st)
	}
	b.sees("Scan this QR code", "Or type in this secret", "Open in the authenticator app on this device", "Choose another way")
	b.waitFor("the QR code loads", `(() => { const i = document.querySelector("img.qr"); return i && i.complete && i.naturalWidth > 0; })()`)
	secret := evalIn[string](b, `document.getElementById("totp-secret").dataset.secret`)
	b.shot("enrol-totp-mobile", 390)
	b.do("enter the code", chromedp.SendKeys(chromedp.CSS("#totp-confirm-code"), code(t, h, secret, 0)))
	if st := b.submit(`form[action="/login/second-factor/enrol/totp/confirm"] button`); st != http.StatusOK {
		t.Fatalf("confirm: %d", st)
	}
	b.sees("You are signed in", "Your recovery codes", "not shown again")
	if n := evalIn[int](b, `document.querySelectorAll("[data-recovery-codes] li").length`); n != 10 {
		t.Fatalf("%d recovery codes shown, want 10", n)
	}
	if st := b.submit(`a.btn-primary[href="/account"]`); st != http.StatusOK {
		t.Fatalf("continue: %d", st)
	}
	b.sees("ann@example.com", "This device", "Signing in asks for a code from your authenticator app.")
	if me := b.me(); jsonOf(me["amr"]) != `["pwd","otp","mfa"]` || me["aal"] != float64(2) {
		t.Fatalf("after setting up the app at sign-in /v1/me is %v", me)
	}
}
