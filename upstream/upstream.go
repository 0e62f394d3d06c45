package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/periodic"
)

// Errors of a sign-in through a provider. Finish and Start wrap them with
// details (errors.Is works); no error text contains a code, a token, a
// state or a secret, so all are safe to log and to audit.
var (
	// ErrUnknown: no provider has this id.
	ErrUnknown = errors.New("upstream: no such provider")
	// ErrState: the callback's state is missing, unknown, spent, expired,
	// another browser's or another provider's.
	ErrState = errors.New("upstream: the sign-in is unknown, used, expired or was started in another browser")
	// ErrDenied: the user (or the provider) refused the sign-in
	// (error=access_denied).
	ErrDenied = errors.New("upstream: the sign-in was refused at the provider")
	// ErrProvider: the provider answered with an error, or with something
	// that is not OpenID Connect (an error response other than
	// access_denied, a refused code exchange, a discovery document naming
	// another issuer).
	ErrProvider = errors.New("upstream: the provider answered with an error")
	// ErrProviderDown: the provider cannot be reached or did not answer in
	// time (or answered 5xx). errors.Is(ErrProviderDown,
	// authd.ErrUnavailable) is true.
	ErrProviderDown error = providerDown{}
	// ErrToken: the provider's response failed verification: the ID token
	// (signature, iss, aud, exp, nonce, at_hash, sub) or the RFC 9207 iss
	// parameter (a response from another issuer: a mix-up).
	ErrToken = errors.New("upstream: the provider's answer did not verify")
)

// providerDown is ErrProviderDown: an authd.ErrUnavailable whose text
// does not say "store".
type providerDown struct{}

func (providerDown) Error() string        { return "upstream: the provider cannot be reached" }
func (providerDown) Is(target error) bool { return target == authd.ErrUnavailable }

// Config configures the Service.
type Config struct {
	// Site is authd's issuer URL: the redirect URI registered at a
	// provider is Site + "/v1/upstream/" + id + "/callback".
	Site string
	// HTTPClient talks to the providers; nil: a client with timeouts.
	HTTPClient *http.Client
	// Now is the clock (ID token expiry, flow state expiry); nil: time.Now.
	Now func() time.Time
	// Reload is how often Run re-reads the provider list from the store;
	// 0: 5 s, so that every node sees a change within 5 s.
	Reload time.Duration
	// Logger; nil: slog.Default().
	Logger *slog.Logger
}

// Sealer seals and opens client secrets (*mfa.Sealer is one).
type Sealer interface {
	SealUpstreamSecret(id string, secret []byte) []byte
	OpenUpstreamSecret(id string, sealed []byte) ([]byte, error)
}

// Limits.
const (
	// FlowTTL is how long a started sign-in may take to come back.
	FlowTTL = 10 * time.Minute
	// discoveryTTL is how long a provider's discovery document (and its
	// key set) is reused; a failed discovery is not kept.
	discoveryTTL = 10 * time.Minute
	// maxBody caps what authd reads of any answer of a provider.
	maxBody = 1 << 20
	// maxSubject is OpenID Connect Core's limit on sub (255 ASCII).
	maxSubject = 255
)

// Service is the registry of upstream providers and the relying party of
// their sign-ins. It is safe for concurrent use.
type Service struct {
	cfg        Config
	store      authd.UpstreamStore
	challenges authd.ChallengeStore
	sealer     Sealer
	client     *http.Client
	log        *slog.Logger

	mu        sync.RWMutex
	providers []*authd.Upstream

	discMu sync.Mutex
	disc   map[string]*discovered // by issuer
}

// New returns a Service over the provider store st and the single-use
// state store challenges; s seals client secrets. Call Run to load (and
// keep reloading) the provider list.
func New(cfg Config, st authd.UpstreamStore, challenges authd.ChallengeStore, s Sealer) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Reload <= 0 {
		cfg.Reload = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Site = strings.TrimSuffix(cfg.Site, "/")
	return &Service{
		cfg:        cfg,
		store:      st,
		challenges: challenges,
		sealer:     s,
		client:     limitedClient(cfg.HTTPClient),
		log:        cfg.Logger,
		providers:  []*authd.Upstream{},
		disc:       map[string]*discovered{},
	}
}

// defaultClient is the client used when Config.HTTPClient is nil: every
// step has a deadline, so that a provider that does not answer fails a
// sign-in instead of hanging it.
func defaultClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 5 * time.Second
	tr.ResponseHeaderTimeout = 10 * time.Second
	tr.MaxIdleConnsPerHost = 4
	return &http.Client{Transport: tr, Timeout: 15 * time.Second}
}

// limitedClient returns a copy of c (or of the default client) whose
// response bodies end with an error after maxBody bytes: a provider cannot
// make authd read without end.
func limitedClient(c *http.Client) *http.Client {
	if c == nil {
		c = defaultClient()
	}
	cp := *c
	base := cp.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cp.Transport = limitTransport{base}
	return &cp
}

type limitTransport struct{ base http.RoundTripper }

func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitBody{rc: resp.Body, left: maxBody}
	return resp, nil
}

type limitBody struct {
	rc   io.ReadCloser
	left int64
}

var errTooLarge = errors.New("upstream: the provider's answer is larger than 1 MiB")

func (b *limitBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One more byte tells a body of exactly maxBody from a longer one.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitBody) Close() error { return b.rc.Close() }

// Run loads the provider list now and then every Config.Reload until ctx
// is done. A failed load keeps the previous list and is logged.
func (s *Service) Run(ctx context.Context) {
	s.reload(ctx)
	periodic.Every(ctx, s.cfg.Reload, s.reload)
}

func (s *Service) reload(ctx context.Context) {
	if err := s.Reload(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("upstream: reload the provider list", "err", err)
	}
}

// Reload reads the provider list from the store now (Run does it every
// Config.Reload); on failure the previous list stays.
func (s *Service) Reload(ctx context.Context) error {
	list, err := s.store.ListUpstreams(ctx)
	if err != nil {
		return fmt.Errorf("upstream: list the providers: %w", err)
	}
	slices.SortFunc(list, func(a, b *authd.Upstream) int { return strings.Compare(a.ID, b.ID) })
	s.mu.Lock()
	s.providers = list
	s.mu.Unlock()
	return nil
}

// Providers returns the current provider list (as last loaded), ordered by
// id: the sign-in page's buttons. The slice is the caller's; the providers
// must not be changed.
func (s *Service) Providers() []*authd.Upstream {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.providers)
}

// Spec is a provider to register.
type Spec struct {
	// ID is the short name used in URLs: [a-z0-9-]{1,64}.
	ID string
	// Issuer is the provider's issuer URL, exactly as its discovery
	// document and ID tokens name it: https, or http for a loopback host.
	Issuer string
	// ClientID is authd's client at the provider.
	ClientID string
	// Secret is authd's client secret there; "" for a public client
	// (PKCE alone).
	Secret string
	// Name is the button's text ("Sign in with Name"); "" for ID.
	Name string
	// Scopes requested; nil or empty for ["openid", "email"]; must
	// include "openid".
	Scopes []string
	// TrustEmail: the provider's email_verified: true proves the address.
	TrustEmail bool
}

var idRE = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// Register validates spec and stores the provider. Each refusal is an
// *authd.InvalidError whose Field is the admin API's name of the input
// (id, issuer, client_id, secret, name, scopes); a taken id is
// authd.ErrConflict. The secret is sealed before it is stored. Register
// does not contact the issuer (it may be down now): a wrong issuer shows
// at the first sign-in. It returns the stored provider.
func (s *Service) Register(ctx context.Context, spec Spec) (*authd.Upstream, error) {
	if !idRE.MatchString(spec.ID) {
		return nil, authd.Invalidf("id", "the id must be 1 to 64 of a-z, 0-9 and -")
	}
	if err := checkIssuer(spec.Issuer); err != nil {
		return nil, err
	}
	if spec.ClientID == "" {
		return nil, authd.Invalidf("client_id", "the client id is required")
	}
	if len(spec.ClientID) > 255 || !printable(spec.ClientID) {
		return nil, authd.Invalidf("client_id", "the client id must be at most 255 printable characters")
	}
	if len(spec.Secret) > 1024 {
		return nil, authd.Invalidf("secret", "the client secret must be at most 1024 bytes")
	}
	name := strings.TrimSpace(spec.Name)
	if name == "" {
		name = spec.ID
	}
	if utf8.RuneCountInString(name) > 100 || !printable(name) {
		return nil, authd.Invalidf("name", "the name must be at most 100 printable characters")
	}
	scopes, err := checkScopes(spec.Scopes)
	if err != nil {
		return nil, err
	}
	u := &authd.Upstream{
		ID:         spec.ID,
		Issuer:     spec.Issuer,
		ClientID:   spec.ClientID,
		Name:       name,
		Scopes:     scopes,
		TrustEmail: spec.TrustEmail,
		// NOTE: microseconds, which every store keeps exactly.
		CreatedAt: s.cfg.Now().UTC().Truncate(time.Microsecond),
	}
	if spec.Secret != "" {
		if s.sealer == nil {
			return nil, authd.Invalidf("secret", "this server has no encryption key to keep a client secret")
		}
		u.SecretSealed = s.sealer.SealUpstreamSecret(u.ID, []byte(spec.Secret))
	}
	if err := s.store.CreateUpstream(ctx, u); err != nil {
		if errors.Is(err, authd.ErrConflict) {
			return nil, fmt.Errorf("upstream: provider %q: %w", u.ID, authd.ErrConflict)
		}
		return nil, fmt.Errorf("upstream: store provider %q: %w", u.ID, err)
	}
	s.reload(ctx)
	return u, nil
}

// checkIssuer refuses what cannot be an OpenID Connect issuer: it must be
// an absolute https URL without query, fragment or user info (OpenID
// Connect Discovery §2), or http for a loopback host (tests, development).
func checkIssuer(issuer string) error {
	bad := func(msg string) error { return authd.Invalidf("issuer", "%s", msg) }
	if issuer == "" {
		return bad("the issuer is required")
	}
	if len(issuer) > 2048 || !printable(issuer) || strings.ContainsAny(issuer, " ") {
		return bad("the issuer must be a URL")
	}
	u, err := url.Parse(issuer)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return bad("the issuer must be an absolute URL such as https://id.example.com")
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(issuer, "#") {
		return bad("the issuer must have no user, query or fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return bad("the issuer must be https (http only for localhost)")
		}
	default:
		return bad("the issuer must be https")
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkScopes returns the scopes to request: the default when none, in
// their order without repeats; each an RFC 6749 §3.3 scope token, and
// openid among them.
func checkScopes(in []string) ([]string, error) {
	if len(in) == 0 {
		return []string{"openid", "email"}, nil
	}
	if len(in) > 32 {
		return nil, authd.Invalidf("scopes", "at most 32 scopes")
	}
	var out []string
	for _, sc := range in {
		if sc == "" || len(sc) > 128 {
			return nil, authd.Invalidf("scopes", "a scope must be 1 to 128 characters")
		}
		for _, c := range []byte(sc) {
			// NQCHAR: %x21 / %x23-5B / %x5D-7E
			if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
				return nil, authd.Invalidf("scopes", "the scope %q has a character a scope cannot have", sc)
			}
		}
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	if !slices.Contains(out, "openid") {
		return nil, authd.Invalidf("scopes", "the scopes must include openid")
	}
	return out, nil
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// Delete deletes the provider and every identity linked at it;
// authd.ErrNotFound when there is none.
func (s *Service) Delete(ctx context.Context, id string) error {
	if err := s.store.DeleteUpstream(ctx, id); err != nil {
		return fmt.Errorf("upstream: delete provider %q: %w", id, err)
	}
	s.reload(ctx)
	return nil
}

// Get returns the provider; authd.ErrNotFound when there is none.
func (s *Service) Get(ctx context.Context, id string) (*authd.Upstream, error) {
	if !idRE.MatchString(id) {
		return nil, fmt.Errorf("upstream: provider %q: %w", id, authd.ErrNotFound)
	}
	u, err := s.store.UpstreamByID(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("upstream: provider %q: %w", id, err)
	}
	return u, nil
}

// List returns every provider, from the store, ordered by id.
func (s *Service) List(ctx context.Context) ([]*authd.Upstream, error) {
	list, err := s.store.ListUpstreams(ctx)
	if err != nil {
		return nil, fmt.Errorf("upstream: list the providers: %w", err)
	}
	return list, nil
}

// RedirectURI is the redirect URI to register at the provider id.
func (s *Service) RedirectURI(id string) string {
	return s.cfg.Site + "/v1/upstream/" + id + "/callback"
}
