// Package httpapi is authd's HTTP interface: the JSON API, the OAuth 2
// endpoints, problem responses, cookies, cross-origin protection and
// metrics. routes.go lists every route. It receives the business services
// (session, account, token) and store interfaces, and never imports a store.
package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/authd/authd"
	"github.com/authd/authd/account"
	"github.com/authd/authd/dpop"
	"github.com/authd/authd/mfa"
	"github.com/authd/authd/oidc"
	"github.com/authd/authd/session"
	"github.com/authd/authd/token"
	"github.com/authd/authd/upstream"
)

// MaxBodyBytes bounds every request body; a larger one is 413.
const MaxBodyBytes = 64 << 10

// Config is the part of authd's configuration the HTTP layer needs.
type Config struct {
	// Dev allows plain-HTTP cookies without Secure and the __Host- prefix.
	Dev bool
	// Issuer is the base URL of the discovery documents.
	Issuer string
	Signup bool
	// PasswordGrant enables the legacy resource-owner password grant of
	// /oauth2/token (--password-grant). NOTE: RFC 9700 §2.4 forbids it; it is
	// off unless an operator asks for it, for first-party scripts and tests.
	PasswordGrant  bool
	CORSOrigins    []string
	TrustedProxies []netip.Prefix
	// RequireMFARoles are the roles whose users must sign in with a second
	// factor (--require-mfa-role): one without a factor is led to enrol
	// one before the sign-in finishes.
	RequireMFARoles []string
	// ReauthWindow is how recent a sign-in must be for a change of second
	// factors (--reauth-window); 0 means any session will do.
	ReauthWindow time.Duration
	// DPoPRequired refuses tokens that are not DPoP-bound
	// (--dpop-required): the token endpoint issues bound tokens only.
	DPoPRequired bool
	// TLS is true when the server terminates TLS itself (HSTS is sent).
	TLS    bool
	Logger *slog.Logger
	// Registry receives the metrics; nil means a new registry of its own.
	Registry *prometheus.Registry
	Now      func() time.Time
}

// Check is one dependency /readyz asks.
type Check struct {
	Name string
	authd.Pinger
}

// Deps are the services the HTTP layer serves.
type Deps struct {
	Accounts *account.Service
	Sessions *session.Manager
	Users    authd.UserStore
	// Verifier checks bearer tokens; nil refuses every bearer token.
	Verifier Verifier
	// Tokens serves the OAuth endpoints, the JWKS and the revocation feed;
	// nil leaves those routes out.
	Tokens *token.Service
	// Clients authenticates the callers of /oauth2/introspect and of the
	// client_credentials grant; nil turns both away.
	Clients ClientAuthenticator
	// OIDC is the authorization server (the authorization endpoint,
	// consent, userinfo, RP-initiated logout, the authorization_code
	// grant); nil leaves those routes out.
	OIDC *oidc.Provider
	// MFA holds the second-factor rules (authenticator apps, recovery
	// codes, passkeys); nil leaves those routes out and every sign-in
	// one-step.
	MFA *mfa.Service
	// Audit reads the audit log (the account export, the administration
	// API); nil leaves the events out.
	Audit authd.AuditReader
	// Directory lists users for the administration API; Registry is the
	// client registry. nil leaves the administration API out.
	Directory authd.UserDirectory
	Registry  *oidc.Clients
	// Upstreams is sign-in through other providers; nil leaves those
	// routes and buttons out.
	Upstreams *upstream.Service
	// DPoP checks DPoP proofs (RFC 9449); nil refuses DPoP-bound tokens
	// and issues none.
	DPoP  *dpop.Checker
	Ready []Check
}

// ClientAuthenticator checks a client's id and secret (*oidc.Clients is
// one): an unknown id, a wrong secret and a public client's id (which has
// no secret) are authd.ErrInvalidCredentials.
type ClientAuthenticator interface {
	Authenticate(ctx context.Context, id, secret string) (*authd.Client, error)
	// Get returns the registered client, or an error wrapping
	// authd.ErrNotFound.
	Get(ctx context.Context, id string) (*authd.Client, error)
}

// Verifier verifies access tokens (*token.Verifier is one).
type Verifier interface {
	Verify(ctx context.Context, raw string) (*authd.Claims, error)
}

// Server serves authd's HTTP interface.
type Server struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	metrics  *metrics
	registry *prometheus.Registry
	cookie   string
	handler  http.Handler
	pages    *pageHandlers
	// verified remembers the verified (user, address) pairs (emailVerified).
	verified verifiedSet
	// origin is the scheme and host of Config.Issuer (publicURL), parsed
	// once rather than on every DPoP-checked request.
	origin string
}

// New returns the Server; its Handler is ready to serve.
func New(cfg Config, deps Deps) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, deps: deps, log: cfg.Logger, registry: cfg.Registry, origin: issuerOrigin(cfg.Issuer)}
	s.cookie = CookieName(cfg.Dev)
	m, err := newMetrics(cfg.Registry)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	mux := http.NewServeMux()
	s.routes(mux)
	cop := http.NewCrossOriginProtection()
	for _, o := range cfg.CORSOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			return nil, err
		}
	}
	// NOTE: an authorization request may come as a POST from the client's
	// own site (OpenID Connect Core §3.1.2.1): it changes no more than the
	// same request as a cross-site GET navigation would, which is how
	// every client sends users here. Its SameSite=Lax cookie does not come
	// with a cross-site POST, so it only ever reaches the sign-in page.
	cop.AddInsecureBypassPattern("POST /oauth2/authorize")
	// NOTE: the pages of mailed links send no Referer (E3), so their form
	// posts carry "Origin: null"; they act on no session, only on the
	// address or token in their body (pages/doc.go).
	for _, p := range []string{"POST /forgot", "POST /recover", "POST /verify"} {
		cop.AddInsecureBypassPattern(p)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusForbidden, "cross-origin request refused: state-changing requests must come from authd's own pages or an allowed origin")
	}))
	s.handler = s.observe(s.cors(cop.Handler(mux)))
	return s, nil
}

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// ServeHTTP serves r.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

type ctxKey int

const (
	keyRequestID ctxKey = iota
)

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

func newRequestID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// recorder tracks the status of a response, and turns the router's own
// plain-text 404 and 405 answers into problem responses.
type recorder struct {
	http.ResponseWriter
	s       *Server
	r       *http.Request
	status  int
	written bool
	swallow bool
}

func (rec *recorder) WriteHeader(code int) {
	if rec.written {
		return
	}
	rec.written = true
	rec.status = code
	if rec.r.Pattern == "" && (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) {
		// The router found no route: answer in the API's error format.
		rec.swallow = true
		detail := "no such endpoint: " + rec.r.URL.Path
		if code == http.StatusMethodNotAllowed {
			detail = "method " + rec.r.Method + " is not allowed on " + rec.r.URL.Path
		}
		h := rec.ResponseWriter.Header()
		h.Del("X-Content-Type-Options")
		if strings.HasPrefix(rec.r.URL.Path, "/oauth2/") {
			writeOAuthError(rec.ResponseWriter, code, "invalid_request", detail)
			return
		}
		if rec.s.pages != nil && !apiPath(rec.r.URL.Path) {
			// A person followed a bad link or sent a form the wrong way: a
			// page, not a JSON problem.
			where := (&url.URL{Path: rec.r.URL.Path}).String()
			if code == http.StatusNotFound {
				rec.s.pages.message(rec.ResponseWriter, rec.r, code, "Page not found", "There is nothing at "+where+".")
			} else {
				rec.s.pages.message(rec.ResponseWriter, rec.r, code, "Not allowed", "This address does not take a "+rec.r.Method+" request: "+where+".")
			}
			return
		}
		writeProblem(rec.ResponseWriter, rec.r, code, detail)
		return
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if !rec.written {
		rec.WriteHeader(http.StatusOK)
	}
	if rec.swallow {
		return len(b), nil
	}
	return rec.ResponseWriter.Write(b)
}

func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// Flush lets the long-polling revocation feed push its answer.
func (rec *recorder) Flush() {
	if f, ok := rec.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// observe gives each request an id, recovers panics as 500 problems (no
// stack trace ever reaches the client), and records metrics and a log line.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		r = r.WithContext(context.WithValue(r.Context(), keyRequestID, id))
		w.Header().Set("X-Request-Id", id)
		// NOTE: nothing authd answers may be cached by default: responses
		// set sessions, carry tokens or show the user (S8). The JWKS and
		// discovery documents set their own Cache-Control.
		w.Header().Set("Cache-Control", "no-store")
		rec := &recorder{ResponseWriter: w, s: s, r: r}
		body := r.Body
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "panic serving request", "route", r.Pattern, "panic", p, "request_id", id)
				if !rec.written {
					writeProblem(rec, r, http.StatusInternalServerError, "internal error")
				}
			}
			if !rec.written {
				rec.status = http.StatusOK
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			if rec.status == http.StatusRequestEntityTooLarge {
				linger(w, body)
			}
			s.metrics.observe(route, rec.status, time.Since(start))
			s.log.DebugContext(r.Context(), "request", "method", r.Method, "route", route, "status", rec.status,
				"duration", time.Since(start), "request_id", id)
		}()
		next.ServeHTTP(rec, r)
	})
}

// A refused oversized body is read and thrown away, up to lingerBytes and
// for at most lingerTime, after its 413 is sent.
const (
	lingerBytes = 4 << 20
	lingerTime  = 3 * time.Second
)

// linger sends the answer now, then reads and discards what the client is
// still sending of a body the server refused (as nginx's lingering close
// does). Closing with the body unread makes the kernel reset the
// connection under the client's writes, and most clients then report the
// reset instead of the 413 they were sent. Bounded in bytes and time, so
// a client cannot hold the connection open with it.
func linger(w http.ResponseWriter, body io.Reader) {
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return
	}
	_ = rc.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, body, lingerBytes)
}

// cors answers browsers from the --cors-origin allowlist. NOTE: an origin
// is echoed only when it is on the list, never reflected blindly, because
// the answer allows credentials (C3).
func (s *Server) cors(next http.Handler) http.Handler {
	allowed := make(map[string]bool, len(s.cfg.CORSOrigins))
	for _, o := range s.cfg.CORSOrigins {
		allowed[o] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" {
			w.Header().Add("Vary", "Origin")
		}
		if origin == "" || !allowed[origin] {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// apiPath reports whether path belongs to the machine interfaces, whose
// errors are JSON.
func apiPath(path string) bool {
	for _, p := range []string{"/v1/", "/admin/v1/", "/oauth2/", "/.well-known/", "/metrics", "/healthz", "/readyz"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}
