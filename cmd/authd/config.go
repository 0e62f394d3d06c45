package main

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/authd/authd/internal/redact"
	"github.com/authd/authd/mail"
	"github.com/authd/authd/password"
	"github.com/authd/authd/token"
)

// Config is everything the flags and the environment say. Only this
// package reads them; the rest of authd receives values.
type Config struct {
	Addr                   string
	DB                     string
	Redis                  string
	RedisPrefix            string
	Issuer                 string
	Audiences              list
	JWTAlg                 string
	AccessTTL              time.Duration
	RefreshTTL             time.Duration
	RefreshGrace           time.Duration
	RevocationMaxStaleness time.Duration
	SessionIdle            time.Duration
	SessionMax             time.Duration
	LoginMaxFailures       int
	LoginWindow            time.Duration
	LoginMaxFailuresIP     int
	HashMemoryBudget       uint64 // bytes; 0: no bound but GOMAXPROCS
	TrustedProxies         list
	Signup                 bool
	CORSOrigins            list
	TLSCert, TLSKey        string
	Dev                    bool
	PasswordGrant          bool
	ReauthWindow           time.Duration
	RequireMFARoles        list
	WebAuthnRPID           string
	WebAuthnOrigins        list
	EncryptionKeyFile      string
	SMTP                   string
	MailFrom               string
	EmailVerification      string
	RecoveryTTL            time.Duration
	DPoPRequired           bool
	DPoPNonce              bool
	SessionCache           bool
	TokenCache             bool
	LogLevel               string

	trustedPrefixes []netip.Prefix
	smtp            *mail.SMTP // parsed --smtp; nil without it
	mailFrom        string     // --mail-from, or its default
}

// Defaults and bounds of the serve settings that the other commands also
// need (they take only the store flags).
const (
	defaultIssuer   = "http://127.0.0.1:8080"
	defaultJWTAlg   = "EdDSA"
	maxAccessTTL    = 24 * time.Hour
	maxRefreshGrace = time.Minute
	maxRecoveryTTL  = 168 * time.Hour
)

// defaultHashMemoryBudget is --hash-memory-budget's default: three
// argon2id hashes at the default 19 MiB (57 MiB) fit, a fourth waits. With
// a server under /v1/me load at about 30 MiB, a login burst then peaks
// near 90 MiB instead of 19 MiB per concurrent login; three hashes at once
// are about 3 × 30 logins/s (one core each), more than a small deployment
// signs in.
const defaultHashMemoryBudget = 64 << 20

// emailVerificationModes are the values of --email-verification.
var emailVerificationModes = []string{"off", "optional", "required"}

var (
	logLevels = []string{"debug", "info", "warn", "error"}
)

// storeFlags registers the flags every command takes: where the data is.
func storeFlags(f *flags, c *Config) {
	g := f.group
	f.group = groupStore
	f.String(&c.DB, "db", "sqlite:authd.db", "URL", "the main store: sqlite:PATH or postgres://… (users, sessions, refresh tokens, keys, audit)")
	f.String(&c.Redis, "redis", "", "URL", "redis://host:port/N or redis-cluster://h1:p1,h2:p2,…: sessions, the revocation list and rate-limit counters live there")
	f.String(&c.RedisPrefix, "redis-prefix", "authd:", "PREFIX", "prefix of every Redis key authd writes (several deployments can share one Redis)")
	f.group = g
}

// serveFlags registers the flags of serve: its own, then the store flags.
func serveFlags(f *flags, c *Config) {
	f.String(&c.Addr, "addr", "127.0.0.1:8080", "ADDRESS", "listen address")
	f.String(&c.Issuer, "issuer", defaultIssuer, "URL", "iss of tokens and base URL of the discovery document")
	c.Audiences = list{vals: []string{"authd"}, fromEnv: true}
	f.List(&c.Audiences, "audience", "AUD", "default aud of access tokens; repeatable")
	f.Enum(&c.JWTAlg, "jwt-alg", defaultJWTAlg, "ALG", token.Algorithms(), "signing algorithm of new keys: "+orList(token.Algorithms()))
	f.Duration(&c.AccessTTL, "access-ttl", 15*time.Minute, "access token lifetime, 1s to 24h")
	f.Duration(&c.RefreshTTL, "refresh-ttl", 336*time.Hour, "refresh token family absolute lifetime, at least --access-ttl")
	f.Duration(&c.RefreshGrace, "refresh-grace", 10*time.Second, "how long a just-rotated refresh token may be presented again and get the same successor (retries, two tabs), 0s (off) to 1m")
	f.Duration(&c.RevocationMaxStaleness, "revocation-max-staleness", 5*time.Second, "refuse bearer tokens (503) when the revocation list could not be refreshed for this long, at least 1s")
	f.Duration(&c.SessionIdle, "session-idle", 24*time.Hour, "a session unused this long is dead, at least 1s")
	f.Duration(&c.SessionMax, "session-max", 720*time.Hour, "a session older than this is dead, used or not, at least --session-idle")
	f.Int(&c.LoginMaxFailures, "login-max-failures", 10, "failed logins for one account within --login-window before it is throttled")
	f.Duration(&c.LoginWindow, "login-window", 15*time.Minute, "the failed-login window, at least 1s")
	f.Int(&c.LoginMaxFailuresIP, "login-max-failures-ip", 100, "failed logins from one client IP within --login-window before it is throttled")
	c.HashMemoryBudget = defaultHashMemoryBudget
	f.add(sizeValue{&c.HashMemoryBudget}, "hash-memory-budget", "SIZE", "memory password hashing may hold at once (64MiB, 128MB, bytes; 0: no bound but the CPU count): each argon2id hash takes 19 MiB, logins beyond the budget wait their turn")
	f.List(&c.TrustedProxies, "trusted-proxy", "CIDR", "network whose X-Forwarded-For is believed; repeatable")
	f.Bool(&c.Signup, "signup", true, "whether POST /v1/register is open")
	f.List(&c.CORSOrigins, "cors-origin", "ORIGIN", "allowed browser origin for the JSON API; repeatable")
	f.String(&c.TLSCert, "tls-cert", "", "FILE", "certificate (PEM): serve HTTPS")
	f.String(&c.TLSKey, "tls-key", "", "FILE", "private key (PEM) for --tls-cert")
	f.Bool(&c.SessionCache, "session-cache", true, "keep validated sessions in memory, kept true by the store's change feed (PostgreSQL LISTEN/NOTIFY, SQLite polling); turn off on databases without LISTEN (CockroachDB)")
	f.Bool(&c.TokenCache, "token-cache", true, "keep verified access tokens in memory until they expire (revocation is still checked on every request)")
	f.Bool(&c.Dev, "dev", false, "allow plain-HTTP cookies without Secure and the __Host- prefix (local development only)")
	f.Bool(&c.PasswordGrant, "password-grant", false, "enable the legacy resource-owner password grant of /oauth2/token (RFC 9700 forbids it; for first-party scripts and tests only)")
	f.List(&c.RequireMFARoles, "require-mfa-role", "ROLE", "users with this role must sign in with a second factor; one without leads them to set one up first; repeatable")
	f.Duration(&c.ReauthWindow, "reauth-window", 10*time.Minute, "how recent a sign-in must be to change second factors, at least 1s")
	f.String(&c.WebAuthnRPID, "webauthn-rp-id", "", "HOST", "WebAuthn relying-party id (default: the host of --issuer; an IP address is none: passkeys are then off)")
	f.List(&c.WebAuthnOrigins, "webauthn-origin", "ORIGIN", "an origin passkeys may be used from; repeatable (default: the origin of --issuer)")
	f.String(&c.EncryptionKeyFile, "encryption-key-file", "authd.key", "FILE", "32 random bytes that encrypt secrets at rest (authenticator apps); made with mode 0600 when missing; every node needs the same file")
	f.String(&c.SMTP, "smtp", "", "URL", "where mail goes: smtp://[user:pass@]host:port (STARTTLS when offered) or smtps://… (TLS); without it mail is only written to the log under --dev, and otherwise recovery, resend and change of email answer 503")
	f.String(&c.MailFrom, "mail-from", "", "ADDRESS", "the From of every mail (default: authd <no-reply@HOST>, HOST the issuer's host, localhost when that is an IP)")
	f.Enum(&c.EmailVerification, "email-verification", "optional", "MODE", emailVerificationModes, "off (no mail), optional (mail a link at sign-up, sign-in allowed) or required (sign-in refused until the link is used)")
	f.Duration(&c.RecoveryTTL, "recovery-ttl", 30*time.Minute, "lifetime of a password-reset or verification link, 1s to 168h")
	f.Bool(&c.DPoPRequired, "dpop-required", false, "refuse tokens that are not DPoP-bound (RFC 9449): the token endpoint wants a DPoP proof, resources a bound token with its proof")
	f.Bool(&c.DPoPNonce, "dpop-nonce", false, "require server nonces in DPoP proofs (RFC 9449 §8): a proof without a fresh nonce is answered use_dpop_nonce with a DPoP-Nonce header")
	f.Enum(&c.LogLevel, "log-level", "info", "LEVEL", logLevels, "log level: "+orList(logLevels))
	storeFlags(f, c)
}

// adminConfig is the configuration of a command that takes only the store
// flags and works on serve's data without serving. Revocations it makes
// (user passwd, lock) last the longest access token lifetime serve can
// have, so that they outlive every token whatever serve's --access-ttl.
func adminConfig() *Config {
	c := &Config{}
	f := newFlags(&command{name: "serve"})
	serveFlags(f, c)
	c.AccessTTL = maxAccessTTL
	c.SessionCache = false // one-shot: no client-side cache of Redis
	if c.RefreshTTL < c.AccessTTL {
		c.RefreshTTL = c.AccessTTL
	}
	return c
}

// check is one rule of the configuration.
type check struct {
	ok  bool
	msg string
}

func (ch check) err() error {
	if ch.ok {
		return nil
	}
	return errors.New(ch.msg)
}

// within checks that the duration flag name is in [lo, hi] (hi 0: no upper
// bound).
func within(name string, d, lo, hi time.Duration) check {
	if hi == 0 {
		return check{d >= lo, fmt.Sprintf("--%s %s: want at least %s", name, fmtDuration(d), fmtDuration(lo))}
	}
	return check{d >= lo && d <= hi, fmt.Sprintf("--%s %s: want %s to %s", name, fmtDuration(d), fmtDuration(lo), fmtDuration(hi))}
}

// validate checks the serve configuration as a table, before anything is
// opened, and returns the first problem as one line.
func (c *Config) validate() error {
	iss, issErr := url.Parse(c.Issuer)
	checks := []check{
		{c.Addr != "", "--addr: want an address like 127.0.0.1:8080, not nothing"},
		{issErr == nil && (iss.Scheme == "http" || iss.Scheme == "https") && iss.Host != "" && iss.RawQuery == "" && iss.Fragment == "",
			fmt.Sprintf("--issuer %q: want an http(s) URL without query or fragment, like https://auth.example.com", c.Issuer)},
		{len(c.Audiences.vals) > 0, "--audience: want at least one audience"},
		{oneOf(c.JWTAlg, token.Algorithms()...), fmt.Sprintf("--jwt-alg %q: want %s", c.JWTAlg, orList(token.Algorithms()))},
		within("access-ttl", c.AccessTTL, time.Second, maxAccessTTL),
		within("refresh-ttl", c.RefreshTTL, time.Second, 0),
		{c.RefreshTTL >= c.AccessTTL, fmt.Sprintf("--refresh-ttl %s: want at least --access-ttl (%s)", fmtDuration(c.RefreshTTL), fmtDuration(c.AccessTTL))},
		within("refresh-grace", c.RefreshGrace, 0, maxRefreshGrace),
		within("revocation-max-staleness", c.RevocationMaxStaleness, time.Second, 0),
		within("session-idle", c.SessionIdle, time.Second, 0),
		{c.SessionMax >= c.SessionIdle, fmt.Sprintf("--session-max %s: want at least --session-idle (%s)", fmtDuration(c.SessionMax), fmtDuration(c.SessionIdle))},
		{c.LoginMaxFailures >= 1, fmt.Sprintf("--login-max-failures %d: want at least 1", c.LoginMaxFailures)},
		{c.LoginMaxFailuresIP >= 1, fmt.Sprintf("--login-max-failures-ip %d: want at least 1", c.LoginMaxFailuresIP)},
		within("login-window", c.LoginWindow, time.Second, 0),
		within("reauth-window", c.ReauthWindow, time.Second, 0),
		{c.EncryptionKeyFile != "", "--encryption-key-file: want a file name, not nothing"},
		within("recovery-ttl", c.RecoveryTTL, time.Second, maxRecoveryTTL),
		{c.EmailVerification != "required" || c.SMTP != "" || c.Dev,
			"--email-verification required needs a way to send mail: pass --smtp (or --dev to write mail to the log)"},
		{(c.TLSCert == "") == (c.TLSKey == ""), "--tls-cert and --tls-key go together: want both or neither"},
		{oneOf(c.LogLevel, logLevels...), fmt.Sprintf("--log-level %q: want %s", c.LogLevel, orList(logLevels))},
	}
	for _, ch := range checks {
		if err := ch.err(); err != nil {
			return err
		}
	}
	for _, o := range c.CORSOrigins.vals {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("--cors-origin %q: want an origin scheme://host[:port], like https://app.example.com", o)
		}
	}
	c.smtp = nil
	if c.SMTP != "" {
		smtp, err := mail.NewSMTP(c.SMTP)
		if err != nil {
			return fmt.Errorf("--smtp: %s", strings.TrimPrefix(err.Error(), "mail: "))
		}
		c.smtp = smtp
	}
	c.mailFrom = mail.DefaultFrom(c.Issuer)
	if c.MailFrom != "" {
		from, err := mail.ParseFrom(c.MailFrom)
		if err != nil {
			return errors.New(strings.TrimPrefix(err.Error(), "mail: "))
		}
		c.mailFrom = from
	}
	c.trustedPrefixes = nil
	for _, p := range c.TrustedProxies.vals {
		pre, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return fmt.Errorf("--trusted-proxy %q: want a CIDR like 10.0.0.0/8 or an address", p)
			}
			pre = netip.PrefixFrom(a, a.BitLen())
		}
		c.trustedPrefixes = append(c.trustedPrefixes, pre.Masked())
	}
	if c.TLSCert != "" {
		for _, f := range []struct{ flag, file string }{{"tls-cert", c.TLSCert}, {"tls-key", c.TLSKey}} {
			if _, err := os.Stat(f.file); err != nil {
				return fmt.Errorf("--%s %s: cannot read it: want a readable PEM file", f.flag, f.file)
			}
		}
	}
	return validateStores(c)
}

// shortLifetimes lists the lifetimes set under one minute, as flag=value:
// fine for trying out expiry, not for production. serve logs them in one
// warning at start.
func (c *Config) shortLifetimes() []string {
	var short []string
	for _, l := range []struct {
		flag string
		d    time.Duration
	}{
		{"access-ttl", c.AccessTTL}, {"refresh-ttl", c.RefreshTTL}, {"session-idle", c.SessionIdle},
		{"session-max", c.SessionMax}, {"login-window", c.LoginWindow}, {"recovery-ttl", c.RecoveryTTL},
	} {
		if l.d < time.Minute {
			short = append(short, "--"+l.flag+"="+fmtDuration(l.d))
		}
	}
	return short
}

// validateStores checks the store URLs' shape.
func validateStores(c *Config) error {
	switch {
	case strings.HasPrefix(c.DB, "sqlite:"):
		if strings.TrimPrefix(c.DB, "sqlite:") == "" {
			return errors.New("--db \"sqlite:\": want a path, like sqlite:authd.db")
		}
	case strings.HasPrefix(c.DB, "postgres://"), strings.HasPrefix(c.DB, "postgresql://"):
	default:
		return fmt.Errorf("--db %q: want sqlite:PATH or postgres://user@host/db", redact.URL(c.DB))
	}
	if c.Redis != "" && !strings.HasPrefix(c.Redis, "redis://") && !strings.HasPrefix(c.Redis, "redis-cluster://") &&
		!strings.HasPrefix(c.Redis, "rediss://") && !strings.HasPrefix(c.Redis, "rediss-cluster://") {
		return fmt.Errorf("--redis %q: want redis://host:port/N or redis-cluster://h1:p1,h2:p2", redact.URL(c.Redis))
	}
	return nil
}

func oneOf(s string, opts ...string) bool {
	for _, o := range opts {
		if s == o {
			return true
		}
	}
	return false
}

// sizeValue is a flag holding a number of bytes: plain (67108864) or with
// a unit, binary (KiB, MiB, GiB, TiB) or decimal (kB, MB, GB, TB), case
// aside, a space allowed before it; B is bytes.
type sizeValue struct{ p *uint64 }

func (s sizeValue) String() string {
	if s.p == nil {
		return "0"
	}
	return fmtSize(*s.p)
}

func (s sizeValue) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s.p = n
	return nil
}

// sizeUnits are parseSize's units, by lower-case name.
var sizeUnits = map[string]uint64{
	"": 1, "b": 1,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
}

// parseSize parses a size in bytes (see sizeValue).
func parseSize(v string) (uint64, error) {
	bad := errors.New("want a size like 64MiB, 128MB or a number of bytes")
	t := strings.TrimSpace(v)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, bad
	}
	n, err := strconv.ParseUint(t[:i], 10, 64)
	unit, ok := sizeUnits[strings.ToLower(strings.TrimSpace(t[i:]))]
	if err != nil || !ok || n > math.MaxUint64/unit {
		return 0, bad
	}
	return n * unit, nil
}

// fmtSize writes n in the largest binary unit that divides it.
func fmtSize(n uint64) string {
	for _, u := range []struct {
		name string
		size uint64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.size == 0 {
			return strconv.FormatUint(n/u.size, 10) + u.name
		}
	}
	return strconv.FormatUint(n, 10)
}

// hashConcurrency is the hasher's bound on hashes at once for
// --hash-memory-budget: as many as fit in it (at least one), and no more
// than GOMAXPROCS; 0 (no budget) is GOMAXPROCS.
func hashConcurrency(p password.Params, budget uint64) int {
	n := password.ConcurrencyFor(p, budget)
	if n <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return min(n, runtime.GOMAXPROCS(0))
}
