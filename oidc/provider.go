package oidc

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/periodic"
	"github.com/authd/authd/token"
)

// Protocol constants.
const (
	// CodeTTL is how long an authorization code may be redeemed
	// (SECURITY A2: at most 60 s).
	CodeTTL = 60 * time.Second
	// CodeKeep is how long a code's record is kept after it expired, so
	// that a late second presentation is still seen as reuse.
	CodeKeep = time.Hour
	// BackchannelRetryFor is how long a back-channel logout is retried
	// before it is given up (API.md: at least 10 minutes).
	BackchannelRetryFor = 15 * time.Minute
)

// Scopes authd knows. Others are refused at /oauth2/authorize.
const (
	ScopeOpenID        = "openid"
	ScopeEmail         = "email"
	ScopeOfflineAccess = "offline_access"
	ScopeProfile       = "profile"
	ScopeRoles         = "roles"
)

// KnownScopes returns the scopes authd knows, for discovery.
func KnownScopes() []string {
	return []string{ScopeOpenID, ScopeEmail, ScopeOfflineAccess, ScopeProfile, ScopeRoles}
}

// Authentication context classes (acr, NIST SP 800-63B assurance levels).
const (
	ACRPassword  = "aal1" // one factor
	ACRTwoFactor = "aal2" // two factors
)

// SecondFactors says whether a user has a second factor (*mfa.Service
// is one, through HasSecondFactor); nil means nobody has one.
type SecondFactors interface {
	HasSecondFactor(ctx context.Context, userID string) (bool, error)
}

// Config configures a Provider.
type Config struct {
	// Issuer is iss of every response (RFC 9207) and token.
	Issuer string
	// Audiences are the values resource may narrow aud to.
	Audiences []string
	// SessionMax bounds how long a session's link to a client is kept.
	SessionMax time.Duration
	// HTTPClient delivers back-channel logout tokens; nil means one with a
	// 5 s timeout that follows no redirect.
	HTTPClient *http.Client
	// DeliveryPoll is how often the back-channel worker looks for due
	// messages queued by other nodes or due for a retry. Default 1 s.
	DeliveryPoll time.Duration
	Now          func() time.Time
	Logger       *slog.Logger
}

// Stores are the stores a Provider works over.
type Stores struct {
	Codes    authd.CodeStore
	Consents authd.ConsentStore
	Links    authd.SessionClientStore
	Outbox   authd.Outbox
	Users    authd.UserStore
	Audit    authd.AuditLog
	// Factors tells whether a user can meet acr_values=aal2; nil: nobody.
	Factors SecondFactors
}

// Provider is the authorization server: it checks authorization
// requests, issues and redeems codes, remembers consent, and tells clients
// when a session ends.
type Provider struct {
	cfg     Config
	clients *Clients
	tokens  *token.Service
	st      Stores
	http    *http.Client
	log     *slog.Logger
	wake    chan struct{}
}

// NewProvider returns a Provider.
func NewProvider(cfg Config, clients *Clients, tokens *token.Service, st Stores) *Provider {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DeliveryPoll <= 0 {
		cfg.DeliveryPoll = time.Second
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = 30 * 24 * time.Hour
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{
			Timeout: 5 * time.Second,
			// NOTE: a logout token goes to the registered URI only; a
			// redirect could carry it elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return &Provider{cfg: cfg, clients: clients, tokens: tokens, st: st, http: hc, log: cfg.Logger, wake: make(chan struct{}, 1)}
}

// Issuer returns the issuer the provider answers as.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// Clients returns the client registry.
func (p *Provider) Clients() *Clients { return p.clients }

func (p *Provider) audit(ctx context.Context, e authd.AuditEvent) {
	if p.st.Audit == nil {
		return
	}
	if err := p.st.Audit.RecordEvent(ctx, e); err != nil {
		p.log.ErrorContext(ctx, "oidc: audit failed", "event", e.Event, "err", err)
	}
	p.log.InfoContext(ctx, "audit", "event", e.Event, "user_id", e.UserID, "session_id", e.SessionID, "detail", e.Detail)
}

// Housekeep deletes expired code records and session links.
func (p *Provider) Housekeep(ctx context.Context) error {
	now := p.cfg.Now()
	_, err1 := p.st.Codes.DeleteCodesBefore(ctx, now.Add(-CodeKeep))
	_, err2 := p.st.Links.DeleteSessionClientsBefore(ctx, now)
	return errors.Join(err1, err2)
}

// Run does the provider's housekeeping every minute until ctx is done.
func (p *Provider) Run(ctx context.Context) {
	periodic.Every(ctx, time.Minute, func(ctx context.Context) {
		if err := p.Housekeep(ctx); err != nil && ctx.Err() == nil {
			p.log.WarnContext(ctx, "oidc: housekeeping failed", "err", err)
		}
	})
}

// SetFactors tells the provider who has a second factor (for
// acr_values=aal2); call it before serving.
func (p *Provider) SetFactors(f SecondFactors) { p.st.Factors = f }

func (p *Provider) hasSecondFactor(ctx context.Context, userID string) (bool, error) {
	if p.st.Factors == nil {
		return false, nil
	}
	return p.st.Factors.HasSecondFactor(ctx, userID)
}
