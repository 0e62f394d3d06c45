// Command webapp is an example web app that signs its users in with authd
// as an OpenID Connect relying party: the authorization code flow with
// PKCE, through github.com/coreos/go-oidc and golang.org/x/oauth2 used as
// their documentation shows, given only authd's issuer URL, a client id
// and a secret. It also signs the user out at authd (RP-Initiated Logout
// 1.0) and ends its own sessions when authd says they ended there
// (Back-Channel Logout 1.0).
//
//	GET  /                     "Sign in with authd", or "Signed in as EMAIL" and "Sign out"
//	GET  /login                starts a sign-in: redirects to authd's authorization endpoint
//	GET  /callback             where authd sends the browser back with a code
//	POST /logout               ends the local session, then authd's (end_session_endpoint)
//	POST /backchannel-logout   authd's logout tokens, server to server
//	GET  /backchannel-logouts  a demo and test aid, not part of any standard: the
//	                           logouts received so far, as JSON [{"sid","sub"}]
//
// Register it at authd first (the URIs must match --url exactly):
//
//	printf '%s\n' "$SECRET" | authd client add --id webapp --secret-stdin --name "Web app" \
//	  --redirect-uri http://127.0.0.1:8090/callback \
//	  --post-logout-redirect-uri http://127.0.0.1:8090/ \
//	  --backchannel-logout-uri http://127.0.0.1:8090/backchannel-logout
//	WEBAPP_CLIENT_SECRET=$SECRET webapp --issuer http://127.0.0.1:8080
//
// Sign-ins in progress, sessions and received logouts live in this
// process's memory: they end with it, and two processes would not share
// them. A real app keeps its sessions in a store. See examples/README.md.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/authd/authd/examples/internal/service"
)

const (
	// loginTTL bounds a sign-in in progress: from /login to /callback.
	loginTTL = 10 * time.Minute
	// sessionTTL is this app's own session lifetime, independent of the ID
	// token's (which only proves the sign-in happened).
	sessionTTL = 8 * time.Hour
	// maxPending bounds the sign-ins in progress kept in memory, so that a
	// flood of GET /login cannot grow it without end.
	maxPending = 10000
	// keptLogouts is how many received logouts GET /backchannel-logouts lists.
	keptLogouts = 100
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "webapp: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8090", "listen `address`")
	issuer := flag.String("issuer", "http://127.0.0.1:8080", "authd's --issuer `URL`")
	clientID := flag.String("client-id", "webapp", "this app's client `id` at authd")
	// No default shown for the secret: flag's usage would print it.
	secret := flag.String("client-secret", "", "this app's client `secret` at authd (default $WEBAPP_CLIENT_SECRET; none: a public client, PKCE only)")
	self := flag.String("url", "", "this app's external base `URL` (default http://ADDR)")
	flag.Parse()
	if *secret == "" {
		*secret = os.Getenv("WEBAPP_CLIENT_SECRET")
	}
	if *self == "" {
		*self = "http://" + *addr
	}
	base, err := url.Parse(strings.TrimSuffix(*self, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return fmt.Errorf("--url %q: want http(s)://HOST[:PORT]", *self)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := newApp(ctx, *issuer, *clientID, *secret, base)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /login", a.login)
	mux.HandleFunc("GET /callback", a.callback)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("POST /backchannel-logout", a.backchannelLogout)
	mux.HandleFunc("GET /backchannel-logouts", a.listLogouts)
	// The sign-out form posts to this app: refuse such posts from other
	// origins (logout CSRF). authd's back-channel POST comes from a server,
	// with neither Origin nor Sec-Fetch-Site, and passes.
	return service.Serve(ctx, "webapp", *addr, http.NewCrossOriginProtection().Handler(mux))
}

// app is the relying party: its OAuth 2.0 client, authd's ID-token
// verifier, and its state in memory.
type app struct {
	self       string // external base URL, without a trailing slash
	secure     bool   // self is https: cookies are Secure and __Host-
	issuer     string
	issParam   bool   // authd sends iss with the code (RFC 9207), so it is required
	endSession string // authd's end_session_endpoint; empty: none
	client     *http.Client
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier

	mu       sync.Mutex
	pending  map[string]*pending  // sign-ins in progress, by state
	sessions map[string]*session  // by the session cookie's value
	seenJTI  map[string]time.Time // logout tokens processed, until they expire
	logouts  []logoutRecord       // the last keptLogouts received
}

type pending struct {
	nonce, verifier string
	expires         time.Time
}

type session struct {
	email, sub, sid string
	idToken         string // the raw ID token: id_token_hint at sign-out
	expires         time.Time
}

type logoutRecord struct {
	SID string `json:"sid"`
	Sub string `json:"sub"`
}

// newApp reads authd's discovery document (go-oidc checks that its issuer
// is exactly the one asked for) and sets up the client.
func newApp(ctx context.Context, issuer, clientID, secret string, base *url.URL) (*app, error) {
	hc := &http.Client{Timeout: 10 * time.Second}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, hc), issuer)
	if err != nil {
		return nil, fmt.Errorf("discovery at %s: %w", issuer, err)
	}
	// What go-oidc does not expose: read from the same document.
	var meta struct {
		AuthURL    string `json:"authorization_endpoint"`
		EndSession string `json:"end_session_endpoint"`
		IssParam   bool   `json:"authorization_response_iss_parameter_supported"`
	}
	if err := provider.Claims(&meta); err != nil {
		return nil, fmt.Errorf("discovery at %s: %w", issuer, err)
	}
	if meta.AuthURL == "" {
		return nil, fmt.Errorf("discovery at %s: no authorization_endpoint: this authd does not sign users in to other apps", issuer)
	}
	a := &app{
		self:       base.String(),
		secure:     base.Scheme == "https",
		issuer:     issuer,
		issParam:   meta.IssParam,
		endSession: meta.EndSession,
		client:     hc,
		oauth: oauth2.Config{
			ClientID:     clientID,
			ClientSecret: secret,
			RedirectURL:  base.String() + "/callback",
			Endpoint:     provider.Endpoint(),
			Scopes:       []string{oidc.ScopeOpenID, "email"},
		},
		verifier: provider.Verifier(&oidc.Config{ClientID: clientID}),
		pending:  map[string]*pending{},
		sessions: map[string]*session{},
		seenJTI:  map[string]time.Time{},
	}
	if secret == "" {
		// A public client sends its client_id in the form, no Basic header.
		a.oauth.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	}
	return a, nil
}

// home shows who is signed in, if anyone.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	a.render(w, http.StatusOK, view{Session: a.session(r)})
}

// login starts the code flow: a fresh state (bound to this browser by a
// cookie), nonce (bound into the ID token) and PKCE verifier (its S256
// challenge goes to authd, the verifier only to the token endpoint).
func (a *app) login(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := random(), random(), oauth2.GenerateVerifier()
	now := time.Now()
	a.mu.Lock()
	for k, p := range a.pending {
		if now.After(p.expires) {
			delete(a.pending, k)
		}
	}
	full := len(a.pending) >= maxPending
	if !full {
		a.pending[state] = &pending{nonce: nonce, verifier: verifier, expires: now.Add(loginTTL)}
	}
	a.mu.Unlock()
	if full {
		a.fail(w, http.StatusServiceUnavailable, "Too many sign-ins in progress. Try again in a few minutes.", errors.New("pending sign-ins full"))
		return
	}
	a.setCookie(w, "login", state, loginTTL)
	http.Redirect(w, r, a.oauth.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusFound)
}

// callback finishes the code flow: the state must be the one this browser
// started with (single use), the code is exchanged with the PKCE verifier,
// and the ID token is verified (signature, iss, aud, exp by go-oidc; the
// nonce and at_hash here) before a session is made.
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, err := r.Cookie(a.cookieName("login"))
	a.setCookie(w, "login", "", -1) // used once, whatever happens
	if err != nil || c.Value == "" || c.Value != q.Get("state") {
		a.fail(w, http.StatusBadRequest, "This sign-in was not started here, or was already used. Sign in again.", errors.New("state does not match the login cookie"))
		return
	}
	a.mu.Lock()
	p := a.pending[c.Value]
	delete(a.pending, c.Value)
	a.mu.Unlock()
	if p == nil || time.Now().After(p.expires) {
		a.fail(w, http.StatusBadRequest, "This sign-in took too long. Sign in again.", errors.New("unknown or expired state"))
		return
	}
	// RFC 9207: the answer must come from the provider this sign-in went
	// to (no mix-up), errors included.
	if iss := q.Get("iss"); iss != a.issuer && (iss != "" || a.issParam) {
		a.fail(w, http.StatusBadRequest, "Sign-in failed. Sign in again.", fmt.Errorf("iss %q, want %q", iss, a.issuer))
		return
	}
	if e := q.Get("error"); e != "" {
		msg := "authd did not sign you in."
		if e == "access_denied" {
			msg = "You did not allow this app to sign you in."
		}
		a.fail(w, http.StatusForbidden, msg, fmt.Errorf("authorization error %s: %s", e, q.Get("error_description")))
		return
	}
	ctx := oidc.ClientContext(r.Context(), a.client)
	tok, err := a.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(p.verifier))
	if err != nil {
		a.fail(w, http.StatusBadGateway, "Sign-in failed. Sign in again.", fmt.Errorf("exchange: %w", err))
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		a.fail(w, http.StatusBadGateway, "Sign-in failed. Sign in again.", errors.New("no id_token in the token response"))
		return
	}
	idt, err := a.verifier.Verify(ctx, raw)
	if err != nil {
		a.fail(w, http.StatusBadGateway, "Sign-in failed. Sign in again.", fmt.Errorf("id token: %w", err))
		return
	}
	if idt.Nonce != p.nonce { // go-oidc leaves the nonce to the caller
		a.fail(w, http.StatusBadRequest, "Sign-in failed. Sign in again.", errors.New("id token nonce does not match"))
		return
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			a.fail(w, http.StatusBadGateway, "Sign-in failed. Sign in again.", fmt.Errorf("at_hash: %w", err))
			return
		}
	}
	var claims struct {
		Email string `json:"email"`
		SID   string `json:"sid"`
	}
	if err := idt.Claims(&claims); err != nil {
		a.fail(w, http.StatusBadGateway, "Sign-in failed. Sign in again.", fmt.Errorf("id token claims: %w", err))
		return
	}
	id, now := random(), time.Now()
	a.mu.Lock()
	for k, s := range a.sessions {
		if now.After(s.expires) {
			delete(a.sessions, k)
		}
	}
	a.sessions[id] = &session{email: claims.Email, sub: idt.Subject, sid: claims.SID, idToken: raw, expires: now.Add(sessionTTL)}
	a.mu.Unlock()
	a.setCookie(w, "session", id, sessionTTL) // a new id at every sign-in: no fixation
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// logout ends the local session, then sends the browser to authd to end
// the session there too. The ID token as id_token_hint tells authd which
// session and client this is, so it needs no confirmation from the user
// and returns to post_logout_redirect_uri.
func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	var s *session
	if c, err := r.Cookie(a.cookieName("session")); err == nil {
		a.mu.Lock()
		s = a.sessions[c.Value]
		delete(a.sessions, c.Value)
		a.mu.Unlock()
	}
	a.setCookie(w, "session", "", -1)
	if s == nil || a.endSession == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	u, err := url.Parse(a.endSession)
	if err != nil {
		a.fail(w, http.StatusBadGateway, "You are signed out here, but not at authd.", err)
		return
	}
	q := u.Query()
	q.Set("id_token_hint", s.idToken)
	q.Set("post_logout_redirect_uri", a.self+"/")
	q.Set("client_id", a.oauth.ClientID)
	// authd echoes state back to "/"; this app has nothing to restore
	// there, so it does not check it.
	q.Set("state", random())
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// backchannelLogout receives authd's logout token (Back-Channel Logout 1.0
// §2.5): go-oidc's VerifyLogout checks the signature, iss, aud, exp, jti,
// the event, sub or sid, and that there is no nonce (so an ID token cannot
// pass for one); typ is checked here. Every local session of that sid (of
// that sub when there is no sid) ends. A jti seen before is answered 200
// without effect: a retry of a logout already done.
func (a *app) backchannelLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	raw := r.PostFormValue("logout_token")
	if raw == "" {
		logoutError(w, errors.New("no logout_token"))
		return
	}
	lt, err := a.verifier.VerifyLogout(oidc.ClientContext(r.Context(), a.client), raw)
	if err != nil {
		logoutError(w, err)
		return
	}
	if !isLogoutJWT(raw) {
		logoutError(w, errors.New("JWT typ is not logout+jwt"))
		return
	}
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	for jti, exp := range a.seenJTI {
		if now.After(exp) {
			delete(a.seenJTI, jti)
		}
	}
	if _, seen := a.seenJTI[lt.TokenID]; seen {
		return
	}
	a.seenJTI[lt.TokenID] = lt.Expiry
	for id, s := range a.sessions {
		if (lt.SessionID != "" && s.sid == lt.SessionID) || (lt.SessionID == "" && s.sub == lt.Subject) {
			delete(a.sessions, id)
		}
	}
	a.logouts = append(a.logouts, logoutRecord{SID: lt.SessionID, Sub: lt.Subject})
	if len(a.logouts) > keptLogouts {
		a.logouts = a.logouts[len(a.logouts)-keptLogouts:]
	}
	log.Printf("back-channel logout: sid %q sub %q", lt.SessionID, lt.Subject)
}

// logoutError answers 400 as Back-Channel Logout 1.0 §2.8 says, with an
// OAuth-style error body.
func logoutError(w http.ResponseWriter, err error) {
	log.Printf("back-channel logout refused: %v", err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": err.Error()})
}

// isLogoutJWT reports whether the JWT's header has typ logout+jwt (§2.4;
// a media type: case-insensitive, "application/" optional). The header is
// covered by the signature VerifyLogout already checked.
func isLogoutJWT(raw string) bool {
	seg, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return false
	}
	var h struct {
		Typ string `json:"typ"`
	}
	if json.Unmarshal(b, &h) != nil {
		return false
	}
	return strings.TrimPrefix(strings.ToLower(h.Typ), "application/") == "logout+jwt"
}

// listLogouts is a demo and test aid: the back-channel logouts received,
// oldest first. It says nothing secret (session and user ids), but a real
// app has no need of it.
func (a *app) listLogouts(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	list := append([]logoutRecord{}, a.logouts...)
	a.mu.Unlock()
	service.JSON(w, list)
}

// session is the live session of the request's cookie, or nil.
func (a *app) session(r *http.Request) *session {
	c, err := r.Cookie(a.cookieName("session"))
	if err != nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.sessions[c.Value]
	if s == nil || time.Now().After(s.expires) {
		return nil
	}
	return s
}

// cookieName is webapp_NAME, with the __Host- prefix over https. The
// prefix-less name also keeps it apart from authd's own cookies when both
// run on 127.0.0.1: cookies ignore the port.
func (a *app) cookieName(name string) string {
	if a.secure {
		return "__Host-webapp_" + name
	}
	return "webapp_" + name
}

// setCookie sets (maxAge > 0) or clears (maxAge < 0) a cookie that scripts
// cannot read. Lax: it comes along on authd's redirect back to /callback.
func (a *app) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: a.cookieName(name), Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteLaxMode,
	})
}

// fail shows msg to the user and logs err, which may say more than the
// user should see.
func (a *app) fail(w http.ResponseWriter, status int, msg string, err error) {
	log.Printf("%d: %v", status, err)
	a.render(w, status, view{Error: msg})
}

type view struct {
	Session *session
	Error   string
}

func (s *session) Email() string { return s.email }

func (a *app) render(w http.ResponseWriter, status int, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store") // it names who is signed in
	w.WriteHeader(status)
	if err := page.Execute(w, v); err != nil {
		log.Printf("render: %v", err)
	}
}

// random is 256 bits from crypto/rand, base64url: state, nonce, session id.
func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Web app</title>
<style>
body { font: 1.1rem/1.5 system-ui, sans-serif; max-width: 32rem; margin: 2rem auto; padding: 0 1rem; }
.button { display: inline-block; padding: .75rem 1.25rem; font: inherit; border: 0; border-radius: .4rem;
  background: #1f5fbf; color: #fff; text-decoration: none; cursor: pointer; }
.error { color: #a40000; }
</style>
<h1>Web app</h1>
{{- with .Error}}
<p class="error" role="alert">{{.}}</p>
<p><a href="/">Back</a></p>
{{- else with .Session}}
<p>Signed in as <strong>{{.Email}}</strong></p>
<form method="post" action="/logout"><button class="button" type="submit">Sign out</button></form>
{{- else}}
<p>You are not signed in.</p>
<p><a class="button" href="/login">Sign in with authd</a></p>
{{- end}}
</html>
`))
