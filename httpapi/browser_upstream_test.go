package httpapi_test

// Sign-in through another provider (#17) in headless Chromium: the
// relying party's sign-in page, its "Sign in with IdP" button, the
// provider's (another authd's) sign-in page, back at the relying party
// signed in, and "Linked sign-ins" on /account.

import (
	"net/http"
	"strings"
	"testing"
)

// TestBrowserUpstreamSignIn: both servers are real URLs (their issuers),
// both on 127.0.0.1: Chromium's cookies ignore the port, so the
// provider's session cookie and the relying party's (same name under
// --dev) share one slot. That is harmless here: the callback replaces the
// provider's cookie with the relying party's session, which is what is
// checked; in production the two are on different hosts.
func TestBrowserUpstreamSignIn(t *testing.T) {
	e := newUpEnv(t, upConfig{})
	e.idp.register("ann@idp.example")
	b := newBrowser(t)

	b.open(e.rp.srv.URL + "/login")
	b.sees("Sign in with IdP")
	if st := b.submit(`a[href^="/v1/upstream/idp/start"]`); st != http.StatusOK {
		t.Fatalf("Sign in with IdP: %d on %s", st, b.path())
	}
	if origin := evalIn[string](b, `location.origin`); origin != e.idp.srv.URL || !strings.HasPrefix(b.path(), "/login?return=") {
		t.Fatalf("the button led to %s%s, want the provider's sign-in page", origin, b.path())
	}
	if st := b.signIn("ann@idp.example", goodPassword); st != http.StatusOK {
		t.Fatalf("sign-in at the provider: %d on %s", st, b.path())
	}
	if origin := evalIn[string](b, `location.origin`); origin != e.rp.srv.URL || b.path() != "/account" {
		t.Fatalf("after the provider, the browser is on %s%s, want the relying party's /account", origin, b.path())
	}
	b.sees("ann@idp.example", "Linked sign-ins", "IdP")
	b.seesNot("No other account is linked.")
	if n := evalIn[int](b, `document.querySelectorAll("#identities .identity").length`); n != 1 {
		t.Errorf("%d linked sign-ins on /account, want 1", n)
	}
}
