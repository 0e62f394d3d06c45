package httpapi_test

// The password reset end to end in headless Chromium: sign up, sign out,
// "Forgot password?" on the sign-in page, the mail in a private Mailpit,
// its link opened in the browser, a new password, and signing in with it.
// The browser reaches the harness's handler through a listener that
// records the Referer of every request, so the test also sees that the
// link's token never left the page in one (SECURITY E3).

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/authd/authd/account"
)

// mpRefererLog records the Referer and Origin of each request a handler
// serves.
type mpRefererLog struct {
	mu   sync.Mutex
	seen []string // "METHOD PATH referer=… origin=…"
}

func (l *mpRefererLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.mu.Lock()
		l.seen = append(l.seen, r.Method+" "+r.URL.Path+" referer="+r.Header.Get("Referer")+" origin="+r.Header.Get("Origin"))
		l.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (l *mpRefererLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.seen...)
}

func TestBrowserPasswordReset(t *testing.T) {
	h, mp := mailHarness(t, account.VerificationOptional)
	var log mpRefererLog
	ts := httptest.NewServer(log.wrap(h.srv.Config.Handler))
	t.Cleanup(ts.Close)
	base := ts.URL
	b := newBrowser(t)

	// Sign up, then sign out.
	b.open(base + "/login")
	b.do("fill the sign-up form",
		chromedp.SendKeys(chromedp.CSS("#signup-email"), "ann@example.com"),
		chromedp.SendKeys(chromedp.CSS("#signup-password"), goodPassword),
	)
	if st := b.submit(`form[action="/signup"] button[type="submit"]`); st != http.StatusOK || b.path() != "/account" {
		t.Fatalf("sign-up: %d on %s", st, b.path())
	}
	b.sees("ann@example.com", "Not verified", "Resend verification link", "Change email", "Delete account")
	if st := b.submit(`.whoami button`); st != http.StatusOK {
		t.Fatalf("sign out: %d", st)
	}
	b.sees("You are signed out.")

	// "Forgot password?" on the sign-in page.
	if st := b.submit(`a[href="/forgot"]`); st != http.StatusOK || b.path() != "/forgot" {
		t.Fatalf("Forgot password?: %d on %s", st, b.path())
	}
	b.sees("Forgot your password?")
	if id := evalIn[string](b, `document.activeElement.id`); id != "forgot-email" {
		t.Fatalf("focus on %q, want forgot-email", id)
	}
	b.screenshot("forgot-mobile", 390)
	b.do("enter the address", chromedp.SendKeys(chromedp.CSS("#forgot-email"), "ann@example.com"))
	if st := b.submit(`form[action="/forgot"] button[type="submit"]`); st != http.StatusOK {
		t.Fatalf("POST /forgot: %d", st)
	}
	b.sees("Check your mail", "If an account has the address ann@example.com")

	// The mail (after the verification mail of the sign-up) has the link.
	mails := mp.WaitFor(t, "ann@example.com", 2, 10*time.Second)
	if !strings.Contains(mails[0].Text, "http://authd.test/recover?token=") || !strings.Contains(mails[0].HTML, "/recover?token=") {
		t.Fatalf("the recovery mail: %q\n%s", mails[0].Subject, mails[0].Text)
	}
	token := tokenOf(t, mails[0], "recover")

	// The link, opened in the browser: a form, the token not spent yet.
	if st := b.open(base + "/recover?token=" + token); st != http.StatusOK {
		t.Fatalf("GET /recover: %d", st)
	}
	b.sees("Set a new password", "At least 15 characters")
	if p := evalIn[string](b, `document.querySelector('meta[name="referrer"]').content`); p != "no-referrer" {
		t.Fatalf("meta referrer %q", p)
	}
	b.screenshot("recover-mobile", 390)
	// A weak password first: the reason, and the link still works.
	b.do("a weak password", chromedp.SendKeys(chromedp.CSS("#recover-password"), "short"))
	if st := b.submit(`form[action="/recover"] button[type="submit"]`); st != http.StatusBadRequest {
		t.Fatalf("weak password: %d", st)
	}
	b.sees("too short")
	newPW := "a brand new passphrase for ann"
	b.do("the new password",
		chromedp.Clear(chromedp.CSS("#recover-password")),
		chromedp.SendKeys(chromedp.CSS("#recover-password"), newPW),
	)
	if st := b.submit(`form[action="/recover"] button[type="submit"]`); st != http.StatusOK || b.path() != "/login?notice=password-reset" {
		t.Fatalf("POST /recover: %d on %s", st, b.path())
	}
	b.sees("Your password is set. Sign in with it.")

	// The old password is refused; the new one signs in.
	if st := b.signIn("ann@example.com", goodPassword); st != http.StatusUnauthorized {
		t.Fatalf("the old password: %d", st)
	}
	if st := b.signIn("ann@example.com", newPW); st != http.StatusOK || b.path() != "/account" {
		t.Fatalf("sign in with the new password: %d on %s", st, b.path())
	}
	b.sees("ann@example.com", "This device")

	// E3: no request the browser made carried the token in a Referer.
	seen := log.all()
	var sawRecoverPost bool
	for _, s := range seen {
		_, rest, _ := strings.Cut(s, " referer=")
		if ref, _, _ := strings.Cut(rest, " origin="); strings.Contains(ref, "token") {
			t.Errorf("a request carried the token in its Referer: %s", s)
		}
		sawRecoverPost = sawRecoverPost || strings.HasPrefix(s, "POST /recover ")
	}
	t.Logf("requests: %q", seen)
	if !sawRecoverPost {
		t.Fatalf("no POST /recover among the requests: %q", seen)
	}
}
