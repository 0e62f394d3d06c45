package httpapi_test

// Tests of the pages of mailed links and of leaving (pages_mail.go) over
// plain net/http: /forgot, /recover, /verify, and the address, its
// change, the download of one's data and the deletion on /account. The
// mail goes to a private Mailpit (links_test.go's mailHarness); the links
// name the issuer http://authd.test, so the token is taken from a link's
// query and the page asked on the test server.

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/account"
)

// mpURLAttr finds the URLs a page links to or loads.
var mpURLAttr = regexp.MustCompile(`(?:href|src|action)="([^"]*)"`)

// mailPageNoReferrer checks that r is sent under no-referrer (header and
// meta tag) and that no URL on the page carries a token.
func mailPageNoReferrer(t *testing.T, r resp) {
	t.Helper()
	if got := r.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("Referrer-Policy %q, want no-referrer", got)
	}
	body := string(r.body)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		if !strings.Contains(body, `<meta name="referrer" content="no-referrer">`) {
			t.Errorf("the page's meta tag is not no-referrer")
		}
		for _, m := range mpURLAttr.FindAllStringSubmatch(body, -1) {
			if strings.Contains(m[1], "token") {
				t.Errorf("the page links to or loads %q", m[1])
			}
		}
	}
}

// mpForgot posts /forgot for email and returns the answer.
func mpForgot(h *harness, email string) resp {
	return h.do(h.client(), "POST", "/forgot", pageForm("email", email))
}

// TestPageForgotAnswersAlike: /forgot answers the same page and status
// for an account's address and for any other (E1); only the account gets
// a mail. A malformed address shows the form again with the reason.
func TestPageForgotAnswersAlike(t *testing.T) {
	h, mp := mailHarness(t, account.VerificationOff)
	h.register("ann@example.com")
	h.register("bob@example.com")
	if err := h.lock("bob@example.com"); err != nil {
		t.Fatal(err)
	}
	body := htmlPage(t, h.do(h.client(), "GET", "/forgot", nil), http.StatusOK)
	pageHas(t, body, `action="/forgot"`, `name="email"`, "Send me a link")

	known := mpForgot(h, "ann@example.com")
	want := strings.ReplaceAll(htmlPage(t, known, http.StatusOK), "ann@example.com", "ADDRESS")
	pageHas(t, want, "Check your mail", "If an account has the address <strong>ADDRESS</strong>")
	for _, email := range []string{"nobody@example.com", "bob@example.com", "ANN@example.com"} {
		r := mpForgot(h, email)
		got := strings.ReplaceAll(htmlPage(t, r, http.StatusOK), strings.ToLower(email), "ADDRESS")
		if got != want {
			t.Fatalf("/forgot for %s answered another page than for an account's address:\n%s\n---\n%s", email, got, want)
		}
	}
	h.accounts.Wait()
	mp.WaitFor(t, "ann@example.com", 2, 10*time.Second)
	for _, m := range mp.Messages(t) {
		if to := m.ToAddresses(); len(to) != 1 || to[0] != "ann@example.com" {
			t.Fatalf("a mail went to %v", to)
		}
	}

	for _, tc := range []struct{ email, want string }{
		{"", "Enter your email address."},
		{"not an address", `aria-describedby="forgot-email-error"`},
	} {
		body := htmlPage(t, mpForgot(h, tc.email), http.StatusBadRequest)
		pageHas(t, body, `action="/forgot"`, `aria-invalid="true"`, tc.want)
	}
}

// TestPageForgotWithoutMail: a server that cannot send mail says so on
// /forgot, before and after the form.
func TestPageForgotWithoutMail(t *testing.T) {
	h := newHarness(t)
	h.register("ann@example.com")
	for _, r := range []resp{h.do(h.client(), "GET", "/forgot", nil), mpForgot(h, "ann@example.com")} {
		body := htmlPage(t, r, http.StatusServiceUnavailable)
		pageHas(t, body, "This server cannot send mail", "Ask your administrator")
		mailPageNoReferrer(t, r)
	}
}

// TestPageRecover: GET /recover shows the form and does not spend the
// token; a weak password keeps the link usable; the new password works
// and the old one does not; every session ended (E2); a spent link is the
// invalid-link page.
func TestPageRecover(t *testing.T) {
	h, mp := mailHarness(t, account.VerificationOff)
	h.register("ann@example.com")
	before := h.client()
	h.pageSignIn(before, "ann@example.com")
	mpForgot(h, "ann@example.com")
	token := lastToken(t, mp, "ann@example.com", 1, "recover")

	browser := h.client()
	for range 2 {
		r := h.do(browser, "GET", "/recover?token="+token, nil)
		body := htmlPage(t, r, http.StatusOK)
		pageHas(t, body, "Set a new password", `action="/recover"`, `name="new_password"`, `autocomplete="new-password"`,
			`<input type="hidden" name="token" value="`+token+`">`)
		if n := strings.Count(body, token); n != 1 {
			t.Fatalf("the token is on the page %d times, want once (the hidden field)", n)
		}
		mailPageNoReferrer(t, r)
	}

	weak := h.do(browser, "POST", "/recover", pageForm("token", token, "new_password", "short"))
	body := htmlPage(t, weak, http.StatusBadRequest)
	pageHas(t, body, "too short", `aria-invalid="true"`, "recover-password-hint recover-password-error", `value="`+token+`"`)
	mailPageNoReferrer(t, weak)

	newPW := "a brand new passphrase for ann"
	r := h.do(browser, "POST", "/recover", pageForm("token", token, "new_password", newPW))
	wantSeeOther(t, r, "/login?notice=password-reset")
	mailPageNoReferrer(t, r)
	pageHas(t, htmlPage(t, h.do(browser, "GET", "/login?notice=password-reset", nil), http.StatusOK),
		"Your password is set. Sign in with it.", `href="/forgot"`)

	// E2: the session from before the reset has ended.
	wantSeeOther(t, h.do(before, "GET", "/account", nil), "/login?notice=ended")
	// The old password is refused, the new one signs in.
	htmlPage(t, h.do(h.client(), "POST", "/login", pageForm("email", "ann@example.com", "password", goodPassword)), http.StatusUnauthorized)
	wantSeeOther(t, h.do(browser, "POST", "/login", pageForm("email", "ann@example.com", "password", newPW)), "/account")

	// The link is spent.
	again := h.do(h.client(), "POST", "/recover", pageForm("token", token, "new_password", "yet another passphrase for ann"))
	body = htmlPage(t, again, http.StatusBadRequest)
	pageHas(t, body, "This link is invalid, used or expired", `href="/forgot"`, "Ask for a new link")
	mailPageNoReferrer(t, again)
}

// TestPageRecoverClearsCookie: a browser signed in when it sets a new
// password has its (now dead) cookie cleared.
func TestPageRecoverClearsCookie(t *testing.T) {
	h, mp := mailHarness(t, account.VerificationOff)
	h.register("ann@example.com")
	c := h.client()
	h.pageSignIn(c, "ann@example.com")
	mpForgot(h, "ann@example.com")
	token := lastToken(t, mp, "ann@example.com", 1, "recover")
	wantSeeOther(t, h.do(c, "POST", "/recover", pageForm("token", token, "new_password", "a brand new passphrase for ann")),
		"/login?notice=password-reset")
	if h.cookie(c) != "" {
		t.Fatal("the session cookie was not cleared")
	}
}

// TestPageBadLinks: a missing, malformed or unknown token is the
// invalid-link page (400) with the way to a new link.
func TestPageBadLinks(t *testing.T) {
	h, _ := mailHarness(t, account.VerificationOptional)
	unknown := strings.Repeat("A", 43)
	cases := []struct {
		name   string
		method string
		path   string
		form   []string
		link   string
	}{
		{"GET /recover without token", "GET", "/recover", nil, `href="/forgot"`},
		{"GET /recover with a huge token", "GET", "/recover?token=" + strings.Repeat("A", 600), nil, `href="/forgot"`},
		{"POST /recover unknown", "POST", "/recover", []string{"token", unknown, "new_password", "a brand new passphrase for ann"}, `href="/forgot"`},
		{"POST /recover malformed", "POST", "/recover", []string{"token", "nope", "new_password", "a brand new passphrase for ann"}, `href="/forgot"`},
		{"POST /recover empty", "POST", "/recover", []string{"new_password", "a brand new passphrase for ann"}, `href="/forgot"`},
		{"GET /verify without token", "GET", "/verify", nil, `href="/account#email"`},
		{"POST /verify unknown", "POST", "/verify", []string{"token", unknown}, `href="/account#email"`},
		{"POST /verify malformed", "POST", "/verify", []string{"token", "nope"}, `href="/account#email"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.method == "POST" {
				body = pageForm(tc.form...)
			}
			r := h.do(h.client(), tc.method, tc.path, body)
			pageHas(t, htmlPage(t, r, http.StatusBadRequest), "This link is invalid, used or expired", tc.link)
			mailPageNoReferrer(t, r)
		})
	}
}

// TestPageVerify: GET /verify shows a button and verifies nothing (mail
// scanners fetch links); the POST verifies; the link is then spent.
func TestPageVerify(t *testing.T) {
	h, mp := mailHarness(t, account.VerificationOptional)
	c := h.login("ann@example.com")
	token := lastToken(t, mp, "ann@example.com", 1, "verify")
	pageHas(t, htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK), "Not verified", `action="/account/email/resend#email"`)

	for range 2 {
		r := h.do(h.client(), "GET", "/verify?token="+token, nil)
		body := htmlPage(t, r, http.StatusOK)
		pageHas(t, body, `action="/verify"`, "Confirm my address", `<input type="hidden" name="token" value="`+token+`">`)
		mailPageNoReferrer(t, r)
	}
	if v := h.do(c, "GET", "/v1/me", nil).json(t)["email_verified"]; v != false {
		t.Fatalf("email_verified %v after GET /verify, want false", v)
	}

	r := h.do(c, "POST", "/verify", pageForm("token", token))
	pageHas(t, htmlPage(t, r, http.StatusOK), "Your address is verified", "ann@example.com is verified", `href="/account"`)
	mailPageNoReferrer(t, r)
	if v := h.do(c, "GET", "/v1/me", nil).json(t)["email_verified"]; v != true {
		t.Fatalf("email_verified %v after POST /verify, want true", v)
	}
	body := htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK)
	pageHas(t, body, "Verified", "It is verified.")
	if strings.Contains(body, "/account/email/resend") {
		t.Error("a verified address is offered a new verification link")
	}
	pageHas(t, htmlPage(t, h.do(c, "POST", "/verify", pageForm("token", token)), http.StatusBadRequest), "This link is invalid, used or expired")

	// A browser that is not signed in is told the address, and to sign in.
	h.register("bob@example.com")
	bt := lastToken(t, mp, "bob@example.com", 1, "verify")
	pageHas(t, htmlPage(t, h.do(h.client(), "POST", "/verify", pageForm("token", bt)), http.StatusOK),
		"Your address is verified", "bob@example.com", `href="/login"`)
}

// TestPageMailReferrerPolicy: the pages of mailed links are sent with
// no-referrer (E3); the other pages keep same-origin.
func TestPageMailReferrerPolicy(t *testing.T) {
	h, _ := mailHarness(t, account.VerificationOptional)
	h.register("ann@example.com")
	tok := strings.Repeat("A", 43)
	for _, tc := range []struct {
		method, path string
		form         []string
	}{
		{"GET", "/forgot", nil},
		{"POST", "/forgot", []string{"email", "ann@example.com"}},
		{"POST", "/forgot", []string{"email", "not an address"}},
		{"GET", "/recover?token=" + tok, nil},
		{"POST", "/recover", []string{"token", tok, "new_password", "short"}},
		{"POST", "/recover", []string{"token", tok, "new_password", "a brand new passphrase for ann"}},
		{"GET", "/verify?token=" + tok, nil},
		{"POST", "/verify", []string{"token", tok}},
	} {
		var body any
		if tc.method == "POST" {
			body = pageForm(tc.form...)
		}
		r := h.do(h.client(), tc.method, tc.path, body)
		t.Run(tc.method+" "+tc.path+" "+r.Status, func(t *testing.T) { mailPageNoReferrer(t, r) })
	}
	// A form post the pages cannot read is answered under no-referrer too.
	mailPageNoReferrer(t, h.do(h.client(), "POST", "/recover", []byte("x"), "Content-Type", "text/plain"))
	for _, path := range []string{"/login", "/account"} {
		if got := h.do(h.client(), "GET", path, nil).Header.Get("Referrer-Policy"); got != "same-origin" {
			t.Errorf("%s: Referrer-Policy %q, want same-origin", path, got)
		}
	}
}

// TestPageMailGetRedirects: a GET on a URL that a form posts to goes to
// the page with the form.
func TestPageMailGetRedirects(t *testing.T) {
	h := newHarness(t)
	c := h.login("ann@example.com")
	for _, path := range []string{"/account/email", "/account/email/resend", "/account/delete"} {
		for _, cl := range []*http.Client{c, h.client()} {
			wantSeeOther(t, h.do(cl, "GET", path, nil), "/account")
		}
	}
	// And the sign-in page leads to /forgot.
	pageHas(t, htmlPage(t, h.do(h.client(), "GET", "/login", nil), http.StatusOK), `<a href="/forgot">Forgot password?</a>`)
}

// TestPageResendVerification: the button mails a new link (the old one
// dies); past a few per window the page says when to try again.
func TestPageResendVerification(t *testing.T) {
	h, mp := mailHarness(t, account.VerificationOptional)
	c := h.login("ann@example.com")
	first := lastToken(t, mp, "ann@example.com", 1, "verify")
	wantSeeOther(t, h.do(c, "POST", "/account/email/resend", pageForm()), "/account?notice=verification-sent#email")
	pageHas(t, htmlPage(t, h.do(c, "GET", "/account?notice=verification-sent", nil), http.StatusOK), "A new link to verify your address is on its way.")
	second := lastToken(t, mp, "ann@example.com", 2, "verify")
	if second == first {
		t.Fatal("the resent link is the first one")
	}
	pageHas(t, htmlPage(t, h.do(c, "POST", "/verify", pageForm("token", first)), http.StatusBadRequest), "This link is invalid, used or expired")
	for range 2 {
		wantSeeOther(t, h.do(c, "POST", "/account/email/resend", pageForm()), "/account?notice=verification-sent#email")
	}
	r := h.do(c, "POST", "/account/email/resend", pageForm())
	pageHas(t, htmlPage(t, r, http.StatusTooManyRequests), "You asked for several links already. Try again in")
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// Once verified, the button says so and sends nothing.
	tok := lastToken(t, mp, "ann@example.com", 4, "verify")
	htmlPage(t, h.do(c, "POST", "/verify", pageForm("token", tok)), http.StatusOK)
	wantSeeOther(t, h.do(c, "POST", "/account/email/resend", pageForm()), "/account?notice=already-verified#email")
}

// TestPageChangeEmail: the form asks the current password; a link goes
// to the new address and a notice to the old; using the link moves the
// account and signs every device out.
func TestPageChangeEmail(t *testing.T) {
	h, mp := mailHarness(t, account.VerificationOff)
	c := h.login("ann@example.com")
	body := htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK)
	pageHas(t, body, `action="/account/email#email"`, `name="new_email"`, `href="/v1/account/export"`, `action="/account/delete#delete"`)

	for _, tc := range []struct {
		email, pw string
		status    int
		want      string
	}{
		{"ann@new.example", "not my password at all", http.StatusForbidden, "Your current password is wrong."},
		{"not an address", goodPassword, http.StatusBadRequest, `aria-describedby="new-email-error"`},
		{"", goodPassword, http.StatusBadRequest, "Enter the new address."},
		{"ann@new.example", "", http.StatusBadRequest, "Enter your current password."},
		{"ann@example.com", goodPassword, http.StatusBadRequest, "This is already your address."},
	} {
		r := h.do(c, "POST", "/account/email", pageForm("new_email", tc.email, "current_password", tc.pw))
		pageHas(t, htmlPage(t, r, tc.status), tc.want, `aria-invalid="true"`)
	}
	r := h.do(c, "POST", "/account/email", pageForm("new_email", "Ann@New.example", "current_password", goodPassword))
	pageHas(t, htmlPage(t, r, http.StatusOK), "We sent a link to ann@new.example. Your address changes when you use it; until then it stays ann@example.com.")
	notice := mp.WaitFor(t, "ann@example.com", 1, 10*time.Second)[0]
	if linkRE.MatchString(notice.Text) || !strings.Contains(notice.Text, "ann@new.example") {
		t.Fatalf("the notice to the old address: %s", notice.Text)
	}
	token := lastToken(t, mp, "ann@new.example", 1, "verify")
	pageHas(t, htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK), "ann@example.com")

	// The signed-in browser uses the link: told the new address, signed out.
	r = h.do(c, "POST", "/verify", pageForm("token", token))
	pageHas(t, htmlPage(t, r, http.StatusOK), "Your address is changed", "Your address is now ann@new.example.", `href="/login"`)
	if h.cookie(c) != "" {
		t.Error("the session cookie was not cleared")
	}
	wantSeeOther(t, h.do(c, "GET", "/account", nil), "/login")
	htmlPage(t, h.do(h.client(), "POST", "/login", pageForm("email", "ann@example.com", "password", goodPassword)), http.StatusUnauthorized)
	h.pageSignIn(c, "ann@new.example")
	pageHas(t, htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK), "ann@new.example", "Verified")
}

// TestPageChangeEmailTaken: when another account takes the new address
// before the link is used, the link's page says so (409).
func TestPageChangeEmailTaken(t *testing.T) {
	h, mp := mailHarness(t, account.VerificationOff)
	c := h.login("ann@example.com")
	htmlPage(t, h.do(c, "POST", "/account/email", pageForm("new_email", "ann@new.example", "current_password", goodPassword)), http.StatusOK)
	token := lastToken(t, mp, "ann@new.example", 1, "verify")
	h.register("ann@new.example")
	r := h.do(h.client(), "POST", "/verify", pageForm("token", token))
	pageHas(t, htmlPage(t, r, http.StatusConflict), "Another account has this address", "your account keeps the address it had")
	mailPageNoReferrer(t, r)
	pageHas(t, htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK), "ann@example.com")
}

// TestPageDeleteAccount: the box and the current password are asked; the
// account is then gone, the cookie cleared, and signing in fails.
func TestPageDeleteAccount(t *testing.T) {
	h := newHarness(t)
	c := h.login("ann@example.com")
	other := h.client()
	h.pageSignIn(other, "ann@example.com")
	for _, tc := range []struct {
		form   []string
		status int
		want   string
	}{
		{[]string{"current_password", goodPassword}, http.StatusBadRequest, "Tick the box to confirm"},
		{[]string{"confirm", "yes"}, http.StatusBadRequest, "Enter your current password."},
		{[]string{"current_password", "not my password at all", "confirm", "yes"}, http.StatusForbidden, "Your current password is wrong."},
	} {
		body := htmlPage(t, h.do(c, "POST", "/account/delete", pageForm(tc.form...)), tc.status)
		pageHas(t, body, tc.want, `aria-invalid="true"`)
	}
	htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK)

	r := h.do(c, "POST", "/account/delete", pageForm("current_password", goodPassword, "confirm", "yes"))
	wantSeeOther(t, r, "/login?notice=account-deleted")
	if h.cookie(c) != "" || r.Header.Get("Clear-Site-Data") != `"cookies"` {
		t.Error("the session cookie was not cleared")
	}
	pageHas(t, htmlPage(t, h.do(c, "GET", "/login?notice=account-deleted", nil), http.StatusOK), "Your account is deleted")
	wantSeeOther(t, h.do(c, "GET", "/account", nil), "/login")
	wantSeeOther(t, h.do(other, "GET", "/account", nil), "/login?notice=ended")
	htmlPage(t, h.do(h.client(), "POST", "/login", pageForm("email", "ann@example.com", "password", goodPassword)), http.StatusUnauthorized)
}

// TestPageAccountWithoutMail: on a server that cannot send mail, /account
// says so instead of the forms that need mail; download and deletion
// stay. The download link answers a JSON attachment.
func TestPageAccountWithoutMail(t *testing.T) {
	h := newHarness(t)
	c := h.login("ann@example.com")
	body := htmlPage(t, h.do(c, "GET", "/account", nil), http.StatusOK)
	pageHas(t, body, "This server cannot send mail", "Not verified", `href="/v1/account/export"`, "Download my data", `action="/account/delete#delete"`)
	for _, gone := range []string{`action="/account/email#email"`, `action="/account/email/resend#email"`} {
		if strings.Contains(body, gone) {
			t.Errorf("the page offers %s without mail", gone)
		}
	}
	// Posted anyway (a page from before): the page says why not.
	r := h.do(c, "POST", "/account/email", pageForm("new_email", "ann@new.example", "current_password", goodPassword))
	pageHas(t, htmlPage(t, r, http.StatusServiceUnavailable), "This server cannot send mail")
	pageHas(t, htmlPage(t, h.do(c, "POST", "/account/email/resend", pageForm()), http.StatusServiceUnavailable), "This server cannot send mail")

	r = h.do(c, "GET", "/v1/account/export", nil)
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %q", r.StatusCode, r.Header.Get("Content-Disposition"))
	}
	if u := r.json(t)["user"].(map[string]any); u["email"] != "ann@example.com" {
		t.Fatalf("export user %v", u)
	}
}
