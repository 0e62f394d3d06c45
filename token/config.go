package token

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/jws"
)

// Defaults of Config. DefaultConfig returns a Config holding all of them.
const (
	DefaultAlg          = authd.AlgEdDSA
	DefaultAccessTTL    = 15 * time.Minute
	DefaultRefreshTTL   = 14 * 24 * time.Hour // absolute lifetime of a refresh family
	DefaultRefreshIdle  = 7 * 24 * time.Hour  // a family unused this long dies
	DefaultRefreshGrace = 10 * time.Second
	DefaultLeeway       = 30 * time.Second
	DefaultKeyReload    = 2 * time.Second
	DefaultPollInterval = 100 * time.Millisecond
	DefaultMaxStaleness = 5 * time.Second
	DefaultCacheSize    = 10000

	// MaxLeeway is the largest clock-skew leeway Config accepts (SECURITY J4).
	MaxLeeway = 30 * time.Second
	// MaxRefreshGrace is the largest grace window Config accepts.
	MaxRefreshGrace = 2 * time.Minute
	// MaxTokenSize bounds an access token before any split or parse (SECURITY J8).
	MaxTokenSize = jws.MaxTokenSize
)

// Config configures a Service. Only Issuer and Audiences are required.
//
// Zero values: a zero AccessTTL, RefreshTTL, RefreshIdle, Alg, Now, KeyReload,
// PollInterval, MaxStaleness or CacheSize takes its default. Leeway and
// RefreshGrace are different: their zero is meaningful (no leeway, no grace),
// so a zero there stays zero; start from DefaultConfig to get the defaults.
type Config struct {
	// Issuer is the iss claim of every access token and the only one accepted.
	Issuer string
	// Audiences are the default aud of access tokens, the accepted audiences
	// of Verify (a token must name at least one), and the only values an RFC
	// 8707 resource may narrow aud to.
	Audiences []string
	// Alg is the algorithm of the key generated when the store has no key
	// yet (EdDSA, ES256, RS256 or HS256). Default EdDSA.
	Alg string
	// AccessTTL is the lifetime of access tokens. Default 15 min.
	AccessTTL time.Duration
	// RefreshTTL is the absolute lifetime of a refresh family, counted from
	// the password grant; refreshing never extends it. Default 14 days.
	RefreshTTL time.Duration
	// RefreshIdle: a family whose last successful use is older than this is
	// dead. Default 7 days; values above RefreshTTL act as RefreshTTL.
	RefreshIdle time.Duration
	// RefreshGrace is the window after a rotation in which the spent token
	// may be presented again and gets the same successor back (see the
	// package documentation). Zero: none. Default (DefaultConfig) 10 s; at
	// most MaxRefreshGrace.
	RefreshGrace time.Duration
	// Leeway is the clock skew allowed on exp, nbf and iat. At most 30 s.
	// Zero: none. Default (DefaultConfig) 30 s.
	Leeway time.Duration
	// Now is the clock of every expiry decision. Default time.Now.
	Now func() time.Time
	// KeyReload is how often Run reloads the key ring from the store, so that
	// a rotation done elsewhere is signed with within 5 s. Default 2 s.
	KeyReload time.Duration
	// PollInterval is how often Run asks the revocation list for new
	// entries. Default 100 ms.
	PollInterval time.Duration
	// MaxStaleness: when the revocation set has not been synced with the
	// store for longer than this, Verify fails closed with
	// authd.ErrUnavailable. Default 5 s (API --revocation-max-staleness).
	MaxStaleness time.Duration
	// CacheSize is the number of verified access tokens kept to make a
	// repeated Verify cheap; negative disables the cache. Default 10,000.
	CacheSize int
	// Logger receives operational messages (never keys or tokens). Default:
	// discard.
	Logger *slog.Logger
}

// DefaultConfig returns a Config with every default set, for issuer and
// audiences.
func DefaultConfig(issuer string, audiences ...string) Config {
	return Config{
		Issuer:       issuer,
		Audiences:    audiences,
		Alg:          DefaultAlg,
		AccessTTL:    DefaultAccessTTL,
		RefreshTTL:   DefaultRefreshTTL,
		RefreshIdle:  DefaultRefreshIdle,
		RefreshGrace: DefaultRefreshGrace,
		Leeway:       DefaultLeeway,
		Now:          time.Now,
		KeyReload:    DefaultKeyReload,
		PollInterval: DefaultPollInterval,
		MaxStaleness: DefaultMaxStaleness,
		CacheSize:    DefaultCacheSize,
	}
}

// withDefaults fills the zero fields whose zero is meaningless.
func (c Config) withDefaults() Config {
	set := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	set(&c.AccessTTL, DefaultAccessTTL)
	set(&c.RefreshTTL, DefaultRefreshTTL)
	set(&c.RefreshIdle, DefaultRefreshIdle)
	set(&c.KeyReload, DefaultKeyReload)
	set(&c.PollInterval, DefaultPollInterval)
	set(&c.MaxStaleness, DefaultMaxStaleness)
	if c.Alg == "" {
		c.Alg = DefaultAlg
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.RefreshIdle > c.RefreshTTL {
		c.RefreshIdle = c.RefreshTTL
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.Audiences = append([]string(nil), c.Audiences...)
	return c
}

// Validate checks c after defaults are applied, as a table of rules.
func (c Config) Validate() error {
	c = c.withDefaults()
	emptyAud := len(c.Audiences) == 0
	for _, a := range c.Audiences {
		emptyAud = emptyAud || a == ""
	}
	checks := []struct {
		bad bool
		msg string
	}{
		{c.Issuer == "", "issuer is required"},
		{emptyAud, "at least one audience is required, none empty"},
		{!validAlg(c.Alg), fmt.Sprintf("alg %q is not one of %s", c.Alg, strings.Join(Algorithms(), ", "))},
		{c.AccessTTL < time.Second || c.AccessTTL > 24*time.Hour, "access TTL must be between 1s and 24h"},
		{c.RefreshTTL < c.AccessTTL, "refresh TTL must not be shorter than the access TTL"},
		{c.RefreshIdle < 0, "refresh idle timeout must not be negative"},
		{c.RefreshGrace < 0 || c.RefreshGrace > MaxRefreshGrace, "refresh grace must be between 0 and 2m"},
		{c.Leeway < 0 || c.Leeway > MaxLeeway, "leeway must be between 0 and 30s"},
		{c.KeyReload < 0, "key reload interval must not be negative"},
		{c.PollInterval < 0, "revocation poll interval must not be negative"},
		{c.MaxStaleness <= c.PollInterval, "revocation max staleness must exceed the poll interval"},
	}
	for _, ch := range checks {
		if ch.bad {
			return fmt.Errorf("token: config: %s", ch.msg)
		}
	}
	return nil
}

// Stores are the stores a Service works on. Keys, Refresh, Revocations and
// Users are required; Audit is optional.
type Stores struct {
	Keys        authd.KeyStore
	Refresh     authd.RefreshStore
	Revocations authd.RevocationList
	// Users gives the current email and roles of a refresh family's user,
	// and refuses refreshes of locked or deleted users.
	Users authd.UserStore
	// Audit receives refresh_rotated, refresh_reuse_detected and
	// token_revoked events. Nil: no audit events.
	Audit authd.AuditLog
	// IDKeys keeps the ES256 key that signs ID and logout tokens while
	// the current key is HS256. Nil: under HS256 no ID token can be
	// signed (ErrNoIDTokenKey).
	IDKeys authd.IDKeyStore
}
