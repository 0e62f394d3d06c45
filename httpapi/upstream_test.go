package httpapi_test

// Sign-in through another provider (API.md "Signing in with another
// provider (upstream OpenID Connect)", SECURITY.md F1–F3) through authd's
// HTTP handlers, against a real provider: another authd, in-process. Both
// the relying party (rp) and the provider (idp) have their own URL as
// issuer: the provider accepts a plain-HTTP redirect URI only on a
// loopback host, so the relying party's callback must be one (an issuer
// such as http://authd.test is refused at registration). The browser here is an
// http.Client that follows no redirects: every hop is the test's, so a
// test can tamper with any of them.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/httpapi"
	"github.com/authd/authd/oidc"
	"github.com/authd/authd/upstream"
)

// upClientID is authd's client at the provider.
const upClientID = "authd-rp"

// upJar is a cookie jar that keeps the cookies of each host:port apart.
// Both test servers are on 127.0.0.1, and cookies ignore the port (RFC
// 6265 §8.5): with one jar the two servers' session cookies, of the same
// name, would overwrite each other, which two real sites on two hosts
// never do.
type upJar struct {
	mu   sync.Mutex
	jars map[string]*cookiejar.Jar
}

func (j *upJar) jar(u *url.URL) *cookiejar.Jar {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.jars == nil {
		j.jars = map[string]*cookiejar.Jar{}
	}
	c, ok := j.jars[u.Host]
	if !ok {
		c, _ = cookiejar.New(nil)
		j.jars[u.Host] = c
	}
	return c
}

func (j *upJar) SetCookies(u *url.URL, cs []*http.Cookie) { j.jar(u).SetCookies(u, cs) }
func (j *upJar) Cookies(u *url.URL) []*http.Cookie        { return j.jar(u).Cookies(u) }

// upBrowser is a browser for both servers: one jar, no redirects
// followed, no request longer than 30 s.
func upBrowser() *http.Client {
	return &http.Client{Jar: &upJar{}, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// upEnv is a provider and a relying party that has it registered as
// "idp".
type upEnv struct {
	t   *testing.T
	idp *harness
	rp  *harness
}

// upConfig is what a test may choose of an upEnv.
type upConfig struct {
	// trust: the relying party trusts the provider's email_verified.
	trust bool
	// consent: authd's client at the provider is not first-party, so the
	// provider asks the user to approve (or deny) it.
	consent bool
	// rp are more options of the relying party's harness.
	rp []option
}

func newUpEnv(t *testing.T, c upConfig) *upEnv {
	t.Helper()
	e := &upEnv{t: t, idp: newHarness(t, realIssuer()), rp: newHarness(t, append([]option{withUpstreams(), realIssuer()}, c.rp...)...)}
	e.addClient(e.idp, upClientID, !c.consent)
	e.addProvider("idp", e.idp, c.trust)
	return e
}

// callbackURI is the redirect URI of the relying party for provider id.
func (e *upEnv) callbackURI(id string) string {
	return e.rp.issuer + "/v1/upstream/" + id + "/callback"
}

// addClient registers authd's client id at the provider at, with the
// relying party's callback for "idp" as its redirect URI.
func (e *upEnv) addClient(at *harness, id string, firstParty bool) {
	e.t.Helper()
	if _, _, err := at.clients.Create(context.Background(), oidc.ClientSpec{ID: id, Name: "authd RP", Secret: rpSecret,
		FirstParty: firstParty, RedirectURIs: []string{e.callbackURI("idp")}}); err != nil {
		e.t.Fatal(err)
	}
}

// addProvider registers the provider at at the relying party as id.
func (e *upEnv) addProvider(id string, at *harness, trust bool) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.rp.upstreams.Register(ctx, upstream.Spec{ID: id, Issuer: at.issuer, ClientID: upClientID, Secret: rpSecret,
		Name: "IdP", TrustEmail: trust}); err != nil {
		e.t.Fatal(err)
	}
	if err := e.rp.upstreams.Reload(ctx); err != nil {
		e.t.Fatal(err)
	}
}

// start is the browser's GET of the relying party's start URL for "idp":
// it must send the browser to the provider; start returns where.
func (e *upEnv) start(b *http.Client, ret string) string {
	e.t.Helper()
	path := "/v1/upstream/idp/start"
	if ret != "" {
		path += "?" + url.Values{"return": {ret}}.Encode()
	}
	r := e.rp.do(b, "GET", path, nil)
	if r.StatusCode != http.StatusFound {
		e.t.Fatalf("start: %d %s", r.StatusCode, r.body)
	}
	loc := r.Header.Get("Location")
	if !strings.HasPrefix(loc, e.idp.issuer+"/oauth2/authorize?") {
		e.t.Fatalf("start sent the browser to %q", loc)
	}
	q := mustURL(e.t, loc).Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" ||
		q.Get("redirect_uri") != e.callbackURI("idp") || q.Get("client_id") != upClientID {
		e.t.Fatalf("the authorization request lacks PKCE S256, state, nonce or the right client: %s", loc)
	}
	return loc
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// authorize plays the browser's part at the provider at for authURL: sign
// in as email when asked, answer the consent page with decision when
// there is one, and return where the provider sends the browser back.
func (e *upEnv) authorize(b *http.Client, at *harness, authURL, email, decision string) *url.URL {
	e.t.Helper()
	r := ocBrowse(e.t, b, "GET", authURL, nil)
	if r.StatusCode == http.StatusSeeOther && strings.HasPrefix(r.Header.Get("Location"), "/login?") {
		ret := mustURL(e.t, r.Header.Get("Location")).Query().Get("return")
		r = at.do(b, "POST", "/login", pageForm("email", email, "password", goodPassword, "return", ret))
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != ret {
			e.t.Fatalf("sign-in at the provider: %d %q %s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
		r = ocBrowse(e.t, b, "GET", at.srv.URL+ret, nil)
	}
	if r.StatusCode == http.StatusOK {
		r = ocApprove(e.t, at, b, r, decision)
	}
	if r.StatusCode != http.StatusFound && r.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("authorize at the provider: %d %s", r.StatusCode, r.body)
	}
	back := mustURL(e.t, r.Header.Get("Location"))
	if !strings.HasPrefix(back.String(), e.callbackURI("idp")+"?") {
		e.t.Fatalf("the provider sent the browser to %s", back)
	}
	return back
}

// callback is the browser back at the relying party with the query q.
func (e *upEnv) callback(b *http.Client, q url.Values) resp {
	e.t.Helper()
	return e.rp.do(b, "GET", "/v1/upstream/idp/callback?"+q.Encode(), nil)
}

// signIn runs a whole sign-in in b: start at the relying party, sign in
// as email at the provider (approving), back at the callback; it returns
// the callback's response.
func (e *upEnv) signIn(b *http.Client, email, ret string) resp {
	e.t.Helper()
	back := e.authorize(b, e.idp, e.start(b, ret), email, "approve")
	return e.callback(b, back.Query())
}

// me is the relying party's /v1/me for b.
func (e *upEnv) me(b *http.Client) map[string]any {
	e.t.Helper()
	r := e.rp.do(b, "GET", "/v1/me", nil)
	if r.StatusCode != http.StatusOK {
		e.t.Fatalf("/v1/me: %d %s", r.StatusCode, r.body)
	}
	return r.json(e.t)
}

// identities is the relying party's /v1/identities for b.
func (e *upEnv) identities(b *http.Client) []map[string]any {
	e.t.Helper()
	r := e.rp.do(b, "GET", "/v1/identities", nil)
	if r.StatusCode != http.StatusOK {
		e.t.Fatalf("/v1/identities: %d %s", r.StatusCode, r.body)
	}
	var out []map[string]any
	if err := json.Unmarshal(r.body, &out); err != nil {
		e.t.Fatalf("/v1/identities: %v: %s", err, r.body)
	}
	return out
}

// events returns the relying party's audit events of kind ev.
func (e *upEnv) events(ev string) []authd.AuditEvent {
	e.t.Helper()
	l, _, err := e.rp.db.ListEvents(context.Background(), authd.AuditQuery{Event: ev, Limit: 100})
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// userID is the id of the user email at h.
func userID(t *testing.T, h *harness, email string) string {
	t.Helper()
	u, err := h.db.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatalf("user %s: %v", email, err)
	}
	return u.ID
}

// verify marks the provider's user email as having a verified address.
func (e *upEnv) verify(email string) {
	e.t.Helper()
	if err := e.idp.db.SetEmail(context.Background(), userID(e.t, e.idp, email), email, true, e.idp.clock.Now()); err != nil {
		e.t.Fatal(err)
	}
}

// signedInWithPassword registers email at the relying party and signs it
// in, in a new upBrowser.
func (e *upEnv) signedInWithPassword(email string) *http.Client {
	e.t.Helper()
	e.rp.register(email)
	b := upBrowser()
	if r := e.rp.do(b, "POST", "/v1/login", creds(email, goodPassword)); r.StatusCode != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", email, r.StatusCode, r.body)
	}
	return b
}

// failure is a failed sign-in: the page's status and what it says.
type failure struct {
	status int
	says   string
	// detail, when set, must be in the upstream_failed event's detail
	// (which check refused the sign-in).
	detail string
}

// wantFailed runs do, a step in b that must fail as f says: the
// sign-in page with f's status and message, no new session cookie, one
// more upstream_failed event.
func (e *upEnv) wantFailed(b *http.Client, f failure, do func() resp) {
	e.t.Helper()
	before := len(e.events(authd.EventUpstreamFailed))
	cookie := e.rp.cookie(b)
	r := do()
	body := htmlPage(e.t, r, f.status)
	pageHas(e.t, body, f.says, `action="/login"`)
	for _, c := range r.Cookies() {
		if c.Name == httpapi.CookieName(true) && c.Value != "" {
			e.t.Errorf("a failed sign-in set a session cookie: %v", c)
		}
	}
	if got := e.rp.cookie(b); got != cookie {
		e.t.Errorf("a failed sign-in changed the browser's session cookie from %q to %q", cookie, got)
	}
	evs := e.events(authd.EventUpstreamFailed)
	if len(evs) != before+1 {
		e.t.Fatalf("%d upstream_failed events after a failure, want %d", len(evs), before+1)
	}
	// ListEvents is newest first.
	if !strings.Contains(evs[0].Detail, f.detail) {
		e.t.Errorf("upstream_failed detail %q lacks %q", evs[0].Detail, f.detail)
	}
}

var (
	failState = failure{status: http.StatusBadRequest, says: "This sign-in expired or was started in another browser."}
	failToken = failure{status: http.StatusBadGateway, says: "could not be verified, so you are not signed in"}
	failDown  = failure{status: http.StatusServiceUnavailable, says: "The provider cannot be reached right now."}
)

func (f failure) because(detail string) failure { f.detail = detail; return f }

// TestUpstreamSignInNewAccount: the happy path: a new identity whose
// address belongs to no one makes an account (without a password, its
// address not verified: the provider is not trusted), signed in with
// amr fed, listed in /v1/identities, audited identity_linked; the return
// path is kept.
func TestUpstreamSignInNewAccount(t *testing.T) {
	e := newUpEnv(t, upConfig{})
	e.idp.register("ann@idp.example")
	b := upBrowser()
	wantSeeOther(t, e.signIn(b, "ann@idp.example", "/account?tab=sessions"), "/account?tab=sessions")
	if e.rp.cookie(b) == "" {
		t.Fatal("no session cookie after the sign-in")
	}
	me := e.me(b)
	if me["email"] != "ann@idp.example" || jsonOf(me["amr"]) != `["fed"]` || me["aal"] != float64(1) {
		t.Errorf("/v1/me after an upstream sign-in: %v", me)
	}
	u, err := e.rp.db.UserByID(context.Background(), me["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if u.PasswordHash != "" || u.EmailVerified {
		t.Errorf("the new account: password hash %q, email verified %v; want none and false (untrusted provider)", u.PasswordHash, u.EmailVerified)
	}
	ids := e.identities(b)
	if len(ids) != 1 || ids[0]["upstream"] != "idp" || ids[0]["subject"] != userID(t, e.idp, "ann@idp.example") || ids[0]["email"] != "ann@idp.example" {
		t.Errorf("/v1/identities: %v", ids)
	}
	linked := e.events(authd.EventIdentityLinked)
	if len(linked) != 1 || linked[0].UserID != me["id"] || !strings.Contains(linked[0].Detail, "new account") {
		t.Errorf("identity_linked events: %+v", linked)
	}
	if n := len(e.events(authd.EventUpstreamFailed)); n != 0 {
		t.Errorf("%d upstream_failed events after a good sign-in", n)
	}
	htmlPage(t, e.rp.do(b, "GET", "/account", nil), http.StatusOK)
	// A sign-in through a provider asking for consent: approved.
	e2 := newUpEnv(t, upConfig{consent: true})
	e2.idp.register("bob@idp.example")
	b2 := upBrowser()
	wantSeeOther(t, e2.signIn(b2, "bob@idp.example", ""), "/account")
	if me := e2.me(b2); me["email"] != "bob@idp.example" {
		t.Errorf("/v1/me after a consented sign-in: %v", me)
	}
}

// TestUpstreamKnownIdentitySignsInAgain: a known (upstream, sub) signs its
// user in, in another browser, even after the provider changed the
// address (the identity is never the email, F2); nothing is linked again.
func TestUpstreamKnownIdentitySignsInAgain(t *testing.T) {
	e := newUpEnv(t, upConfig{})
	e.idp.register("ann@idp.example")
	first := upBrowser()
	wantSeeOther(t, e.signIn(first, "ann@idp.example", ""), "/account")
	id := e.me(first)["id"]

	second := upBrowser()
	wantSeeOther(t, e.signIn(second, "ann@idp.example", ""), "/account")
	if me := e.me(second); me["id"] != id || jsonOf(me["amr"]) != `["fed"]` {
		t.Errorf("the second sign-in is %v, want user %v", me, id)
	}
	if e.rp.cookie(first) == e.rp.cookie(second) {
		t.Error("two browsers share a session")
	}

	if err := e.idp.db.SetEmail(context.Background(), userID(t, e.idp, "ann@idp.example"), "ann.new@idp.example", false, e.idp.clock.Now()); err != nil {
		t.Fatal(err)
	}
	third := upBrowser()
	wantSeeOther(t, e.signIn(third, "ann.new@idp.example", ""), "/account")
	if me := e.me(third); me["id"] != id {
		t.Errorf("after the provider changed the address the sign-in is %v, want user %v", me, id)
	}
	if n := len(e.events(authd.EventIdentityLinked)); n != 1 {
		t.Errorf("%d identity_linked events, want 1", n)
	}
}

// TestUpstreamWrongState: a callback with a state authd never issued, or
// none, or two, fails (F1).
func TestUpstreamWrongState(t *testing.T) {
	e := newUpEnv(t, upConfig{})
	e.idp.register("ann@idp.example")
	b := upBrowser()
	q := e.authorize(b, e.idp, e.start(b, ""), "ann@idp.example", "approve").Query()
	for name, state := range map[string][]string{"unknown": {"AAAAAAAAAAAAAAAAAAAAAAAAAA"}, "none": nil, "empty": {""},
		"two": {q.Get("state"), q.Get("state")}} {
		t.Run(name, func(t *testing.T) {
			bad := url.Values{"code": q["code"], "iss": q["iss"], "state": state}
			e.wantFailed(b, failState, func() resp { return e.callback(b, bad) })
		})
	}
}

// TestUpstreamReplayedState: a callback URL works once: the same URL
// again, even with the browser's binding cookie put back, fails; and a
// state is spent by a failed callback too.
func TestUpstreamReplayedState(t *testing.T) {
	e := newUpEnv(t, upConfig{})
	e.idp.register("ann@idp.example")
	b := upBrowser()
	authURL := e.start(b, "")
	rpURL := mustURL(t, e.rp.srv.URL)
	binding := b.Jar.Cookies(rpURL)
	q := e.authorize(b, e.idp, authURL, "ann@idp.example", "approve").Query()
	wantSeeOther(t, e.callback(b, q), "/account")

	b.Jar.SetCookies(rpURL, binding)
	e.wantFailed(b, failState.because("unknown, used or expired"), func() resp { return e.callback(b, q) })

	// A failed callback spends the state: a wrong code, then the right one.
	c := upBrowser()
	q = e.authorize(c, e.idp, e.start(c, ""), "ann@idp.example", "approve").Query()
	binding = c.Jar.Cookies(rpURL)
	bad := url.Values{"code": {"not-the-code"}, "state": q["state"], "iss": q["iss"]}
	e.wantFailed(c, failToken.because("refused"), func() resp { return e.callback(c, bad) })
	c.Jar.SetCookies(rpURL, binding)
	e.wantFailed(c, failState.because("unknown, used or expired"), func() resp { return e.callback(c, q) })
}

// TestUpstreamStateFromAnotherBrowser: the callback URL of a sign-in
// started in one browser fails in another (login CSRF, F1).
func TestUpstreamStateFromAnotherBrowser(t *testing.T) {
	e := newUpEnv(t, upConfig{})
	e.idp.register("mallory@idp.example")
	attacker, victim := upBrowser(), upBrowser()
	q := e.authorize(attacker, e.idp, e.start(attacker, ""), "mallory@idp.example", "approve").Query()
	e.wantFailed(victim, failState.because("another browser"), func() resp { return e.callback(victim, q) })
	if r := e.rp.do(victim, "GET", "/v1/me", nil); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the victim's /v1/me: %d %s", r.StatusCode, r.body)
	}
	// A victim that started a sign-in of its own has another binding.
	e.start(victim, "")
	q = e.authorize(attacker, e.idp, e.start(attacker, ""), "mallory@idp.example", "approve").Query()
	e.wantFailed(victim, failState.because("another browser"), func() resp { return e.callback(victim, q) })
}

// TestUpstreamCodeFromAnotherFlow: the attacker's code (their own sign-in
// at the provider) put into the victim's callback, with the victim's
// state: the code was issued to another PKCE challenge and another nonce;
// the provider refuses the exchange with the victim's verifier (PKCE is
// checked first, so the nonce check is not reached here: see
// TestUpstreamWrongNonce).
func TestUpstreamCodeFromAnotherFlow(t *testing.T) {
	e := newUpEnv(t, upConfig{})
	e.idp.register("ann@idp.example")
	e.idp.register("mallory@idp.example")
	victim, attacker := upBrowser(), upBrowser()
	vq := e.authorize(victim, e.idp, e.start(victim, ""), "ann@idp.example", "approve").Query()
	aq := e.authorize(attacker, e.idp, e.start(attacker, ""), "mallory@idp.example", "approve").Query()
	injected := url.Values{"code": aq["code"], "state": vq["state"], "iss": vq["iss"]}
	e.wantFailed(victim, failToken.because("code exchange was refused"), func() resp { return e.callback(victim, injected) })
}

// TestUpstreamWrongNonce: an ID token whose nonce is not the sign-in's
// fails (F1): the authorization request is changed on its way to the
// provider (another nonce, same PKCE challenge and state), so the code
// exchange succeeds and the nonce check is what refuses it.
func TestUpstreamWrongNonce(t *testing.T) {
	e := newUpEnv(t, upConfig{})
	e.idp.register("ann@idp.example")
	b := upBrowser()
	u := mustURL(t, e.start(b, ""))
	q := u.Query()
	q.Set("nonce", "a-nonce-of-another-sign-in")
	u.RawQuery = q.Encode()
	back := e.authorize(b, e.idp, u.String(), "ann@idp.example", "approve").Query()
	e.wantFailed(b, failToken.because("nonce"), func() resp { return e.callback(b, back) })
}

// TestUpstreamTokenFromAnotherIssuer: a mix-up (RFC 9700 §4.4): the
// authorization request of a sign-in at "idp" goes to another provider
// (where authd has a client of the same id and redirect URI), whose
// response comes back to idp's callback. With its iss, the RFC 9207 check
// refuses it; without iss, idp's discovery says it always sends one, so
// it is refused too; with idp's iss forged in, idp's token endpoint
// refuses the other provider's code.
func TestUpstreamTokenFromAnotherIssuer(t *testing.T) {
	e := newUpEnv(t, upConfig{})
	other := newHarness(t, realIssuer())
	e.addClient(other, upClientID, true)
	other.register("ann@idp.example")
	cases := []struct {
		name string
		iss  func(q url.Values)
		f    failure
	}{
		{"its own iss", func(url.Values) {}, failToken.because("another issuer (RFC 9207)")},
		{"no iss", func(q url.Values) { q.Del("iss") }, failToken.because("has no iss")},
		{"the registered provider's iss", func(q url.Values) { q.Set("iss", e.idp.issuer) }, failToken.because("code exchange was refused")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := upBrowser()
			u := mustURL(t, e.start(b, ""))
			ou := mustURL(t, other.issuer)
			u.Scheme, u.Host = ou.Scheme, ou.Host
			q := e.authorize(b, other, u.String(), "ann@idp.example", "approve").Query()
			if q.Get("iss") != other.issuer || q.Get("code") == "" {
				t.Fatalf("the other provider's response: %v", q)
			}
			tc.iss(q)
			e.wantFailed(b, tc.f, func() resp { return e.callback(b, q) })
		})
	}
}

// TestUpstreamAudienceMismatch: a code issued to another client of the
// provider (same redirect URI) at authd's callback. An honest provider
// never gives authd an ID token for another audience: it refuses to
// exchange another client's code, which is what is checked here. The aud
// (and azp) check of the ID token itself cannot be reached with a real
// provider; upstream's TestBadIDTokens checks it with tokens a hostile
// provider signs.
func TestUpstreamAudienceMismatch(t *testing.T) {
	e := newUpEnv(t, upConfig{})
	e.addClient(e.idp, "another-app", true)
	e.idp.register("ann@idp.example")
	b := upBrowser()
	u := mustURL(t, e.start(b, ""))
	q := u.Query()
	q.Set("client_id", "another-app")
	u.RawQuery = q.Encode()
	back := e.authorize(b, e.idp, u.String(), "ann@idp.example", "approve").Query()
	e.wantFailed(b, failToken.because("code exchange was refused"), func() resp { return e.callback(b, back) })
}

// TestUpstreamExpiredToken: an ID token expired by the relying party's
// clock (upstream uses the injected clock) fails (F1). The provider signs
// the ID token at the code exchange, inside the callback, and the state
// lives 10 minutes, less than an ID token: so the provider's clock is set
// an hour back before the callback (the token is born expired by the
// relying party's clock). Moving the relying party's clock past 10
// minutes instead expires the state.
func TestUpstreamExpiredToken(t *testing.T) {
	e := newUpEnv(t, upConfig{})
	e.idp.register("ann@idp.example")
	b := upBrowser()
	q := e.authorize(b, e.idp, e.start(b, ""), "ann@idp.example", "approve").Query()
	e.idp.clock.Add(-time.Hour)
	e.wantFailed(b, failToken.because("expired"), func() resp { return e.callback(b, q) })
	e.idp.clock.Add(time.Hour)

	t.Run("state older than 10 minutes", func(t *testing.T) {
		b := upBrowser()
		q := e.authorize(b, e.idp, e.start(b, ""), "ann@idp.example", "approve").Query()
		e.rp.clock.Add(upstream.FlowTTL + time.Second)
		e.wantFailed(b, failState.because("expired"), func() resp { return e.callback(b, q) })
	})
}

// TestUpstreamUnverifiedEmailOfExistingAccount: an identity whose address
// belongs to an account here signs nobody in when the address is not
// proven (F2, Kratos #3439): neither an unverified address at a trusted
// provider, nor a verified one at a provider that is not trusted. 409,
// the sign-in page saying to sign in first and link, no session, nothing
// linked.
func TestUpstreamUnverifiedEmailOfExistingAccount(t *testing.T) {
	for _, tc := range []struct {
		name            string
		trust, verified bool
	}{{"trusted provider, unverified address", true, false}, {"untrusted provider, verified address", false, true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newUpEnv(t, upConfig{trust: tc.trust})
			ann := e.signedInWithPassword("ann@example.com")
			e.idp.register("ann@example.com")
			if tc.verified {
				e.verify("ann@example.com")
			}
			b := upBrowser()
			e.wantFailed(b, failure{status: http.StatusConflict, says: "sign in to it first, then link this provider", detail: "sign in to it first"},
				func() resp { return e.signIn(b, "ann@example.com", "") })
			if r := e.rp.do(b, "GET", "/v1/me", nil); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("/v1/me after the refusal: %d %s", r.StatusCode, r.body)
			}
			if ids := e.identities(ann); len(ids) != 0 {
				t.Errorf("ann's identities: %v", ids)
			}
			if n := len(e.events(authd.EventIdentityLinked)); n != 0 {
				t.Errorf("%d identity_linked events", n)
			}
		})
	}
}

// TestUpstreamTrustedVerifiedEmailLinks: a trusted provider's verified
// address of an existing account links the identity to it and signs that
// user in (F2), audited identity_linked.
func TestUpstreamTrustedVerifiedEmailLinks(t *testing.T) {
	e := newUpEnv(t, upConfig{trust: true})
	e.rp.register("ann@example.com")
	annID := userID(t, e.rp, "ann@example.com")
	e.idp.register("ann@example.com")
	e.verify("ann@example.com")
	b := upBrowser()
	wantSeeOther(t, e.signIn(b, "ann@example.com", ""), "/account")
	if me := e.me(b); me["id"] != annID || jsonOf(me["amr"]) != `["fed"]` {
		t.Errorf("/v1/me %v, want ann (%s) with amr fed", me, annID)
	}
	if ids := e.identities(b); len(ids) != 1 || ids[0]["upstream"] != "idp" {
		t.Errorf("/v1/identities: %v", ids)
	}
	linked := e.events(authd.EventIdentityLinked)
	if len(linked) != 1 || linked[0].UserID != annID || !strings.Contains(linked[0].Detail, "verified address") {
		t.Errorf("identity_linked events: %+v", linked)
	}

	// A new account through a trusted provider's verified address has its
	// address verified.
	e.idp.register("bob@example.com")
	e.verify("bob@example.com")
	c := upBrowser()
	wantSeeOther(t, e.signIn(c, "bob@example.com", ""), "/account")
	if u, err := e.rp.db.UserByEmail(context.Background(), "bob@example.com"); err != nil || !u.EmailVerified {
		t.Errorf("bob's new account: %v, %v; want a verified address", u, err)
	}
}

// TestUpstreamIdentityLinkedElsewhere: a signed-in user who links an
// identity already linked to another user is refused (409 page), stays
// signed in as themself, and gets no identity.
func TestUpstreamIdentityLinkedElsewhere(t *testing.T) {
	e := newUpEnv(t, upConfig{})
	e.idp.register("ann@idp.example")
	a := upBrowser()
	wantSeeOther(t, e.signIn(a, "ann@idp.example", ""), "/account")
	annID := e.me(a)["id"]

	bob := e.signedInWithPassword("bob@example.com")
	bobID := e.me(bob)["id"]
	e.wantFailed(bob, failure{status: http.StatusConflict, says: "linked to another authd account", detail: "linked to another"},
		func() resp { return e.signIn(bob, "ann@idp.example", "") })
	if me := e.me(bob); me["id"] != bobID || jsonOf(me["amr"]) != `["pwd"]` {
		t.Errorf("bob after the refusal: %v", me)
	}
	if ids := e.identities(bob); len(ids) != 0 {
		t.Errorf("bob's identities: %v", ids)
	}
	if ids := e.identities(a); len(ids) != 1 || e.me(a)["id"] != annID {
		t.Errorf("ann's identities: %v", ids)
	}
}

// TestUpstreamLinkOwnAccount: a signed-in user who goes through start
// links the identity to their own account (/account?notice=linked), then
// signs in with it; a browser that changed user meanwhile links nothing.
func TestUpstreamLinkOwnAccount(t *testing.T) {
	e := newUpEnv(t, upConfig{})
	e.idp.register("bob.work@idp.example")
	bob := e.signedInWithPassword("bob@example.com")
	bobID := e.me(bob)["id"].(string)
	cookie := e.rp.cookie(bob)
	wantSeeOther(t, e.signIn(bob, "bob.work@idp.example", "/elsewhere"), "/account?notice=linked")
	if e.rp.cookie(bob) != cookie {
		t.Error("linking changed the session")
	}
	ids := e.identities(bob)
	if len(ids) != 1 || ids[0]["upstream"] != "idp" || ids[0]["email"] != "bob.work@idp.example" {
		t.Errorf("/v1/identities: %v", ids)
	}
	linked := e.events(authd.EventIdentityLinked)
	if len(linked) != 1 || linked[0].UserID != bobID || !strings.Contains(linked[0].Detail, "signed-in user") {
		t.Errorf("identity_linked events: %+v", linked)
	}
	htmlPage(t, e.rp.do(bob, "GET", "/account?notice=linked", nil), http.StatusOK)

	// Signing in with it is signing in as bob.
	c := upBrowser()
	wantSeeOther(t, e.signIn(c, "bob.work@idp.example", ""), "/account")
	if me := e.me(c); me["id"] != bobID || jsonOf(me["amr"]) != `["fed"]` {
		t.Errorf("/v1/me %v, want bob (%s)", me, bobID)
	}

	// Bob starts linking, then carol signs in in that browser: the callback
	// links nothing, to nobody.
	e.idp.register("carol.work@idp.example")
	shared := e.signedInWithPassword("carol-first@example.com")
	authURL := e.start(shared, "")
	e.rp.register("carol@example.com")
	if r := e.rp.do(shared, "POST", "/v1/login", creds("carol@example.com", goodPassword)); r.StatusCode != http.StatusOK {
		t.Fatalf("carol's login: %d %s", r.StatusCode, r.body)
	}
	q := e.authorize(shared, e.idp, authURL, "carol.work@idp.example", "approve").Query()
	e.wantFailed(shared, failState, func() resp { return e.callback(shared, q) })
	if ids := e.identities(shared); len(ids) != 0 {
		t.Errorf("carol's identities: %v", ids)
	}
}

// TestUpstreamUnlink: unlinking the only way to sign in is refused (409);
// with a password it is allowed (204), audited identity_unlinked, and the
// identity then signs in to a new account, not to the old one.
func TestUpstreamUnlink(t *testing.T) {
	e := newUpEnv(t, upConfig{})
	e.idp.register("ann@idp.example")
	ann := upBrowser()
	wantSeeOther(t, e.signIn(ann, "ann@idp.example", ""), "/account")
	assertProblem(t, e.rp.do(ann, "DELETE", "/v1/identities/idp", nil, "Sec-Fetch-Site", "same-origin"), http.StatusConflict)
	if ids := e.identities(ann); len(ids) != 1 {
		t.Errorf("ann's identities after the refused unlink: %v", ids)
	}
	assertProblem(t, e.rp.do(ann, "DELETE", "/v1/identities/nope", nil, "Sec-Fetch-Site", "same-origin"), http.StatusNotFound)
	if n := len(e.events(authd.EventIdentityUnlinked)); n != 0 {
		t.Errorf("%d identity_unlinked events after a refusal", n)
	}

	e.idp.register("bob.work@idp.example")
	bob := e.signedInWithPassword("bob@example.com")
	bobID := e.me(bob)["id"]
	wantSeeOther(t, e.signIn(bob, "bob.work@idp.example", ""), "/account?notice=linked")
	if r := e.rp.do(bob, "DELETE", "/v1/identities/idp", nil, "Sec-Fetch-Site", "same-origin"); r.StatusCode != http.StatusNoContent {
		t.Fatalf("unlink with a password: %d %s", r.StatusCode, r.body)
	}
	if ids := e.identities(bob); len(ids) != 0 {
		t.Errorf("bob's identities after the unlink: %v", ids)
	}
	unlinked := e.events(authd.EventIdentityUnlinked)
	if len(unlinked) != 1 || unlinked[0].UserID != bobID {
		t.Errorf("identity_unlinked events: %+v", unlinked)
	}
	c := upBrowser()
	wantSeeOther(t, e.signIn(c, "bob.work@idp.example", ""), "/account")
	if me := e.me(c); me["id"] == bobID || me["email"] != "bob.work@idp.example" {
		t.Errorf("the unlinked identity signed in as %v", me)
	}
}

// TestUpstreamSecondFactor: a user with an authenticator app who signs in
// through a provider is asked for the second step; the session then has
// amr ["fed","otp","mfa"].
func TestUpstreamSecondFactor(t *testing.T) {
	e := newUpEnv(t, upConfig{trust: true})
	_, secret, _ := mfaUser(t, e.rp) // ann@example.com
	annID := userID(t, e.rp, "ann@example.com")
	e.idp.register("ann@example.com")
	e.verify("ann@example.com")
	b := upBrowser()
	wantSeeOther(t, e.signIn(b, "ann@example.com", "/account?tab=security"), "/login/second-factor?return=%2Faccount%3Ftab%3Dsecurity")
	pending := e.rp.cookie(b)
	if pending == "" {
		t.Fatal("no pending sign-in cookie")
	}
	if r := e.rp.do(b, "GET", "/v1/me", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/v1/me with the pending sign-in: %d %s", r.StatusCode, r.body)
	}
	htmlPage(t, e.rp.do(b, "GET", "/login/second-factor?return=%2Faccount%3Ftab%3Dsecurity", nil), http.StatusOK)
	r := e.rp.do(b, "POST", "/login/second-factor/totp", pageForm("code", code(t, e.rp, secret, 1), "return", "/account?tab=security"))
	wantSeeOther(t, r, "/account?tab=security")
	if got := e.rp.cookie(b); got == "" || got == pending {
		t.Error("the second step kept the pending sign-in's id")
	}
	me := e.me(b)
	if me["id"] != annID || jsonOf(me["amr"]) != `["fed","otp","mfa"]` || me["aal"] != float64(2) {
		t.Errorf("/v1/me after both steps: %v", me)
	}
}

// TestUpstreamProviderDown: a provider that cannot be reached, at the start
// or at the callback (the code exchange), gives the 503 page at once.
func TestUpstreamProviderDown(t *testing.T) {
	// NOTE: a closed port refuses at once; a provider that accepts and
	// never answers is upstream's concern (its client's timeouts).
	t.Run("at start", func(t *testing.T) {
		e := newUpEnv(t, upConfig{})
		e.idp.srv.Close()
		b := upBrowser()
		t0 := time.Now()
		e.wantFailed(b, failDown.because("discovery"), func() resp { return e.rp.do(b, "GET", "/v1/upstream/idp/start", nil) })
		if d := time.Since(t0); d > 5*time.Second {
			t.Errorf("the refusal took %v", d)
		}
	})
	t.Run("at the callback", func(t *testing.T) {
		e := newUpEnv(t, upConfig{})
		e.idp.register("ann@idp.example")
		b := upBrowser()
		q := e.authorize(b, e.idp, e.start(b, ""), "ann@idp.example", "approve").Query()
		e.idp.srv.Close()
		t0 := time.Now()
		e.wantFailed(b, failDown.because("token endpoint"), func() resp { return e.callback(b, q) })
		if d := time.Since(t0); d > 5*time.Second {
			t.Errorf("the refusal took %v", d)
		}
	})
}

// TestUpstreamAccessDenied: the user denies authd at the provider's
// consent page: the sign-in page says it was cancelled (403), no session.
func TestUpstreamAccessDenied(t *testing.T) {
	e := newUpEnv(t, upConfig{consent: true})
	e.idp.register("ann@idp.example")
	b := upBrowser()
	q := e.authorize(b, e.idp, e.start(b, ""), "ann@idp.example", "deny").Query()
	if q.Get("error") != "access_denied" {
		t.Fatalf("the provider's answer to deny: %v", q)
	}
	e.wantFailed(b, failure{status: http.StatusForbidden, says: "The sign-in was cancelled at the provider.", detail: "access_denied"},
		func() resp { return e.callback(b, q) })
}

// TestUpstreamUnknownProvider: the start of a provider that is not
// registered answers 404.
func TestUpstreamUnknownProvider(t *testing.T) {
	e := newUpEnv(t, upConfig{})
	if r := e.rp.do(upBrowser(), "GET", "/v1/upstream/nope/start", nil); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET /v1/upstream/nope/start: %d", r.StatusCode)
	}
}
