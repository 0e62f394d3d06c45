package upstream_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/text/language"

	"github.com/authd/authd/mfa"
	"github.com/authd/authd/sqlite"
	"github.com/authd/authd/upstream"
)

// site is authd's issuer in these tests. Nothing listens there: the
// browser stops at the redirect to the callback, and the test hands its
// query to Finish as httpapi would.
const site = "http://127.0.0.1:1"

func callbackURL(id string) string { return site + "/v1/upstream/" + id + "/callback" }

// clock is Config.Now: the real time plus an offset the test sets.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// env is a Service over a real SQLite store in t.TempDir().
type env struct {
	svc    *upstream.Service
	db     *sqlite.DB
	sealer *mfa.Sealer
	clock  *clock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

func newEnvWith(t *testing.T, client *http.Client) *env {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "authd.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	key := make([]byte, mfa.KeySize)
	rand.Read(key)
	sealer, err := mfa.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{}
	svc := upstream.New(upstream.Config{Site: site, HTTPClient: client, Now: c.Now}, db, db, sealer)
	return &env{svc: svc, db: db, sealer: sealer, clock: c}
}

func (e *env) register(t *testing.T, spec upstream.Spec) {
	t.Helper()
	if _, err := e.svc.Register(t.Context(), spec); err != nil {
		t.Fatalf("Register(%+v): %v", spec, err)
	}
}

// ---- zitadel/oidc's example OpenID provider, in-process ----

// opUsers is the example OP's user store.
type opUsers map[string]*storage.User // by username

func (u opUsers) GetUserByID(id string) *storage.User {
	for _, x := range u {
		if x.ID == id {
			return x
		}
	}
	return nil
}
func (u opUsers) GetUserByUsername(name string) *storage.User { return u[name] }
func (u opUsers) ExampleClientID() string                     { return "service" }

// The example OP's users (password "verysecure").
var users = opUsers{
	"ann": {ID: "sub-ann", Username: "ann", Password: "verysecure", Email: "ann@example.com",
		EmailVerified: true, PreferredLanguage: language.English},
	"bob": {ID: "sub-bob", Username: "bob", Password: "verysecure", Email: "bob@example.com",
		EmailVerified: false, PreferredLanguage: language.English},
}

// exampleOP starts zitadel/oidc's example OpenID provider (its code, its
// login form, its in-memory storage) on a loopback http issuer, with the
// given clients registered, and returns its issuer.
func exampleOP(t *testing.T, clients ...*storage.Client) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	m := map[string]*storage.Client{}
	for _, c := range clients {
		m[c.GetID()] = c
	}
	st := storage.NewStorageWithClients(users, m)
	srv.Config.Handler = exampleop.SetupServer(issuer, st, nil, false)
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer
}

// webClient is a confidential client of the example OP for authd's
// callback of provider id.
func webClient(clientID, secret, id string) *storage.Client {
	return storage.WebClient(clientID, secret, callbackURL(id))
}

// browser is a user agent with its own cookies; it follows redirects
// until authd's site.
type browser struct {
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &browser{c: &http.Client{
		Jar:     jar,
		Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), site) {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}}
}

var idField = regexp.MustCompile(`name="id" value="([^"]+)"`)

// login follows authURL to the example OP's login form, signs in as
// username and returns the query of the redirect to authd's callback.
func (b *browser) login(t *testing.T, authURL, username string) url.Values {
	t.Helper()
	resp, err := b.c.Get(authURL)
	if err != nil {
		t.Fatalf("GET the authorization URL: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := idField.FindSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("the authorization URL gave %d, not the login form: %.500s", resp.StatusCode, body)
	}
	formURL := *resp.Request.URL
	formURL.RawQuery = ""
	resp, err = b.c.PostForm(formURL.String(), url.Values{
		"id": {string(m[1])}, "username": {username}, "password": {"verysecure"},
	})
	if err != nil {
		t.Fatalf("POST the login form: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, site) {
		t.Fatalf("the login gave %d Location %q, not a redirect to authd: %.500s", resp.StatusCode, loc, body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// wantErr fails unless errors.Is(err, want).
func wantErr(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
	t.Logf("%s: %v", what, err)
}

// ---- a hostile provider ----

// hostileOP is NOT a real provider: a minimal OpenID provider written for
// these tests, with go-jose signing, that answers the token request with
// whatever ID token the test makes (another audience, another issuer, a
// nonce of another sign-in, a wrong at_hash, another key). No honest
// provider issues such tokens, which is why it exists: to show that
// Finish refuses them. The happy path is proven against the real example
// provider above.
type hostileOP struct {
	srv    *httptest.Server
	issuer string
	key    *ecdsa.PrivateKey
	// discIssuer is the issuer its discovery document names ("" for its
	// own); issParam is authorization_response_iss_parameter_supported.
	discIssuer string
	issParam   bool
	// claims makes the ID token's claims from the token request's form;
	// signWith, when set, signs it instead of key.
	mu       sync.Mutex
	claims   func(form url.Values) map[string]any
	signWith *ecdsa.PrivateKey
	access   string
}

func newHostileOP(t *testing.T) *hostileOP {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	h := &hostileOP{key: key, access: "access-" + rand.Text()}
	h.srv = httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(h.srv.Close)
	h.issuer = h.srv.URL
	return h
}

func (h *hostileOP) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		iss := h.issuer
		if h.discIssuer != "" {
			iss = h.discIssuer
		}
		json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                iss,
			"authorization_endpoint":                h.issuer + "/authorize",
			"token_endpoint":                        h.issuer + "/token",
			"jwks_uri":                              h.issuer + "/jwks",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"ES256"},
			"authorization_response_iss_parameter_supported": h.issParam,
		})
	case "/jwks":
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &h.key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"},
		}})
	case "/token":
		r.ParseForm()
		h.mu.Lock()
		claims, key := h.claims(r.PostForm), h.key
		if h.signWith != nil {
			key = h.signWith
		}
		h.mu.Unlock()
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
			(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		raw, err := jwt.Signed(signer).Claims(claims).Serialize()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{
			"access_token": h.access, "token_type": "Bearer", "expires_in": 300, "id_token": raw,
		})
	default:
		http.NotFound(w, r)
	}
}

// honest is the claims of a token an honest provider would issue for
// clientID and nonce.
func (h *hostileOP) honest(clientID, nonce string) map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": h.issuer, "sub": "sub-1", "aud": clientID, "nonce": nonce,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"email": "carol@example.com", "email_verified": true,
		"at_hash": atHash(h.access),
	}
}

func (h *hostileOP) setClaims(f func(form url.Values) map[string]any) {
	h.mu.Lock()
	h.claims = f
	h.mu.Unlock()
}

// atHash is OpenID Connect Core §3.1.3.6's at_hash for ES256.
func atHash(access string) string {
	sum := sha256.Sum256([]byte(access))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// authParams returns the parameters of an authorization URL.
func authParams(t *testing.T, authURL string) url.Values {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}

// hostileCallback is the callback query of an honest-looking success
// response to the flow of authURL: its state and a code.
func hostileCallback(t *testing.T, authURL string) url.Values {
	t.Helper()
	return url.Values{"state": {authParams(t, authURL).Get("state")}, "code": {"code-" + rand.Text()}}
}
