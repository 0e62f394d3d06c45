package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/jws"
	"github.com/authd/authd/internal/periodic"
	"github.com/authd/authd/internal/tokencache"
)

// ErrInvalidTarget is returned by IssuePair when a requested audience (RFC
// 8707 resource) is not one of Config.Audiences; the HTTP layer answers 400
// invalid_target.
var ErrInvalidTarget = errors.New("token: invalid target")

// Service issues, verifies, refreshes and revokes tokens. Create it with
// New, keep Run running, and share it: every method is safe for concurrent
// use.
type Service struct {
	cfg       Config
	st        Stores
	log       *slog.Logger
	ring      *ring
	revs      *Revocations
	cache     *tokencache.Cache[*cacheEntry] // nil when disabled
	validator *jwt.Validator
}

// Pair is the result of a grant: what an RFC 6749 §5.1 token response
// carries, plus the claims of the access token.
type Pair struct {
	AccessToken  string
	TokenType    string // "Bearer"
	ExpiresIn    int    // seconds until the access token expires
	RefreshToken string // empty for IssueForSession
	// Scope is the granted scope, space-separated, when the grant names
	// one (RFC 6749 §5.1); "" otherwise.
	Scope string
	// IDToken is the OpenID Connect ID token, when the grant issued one.
	IDToken string
	Claims  *authd.Claims
}

// New validates cfg, makes sure the key store has a current key (generating
// one of cfg.Alg when it has none), loads the key ring and the live
// revocations. It returns an error when a store cannot be reached or the
// current key cannot be read.
func New(ctx context.Context, cfg Config, st Stores) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if st.Keys == nil || st.Refresh == nil || st.Revocations == nil || st.Users == nil {
		return nil, errors.New("token: Stores.Keys, Refresh, Revocations and Users are required")
	}
	cfg = cfg.withDefaults()
	s := &Service{cfg: cfg, st: st, log: cfg.Logger}
	if cfg.CacheSize > 0 {
		s.cache = tokencache.New[*cacheEntry](cfg.CacheSize)
	}
	// Every hardening option of golang-jwt's Validator, with the leeway
	// that Config.Validate bounds to 30 s, on the injected clock (SECURITY
	// J4).
	// Verify feeds it claims decoded once, after the structural checks and
	// the signature (see verify).
	s.validator = jws.NewAccessValidator(cfg.Issuer, cfg.Audiences, cfg.Leeway, cfg.Now)
	s.ring = &ring{ks: st.Keys, idks: st.IDKeys, accessTTL: cfg.AccessTTL, alg: cfg.Alg, now: cfg.Now, log: cfg.Logger}
	if s.cache != nil {
		s.ring.onChange = s.cache.Flush
	}
	if err := s.ring.ensure(ctx); err != nil {
		return nil, err
	}
	s.revs = NewRevocations(st.Revocations, RevocationsConfig{
		PollInterval: cfg.PollInterval, MaxStaleness: cfg.MaxStaleness, Now: cfg.Now, Logger: cfg.Logger,
	})
	if err := s.revs.Sync(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Run keeps the service current until ctx is done: it reloads the key ring
// every KeyReload, syncs the revocation set every PollInterval, and runs
// Housekeep every minute. It returns nil when ctx is done.
func (s *Service) Run(ctx context.Context) error {
	done := make(chan struct{}, 2)
	go func() {
		defer func() { done <- struct{}{} }()
		s.revs.Run(ctx)
	}()
	go func() {
		defer func() { done <- struct{}{} }()
		periodic.Every(ctx, housekeepingEvery, func(ctx context.Context) {
			if err := s.Housekeep(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("token: housekeeping failed", "err", err)
			}
		})
	}()
	s.ring.run(ctx, s.cfg.KeyReload)
	<-done
	<-done
	return nil
}

// housekeepingEvery is how often Run calls Housekeep.
const housekeepingEvery = time.Minute

// familyRetention is how long a dead refresh family is kept after it
// expired or was revoked (its tokens give invalid_grant either way).
const familyRetention = 24 * time.Hour

// Housekeep deletes revocation entries past their ExpiresAt and refresh
// families dead for more than a day. Idempotent; every node may run it.
func (s *Service) Housekeep(ctx context.Context) error {
	now := s.cfg.Now()
	err1 := s.st.Revocations.PruneRevocations(ctx, now)
	_, err2 := s.st.Refresh.DeleteFamiliesBefore(ctx, now.Add(-familyRetention))
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("token: housekeeping: %w", err)
	}
	return nil
}

// ReloadKeys reloads the key ring from the store now (Run does it every
// KeyReload).
func (s *Service) ReloadKeys(ctx context.Context) error {
	s.ring.reloadMu.Lock()
	defer s.ring.reloadMu.Unlock()
	return s.ring.load(ctx)
}

// Revocations returns the service's revocation set, for the revocation feed
// (Feed, Changed) and for push-based syncing (Sync, Add).
func (s *Service) Revocations() *Revocations { return s.revs }

// JWKS returns the RFC 7517 key set of the public keys that may verify a
// live token: the current key first, then retired keys until their last
// token has expired. Each key has kid, alg and use "sig". Under HS256 the
// set is empty ({"keys":[]}). The slice is shared: do not modify it.
func (s *Service) JWKS() []byte { return s.ring.state.Load().jwks }

// SigningAlgs returns the algorithms of the keys in the ring, the current
// key's first (for the metadata documents).
func (s *Service) SigningAlgs() []string { return slices.Clone(s.ring.state.Load().algs) }

// CurrentKID returns the kid new tokens are signed with.
func (s *Service) CurrentKID() string { return s.ring.state.Load().current.kid }

// AccessTTL returns the lifetime of new access tokens.
func (s *Service) AccessTTL() time.Duration { return s.cfg.AccessTTL }

// IssueForSession returns an access token for a live session: sub is the
// session's user, sid its public id (so revoking the session with RevokeSID
// revokes the token), aud the default audiences, email and roles the
// session's. The caller has checked that the session is live. The Pair has
// no refresh token.
func (s *Service) IssueForSession(ctx context.Context, sess *authd.Session, opts ...IssueOption) (Pair, error) {
	o := issueOpts(opts)
	return s.issueAccess(subject{id: sess.UserID, email: sess.Email, roles: sess.Roles, sid: sess.ID, amr: sess.AMR, jkt: o.jkt}, s.cfg.Audiences)
}

// IssueOption changes what an issuing method issues.
type IssueOption func(*issueOptions)

type issueOptions struct{ jkt string }

func issueOpts(opts []IssueOption) issueOptions {
	var o issueOptions
	for _, f := range opts {
		f(&o)
	}
	return o
}

// BoundTo binds what is issued to the DPoP key whose RFC 7638 thumbprint
// is jkt (RFC 9449): the access token carries cnf.jkt and its token_type is
// DPoP, and a new refresh family of a public client (one that has no
// secret to authenticate a refresh with) is bound to the same key, so that
// its refresh tokens work only with proofs of that key. "" is no binding.
func BoundTo(jkt string) IssueOption { return func(o *issueOptions) { o.jkt = jkt } }

// IssueForClient returns an access token for a client acting on its own
// behalf (RFC 6749 §4.4, the client_credentials grant): sub and client_id
// are clientID, scope the granted scopes, no sid, no email, no roles, aud
// the default audiences or, when audience is not empty, those (each must
// be one of Config.Audiences, else ErrInvalidTarget). The caller has
// authenticated the client and checked its grant and scopes. The Pair has
// no refresh token.
//
// NOTE: sub is the client id because there is no resource owner (RFC 9068
// §2.2, §5): the token names who holds it and nobody else. No refresh
// token is issued (RFC 6749 §4.4.3): the client can authenticate again
// whenever it needs a token, so a long-lived credential would add risk and
// nothing else. Such a token is revoked by its jti (RFC 7009).
func (s *Service) IssueForClient(clientID string, scopes, audience []string, opts ...IssueOption) (Pair, error) {
	if clientID == "" {
		return Pair{}, errors.New("token: IssueForClient: empty client id")
	}
	aud, err := s.narrow(audience)
	if err != nil {
		return Pair{}, err
	}
	return s.issueAccess(subject{id: clientID, clientID: clientID, scope: strings.Join(scopes, " "), jkt: issueOpts(opts).jkt}, aud)
}

// ACR is the acr claim of a sign-in with the methods amr: "aal2" or
// "aal1"; "" when amr is empty (unknown).
func ACR(amr []string) string {
	switch authd.AAL(amr) {
	case 2:
		return "aal2"
	case 1:
		return "aal1"
	}
	return ""
}

// subject is whom an access token is about and for: its sub, email, roles,
// sid, client_id and scope claims.
type subject struct {
	id, email       string
	roles           []string
	sid             string
	clientID, scope string
	jti             string // "" makes a new one
	amr             []string
	jkt             string // the DPoP key's thumbprint; "" for a bearer token
}

// issueAccess signs an access token for sub with the current key.
func (s *Service) issueAccess(sub subject, aud []string) (Pair, error) {
	k := s.ring.state.Load().current
	now := s.cfg.Now().Truncate(time.Second)
	exp := now.Add(s.cfg.AccessTTL)
	if sub.jti == "" {
		sub.jti = randomString(16) // 128 bits
	}
	roles := sub.roles
	if roles == nil {
		roles = []string{}
	}
	c := &jws.AccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.cfg.Issuer,
			Subject:   sub.id,
			Audience:  jwt.ClaimStrings(aud),
			ExpiresAt: jwt.NewNumericDate(exp),
			NotBefore: jwt.NewNumericDate(now),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        sub.jti,
		},
		SessionID: sub.sid,
		Email:     sub.email,
		Roles:     roles,
		ClientID:  sub.clientID,
		Scope:     sub.scope,
		AMR:       sub.amr,
		ACR:       ACR(sub.amr),
	}
	if sub.jkt != "" {
		c.Cnf = &jws.Confirmation{JKT: sub.jkt}
	}
	t := jwt.NewWithClaims(k.method, c)
	t.Header["kid"] = k.kid
	t.Header["typ"] = "at+jwt"
	raw, err := t.SignedString(k.signer)
	if err != nil {
		return Pair{}, fmt.Errorf("token: sign: %w", err)
	}
	return Pair{
		AccessToken: raw,
		TokenType:   tokenType(sub.jkt),
		ExpiresIn:   int(s.cfg.AccessTTL / time.Second),
		Claims:      toClaims(c),
	}, nil
}

// toClaims returns the authd.Claims of access-token claims.
func toClaims(c *jws.AccessClaims) *authd.Claims {
	exp, iat, nbf := c.Times()
	return &authd.Claims{
		Issuer: c.Issuer, Subject: c.Subject, Audience: c.Audience, ExpiresAt: exp, IssuedAt: iat, NotBefore: nbf,
		ID: c.ID, SessionID: c.SessionID, Email: c.Email, Roles: c.Roles, ClientID: c.ClientID, Scope: c.Scope,
		AMR: c.AMR, ACR: c.ACR, JKT: jktOf(c),
	}
}

func jktOf(c *jws.AccessClaims) string {
	if c.Cnf == nil {
		return ""
	}
	return c.Cnf.JKT
}

// Verify checks an access token and returns its claims. Every refused token
// gives an error wrapping authd.ErrUnauthenticated (an *InvalidTokenError
// whose Reason is for logs only); when the revocation set is stale it
// returns an error wrapping authd.ErrUnavailable (answer 503: fail closed).
// The returned Claims are the caller's own copy.
//
// The checks are the structural ones of the package documentation (made by
// internal/jws, before any key lookup), then: the kid must name a key of the ring
// (one reload is tried, rate-limited, for an unknown kid) that is still
// usable (a retired key verifies until RetiredAt+AccessTTL: SECURITY J12);
// the header's alg must equal that key's alg; then golang-jwt checks the
// signature with that algorithm only and the standard claims (exp required,
// iss, aud, nbf, iat not in the future, with Config.Leeway); sub, jti and
// iat must be present; and neither jti nor sid may be revoked.
func (s *Service) Verify(ctx context.Context, raw string) (*authd.Claims, error) {
	c, err := s.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	if err := s.revs.Fresh(); err != nil {
		return nil, err
	}
	if s.revs.IsRevoked(c) {
		return nil, invalid("revoked")
	}
	cp := *c
	return &cp, nil
}

// cacheEntry is what the verified-token cache keeps of a token that passed
// every check but revocation. An entry is used only before exp and while
// the key of kid is usable; revocation is checked on every hit.
type cacheEntry struct {
	claims *authd.Claims
	kid    string
	exp    time.Time
}

// verify checks everything but revocation. The claims it returns may be
// shared with the cache: callers copy before handing them out.
func (s *Service) verify(ctx context.Context, raw string) (*authd.Claims, error) {
	now := s.cfg.Now()
	if s.cache != nil {
		if e, ok := s.cache.Get(raw); ok && now.Before(e.exp) {
			if k := s.ring.state.Load().byKID[e.kid]; k != nil && k.usable(now) {
				return e.claims, nil
			}
		}
	}
	p, err := jws.ParseAccessToken(raw)
	if err != nil {
		return nil, &InvalidTokenError{Reason: "structure", Err: err}
	}
	// NOTE: kid only selects among keys held in memory; it is never used
	// in a path, a query or a URL (SECURITY J2).
	k := s.ring.lookup(ctx, p.KID)
	switch {
	case k == nil || k.idOnly:
		return nil, invalid("unknown kid")
	case !k.usable(now):
		return nil, invalid("kid of a retired key past its last token's expiry")
	case string(p.Alg) != k.alg:
		return nil, invalid("alg does not match the key's algorithm")
	}
	// NOTE: the signature is checked with the key's own golang-jwt method
	// (k.method, chosen by kid; the token's alg only has to agree with it):
	// each key has exactly one algorithm and a token cannot choose another
	// (RFC 8725 §3.1). It is checked before any claim is read (SECURITY J1).
	if err := k.method.Verify(p.SigningInput, p.Signature, k.verifier); err != nil {
		return nil, &InvalidTokenError{Reason: "signature", Err: errors.Join(jwt.ErrTokenSignatureInvalid, err)}
	}
	ac, err := jws.DecodeAccessClaims(p.Payload, s.validator)
	if err != nil {
		return nil, &InvalidTokenError{Reason: "claims", Err: err}
	}
	c := toClaims(ac)
	if s.cache != nil {
		s.cache.Put(raw, &cacheEntry{claims: c, kid: k.kid, exp: c.ExpiresAt})
	}
	return c, nil
}

// RevokeSID puts sid on the revocation list until every access token that
// carries it has expired (now + AccessTTL). Use it when a session is
// revoked (logout, DELETE /v1/sessions/…, password change) so that the
// tokens exchanged from it die too.
func (s *Service) RevokeSID(ctx context.Context, sid string) error {
	if sid == "" {
		return nil
	}
	return s.revs.Revoke(ctx, authd.Revocation{Kind: authd.RevokeSID, ID: sid, ExpiresAt: s.cfg.Now().Add(s.cfg.AccessTTL)})
}

// RevokeAccessToken revokes one access token (RFC 7009): when its signature
// and claims are valid, its jti goes on the revocation list until its exp.
// A token that does not verify (unknown, forged, expired, already revoked)
// needs no revocation and is not an error. Errors are store failures only.
func (s *Service) RevokeAccessToken(ctx context.Context, raw string) error {
	c, err := s.verify(ctx, raw)
	if err != nil {
		if isInvalidToken(err) {
			return nil
		}
		return err
	}
	if s.revs.IsRevoked(c) {
		return nil
	}
	if err := s.revs.Revoke(ctx, authd.Revocation{Kind: authd.RevokeJTI, ID: c.ID, ExpiresAt: c.ExpiresAt}); err != nil {
		return err
	}
	s.audit(ctx, authd.AuditEvent{Event: authd.EventTokenRevoked, UserID: c.Subject, SessionID: c.SessionID, Detail: "access token"})
	return nil
}

// Revoke is RFC 7009 for either kind of token. The two kinds cannot be
// mistaken for each other (a refresh token is 43 base64url characters, an
// access token has three dot-separated segments), so token_type_hint is not
// needed. Unknown or invalid tokens are not an error; errors are store
// failures only.
func (s *Service) Revoke(ctx context.Context, tok string) error {
	if looksLikeRefreshToken(tok) {
		return s.RevokeRefreshToken(ctx, tok)
	}
	return s.RevokeAccessToken(ctx, tok)
}

// audit records e when an audit log is configured; a failure is logged,
// never returned (the operation it describes has happened).
func (s *Service) audit(ctx context.Context, e authd.AuditEvent) {
	if s.st.Audit == nil {
		return
	}
	if e.At.IsZero() {
		e.At = s.cfg.Now()
	}
	if ci, ok := ctx.Value(clientInfoKey{}).(clientInfo); ok {
		e.IP, e.UserAgent = ci.ip, ci.userAgent
	}
	if err := s.st.Audit.RecordEvent(ctx, e); err != nil {
		s.log.Error("token: audit event not recorded", "event", e.Event, "err", err)
	}
}

type clientInfoKey struct{}

type clientInfo struct{ ip, userAgent string }

// WithClient returns a context carrying the client's IP and User-Agent,
// which the audit events the Service records (refresh_rotated,
// refresh_reuse_detected, token_revoked) will carry.
func WithClient(ctx context.Context, ip, userAgent string) context.Context {
	return context.WithValue(ctx, clientInfoKey{}, clientInfo{ip, userAgent})
}
