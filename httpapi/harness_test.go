package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/account"
	"github.com/authd/authd/cache"
	"github.com/authd/authd/dpop"
	"github.com/authd/authd/httpapi"
	"github.com/authd/authd/internal/mailtest"
	"github.com/authd/authd/mail"
	"github.com/authd/authd/mfa"
	"github.com/authd/authd/oidc"
	"github.com/authd/authd/password"
	"github.com/authd/authd/session"
	"github.com/authd/authd/sqlite"
	"github.com/authd/authd/token"
	"github.com/authd/authd/upstream"
)

// testParams keep argon2id cheap in tests; the parameters themselves are
// the password package's concern.
var testParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const goodPassword = "correct horse battery staple"

// clock is an injectable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness is a real server over a real SQLite file.
type harness struct {
	t        testing.TB
	db       *sqlite.DB
	dbPath   string
	srv      *httptest.Server
	clock    *clock
	logs     *syncBuffer
	cfg      httpapi.Config
	tokens   *token.Service
	clients  *oidc.Clients
	provider *oidc.Provider
	sessions *session.Manager
	mfa      *mfa.Service
	accounts *account.Service
	// upstreams is sign-in through other providers (withUpstreams).
	upstreams *upstream.Service
	// dpop checks DPoP proofs, remembering them in the harness's SQLite.
	dpop *dpop.Checker
	// issuer is the issuer URL: "http://authd.test", or the server's own
	// URL with the realIssuer option (what relying-party libraries need:
	// they fetch discovery from the issuer).
	issuer string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// options are what a test may change before the server is built.
type options struct {
	http    *httpapi.Config
	account *account.Config
	session *session.Config
	params  password.Params
	// realIssuer makes the issuer the server's own URL.
	realIssuer bool
	// backchannel, when set, is the HTTP client of back-channel logout
	// delivery.
	backchannel *http.Client
	// rpID and rpOrigins are the WebAuthn relying party; "": passkeys off.
	rpID      string
	rpOrigins []string
	// mail, when set, turns on the mail-link rules, sending through it
	// with verification mode verification.
	mail         *mailtest.Server
	verification account.Verification
	// mailQueueOnly turns the mail-link rules on with no sender: mail
	// stays in the outbox.
	mailQueueOnly bool
	// upstreams turns on sign-in through other providers (h.upstreams).
	upstreams bool
	// upstreamClient, when set, is the HTTP client of the upstream flow.
	upstreamClient *http.Client
	// dpopNonce turns on DPoP server nonces.
	dpopNonce bool
	// sessionCache puts the session store behind the local cache, as
	// serve does by default.
	sessionCache bool
}

type option func(*options)

// with adapts a function of the three configs to an option.
func with(f func(*httpapi.Config, *account.Config, *session.Config)) option {
	return func(o *options) { f(o.http, o.account, o.session) }
}

func newHarness(t testing.TB, opts ...option) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, clock: &clock{t: time.Now().UTC().Truncate(time.Second)}, logs: &syncBuffer{}}
	h.dbPath = filepath.Join(t.TempDir(), "authd.db")
	db, err := sqlite.Open(ctx, h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h.db = db
	log := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hc := httpapi.Config{Dev: true, Signup: true, PasswordGrant: true, ReauthWindow: 10 * time.Minute, Logger: log, Now: h.clock.Now}
	ac := account.Config{MaxFailures: 5, MaxFailuresIP: 100, Window: 15 * time.Minute, Now: h.clock.Now, Logger: log}
	sc := session.Config{Idle: time.Hour, Max: 24 * time.Hour, AccessTTL: 15 * time.Minute, Now: h.clock.Now, Logger: log}
	o := options{http: &hc, account: &ac, session: &sc, params: testParams}
	for _, f := range opts {
		f(&o)
	}
	h.cfg = hc
	ts := httptest.NewUnstartedServer(nil)
	h.issuer = "http://authd.test"
	if o.realIssuer {
		h.issuer = "http://" + ts.Listener.Addr().String()
	}
	tc := token.DefaultConfig(h.issuer, "authd", "orders")
	tc.Now = h.clock.Now
	tc.Logger = log
	tc.PollInterval = 10 * time.Millisecond
	tokens, err := token.New(ctx, tc, token.Stores{Keys: db, IDKeys: db, Refresh: db, Revocations: db, Users: db, Audit: db})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go tokens.Run(runCtx)
	h.tokens = tokens
	hasher := password.NewHasher(o.params, 4)
	var sessionStore authd.SessionStore = db
	if o.sessionCache {
		c := cache.New(db, cache.Config{Logger: log})
		go c.Run(runCtx)
		sessionStore = c
	}
	sessions := session.NewManager(sessionStore, tokens.Revocations(), sc)
	accounts := account.NewService(db, db, db, hasher, sessions, tokens, ac)
	h.accounts = accounts
	h.clients = oidc.NewClients(db, hasher)
	h.sessions = sessions
	h.provider = oidc.NewProvider(oidc.Config{
		Issuer: h.issuer, Audiences: []string{"authd", "orders"}, SessionMax: sc.Max,
		HTTPClient: o.backchannel, DeliveryPoll: 10 * time.Millisecond, Now: h.clock.Now, Logger: log,
	}, h.clients, tokens, oidc.Stores{Codes: db, Consents: db, Links: db, Outbox: db, Users: db, Audit: db})
	sessions.OnEnd(h.provider.SessionsEnded)
	key := make([]byte, 32)
	rand.Read(key)
	sealer, err := mfa.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	h.mfa, err = mfa.New(mfa.Config{Issuer: "authd.test", RPID: o.rpID, RPOrigins: o.rpOrigins, Now: h.clock.Now, Logger: log},
		db, db, sealer, db)
	if err != nil {
		t.Fatal(err)
	}
	go h.provider.RunBackchannel(runCtx)
	accounts.UseDirectory(db)
	if o.mail != nil {
		smtp, err := mail.NewSMTP(o.mail.SMTPURL())
		if err != nil {
			t.Fatal(err)
		}
		sender := mail.NewSender(db, smtp, sealer, mail.SenderConfig{From: "authd <no-reply@authd.test>", Poll: 20 * time.Millisecond, Now: h.clock.Now, Logger: log})
		go sender.Run(runCtx)
		accounts.UseMail(db, db, account.MailConfig{Site: h.issuer, LinkTTL: 30 * time.Minute, Verification: o.verification,
			Sealer: sealer, Wake: sender.Wake, MaxRecoveryPerAddress: 3, MaxRecoveryPerIP: ac.MaxFailuresIP})
	} else if o.mailQueueOnly {
		accounts.UseMail(db, db, account.MailConfig{Site: h.issuer, LinkTTL: 30 * time.Minute, Verification: account.VerificationOff,
			Sealer: sealer, MaxRecoveryPerAddress: 3, MaxRecoveryPerIP: 1 << 30})
	}
	if o.upstreams {
		h.upstreams = upstream.New(upstream.Config{Site: h.issuer, HTTPClient: o.upstreamClient, Now: h.clock.Now, Logger: log}, db, db, sealer)
		accounts.UseIdentities(db, hc.Signup)
	}
	dc := dpop.Config{Now: h.clock.Now}
	if o.dpopNonce {
		if dc.Nonce, err = dpop.NewNonceSource(sealer.Derive("dpop nonce"), dpop.DefaultNoncePeriod); err != nil {
			t.Fatal(err)
		}
	}
	h.dpop = dpop.New(dc, db)
	hc.Issuer = h.issuer
	srv, err := httpapi.New(hc, httpapi.Deps{Accounts: accounts, Sessions: sessions, Users: db,
		Verifier: tokens, Tokens: tokens, Clients: h.clients, OIDC: h.provider, MFA: h.mfa, Audit: db, Directory: db, Registry: h.clients, Upstreams: h.upstreams, DPoP: h.dpop,
		Ready: []httpapi.Check{{Name: "db", Pinger: db}}})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	ts.Start()
	h.srv = ts
	t.Cleanup(h.srv.Close)
	return h
}

// realIssuer makes the issuer the server's own URL, as relying-party
// libraries need.
func realIssuer() option {
	return func(o *options) { o.realIssuer = true }
}

// withUpstreams turns on sign-in through other providers: h.upstreams
// registers them (then h.upstreams.Reload).
func withUpstreams() option {
	return func(o *options) { o.upstreams = true }
}

// withMail sends mail through mp (a Mailpit), with --email-verification v.
func withMail(mp *mailtest.Server, v account.Verification) option {
	return func(o *options) { o.mail, o.verification = mp, v }
}

func secure() option {
	return func(o *options) { o.http.Dev = false }
}

// client is a browser-like client with its own cookie jar.
func (h *harness) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type resp struct {
	*http.Response
	body []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// do sends a request; body may be a string (sent as JSON) or url.Values (a form).
func (h *harness) do(c *http.Client, method, path string, body any, hdr ...string) resp {
	h.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	case url.Values:
		rd, ct = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	case []byte:
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1] // net/http sends req.Host, not a Host header
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res, b}
}

func creds(email, pw string) string {
	b, _ := json.Marshal(map[string]string{"email": email, "password": pw})
	return string(b)
}

func (h *harness) register(email string) {
	h.t.Helper()
	r := h.do(nil, "POST", "/v1/register", creds(email, goodPassword))
	if r.StatusCode != http.StatusCreated {
		h.t.Fatalf("register %s: %d %s", email, r.StatusCode, r.body)
	}
}

// login registers email and returns a client holding its session.
func (h *harness) login(email string) *http.Client {
	h.t.Helper()
	h.register(email)
	c := h.client()
	if r := h.do(c, "POST", "/v1/login", creds(email, goodPassword)); r.StatusCode != http.StatusOK {
		h.t.Fatalf("login %s: %d %s", email, r.StatusCode, r.body)
	}
	return c
}

// cookie returns the session cookie value c holds.
func (h *harness) cookie(c *http.Client) string {
	u, _ := url.Parse(h.srv.URL)
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == httpapi.CookieName(h.cfg.Dev) {
			return k.Value
		}
	}
	return ""
}

// assertProblem checks an RFC 9457 body with status.
func assertProblem(t *testing.T, r resp, status int) map[string]any {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", r.StatusCode, status, r.body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json", ct)
	}
	m := r.json(t)
	for _, k := range []string{"type", "title", "status", "detail"} {
		if _, ok := m[k]; !ok {
			t.Fatalf("problem lacks %q: %s", k, r.body)
		}
	}
	if int(m["status"].(float64)) != status {
		t.Fatalf("problem status %v, want %d", m["status"], status)
	}
	return m
}
