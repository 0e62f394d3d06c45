package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"
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
	TrustedProxies         list
	Signup                 bool
	CORSOrigins            list
	TLSCert, TLSKey        string
	Dev                    bool
	SessionCache           bool
	TokenCache             bool
	LogLevel               string

	trustedPrefixes []netip.Prefix
}

// list is a repeatable flag. Values from the environment are
// comma-separated; the first value given on the command line replaces them
// (a flag wins over its variable).
type list struct {
	vals    []string
	fromEnv bool
}

func (l *list) String() string { return strings.Join(l.vals, ",") }
func (l *list) Set(v string) error {
	if l.fromEnv {
		l.vals, l.fromEnv = nil, false
	}
	l.vals = append(l.vals, v)
	return nil
}

// flagSet makes a FlagSet for a command whose errors are returned, never printed.
func flagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// storeFlags registers the flags every command takes.
func storeFlags(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.DB, "db", "sqlite:authd.db", "`URL` of the main store: sqlite:PATH or postgres://… (users, sessions, refresh tokens, keys, audit)")
	fs.StringVar(&c.Redis, "redis", "", "`URL` redis://host:port/N or redis-cluster://h1:p1,h2:p2,…: sessions, the revocation list and rate-limit counters live there")
	fs.StringVar(&c.RedisPrefix, "redis-prefix", "authd:", "`prefix` of every Redis key authd writes (several deployments can share one Redis)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "log `level`: debug, info, warn, error")
}

// serveFlags registers the flags of serve (and of the commands that need
// the same token settings).
func serveFlags(fs *flag.FlagSet, c *Config) {
	storeFlags(fs, c)
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8080", "listen `address`")
	fs.StringVar(&c.Issuer, "issuer", "http://127.0.0.1:8080", "iss of tokens and base `URL` of the discovery document")
	c.Audiences = list{vals: []string{"authd"}, fromEnv: true}
	fs.Var(&c.Audiences, "audience", "default aud of access tokens (repeatable)")
	fs.StringVar(&c.JWTAlg, "jwt-alg", "EdDSA", "signing `algorithm` of new keys: EdDSA, ES256, RS256, HS256")
	fs.DurationVar(&c.AccessTTL, "access-ttl", 15*time.Minute, "access token lifetime")
	fs.DurationVar(&c.RefreshTTL, "refresh-ttl", 336*time.Hour, "refresh token family absolute lifetime")
	fs.DurationVar(&c.RefreshGrace, "refresh-grace", 10*time.Second, "how long a just-rotated refresh token may be presented again and get the same successor (retries, two tabs)")
	fs.DurationVar(&c.RevocationMaxStaleness, "revocation-max-staleness", 5*time.Second, "refuse bearer tokens (503) when the revocation list could not be refreshed for this long")
	fs.DurationVar(&c.SessionIdle, "session-idle", 24*time.Hour, "a session unused this long is dead")
	fs.DurationVar(&c.SessionMax, "session-max", 720*time.Hour, "a session older than this is dead, used or not")
	fs.IntVar(&c.LoginMaxFailures, "login-max-failures", 10, "failed logins for one account within --login-window before it is throttled")
	fs.DurationVar(&c.LoginWindow, "login-window", 15*time.Minute, "the failed-login window")
	fs.IntVar(&c.LoginMaxFailuresIP, "login-max-failures-ip", 100, "failed logins from one client IP within --login-window before it is throttled")
	fs.Var(&c.TrustedProxies, "trusted-proxy", "`CIDR` whose X-Forwarded-For is believed (repeatable)")
	fs.BoolVar(&c.Signup, "signup", true, "whether POST /v1/register is open")
	fs.Var(&c.CORSOrigins, "cors-origin", "allowed browser `origin` for the JSON API (repeatable)")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "certificate `file` (PEM): serve HTTPS")
	fs.StringVar(&c.TLSKey, "tls-key", "", "private key `file` (PEM) for --tls-cert")
	fs.BoolVar(&c.SessionCache, "session-cache", true, "keep validated sessions in memory, kept true by the store's change feed (PostgreSQL LISTEN/NOTIFY, SQLite polling); turn off on databases without LISTEN (CockroachDB)")
	fs.BoolVar(&c.TokenCache, "token-cache", true, "keep verified access tokens in memory until they expire (revocation is still checked on every request)")
	fs.BoolVar(&c.Dev, "dev", false, "allow plain-HTTP cookies without Secure and the __Host- prefix (local development only)")
}

// envName is the variable of a flag: --session-idle is AUTHD_SESSION_IDLE.
func envName(flagName string) string {
	return "AUTHD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse applies the environment, then the command line, to fs. --help
// prints the command's usage to stdout and returns errHelp.
func parse(fs *flag.FlagSet, args []string, getenv func(string) string, stdout io.Writer, synopsis string) error {
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		v := getenv(envName(f.Name))
		if v == "" || envErr != nil {
			return
		}
		if l, ok := f.Value.(*list); ok {
			l.vals, l.fromEnv = nil, false
			for _, x := range strings.Split(v, ",") {
				if x = strings.TrimSpace(x); x != "" {
					l.vals = append(l.vals, x)
				}
			}
			l.fromEnv = true
			return
		}
		if err := f.Value.Set(v); err != nil {
			envErr = fmt.Errorf("%s=%q: %v", envName(f.Name), v, cleanFlagErr(err))
		}
	})
	if envErr != nil {
		return envErr
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(fs, stdout, synopsis)
			return errHelp{}
		}
		return fmt.Errorf("%s: %v; run 'authd %s --help'", fs.Name(), cleanFlagErr(err), fs.Name())
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q; run 'authd %s --help'", fs.Name(), fs.Arg(0), fs.Name())
	}
	return nil
}

func cleanFlagErr(err error) string {
	s := err.Error()
	if i := strings.Index(s, ": parse error"); i >= 0 {
		s = s[:i] + ": not a valid value"
	}
	return s
}

func printUsage(fs *flag.FlagSet, w io.Writer, synopsis string) {
	fmt.Fprintf(w, "Usage: authd %s\n\nFlags (each also read from its AUTHD_* variable; a flag wins):\n", synopsis)
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// check is one rule of the configuration.
type check struct {
	ok  bool
	msg string
}

// validate checks the serve configuration as a table, before anything is
// opened, and returns the first problem as one line.
func (c *Config) validate() error {
	iss, issErr := url.Parse(c.Issuer)
	checks := []check{
		{c.Addr != "", "--addr must not be empty"},
		{issErr == nil && (iss.Scheme == "http" || iss.Scheme == "https") && iss.Host != "" && iss.RawQuery == "" && iss.Fragment == "",
			"--issuer must be an http(s) URL without query or fragment, like https://auth.example.com"},
		{len(c.Audiences.vals) > 0, "--audience: at least one audience is needed"},
		{oneOf(c.JWTAlg, "EdDSA", "ES256", "RS256", "HS256"), fmt.Sprintf("--jwt-alg %q: use EdDSA, ES256, RS256 or HS256", c.JWTAlg)},
		{c.AccessTTL >= time.Minute && c.AccessTTL <= 24*time.Hour, "--access-ttl must be between 1m and 24h"},
		{c.RefreshTTL >= c.AccessTTL, "--refresh-ttl must be at least --access-ttl"},
		{c.RefreshGrace >= 0 && c.RefreshGrace <= time.Minute, "--refresh-grace must be between 0s and 1m"},
		{c.RevocationMaxStaleness >= time.Second, "--revocation-max-staleness must be at least 1s"},
		{c.SessionIdle >= time.Minute, "--session-idle must be at least 1m"},
		{c.SessionMax >= c.SessionIdle, "--session-max must be at least --session-idle"},
		{c.LoginMaxFailures >= 1, "--login-max-failures must be at least 1"},
		{c.LoginMaxFailuresIP >= 1, "--login-max-failures-ip must be at least 1"},
		{c.LoginWindow >= time.Second, "--login-window must be at least 1s"},
		{(c.TLSCert == "") == (c.TLSKey == ""), "--tls-cert and --tls-key go together"},
	}
	for _, ch := range checks {
		if !ch.ok {
			return errors.New(ch.msg)
		}
	}
	for _, o := range c.CORSOrigins.vals {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("--cors-origin %q: an origin is scheme://host[:port], like https://app.example.com", o)
		}
	}
	c.trustedPrefixes = nil
	for _, p := range c.TrustedProxies.vals {
		pre, err := netip.ParsePrefix(p)
		if err != nil {
			a, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return fmt.Errorf("--trusted-proxy %q: not a CIDR like 10.0.0.0/8 or an address", p)
			}
			pre = netip.PrefixFrom(a, a.BitLen())
		}
		c.trustedPrefixes = append(c.trustedPrefixes, pre.Masked())
	}
	if c.TLSCert != "" {
		for _, f := range []string{c.TLSCert, c.TLSKey} {
			if _, err := os.Stat(f); err != nil {
				return fmt.Errorf("--tls-cert/--tls-key: cannot read %s", f)
			}
		}
	}
	return validateStores(c)
}

// validateStores checks the store URLs' shape.
func validateStores(c *Config) error {
	switch {
	case strings.HasPrefix(c.DB, "sqlite:"):
		if strings.TrimPrefix(c.DB, "sqlite:") == "" {
			return errors.New("--db sqlite: needs a path, like sqlite:authd.db")
		}
	case strings.HasPrefix(c.DB, "postgres://"), strings.HasPrefix(c.DB, "postgresql://"):
	default:
		return fmt.Errorf("--db %q: use sqlite:PATH or postgres://user@host/db", redactURL(c.DB))
	}
	if c.Redis != "" && !strings.HasPrefix(c.Redis, "redis://") && !strings.HasPrefix(c.Redis, "redis-cluster://") &&
		!strings.HasPrefix(c.Redis, "rediss://") && !strings.HasPrefix(c.Redis, "rediss-cluster://") {
		return fmt.Errorf("--redis %q: use redis://host:port/N or redis-cluster://h1:p1,h2:p2", redactURL(c.Redis))
	}
	if !oneOf(c.LogLevel, "debug", "info", "warn", "error") {
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// redactURL hides a password in a store URL before it reaches a message.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}

func oneOf(s string, opts ...string) bool {
	for _, o := range opts {
		if s == o {
			return true
		}
	}
	return false
}
