package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authd/authd/dpop"
	"github.com/authd/authd/internal/jws"
	"github.com/authd/authd/internal/tokencache"
)

// Defaults and bounds of the options.
const (
	// DefaultMaxStaleness is how long the revocation list may go unconfirmed
	// before Verify refuses every token with ErrUnavailable.
	DefaultMaxStaleness = 5 * time.Second
	// MinMaxStaleness is the smallest WithMaxStaleness accepted.
	MinMaxStaleness = time.Second
	// DefaultLeeway is the clock skew allowed on exp, nbf and iat, as authd
	// allows it.
	DefaultLeeway = 30 * time.Second
	// MaxLeeway is the largest WithLeeway accepted (SECURITY J4).
	MaxLeeway = 30 * time.Second
	// DefaultCacheSize is the number of verified tokens kept.
	DefaultCacheSize = 10000
	// MaxTokenSize bounds a token before anything splits or parses it
	// (SECURITY J8).
	MaxTokenSize = jws.MaxTokenSize
	// MaxFeedWait is the longest long-poll the feed is asked for (authd
	// caps it there too).
	MaxFeedWait = 30 * time.Second
	// KeyRefetchInterval is the shortest time between two JWKS fetches
	// caused by tokens with an unknown kid.
	KeyRefetchInterval = 10 * time.Second
)

// Sentinel errors of Verify; test them with errors.Is.
var (
	// ErrInvalidToken is wrapped by every refusal of a token: malformed,
	// forged, expired, for another audience, revoked… Answer 401. The
	// error's text says why, for logs; never send it to the client.
	ErrInvalidToken = errors.New("verify: invalid token")
	// ErrUnavailable is wrapped when the token cannot be checked because
	// the revocation list is not known to be current (the feed has been
	// unreachable for longer than the staleness bound). Answer 503.
	ErrUnavailable = errors.New("verify: revocation list unavailable")
)

// Claims are the claims of a verified access token.
type Claims struct {
	Issuer    string
	Subject   string // the user's id, or the client's for a client's own token (ClientID == Subject)
	Audience  []string
	ExpiresAt time.Time
	IssuedAt  time.Time
	NotBefore time.Time // zero when the token has no nbf
	ID        string    // jti
	SessionID string    // sid: the refresh family's id or the session's public id
	Email     string
	Roles     []string
	ClientID  string // client_id: the client the token was issued to; "" when the grant names none
	Scope     string // scope: the granted scopes, space-separated; "" when none
	// AMR and ACR are the authentication methods (RFC 8176: "pwd", "otp",
	// "hwk", "user", "mfa") and the assurance level ("aal1", "aal2") of
	// the sign-in behind the token; nil and "" when the token names none.
	AMR []string
	ACR string
	// JKT is cnf.jkt (RFC 9449 §6.1): the RFC 7638 thumbprint of the key
	// the token is bound to (DPoP), "" for a bearer token. Middleware
	// accepts a bound token only with a proof of that key.
	JKT string
}

// Scopes returns the granted scopes of c.Scope, in order; nil when none.
func (c Claims) Scopes() []string { return strings.Fields(c.Scope) }

// HasScope reports whether scope is one of c.Scopes() (compared exactly).
func (c Claims) HasScope(scope string) bool { return slices.Contains(c.Scopes(), scope) }

// HasRole reports whether role is one of c.Roles (compared exactly).
func (c Claims) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

// clone returns c with its own slices, so that callers cannot change what
// the cache holds.
func (c *Claims) clone() Claims {
	out := *c
	if n := len(c.Audience) + len(c.Roles); n > 0 {
		all := make([]string, n) // one allocation for both
		a := copy(all, c.Audience)
		copy(all[a:], c.Roles)
		out.Audience, out.Roles = nil, nil
		if c.Audience != nil {
			out.Audience = all[:a:a]
		}
		if c.Roles != nil {
			out.Roles = all[a:]
		}
	}
	return out
}

// Option configures a Verifier.
type Option func(*config) error

type config struct {
	audiences    []string
	leeway       time.Duration
	client       *http.Client
	log          *slog.Logger
	maxStaleness time.Duration
	failOpen     time.Duration
	cacheSize    int
	hmac         map[string][]byte
	now          func() time.Time
	publicURL    string       // scheme://host[:port] of this service, "" when DPoP is not accepted
	replays      dpop.Replays // nil: the verifier's own bounded set
	replayCap    int
	dpopRequired bool
}

// WithAudience sets the audiences this service answers to: a token must
// name at least one of them in aud. It is required (a verifier that took
// any audience would accept tokens meant for other services). Repeated
// calls add to the list.
func WithAudience(aud ...string) Option {
	return func(c *config) error {
		for _, a := range aud {
			if a == "" {
				return errors.New("WithAudience: empty audience")
			}
		}
		c.audiences = append(c.audiences, aud...)
		return nil
	}
}

// WithLeeway sets the clock skew allowed on exp, nbf and iat (default
// DefaultLeeway, at most MaxLeeway).
func WithLeeway(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 || d > MaxLeeway {
			return fmt.Errorf("WithLeeway: %s is not between 0 and %s", d, MaxLeeway)
		}
		c.leeway = d
		return nil
	}
}

// WithHTTPClient sets the client used for the discovery document, the JWKS
// and the revocation feed. Its Timeout, if any, must exceed the long-poll
// wait (min(30 s, max staleness / 3)) plus the network's round trip; leave
// it zero: every request has its own deadline.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *config) error {
		if hc == nil {
			return errors.New("WithHTTPClient: nil client")
		}
		c.client = hc
		return nil
	}
}

// WithLogger sets where the verifier reports the feed's outages and key
// refreshes (default: slog.Default()). Tokens are never logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errors.New("WithLogger: nil logger")
		}
		c.log = l
		return nil
	}
}

// WithMaxStaleness sets how long the revocation list may go without
// confirmation from the feed before Verify returns ErrUnavailable (default
// DefaultMaxStaleness, 5 s; at least MinMaxStaleness). The feed is
// long-polled with wait = min(30 s, d/3), so that a live feed confirms the
// list well within d: a larger d means fewer requests to authd and a
// longer window in which a revocation may go unseen while the feed is
// down. (A revocation made while the feed is up arrives at once either
// way: authd ends the long-poll when one is made.)
func WithMaxStaleness(d time.Duration) Option {
	return func(c *config) error {
		if d < MinMaxStaleness {
			return fmt.Errorf("WithMaxStaleness: %s is shorter than %s", d, MinMaxStaleness)
		}
		c.maxStaleness = d
		return nil
	}
}

// WithFailOpen lets Verify go on accepting tokens for up to d past the
// staleness bound while the feed is unreachable, checked against the last
// copy of the revocation list, before it fails closed (default 0: fail
// closed as soon as the list is stale). A warning is logged when it
// starts. Trading revocation for availability is the service's choice to
// make; see the package documentation.
func WithFailOpen(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return fmt.Errorf("WithFailOpen: negative duration %s", d)
		}
		c.failOpen = d
		return nil
	}
}

// WithCacheSize bounds the verified-token cache (default DefaultCacheSize
// entries); n <= 0 disables it.
func WithCacheSize(n int) Option {
	return func(c *config) error {
		c.cacheSize = n
		return nil
	}
}

// WithHMACSecret adds an HS256 key: tokens whose kid is kid are checked
// with secret (at least 32 bytes). authd never publishes HS256 secrets (its
// JWKS is empty under HS256), so they are shared out of band; a kid given
// here wins over a JWKS entry of the same kid. May be repeated.
func WithHMACSecret(kid string, secret []byte) Option {
	return func(c *config) error {
		switch {
		case kid == "" || len(kid) > jws.MaxKIDLen:
			return errors.New("WithHMACSecret: kid must be 1 to 128 bytes")
		case len(secret) < jws.MinHMACKeyLen:
			return errors.New("WithHMACSecret: secret shorter than 256 bits")
		}
		if c.hmac == nil {
			c.hmac = map[string][]byte{}
		}
		c.hmac[kid] = slices.Clone(secret)
		return nil
	}
}

// WithPublicURL sets this service's public URL, the scheme and host (and
// port) clients address it by, such as "https://orders.example.com": a
// DPoP proof names the URL of the request it was made for (htu), and
// behind a proxy or a load balancer that is not the URL the service sees.
// The middleware checks htu against this URL and the request's path.
//
// It is required to accept DPoP-bound tokens: without it, the middleware
// has nothing to check a proof's htu against and refuses every bound
// token (and the DPoP scheme), logging why. The URL must be an absolute
// http or https URL with no path (but "/"), query, fragment or user info.
func WithPublicURL(u string) Option {
	return func(c *config) error {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" || p.User != nil ||
			(p.Path != "" && p.Path != "/") || p.RawQuery != "" || p.ForceQuery || p.Fragment != "" {
			return fmt.Errorf("WithPublicURL: %q is not an absolute http(s) URL of a scheme and a host only", u)
		}
		c.publicURL = p.Scheme + "://" + p.Host
		return nil
	}
}

// WithReplays sets the replay set DPoP proofs are remembered in (by
// (key thumbprint, jti), until the proof's iat + 65 s), in place of the
// verifier's own, which is in this process only: a proof replayed to
// another instance of the same service is not detected unless every
// instance shares r. Any authd.ReplaySet is one (authd's SQLite,
// PostgreSQL and Redis stores implement it), as is anything with its
// Remember contract: atomic across instances; true for a key not
// recorded or expired, false and nothing changed for a live one.
func WithReplays(r dpop.Replays) Option {
	return func(c *config) error {
		if r == nil {
			return errors.New("WithReplays: nil replay set")
		}
		c.replays = r
		return nil
	}
}

// WithReplayCapacity bounds the verifier's own DPoP replay set (default
// DefaultReplayCapacity proofs, at least 1). When it is full of proofs
// still in their window it refuses new ones (the middleware answers 503)
// rather than forget one that could then be replayed. Ignored under
// WithReplays.
func WithReplayCapacity(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return fmt.Errorf("WithReplayCapacity: %d is not positive", n)
		}
		c.replayCap = n
		return nil
	}
}

// WithDPoPRequired makes the middleware accept DPoP-bound tokens only,
// each with its proof (as authd's --dpop-required): a bearer token is
// refused, whatever it is. It needs WithPublicURL.
func WithDPoPRequired() Option {
	return func(c *config) error {
		c.dpopRequired = true
		return nil
	}
}

// Verifier verifies authd access tokens. It is safe for concurrent use.
// Close stops its background work.
type Verifier struct {
	cfg       config
	issuer    string // the iss every token must carry
	jwksURL   string
	feedURL   string
	wait      time.Duration // the feed's long-poll
	validator *jwt.Validator
	cache     *tokencache.Cache[*cacheEntry] // nil when disabled

	// DPoP, when WithPublicURL is given (else nil)
	dpop        *dpop.Checker
	ownReplays  *replaySet // the verifier's own set; nil under WithReplays
	noPublicURL sync.Once  // logs the refusal of DPoP without WithPublicURL once

	keys      atomic.Pointer[keySet]
	fetchMu   sync.Mutex // one JWKS fetch at a time
	lastFetch time.Time  // guarded by fetchMu

	revs revocationSet

	// outage state, for logging once per outage
	failingOpen   atomic.Bool
	failingClosed atomic.Bool

	stop      context.CancelFunc
	done      sync.WaitGroup
	closeOnce sync.Once
}

// New returns a Verifier of the access tokens of the authd at issuerURL
// (exactly the --issuer it was started with, e.g. "https://auth.example.com").
// It reads the discovery document (/.well-known/openid-configuration),
// whose issuer must be issuerURL, fetches the JWKS and loads the whole
// revocation list; ctx bounds that work, and any failure is returned. It
// then keeps the keys and the list current in the background until Close.
// WithAudience is required.
func New(ctx context.Context, issuerURL string, opts ...Option) (*Verifier, error) {
	cfg := config{
		leeway:       DefaultLeeway,
		maxStaleness: DefaultMaxStaleness,
		cacheSize:    DefaultCacheSize,
		now:          time.Now,
		replayCap:    DefaultReplayCapacity,
	}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
	}
	if len(cfg.audiences) == 0 {
		return nil, errors.New("verify: WithAudience is required: a token must be meant for this service")
	}
	if cfg.dpopRequired && cfg.publicURL == "" {
		return nil, errors.New("verify: WithDPoPRequired needs WithPublicURL: DPoP proofs name the service's public URL")
	}
	if cfg.client == nil {
		cfg.client = &http.Client{}
	}
	if cfg.log == nil {
		cfg.log = slog.Default()
	}
	iss, err := checkIssuerURL(issuerURL)
	if err != nil {
		return nil, err
	}
	v := &Verifier{
		cfg:    cfg,
		issuer: issuerURL,
		wait:   min(MaxFeedWait, cfg.maxStaleness/3),
	}
	// Every hardening option of golang-jwt's Validator, with the leeway
	// that WithLeeway bounds to 30 s (SECURITY J4).
	v.validator = jws.NewAccessValidator(issuerURL, cfg.audiences, cfg.leeway, cfg.now)
	if cfg.cacheSize > 0 {
		v.cache = tokencache.New[*cacheEntry](cfg.cacheSize)
	}
	if cfg.publicURL != "" {
		r := cfg.replays
		if r == nil {
			v.ownReplays = newReplaySet(cfg.replayCap)
			r = v.ownReplays
		}
		v.dpop = dpop.New(dpop.Config{Now: cfg.now}, r)
	}

	if err := v.discover(ctx, iss); err != nil {
		return nil, err
	}
	if err := v.fetchKeys(ctx); err != nil {
		return nil, err
	}
	cursor, err := v.loadRevocations(ctx)
	if err != nil {
		return nil, err
	}

	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	v.stop = cancel
	v.done.Add(2)
	go func() { defer v.done.Done(); v.followFeed(bg, cursor) }()
	go func() { defer v.done.Done(); v.refreshKeys(bg) }()
	return v, nil
}

// Close stops the background work (the feed and key refreshes) and waits
// for it. Verify refuses every token with ErrUnavailable once the list goes
// stale after Close. Close is idempotent and always returns nil.
func (v *Verifier) Close() error {
	v.closeOnce.Do(func() {
		v.stop()
		v.done.Wait()
	})
	return nil
}

// Ready returns nil while tokens can be checked, and an error wrapping
// ErrUnavailable while the revocation list is stale (every Verify would
// fail closed): a service's readiness check can report it so that a load
// balancer sends requests elsewhere meanwhile.
func (v *Verifier) Ready() error { return v.fresh(v.cfg.now()) }

// checkIssuerURL parses the issuer: an absolute http or https URL without
// query or fragment.
func checkIssuerURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("verify: issuer %q is not an absolute http(s) URL without query, fragment or user info", s)
	}
	return u, nil
}

// discovery is the part of the RFC 8414 metadata the verifier reads.
type discovery struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
	FeedURI string `json:"revocation_feed_endpoint"`
}

// discover reads the discovery document and the endpoints it names.
func (v *Verifier) discover(ctx context.Context, iss *url.URL) error {
	base := strings.TrimSuffix(v.issuer, "/")
	body, _, err := v.get(ctx, base+"/.well-known/openid-configuration", 1<<20, fetchTimeout)
	if err != nil {
		return fmt.Errorf("verify: discovery document: %w", err)
	}
	var d discovery
	if err := json.Unmarshal(body, &d); err != nil {
		return fmt.Errorf("verify: discovery document: %w", err)
	}
	// NOTE: the document must name the issuer we were given (OpenID
	// Connect Discovery §4.3), so a misrouted request cannot hand us
	// another issuer's keys.
	if strings.TrimSuffix(d.Issuer, "/") != base {
		return fmt.Errorf("verify: discovery document names issuer %q, not %q", d.Issuer, v.issuer)
	}
	if d.FeedURI == "" {
		d.FeedURI = base + "/v1/revocations"
	}
	for _, e := range []struct {
		name string
		dst  *string
		val  string
	}{{"jwks_uri", &v.jwksURL, d.JWKSURI}, {"revocation_feed_endpoint", &v.feedURL, d.FeedURI}} {
		u, err := url.Parse(e.val)
		switch {
		case e.val == "":
			return fmt.Errorf("verify: discovery document has no %s", e.name)
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			return fmt.Errorf("verify: discovery document: %s %q is not an absolute http(s) URL", e.name, e.val)
		case iss.Scheme == "https" && u.Scheme != "https":
			// NOTE: keys and revocations are never fetched over a weaker
			// channel than the issuer's own.
			return fmt.Errorf("verify: discovery document: %s %q is not https like the issuer", e.name, e.val)
		}
		*e.dst = e.val
	}
	return nil
}

// Verify checks an access token of authd and returns its claims, with the
// same strictness as authd itself (see the package documentation for the
// list). A refused token gives an error wrapping ErrInvalidToken; a token
// that cannot be checked because the revocation list is stale gives one
// wrapping ErrUnavailable. The Claims are the caller's own copy.
//
// Verify makes no network call for a token whose kid is known: the keys
// and the revocation list are in memory. An unknown kid causes at most one
// JWKS fetch per KeyRefetchInterval, waited for under ctx.
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	c, err := v.verify(ctx, token)
	if err != nil {
		return Claims{}, err
	}
	return c.clone(), nil
}

// verify is Verify without the copy: the claims may be the cache's.
func (v *Verifier) verify(ctx context.Context, token string) (*Claims, error) {
	now := v.cfg.now()
	c, err := v.verifySigned(ctx, token, now)
	if err != nil {
		return nil, err
	}
	// NOTE: freshness and revocation are checked on every call, cache hits
	// included: a cached token dies the moment its jti or sid is revoked.
	if err := v.fresh(now); err != nil {
		return nil, err
	}
	if v.revs.Revoked(c.ID, c.SessionID) {
		return nil, errRevoked
	}
	return c, nil
}

// cacheEntry is what the verified-token cache keeps of a token that passed
// every check but revocation. An entry is used only before exp and while
// key is still the key set's key of kid; revocation and staleness are
// checked on every hit.
type cacheEntry struct {
	claims *Claims
	key    *key // the key that verified it
	kid    string
	exp    time.Time
}

// verifySigned checks everything but revocation.
func (v *Verifier) verifySigned(ctx context.Context, token string, now time.Time) (*Claims, error) {
	if v.cache != nil {
		if e, ok := v.cache.Get(token); ok && now.Before(e.exp) && v.keys.Load().byKID[e.kid] == e.key {
			return e.claims, nil
		}
	}
	p, err := jws.ParseAccessToken(token)
	if err != nil {
		return nil, &tokenError{reason: "structure", err: err}
	}
	// NOTE: kid only selects among the keys held in memory (SECURITY J2);
	// it never goes into a URL. An unknown kid causes one rate-limited
	// JWKS fetch (a rotation at authd), nothing more.
	k := v.keys.Load().byKID[string(p.KID)]
	if k == nil {
		k = v.refetchForKID(ctx, string(p.KID))
		if k == nil {
			return nil, errUnknownKID
		}
	}
	// NOTE: the algorithm is the key's, never the token's: each key has
	// exactly one algorithm, and the token's alg must merely agree with it.
	// The signature is checked with the key's own golang-jwt method, so an
	// EdDSA or RSA public key can never serve as an HS256 secret, and
	// "none" has no key at all (SECURITY J1, RFC 8725 §3.1).
	if string(p.Alg) != k.alg {
		return nil, errAlgMismatch
	}
	if err := k.method.Verify(p.SigningInput, p.Signature, k.pub); err != nil {
		return nil, &tokenError{reason: "bad signature", err: err}
	}
	ac, err := jws.DecodeAccessClaims(p.Payload, v.validator)
	if err != nil {
		return nil, &tokenError{reason: "claims", err: err}
	}
	c := claimsOf(ac)
	if v.cache != nil && now.Before(c.ExpiresAt) {
		v.cache.Put(token, &cacheEntry{claims: c, key: k, kid: k.kid, exp: c.ExpiresAt})
	}
	return c, nil
}

// claimsOf returns the Claims of decoded access-token claims.
func claimsOf(ac *jws.AccessClaims) *Claims {
	exp, iat, nbf := ac.Times()
	return &Claims{
		Issuer: ac.Issuer, Subject: ac.Subject, Audience: ac.Audience, ExpiresAt: exp, IssuedAt: iat, NotBefore: nbf,
		ID: ac.ID, SessionID: ac.SessionID, Email: ac.Email, Roles: ac.Roles, ClientID: ac.ClientID, Scope: ac.Scope,
		AMR: ac.AMR, ACR: ac.ACR, JKT: jktOf(ac.Cnf),
	}
}

func jktOf(c *jws.Confirmation) string {
	if c == nil {
		return ""
	}
	return c.JKT
}

// fresh returns nil while the revocation list may be trusted at now: it
// was confirmed by the feed at most maxStaleness ago, or at most
// maxStaleness+failOpen ago under WithFailOpen.
func (v *Verifier) fresh(now time.Time) error {
	age := now.Sub(v.revs.confirmedAt())
	if age <= v.cfg.maxStaleness {
		if v.failingOpen.Load() || v.failingClosed.Load() {
			v.failingOpen.Store(false)
			v.failingClosed.Store(false)
		}
		return nil
	}
	if age <= v.cfg.maxStaleness+v.cfg.failOpen {
		if v.failingOpen.CompareAndSwap(false, true) {
			v.cfg.log.Warn("verify: revocation list stale; failing open (WithFailOpen): revoked tokens may be accepted",
				"stale_for", age.Round(time.Millisecond).String(), "fail_open_for", v.cfg.failOpen.String())
		}
		return nil
	}
	if v.failingClosed.CompareAndSwap(false, true) {
		v.cfg.log.Error("verify: revocation list stale; refusing every token until the feed answers",
			"stale_for", age.Round(time.Millisecond).String())
	}
	return &unavailableError{age: age}
}

// unavailableError is a stale revocation list.
type unavailableError struct{ age time.Duration }

func (e *unavailableError) Error() string {
	return fmt.Sprintf("verify: revocation list unavailable: not confirmed for %s", e.age.Round(time.Millisecond))
}

func (e *unavailableError) Unwrap() error { return ErrUnavailable }

// tokenError is a refused token. Its text is for logs only: RFC 6750
// §3.1 lets a server tell the client nothing but error="invalid_token".
type tokenError struct {
	reason string
	err    error
}

func (e *tokenError) Error() string {
	if e.err != nil {
		return "verify: invalid token: " + e.reason + ": " + e.err.Error()
	}
	return "verify: invalid token: " + e.reason
}

func (e *tokenError) Unwrap() []error {
	if e.err != nil {
		return []error{ErrInvalidToken, e.err}
	}
	return []error{ErrInvalidToken}
}

func invalid(reason string) error { return &tokenError{reason: reason} }

var (
	errRevoked     = invalid("revoked")
	errUnknownKID  = invalid("unknown kid")
	errAlgMismatch = invalid("alg is not the key's algorithm")
)
