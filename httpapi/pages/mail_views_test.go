package pages_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/httpapi/pages"
)

// TestNoReferrer: a page with NoReferrer is sent under no-referrer, in
// the header and the meta tag; a response marked with WithholdReferrer
// keeps it through SetHeaders, Render and SeeOther; every other page keeps
// same-origin.
func TestNoReferrer(t *testing.T) {
	r := pages.New(pages.Options{})
	meta := func(policy string) string { return `<meta name="referrer" content="` + policy + `">` }

	w := httptest.NewRecorder()
	v := pages.RecoverPage{Page: pages.Page{Title: "Set a new password", NoReferrer: true}, Token: "tok&<en>"}
	if err := r.Render(w, http.StatusOK, "recover", v); err != nil {
		t.Fatal(err)
	}
	body := w.Body.String()
	if got := w.Header().Get("Referrer-Policy"); got != pages.ReferrerNone || !strings.Contains(body, meta("no-referrer")) {
		t.Fatalf("NoReferrer page: Referrer-Policy %q, meta no-referrer %v", got, strings.Contains(body, meta("no-referrer")))
	}
	if !strings.Contains(body, `<input type="hidden" name="token" value="tok&amp;&lt;en&gt;">`) || !strings.Contains(body, `action="/recover"`) {
		t.Fatalf("the token's hidden field or the form's action:\n%s", body)
	}

	w = httptest.NewRecorder()
	pages.WithholdReferrer(w.Header())
	r.SeeOther(w, "/login?notice=password-reset")
	if got := w.Header().Get("Referrer-Policy"); got != pages.ReferrerNone {
		t.Fatalf("a marked redirect: Referrer-Policy %q", got)
	}

	w = httptest.NewRecorder()
	if err := r.Render(w, http.StatusOK, "message", pages.MessagePage{Page: pages.Page{Title: "x"}, Heading: "x"}); err != nil {
		t.Fatal(err)
	}
	if got := w.Header().Get("Referrer-Policy"); got != pages.ReferrerSameOrigin || !strings.Contains(w.Body.String(), meta("same-origin")) {
		t.Fatalf("an ordinary page: Referrer-Policy %q", got)
	}
}

func TestMailPagesRender(t *testing.T) {
	r := pages.New(pages.Options{})
	for name, v := range map[string]any{
		"forgot":      pages.ForgotPage{Page: pages.Page{Title: "Forgot your password?", NoReferrer: true}},
		"forgot sent": pages.ForgotPage{Page: pages.Page{Title: "Check your mail", NoReferrer: true}, Sent: true, Form: pages.Form{Email: "ann@example.com"}, ExpiresIn: "30 minutes"},
		"verify":      pages.VerifyPage{Page: pages.Page{Title: "Confirm your address", NoReferrer: true}, Token: "abc"},
	} {
		page, _, _ := strings.Cut(name, " ")
		w := httptest.NewRecorder()
		if err := r.Render(w, http.StatusOK, page, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		body := w.Body.String()
		if strings.Contains(body, "<script>") || strings.Contains(body, "style=") {
			t.Errorf("%s: inline script or style", name)
		}
		if name == "forgot sent" && !strings.Contains(body, "The link works once, for 30 minutes.") {
			t.Errorf("%s: no expiry:\n%s", name, body)
		}
	}
}

func TestMinutes(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Second: "1 minute", time.Minute: "1 minute", 90 * time.Second: "2 minutes", 30 * time.Minute: "30 minutes",
		time.Hour: "60 minutes", 2 * time.Hour: "2 hours", 150 * time.Minute: "150 minutes", 168 * time.Hour: "168 hours",
	} {
		if got := pages.Minutes(d); got != want {
			t.Errorf("Minutes(%v) = %q, want %q", d, got, want)
		}
	}
}
