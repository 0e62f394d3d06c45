package pages_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/httpapi/pages"
)

// TestSafeReturn is the open-redirect table: only a relative path on this
// site with a single leading slash passes.
func TestSafeReturn(t *testing.T) {
	good := []string{
		"/", "/account", "/account?tab=sessions", "/account#token", "/a/b/c",
		"/search?q=a%2Fb", "/a/../b",
	}
	for _, s := range good {
		if got, ok := pages.SafeReturn(s); !ok || got != s {
			t.Errorf("SafeReturn(%q) = %q, %v; want it kept", s, got, ok)
		}
	}
	bad := []string{
		"",
		"account",
		"//evil.example",
		"//evil.example/account",
		"///evil.example",
		"/\\evil.example",
		"\\\\evil.example",
		"\\/evil.example",
		"/\\/evil.example",
		"https://evil.example",
		"http://evil.example/account",
		"HTTPS://evil.example",
		"javascript:alert(1)",
		"JavaScript:alert(1)",
		"data:text/html,<script>alert(1)</script>",
		"vbscript:msgbox",
		"/\t/evil.example",
		"/\n/evil.example",
		"/\r/evil.example",
		"/%09/evil.example" + "\x00",
		"/account\x00",
		"/account\x7f",
		" /account",
		"/ /evil.example",
		"/account/../..//evil.example",
		"/%2F/evil.example",
		"/%2f%2fevil.example",
		"/%5Cevil.example",
		"/%5c%5cevil.example",
		"/\u3002evil.example",
		"/ａｃｃｏｕｎｔ",
		"https:/evil.example",
		"/@evil.example" + "\\",
		"//",
		"/x?next=//evil.example",
		"/" + strings.Repeat("a", pages.MaxReturnLen),
	}
	for _, s := range bad {
		if got, ok := pages.SafeReturn(s); ok || got != "" {
			t.Errorf("SafeReturn(%q) = %q, %v; want it refused", s, got, ok)
		}
	}
}

var urlBase = url.URL{Scheme: "https", Host: "authd.example", Path: "/login"}

func FuzzSafeReturn(f *testing.F) {
	for _, s := range []string{"/account", "//evil", "/\\evil", "https://x", "/a?b=c#d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := pages.SafeReturn(s)
		if !ok {
			return
		}
		// Whatever passes must stay on this site once a browser resolves it.
		u, err := (&urlBase).Parse(got)
		if err != nil || u.Host != urlBase.Host || u.Scheme != urlBase.Scheme {
			t.Fatalf("SafeReturn(%q) passed but resolves to %v (%v)", s, u, err)
		}
	})
}

func TestDevice(t *testing.T) {
	cases := map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36":                                           "Chrome on Linux",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36":                                   "Headless Chrome on Linux",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91":               "Edge on Windows",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15":                           "Safari on macOS",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1":         "Safari on iPhone",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1": "Chrome on iPhone",
		"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0":                                                                  "Firefox on Linux",
		"Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0":                                                                            "Firefox on Android",
		"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36":      "Samsung Internet on Android",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0":                   "Opera on Windows",
		"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36":                                  "Chrome on ChromeOS",
		"Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1":                  "Safari on iPad",
		"curl/8.5.0":                   "curl",
		"Go-http-client/1.1":           "Go HTTP client",
		"python-requests/2.31.0":       "Python script",
		"MyService/2.0 (+https://x.y)": "MyService",
		"":                             "Unknown device",
		"   ":                          "Unknown device",
		"<script>/1":                   "script",
		"\x00\x01":                     "Unknown device",
	}
	for ua, want := range cases {
		if got := pages.Device(ua); got != want {
			t.Errorf("Device(%q) = %q, want %q", ua, got, want)
		}
	}
	// Bounded: a huge header costs no more than its first bytes, and a
	// token past the bound is not seen.
	long := strings.Repeat("x", 1<<20) + " Firefox/1 Windows"
	if got := pages.Device(long); got != "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" {
		t.Errorf("Device(long) = %q", got)
	}
}

func TestDecodeJWT(t *testing.T) {
	// {"alg":"EdDSA","typ":"at+jwt"} . {"sub":"u1","exp":1} . sig
	tok := "eyJhbGciOiJFZERTQSIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJ1MSIsImV4cCI6MX0.c2ln"
	h, c, err := pages.DecodeJWT(tok)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(h, `"typ": "at+jwt"`) || !strings.Contains(c, `"sub": "u1"`) {
		t.Fatalf("decoded %q %q", h, c)
	}
	for _, bad := range []string{"", "a.b", "a.b.c.d", "!!.e30.x", "e30.bm90IGpzb24.x", strings.Repeat("a", 20<<10) + ".e30.x"} {
		if _, _, err := pages.DecodeJWT(bad); err == nil {
			t.Errorf("DecodeJWT(%q) accepted", bad)
		}
	}
}

func TestAgoAndTryAgain(t *testing.T) {
	now := time.Date(2026, 1, 2, 12, 0, 0, 0, time.UTC)
	for d, want := range map[time.Duration]string{
		0: "just now", 59 * time.Second: "just now", time.Minute: "1 minute ago", 5 * time.Minute: "5 minutes ago",
		time.Hour: "1 hour ago", 30 * time.Hour: "30 hours ago", 72 * time.Hour: "3 days ago", -time.Hour: "just now",
	} {
		if got := pages.Ago(now.Add(-d), now); got != want {
			t.Errorf("Ago(%v) = %q, want %q", d, got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		time.Second: "1 minute", time.Minute: "1 minute", 61 * time.Second: "2 minutes", 15 * time.Minute: "15 minutes",
	} {
		if got := pages.TryAgain(d); !strings.Contains(got, "Try again in "+want+".") {
			t.Errorf("TryAgain(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestRenderHeadersAndEscaping(t *testing.T) {
	r := pages.New(pages.Options{TLS: true})
	w := httptest.NewRecorder()
	v := pages.SignInPage{Page: pages.Page{Title: "Sign in"}, Signup: true, Return: "/account"}
	v.Login.Email = `"><script>alert(1)</script>`
	v.Login.SetErr("password", "the email or password is wrong")
	if err := r.Render(w, http.StatusUnauthorized, "signin", v); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("status %d", w.Code)
	}
	h := w.Header()
	for k, want := range map[string]string{
		"Content-Security-Policy":   pages.ContentSecurityPolicy,
		"X-Frame-Options":           "DENY",
		"X-Content-Type-Options":    "nosniff",
		"Referrer-Policy":           "same-origin",
		"Strict-Transport-Security": pages.HSTS,
		"Cache-Control":             "no-store",
		"Content-Type":              "text/html; charset=utf-8",
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	body := w.Body.String()
	if strings.Contains(body, "<script>alert") {
		t.Fatal("the email was not escaped")
	}
	for _, want := range []string{
		`aria-describedby="login-password-error"`, `aria-invalid="true"`, "The email or password is wrong.",
		`autocomplete="current-password"`, `autocomplete="new-password"`, `autocomplete="email"`,
		"At least 15 characters", `<script src="/assets/app.js?v=`, `defer></script>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// No inline script or style: the CSP would block it.
	if strings.Contains(body, "<script>") || strings.Contains(body, "style=") || strings.Contains(body, "<style") {
		t.Error("page has inline script or style")
	}

	w = httptest.NewRecorder()
	if err := pages.New(pages.Options{}).Render(w, http.StatusOK, "signin", v); err != nil {
		t.Fatal(err)
	}
	if got := w.Header().Get("Strict-Transport-Security"); got != "" {
		t.Errorf("HSTS without TLS: %q", got)
	}
}

func TestAssets(t *testing.T) {
	r := pages.New(pages.Options{})
	for name, ct := range map[string]string{"app.css": "text/css", "app.js": "text/javascript", "icon.svg": "image/svg+xml"} {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/assets/"+name, nil)
		if !r.ServeAsset(w, req, name) {
			t.Fatalf("no asset %s", name)
		}
		if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, ct) {
			t.Errorf("%s: Content-Type %q", name, got)
		}
		if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Body.Len() == 0 {
			t.Errorf("%s: headers %v, %d bytes", name, w.Header(), w.Body.Len())
		}
	}
	if r.ServeAsset(httptest.NewRecorder(), httptest.NewRequest("GET", "/assets/nope", nil), "../doc.go") {
		t.Fatal("served a file that is not an asset")
	}
}

func FuzzDevice(f *testing.F) {
	for _, s := range []string{"", "curl/8", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120 Safari/537.36", "\xff\xfe/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		d := pages.Device(ua)
		if d == "" || len(d) > 64 {
			t.Fatalf("Device(%q) = %q", ua, d)
		}
	})
}
