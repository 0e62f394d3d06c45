package upstream_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/storage"

	"github.com/authd/authd"
	"github.com/authd/authd/upstream"
)

// TestSignInExampleOP signs in at zitadel/oidc's example provider, run
// in-process, through its login form: the whole code flow with PKCE, a
// confidential client, the ID token verified, the email from UserInfo.
func TestSignInExampleOP(t *testing.T) {
	t.Parallel()
	issuer := exampleOP(t, webClient("authd", "s3cret", "zit"))
	e := newEnv(t)
	e.register(t, upstream.Spec{ID: "zit", Issuer: issuer, ClientID: "authd", Secret: "s3cret", Name: "Zitadel"})

	for _, tt := range []struct {
		user     string
		sub      string
		email    string
		verified bool
	}{
		{"ann", "sub-ann", "ann@example.com", true},
		{"bob", "sub-bob", "bob@example.com", false},
	} {
		authURL, binding, err := e.svc.Start(t.Context(), "zit", "/account?tab=1", "user-42")
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		p := authParams(t, authURL)
		for k, want := range map[string]string{
			"response_type": "code", "client_id": "authd", "redirect_uri": callbackURL("zit"),
			"scope": "openid email", "code_challenge_method": "S256",
		} {
			if got := p.Get(k); got != want {
				t.Errorf("authorization URL %s = %q, want %q", k, got, want)
			}
		}
		for _, k := range []string{"state", "nonce", "code_challenge"} {
			if len(p.Get(k)) < 22 {
				t.Errorf("authorization URL %s = %q, want a random value", k, p.Get(k))
			}
		}
		if !strings.HasPrefix(authURL, issuer+"/") || len(binding) < 22 {
			t.Fatalf("Start = %q, %q", authURL, binding)
		}

		q := newBrowser(t).login(t, authURL, tt.user)
		if strings.Contains(q.Encode(), "verifier") || q.Get("code") == "" {
			t.Fatalf("callback query %v", q)
		}
		r, err := e.svc.Finish(t.Context(), "zit", q, binding)
		if err != nil {
			t.Fatalf("Finish(%s): %v", tt.user, err)
		}
		if r.Subject != tt.sub || r.Email != tt.email || r.EmailVerified != tt.verified ||
			r.Return != "/account?tab=1" || r.LinkUserID != "user-42" || r.Upstream.ID != "zit" {
			t.Errorf("Finish(%s) = %+v", tt.user, r)
		}
	}
}

// TestSignInPublicClient: without a secret, authd is a public client and
// PKCE alone protects the code.
func TestSignInPublicClient(t *testing.T) {
	t.Parallel()
	issuer := exampleOP(t, storage.NativeClient("authd-public", callbackURL("pub")))
	e := newEnv(t)
	e.register(t, upstream.Spec{ID: "pub", Issuer: issuer, ClientID: "authd-public"})
	authURL, binding, err := e.svc.Start(t.Context(), "pub", "/", "")
	if err != nil {
		t.Fatal(err)
	}
	r, err := e.svc.Finish(t.Context(), "pub", newBrowser(t).login(t, authURL, "ann"), binding)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if r.Subject != "sub-ann" || r.LinkUserID != "" {
		t.Errorf("Finish = %+v", r)
	}
}

// realOP is an env with the example provider registered as "zit".
func realOP(t *testing.T) (*env, string) {
	t.Helper()
	issuer := exampleOP(t, webClient("authd", "s3cret", "zit"))
	e := newEnv(t)
	e.register(t, upstream.Spec{ID: "zit", Issuer: issuer, ClientID: "authd", Secret: "s3cret"})
	return e, issuer
}

// F1: a state authd never issued is refused, and so is a response without
// one.
func TestWrongState(t *testing.T) {
	t.Parallel()
	e, _ := realOP(t)
	authURL, binding, err := e.svc.Start(t.Context(), "zit", "/", "")
	if err != nil {
		t.Fatal(err)
	}
	q := newBrowser(t).login(t, authURL, "ann")

	wrong := url.Values{"state": {rand.Text()}, "code": {q.Get("code")}}
	_, err = e.svc.Finish(t.Context(), "zit", wrong, binding)
	wantErr(t, err, upstream.ErrState, "Finish with a wrong state")
	_, err = e.svc.Finish(t.Context(), "zit", url.Values{"code": {q.Get("code")}}, binding)
	wantErr(t, err, upstream.ErrState, "Finish without a state")
	two := url.Values{"state": {q.Get("state"), q.Get("state")}, "code": {q.Get("code")}}
	_, err = e.svc.Finish(t.Context(), "zit", two, binding)
	wantErr(t, err, upstream.ErrState, "Finish with two states")
	// The right one still works: the wrong ones spent nothing.
	if _, err := e.svc.Finish(t.Context(), "zit", q, binding); err != nil {
		t.Fatalf("Finish with the right state: %v", err)
	}
}

// F1: a state is used once: the same callback again is refused, even
// though the first one succeeded.
func TestReplayedState(t *testing.T) {
	t.Parallel()
	e, _ := realOP(t)
	authURL, binding, err := e.svc.Start(t.Context(), "zit", "/", "")
	if err != nil {
		t.Fatal(err)
	}
	q := newBrowser(t).login(t, authURL, "ann")
	if _, err := e.svc.Finish(t.Context(), "zit", q, binding); err != nil {
		t.Fatalf("first Finish: %v", err)
	}
	_, err = e.svc.Finish(t.Context(), "zit", q, binding)
	wantErr(t, err, upstream.ErrState, "second Finish")
}

// F1: a state expires after 10 minutes.
func TestExpiredState(t *testing.T) {
	t.Parallel()
	e, _ := realOP(t)
	authURL, binding, err := e.svc.Start(t.Context(), "zit", "/", "")
	if err != nil {
		t.Fatal(err)
	}
	q := newBrowser(t).login(t, authURL, "ann")
	e.clock.Advance(upstream.FlowTTL + time.Second)
	_, err = e.svc.Finish(t.Context(), "zit", q, binding)
	wantErr(t, err, upstream.ErrState, "Finish after FlowTTL")
}

// F1: a state is bound to the browser that started the sign-in: the
// victim's browser, given a callback of a sign-in the attacker started
// (login CSRF), has no (or another) binding cookie. The state is spent by
// the attempt.
func TestStateFromAnotherBrowser(t *testing.T) {
	t.Parallel()
	e, _ := realOP(t)
	for _, otherBinding := range []string{"", rand.Text()} {
		authURL, binding, err := e.svc.Start(t.Context(), "zit", "/", "")
		if err != nil {
			t.Fatal(err)
		}
		q := newBrowser(t).login(t, authURL, "ann")
		_, err = e.svc.Finish(t.Context(), "zit", q, otherBinding)
		wantErr(t, err, upstream.ErrState, "Finish with another browser's binding "+otherBinding)
		_, err = e.svc.Finish(t.Context(), "zit", q, binding)
		wantErr(t, err, upstream.ErrState, "Finish with the right binding after the attempt")
	}
	// A binding of a sign-in this browser started at the same time does
	// not open another's state either.
	authURL1, _, err := e.svc.Start(t.Context(), "zit", "/", "")
	if err != nil {
		t.Fatal(err)
	}
	_, binding2, err := e.svc.Start(t.Context(), "zit", "/", "")
	if err != nil {
		t.Fatal(err)
	}
	q := newBrowser(t).login(t, authURL1, "ann")
	_, err = e.svc.Finish(t.Context(), "zit", q, binding2)
	wantErr(t, err, upstream.ErrState, "Finish with the binding of another sign-in")
}

// F1: a code of a second sign-in in the same browser, presented with the
// first sign-in's state. The real provider refuses the code already
// (PKCE: it was issued for the other sign-in's challenge); the hostile
// provider, which ignores PKCE, shows that the nonce check refuses its ID
// token too.
func TestWrongNonce(t *testing.T) {
	t.Parallel()
	t.Run("real provider", func(t *testing.T) {
		t.Parallel()
		e, _ := realOP(t)
		b := newBrowser(t)
		authURL1, binding1, err := e.svc.Start(t.Context(), "zit", "/", "")
		if err != nil {
			t.Fatal(err)
		}
		authURL2, _, err := e.svc.Start(t.Context(), "zit", "/", "")
		if err != nil {
			t.Fatal(err)
		}
		q1 := b.login(t, authURL1, "ann")
		q2 := b.login(t, authURL2, "ann")
		mixed := url.Values{"state": {q1.Get("state")}, "code": {q2.Get("code")}}
		_, err = e.svc.Finish(t.Context(), "zit", mixed, binding1)
		if err == nil {
			t.Fatal("Finish with another sign-in's code succeeded")
		}
		wantErr(t, err, upstream.ErrProvider, "Finish with another sign-in's code")
	})
	t.Run("hostile provider", func(t *testing.T) {
		t.Parallel()
		h := newHostileOP(t)
		e := newEnv(t)
		e.register(t, upstream.Spec{ID: "h", Issuer: h.issuer, ClientID: "authd"})
		authURL1, binding1, err := e.svc.Start(t.Context(), "h", "/", "")
		if err != nil {
			t.Fatal(err)
		}
		authURL2, _, err := e.svc.Start(t.Context(), "h", "/", "")
		if err != nil {
			t.Fatal(err)
		}
		nonce2 := authParams(t, authURL2).Get("nonce")
		h.setClaims(func(url.Values) map[string]any { return h.honest("authd", nonce2) })
		_, err = e.svc.Finish(t.Context(), "h", hostileCallback(t, authURL1), binding1)
		wantErr(t, err, upstream.ErrToken, "Finish with an ID token of another sign-in's nonce")

		authURL3, binding3, err := e.svc.Start(t.Context(), "h", "/", "")
		if err != nil {
			t.Fatal(err)
		}
		h.setClaims(func(url.Values) map[string]any {
			c := h.honest("authd", "")
			delete(c, "nonce")
			return c
		})
		_, err = e.svc.Finish(t.Context(), "h", hostileCallback(t, authURL3), binding3)
		wantErr(t, err, upstream.ErrToken, "Finish with an ID token without a nonce")
	})
}

// hostileEnv is an env with a hostile provider registered as "h"
// (client id "authd"), whose tokens are honest until the test says.
func hostileEnv(t *testing.T) (*env, *hostileOP) {
	t.Helper()
	h := newHostileOP(t)
	e := newEnv(t)
	e.register(t, upstream.Spec{ID: "h", Issuer: h.issuer, ClientID: "authd", Secret: "x"})
	return e, h
}

// finishWith starts a sign-in at "h", makes the hostile provider answer
// with the claims edit makes of honest ones, and finishes it.
func finishWith(t *testing.T, e *env, h *hostileOP, edit func(c map[string]any)) (*upstream.Result, error) {
	t.Helper()
	authURL, binding, err := e.svc.Start(t.Context(), "h", "/", "")
	if err != nil {
		t.Fatal(err)
	}
	nonce := authParams(t, authURL).Get("nonce")
	h.setClaims(func(url.Values) map[string]any {
		c := h.honest("authd", nonce)
		edit(c)
		return c
	})
	return e.svc.Finish(t.Context(), "h", hostileCallback(t, authURL), binding)
}

// The hostile provider's honest token passes: the tests below fail for
// the one thing they change.
func TestHostileHonest(t *testing.T) {
	t.Parallel()
	e, h := hostileEnv(t)
	r, err := finishWith(t, e, h, func(map[string]any) {})
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if r.Subject != "sub-1" || r.Email != "carol@example.com" || !r.EmailVerified {
		t.Errorf("Finish = %+v", r)
	}
	r, err = finishWith(t, e, h, func(c map[string]any) { c["email_verified"] = "true"; delete(c, "at_hash") })
	if err != nil || !r.EmailVerified {
		t.Fatalf("Finish with email_verified as a string = %+v, %v", r, err)
	}
}

// F1: ID tokens that must be refused (OpenID Connect Core §3.1.3.7).
func TestBadIDTokens(t *testing.T) {
	t.Parallel()
	e, h := hostileEnv(t)
	tests := []struct {
		name string
		edit func(c map[string]any)
	}{
		{"aud another client", func(c map[string]any) { c["aud"] = "someone-else" }},
		{"aud several, no azp", func(c map[string]any) { c["aud"] = []string{"authd", "someone-else"} }},
		{"azp another client", func(c map[string]any) { c["aud"] = []string{"authd", "x"}; c["azp"] = "x" }},
		{"iss another issuer", func(c map[string]any) { c["iss"] = "https://evil.example.com" }},
		{"iss with a trailing slash", func(c map[string]any) { c["iss"] = h.issuer + "/" }},
		{"expired", func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() }},
		{"no exp", func(c map[string]any) { delete(c, "exp") }},
		{"at_hash of another access token", func(c map[string]any) { c["at_hash"] = atHash("other") }},
		{"no sub", func(c map[string]any) { delete(c, "sub") }},
		{"sub too long", func(c map[string]any) { c["sub"] = strings.Repeat("s", 256) }},
		{"email_verified not a boolean", func(c map[string]any) { c["email_verified"] = "yes" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := finishWith(t, e, h, tt.edit)
			wantErr(t, err, upstream.ErrToken, tt.name)
		})
	}
	t.Run("signed by another key", func(t *testing.T) {
		other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		h.mu.Lock()
		h.signWith = other
		h.mu.Unlock()
		defer func() { h.mu.Lock(); h.signWith = nil; h.mu.Unlock() }()
		_, err := finishWith(t, e, h, func(map[string]any) {})
		wantErr(t, err, upstream.ErrToken, "another key")
	})
}

// F1: aud with the real provider: the provider issues the token to
// "authd", and by the callback authd's registration says "authd-2" (both
// real clients there). The flow remembers the client it started with, so
// it is refused before the token is read (ErrState); an ID token for
// another audience as such is TestBadIDTokens's (hostile provider: no
// real one issues it).
func TestClientChangedDuringSignIn(t *testing.T) {
	t.Parallel()
	issuer := exampleOP(t, webClient("authd", "s3cret", "zit"), webClient("authd-2", "s3cret", "zit"))
	e := newEnv(t)
	e.register(t, upstream.Spec{ID: "zit", Issuer: issuer, ClientID: "authd", Secret: "s3cret"})
	authURL, binding, err := e.svc.Start(t.Context(), "zit", "/", "")
	if err != nil {
		t.Fatal(err)
	}
	q := newBrowser(t).login(t, authURL, "ann")
	// The registration changes meanwhile: the flow names the old client.
	if err := e.svc.Delete(t.Context(), "zit"); err != nil {
		t.Fatal(err)
	}
	e.register(t, upstream.Spec{ID: "zit", Issuer: issuer, ClientID: "authd-2", Secret: "s3cret"})
	_, err = e.svc.Finish(t.Context(), "zit", q, binding)
	wantErr(t, err, upstream.ErrState, "Finish after the client id changed")
}

// F1: an expired ID token of the real provider: its tokens live an hour;
// authd's clock is two hours ahead (from the start, so that the state is
// not expired).
func TestExpiredTokenRealProvider(t *testing.T) {
	t.Parallel()
	e, _ := realOP(t)
	e.clock.Advance(2 * time.Hour)
	authURL, binding, err := e.svc.Start(t.Context(), "zit", "/", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Finish(t.Context(), "zit", newBrowser(t).login(t, authURL, "ann"), binding)
	wantErr(t, err, upstream.ErrToken, "Finish with an expired ID token")
	if !strings.Contains(err.Error(), "expired") {
		t.Errorf("err = %v, want it to say expired", err)
	}
}

// F1: mix-up (RFC 9700 §4.4, RFC 9207). Two real providers P1 and P2; the
// user signs in at P2, and the response is presented at P1's callback.
func TestMixUp(t *testing.T) {
	t.Parallel()
	iss1 := exampleOP(t, webClient("authd", "s3cret", "p1"))
	iss2 := exampleOP(t, webClient("authd", "s3cret", "p2"))
	e := newEnv(t)
	e.register(t, upstream.Spec{ID: "p1", Issuer: iss1, ClientID: "authd", Secret: "s3cret"})
	e.register(t, upstream.Spec{ID: "p2", Issuer: iss2, ClientID: "authd", Secret: "s3cret"})
	b := newBrowser(t)

	// P2's response (its state, its code) at P1's callback: the state
	// names P2.
	authURL2, binding2, err := e.svc.Start(t.Context(), "p2", "/", "")
	if err != nil {
		t.Fatal(err)
	}
	q2 := b.login(t, authURL2, "ann")
	_, err = e.svc.Finish(t.Context(), "p1", q2, binding2)
	wantErr(t, err, upstream.ErrState, "P2's state at P1's callback")

	// P1's state with a code of P2 and P2's iss: the iss parameter gives
	// it away.
	authURL1, binding1, err := e.svc.Start(t.Context(), "p1", "/", "")
	if err != nil {
		t.Fatal(err)
	}
	authURL2, _, err = e.svc.Start(t.Context(), "p2", "/", "")
	if err != nil {
		t.Fatal(err)
	}
	q2 = b.login(t, authURL2, "ann")
	mixed := url.Values{"state": {authParams(t, authURL1).Get("state")}, "code": {q2.Get("code")}, "iss": {iss2}}
	_, err = e.svc.Finish(t.Context(), "p1", mixed, binding1)
	wantErr(t, err, upstream.ErrToken, "P2's code and iss with P1's state")

	// The same without iss (this provider does not send it): P1 does not
	// know P2's code.
	authURL1, binding1, err = e.svc.Start(t.Context(), "p1", "/", "")
	if err != nil {
		t.Fatal(err)
	}
	authURL2, _, err = e.svc.Start(t.Context(), "p2", "/", "")
	if err != nil {
		t.Fatal(err)
	}
	q2 = b.login(t, authURL2, "ann")
	mixed = url.Values{"state": {authParams(t, authURL1).Get("state")}, "code": {q2.Get("code")}}
	_, err = e.svc.Finish(t.Context(), "p1", mixed, binding1)
	wantErr(t, err, upstream.ErrProvider, "P2's code with P1's state, no iss")

	// And P1's own sign-in with its right iss passes.
	authURL1, binding1, err = e.svc.Start(t.Context(), "p1", "/", "")
	if err != nil {
		t.Fatal(err)
	}
	q1 := b.login(t, authURL1, "ann")
	q1.Set("iss", iss1)
	if _, err := e.svc.Finish(t.Context(), "p1", q1, binding1); err != nil {
		t.Fatalf("P1's response with its iss: %v", err)
	}
}

// F1: RFC 9207 with a provider that says it sends iss: missing is
// refused, another is refused, its own passes.
func TestIssParameter(t *testing.T) {
	t.Parallel()
	e, h := hostileEnv(t)
	h.issParam = true // read by discovery, which has not run yet
	for _, tt := range []struct {
		name string
		iss  []string
		ok   bool
	}{
		{"missing", nil, false},
		{"another", []string{"https://evil.example.com"}, false},
		{"two", []string{h.issuer, h.issuer}, false},
		{"its own", []string{h.issuer}, true},
	} {
		authURL, binding, err := e.svc.Start(t.Context(), "h", "/", "")
		if err != nil {
			t.Fatal(err)
		}
		nonce := authParams(t, authURL).Get("nonce")
		h.setClaims(func(url.Values) map[string]any { return h.honest("authd", nonce) })
		q := hostileCallback(t, authURL)
		if tt.iss != nil {
			q["iss"] = tt.iss
		}
		_, err = e.svc.Finish(t.Context(), "h", q, binding)
		if tt.ok {
			if err != nil {
				t.Errorf("%s: Finish: %v", tt.name, err)
			}
			continue
		}
		wantErr(t, err, upstream.ErrToken, tt.name)
	}
}

// Error responses: access_denied is ErrDenied, any other ErrProvider; no
// error text holds the state or a code.
func TestErrorResponses(t *testing.T) {
	t.Parallel()
	e, _ := realOP(t)
	for _, tt := range []struct {
		code string
		want error
	}{
		{"access_denied", upstream.ErrDenied},
		{"server_error", upstream.ErrProvider},
		{"login_required", upstream.ErrProvider},
	} {
		authURL, binding, err := e.svc.Start(t.Context(), "zit", "/", "")
		if err != nil {
			t.Fatal(err)
		}
		state := authParams(t, authURL).Get("state")
		q := url.Values{"state": {state}, "error": {tt.code}, "error_description": {"no\nway"}}
		_, err = e.svc.Finish(t.Context(), "zit", q, binding)
		wantErr(t, err, tt.want, tt.code)
		if strings.Contains(err.Error(), state) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error text %q", tt.code, err)
		}
	}
	// A success without a code.
	authURL, binding, err := e.svc.Start(t.Context(), "zit", "/", "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Finish(t.Context(), "zit", url.Values{"state": {authParams(t, authURL).Get("state")}}, binding)
	wantErr(t, err, upstream.ErrProvider, "no code")
}

// A provider that is down fails Start (and Finish) with ErrProviderDown,
// which is an authd.ErrUnavailable, and does not hang.
func TestProviderDown(t *testing.T) {
	t.Parallel()
	t.Run("closed listener", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		issuer := "http://" + l.Addr().String()
		l.Close()
		e := newEnv(t)
		e.register(t, upstream.Spec{ID: "down", Issuer: issuer, ClientID: "authd"})
		start := time.Now()
		_, _, err = e.svc.Start(t.Context(), "down", "/", "")
		wantErr(t, err, upstream.ErrProviderDown, "Start")
		wantErr(t, err, authd.ErrUnavailable, "Start")
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Start took %v", d)
		}
	})
	t.Run("no answer", func(t *testing.T) {
		t.Parallel()
		block := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-block:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(block) })
		e := newEnvWith(t, &http.Client{Timeout: 300 * time.Millisecond})
		e.register(t, upstream.Spec{ID: "slow", Issuer: srv.URL, ClientID: "authd"})
		start := time.Now()
		_, _, err := e.svc.Start(t.Context(), "slow", "/", "")
		wantErr(t, err, upstream.ErrProviderDown, "Start")
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Start took %v", d)
		}
	})
	t.Run("down at the callback", func(t *testing.T) {
		t.Parallel()
		h := newHostileOP(t)
		e := newEnv(t)
		e.register(t, upstream.Spec{ID: "h", Issuer: h.issuer, ClientID: "authd"})
		authURL, binding, err := e.svc.Start(t.Context(), "h", "/", "")
		if err != nil {
			t.Fatal(err)
		}
		h.srv.CloseClientConnections()
		h.srv.Close()
		_, err = e.svc.Finish(t.Context(), "h", hostileCallback(t, authURL), binding)
		wantErr(t, err, upstream.ErrProviderDown, "Finish")
	})
}

// Discovery must name exactly the registered issuer (go-oidc checks): a
// real provider registered with a trailing slash, and a hostile one
// naming another issuer.
func TestDiscoveryIssuerMismatch(t *testing.T) {
	t.Parallel()
	issuer := exampleOP(t, webClient("authd", "s3cret", "zit"))
	h := newHostileOP(t)
	h.discIssuer = "https://evil.example.com"
	e := newEnv(t)
	e.register(t, upstream.Spec{ID: "slash", Issuer: issuer + "/", ClientID: "authd"})
	e.register(t, upstream.Spec{ID: "h", Issuer: h.issuer, ClientID: "authd"})
	for _, id := range []string{"slash", "h"} {
		_, _, err := e.svc.Start(t.Context(), id, "/", "")
		wantErr(t, err, upstream.ErrProvider, "Start at "+id)
		if errors.Is(err, upstream.ErrProviderDown) {
			t.Errorf("Start at %s: %v is not a provider that is down", id, err)
		}
	}
}

func TestUnknownProvider(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, id := range []string{"nope", "Bad ID", ""} {
		_, _, err := e.svc.Start(t.Context(), id, "/", "")
		wantErr(t, err, upstream.ErrUnknown, "Start at "+id)
		_, err = e.svc.Finish(t.Context(), id, url.Values{"state": {"x"}}, "b")
		if !errors.Is(err, upstream.ErrUnknown) && !errors.Is(err, upstream.ErrState) {
			t.Errorf("Finish at %q: %v", id, err)
		}
	}
}

// A provider deleted between Start and the callback: the callback fails.
func TestDeletedDuringSignIn(t *testing.T) {
	t.Parallel()
	e, _ := realOP(t)
	authURL, binding, err := e.svc.Start(t.Context(), "zit", "/", "")
	if err != nil {
		t.Fatal(err)
	}
	q := newBrowser(t).login(t, authURL, "ann")
	if err := e.svc.Delete(t.Context(), "zit"); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Finish(t.Context(), "zit", q, binding)
	wantErr(t, err, upstream.ErrUnknown, "Finish at a deleted provider")
}
