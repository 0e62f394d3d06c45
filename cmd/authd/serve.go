package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/authd/authd/account"
	"github.com/authd/authd/cache"
	"github.com/authd/authd/dpop"
	"github.com/authd/authd/httpapi"
	"github.com/authd/authd/mail"
	"github.com/authd/authd/mfa"
	"github.com/authd/authd/oidc"
	"github.com/authd/authd/password"
	"github.com/authd/authd/session"
	"github.com/authd/authd/token"
	"github.com/authd/authd/upstream"

	"github.com/authd/authd/internal/periodic"
	"github.com/authd/authd/internal/redact"
)

// app is authd wired together over opened stores.
type app struct {
	cfg       *Config
	log       *slog.Logger
	stores    *stores
	hasher    *password.Hasher
	tokens    *token.Service
	sessions  *session.Manager
	accounts  *account.Service
	clients   *oidc.Clients
	provider  *oidc.Provider
	mfa       *mfa.Service // nil in the one-shot commands but `user mfa reset`
	sealer    *mfa.Sealer  // set by startMFA
	mailer    *mail.Sender // nil when this server cannot send mail
	upstreams *upstream.Service
	dpop      *dpop.Checker
}

func newLogger(c *Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: lvl}))
}

// newApp wires the business services over st. It generates the first
// signing key when the key store has none.
func newApp(ctx context.Context, c *Config, st *stores, log *slog.Logger) (*app, error) {
	a := &app{cfg: c, log: log, stores: st}
	tc := token.DefaultConfig(c.Issuer, c.Audiences.vals...)
	tc.Alg = c.JWTAlg
	tc.AccessTTL = c.AccessTTL
	tc.RefreshTTL = c.RefreshTTL
	tc.RefreshGrace = c.RefreshGrace
	tc.MaxStaleness = c.RevocationMaxStaleness
	// Every node asks for new revocations this often: the bound on how long
	// a revoked token is accepted elsewhere.
	tc.PollInterval = 20 * time.Millisecond
	if !c.TokenCache {
		tc.CacheSize = -1
	}
	tc.Logger = log
	tokens, err := token.New(ctx, tc, token.Stores{Keys: st.keys, IDKeys: st.idKeys, Refresh: st.refresh, Revocations: st.revocations, Users: st.users, Audit: st.audit})
	if err != nil {
		return nil, fmt.Errorf("cannot start the token service: %v", err)
	}
	a.tokens = tokens
	// Sessions put the ids they end on the revocation list through the
	// token service's set, so this node refuses their tokens at once.
	a.sessions = session.NewManager(st.sessions, tokens.Revocations(), session.Config{
		Idle: c.SessionIdle, Max: c.SessionMax, AccessTTL: c.AccessTTL, Logger: log,
	})
	// --hash-memory-budget bounds the hashes running at once (each holds
	// Params.Memory); never more than GOMAXPROCS, which they could not use.
	hp := password.DefaultParams()
	a.hasher = password.NewHasher(hp, hashConcurrency(hp, c.HashMemoryBudget))
	a.accounts = account.NewService(st.users, st.limiter, st.audit, a.hasher, a.sessions, tokens, account.Config{
		MaxFailures: c.LoginMaxFailures, MaxFailuresIP: c.LoginMaxFailuresIP, Window: c.LoginWindow, Logger: log,
	})
	a.accounts.UseDirectory(st.directory)
	a.clients = oidc.NewClients(st.clients, a.hasher)
	a.provider = oidc.NewProvider(oidc.Config{
		Issuer: c.Issuer, Audiences: c.Audiences.vals, SessionMax: c.SessionMax, Logger: log,
	}, a.clients, tokens, oidc.Stores{
		Codes: st.codes, Consents: st.consents, Links: st.links, Outbox: st.outbox,
		Users: st.users, Audit: st.audit,
	})
	// Every end of a session (logout, revocation, password change, lock,
	// from serve or from a command) queues the back-channel logouts; serve
	// delivers them.
	a.sessions.OnEnd(a.provider.SessionsEnded)
	return a, nil
}

// startMFA loads --encryption-key-file (making it when missing) and starts
// the second-factor rules. With an IP address as the issuer's host and no
// --webauthn-rp-id, passkeys are off: it says so once.
func (a *app) startMFA(c *Config, log *slog.Logger) error {
	sealer, created, err := mfa.LoadKey(c.EncryptionKeyFile)
	if err != nil {
		return fmt.Errorf("--encryption-key-file: %v", err)
	}
	if created {
		log.Warn("made a new encryption key: every node needs this same file, and losing it loses every authenticator app", "file", c.EncryptionKeyFile)
	}
	rpID, origins := webauthnParty(c)
	svc, err := mfa.New(mfa.Config{Issuer: issuerLabel(c.Issuer), RPID: rpID, RPOrigins: origins, Logger: log},
		a.stores.factors, a.stores.challenges, sealer, a.stores.audit)
	if err != nil {
		return fmt.Errorf("--webauthn-rp-id, --webauthn-origin: %v", err)
	}
	if !svc.PasskeysEnabled() {
		log.Warn("passkeys are off: the WebAuthn relying-party id cannot be an IP address; pass --webauthn-rp-id (and an --issuer on that host), e.g. localhost in development", "issuer", c.Issuer)
	}
	a.mfa = svc
	a.sealer = sealer
	a.provider.SetFactors(secondFactors{svc})
	return nil
}

// recoveryPerAddress bounds the recovery mails to one address per
// --login-window (API.md).
const recoveryPerAddress = 3

// startMail turns on the rules that send mail and makes the sender serve
// runs: over --smtp, or the log under --dev. Without either, the requests
// that exist to send mail answer 503, and it says so once. Call after
// startMFA (the outbox is sealed with the same key).
func (a *app) startMail(c *Config, log *slog.Logger) {
	var t mail.Transport
	switch {
	case c.smtp != nil:
		t = c.smtp
	case c.Dev:
		t = mail.LogTransport{Logger: log}
		log.Warn("no --smtp: under --dev every mail is written to this log in full, links included")
	default:
		log.Warn("no --smtp: authd cannot send mail, so password recovery, verification links and changes of email answer 503; registration works without the mail")
	}
	mc := account.MailConfig{
		Site: strings.TrimSuffix(c.Issuer, "/"), LinkTTL: c.RecoveryTTL, Verification: account.Verification(c.EmailVerification),
		MaxRecoveryPerAddress: recoveryPerAddress, MaxRecoveryPerIP: c.LoginMaxFailuresIP,
	}
	if t != nil {
		a.mailer = mail.NewSender(a.stores.outbox, t, a.sealer, mail.SenderConfig{From: c.mailFrom, Logger: log})
		mc.Sealer, mc.Wake = a.sealer, a.mailer.Wake
	}
	a.accounts.UseMail(a.stores.mailLinks, a.stores.outbox, mc)
}

// startUpstreams turns on sign-in through other providers (the list is
// read from --db, and re-read every 5 s, so that every node sees a change
// made by the CLI, the admin API or another node). Call after startMFA:
// client secrets are sealed with the same key.
func (a *app) startUpstreams(c *Config, log *slog.Logger) {
	a.upstreams = upstream.New(upstream.Config{Site: strings.TrimSuffix(c.Issuer, "/"), Logger: log},
		a.stores.upstreams, a.stores.challenges, a.sealer)
	a.accounts.UseIdentities(a.stores.identities, c.Signup)
}

// startDPoP makes the checker of DPoP proofs (RFC 9449): replays are
// remembered in the shared store (Redis when --redis, else --db), so a
// proof is accepted once across every node; server nonces (--dpop-nonce)
// are keyed by a key derived from --encryption-key-file, which every node
// shares. Call after startMFA.
func (a *app) startDPoP(c *Config) error {
	cfg := dpop.Config{}
	if c.DPoPNonce {
		ns, err := dpop.NewNonceSource(a.sealer.Derive("dpop nonce"), dpop.DefaultNoncePeriod)
		if err != nil {
			return fmt.Errorf("--dpop-nonce: %v", err)
		}
		cfg.Nonce = ns
	}
	a.dpop = dpop.New(cfg, a.stores.replays)
	return nil
}

// housekeepReplays deletes expired DPoP replay records every minute (the
// SQL stores keep them until then; Redis expires them itself).
func (a *app) housekeepReplays(ctx context.Context, log *slog.Logger) {
	periodic.Every(ctx, time.Minute, func(ctx context.Context) {
		if err := a.stores.replays.PruneReplays(ctx, time.Now()); err != nil && ctx.Err() == nil {
			log.Warn("dpop: replay housekeeping failed", "err", err)
		}
	})
}

// housekeepLinks deletes expired mail links every minute.
func (a *app) housekeepLinks(ctx context.Context, log *slog.Logger) {
	periodic.Every(ctx, time.Minute, func(ctx context.Context) {
		if _, err := a.stores.mailLinks.DeleteLinksBefore(ctx, time.Now()); err != nil && ctx.Err() == nil {
			log.Warn("mail links: housekeeping failed", "err", err)
		}
	})
}

// housekeepMFA deletes expired WebAuthn challenges every minute.
func (a *app) housekeepMFA(ctx context.Context, log *slog.Logger) {
	periodic.Every(ctx, time.Minute, func(ctx context.Context) {
		if err := a.mfa.DeleteExpiredChallenges(ctx); err != nil && ctx.Err() == nil {
			log.Warn("mfa: housekeeping failed", "err", err)
		}
	})
}

// secondFactors tells the authorization server who can sign in with two
// factors (acr_values=aal2).
type secondFactors struct{ m *mfa.Service }

func (f secondFactors) HasSecondFactor(ctx context.Context, userID string) (bool, error) {
	st, err := f.m.Status(ctx, userID)
	return len(st.Methods()) > 0, err
}

// webauthnParty is the WebAuthn relying-party id and origins: the flags,
// else the host and origin of --issuer; "" when that host is an IP.
func webauthnParty(c *Config) (string, []string) {
	u, err := url.Parse(c.Issuer)
	if err != nil {
		return c.WebAuthnRPID, c.WebAuthnOrigins.vals
	}
	rpID := c.WebAuthnRPID
	if rpID == "" {
		if _, err := netip.ParseAddr(u.Hostname()); err != nil {
			rpID = u.Hostname()
		}
	}
	origins := c.WebAuthnOrigins.vals
	if len(origins) == 0 {
		origins = []string{u.Scheme + "://" + u.Host}
	}
	return rpID, origins
}

// issuerLabel is the name authenticator apps show: the issuer's host.
func issuerLabel(issuer string) string {
	if u, err := url.Parse(issuer); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "authd"
}

// openApp is how a one-shot command (user, client) starts: it opens the
// stores, refusing a missing SQLite file, and wires authd over them without
// logs. The caller closes a.stores.
func openApp(ctx context.Context, c *Config) (*app, error) {
	st, err := openStores(ctx, c, mustExist)
	if err != nil {
		return nil, err
	}
	a, err := newApp(ctx, c, st, slog.New(slog.DiscardHandler))
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

var serveCmd = &command{
	name:    "serve",
	summary: "run the server (creates or upgrades the schema first)",
	usage:   "serve [flags]",
	more: `Prints "authd listening on ADDR" when ready; stops cleanly on SIGINT and
SIGTERM. The listen address is taken before the store is opened, so a
busy address leaves nothing behind.`,
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c := &Config{}
	f := newFlags(serveCmd)
	serveFlags(f, c)
	if err := f.parse(args, getenv, stdout); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	log := newLogger(c, stderr)
	// NOTE: the address is taken before the store is opened, so that a
	// busy port (another authd) neither creates nor migrates anything.
	ln, err := listen(c)
	if err != nil {
		return err
	}
	defer ln.Close()
	st, err := openStores(ctx, c, mayCreate)
	if err != nil {
		return err
	}
	defer st.Close()
	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	if src, ok := st.sessions.(cache.Source); ok && c.SessionCache {
		// NOTE: the cache serves from memory only while the store's change
		// feed is followed; see package cache.
		sc := cache.New(src, cache.Config{Logger: log})
		go sc.Run(runCtx)
		st.sessions = sc
	}
	a, err := newApp(ctx, c, st, log)
	if err != nil {
		return err
	}
	if err := a.startMFA(c, log); err != nil {
		return err
	}
	a.startMail(c, log)
	a.startUpstreams(c, log)
	if err := a.startDPoP(c); err != nil {
		return err
	}
	go a.housekeepReplays(runCtx, log)
	go a.upstreams.Run(runCtx)
	if a.mailer != nil {
		go a.mailer.Run(runCtx)
	}
	go a.housekeepLinks(runCtx, log)
	go a.tokens.Run(runCtx)
	go a.provider.RunBackchannel(runCtx)
	go a.provider.Run(runCtx)
	go a.housekeepMFA(runCtx, log)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := httpapi.New(httpConfig(c, log, reg), httpapi.Deps{Accounts: a.accounts, Sessions: a.sessions, Users: st.users,
		Verifier: a.tokens, Tokens: a.tokens, Clients: a.clients, OIDC: a.provider, MFA: a.mfa, Audit: st.auditReader,
		Directory: st.directory, Registry: a.clients, Upstreams: a.upstreams, DPoP: a.dpop, Ready: st.checks})
	if err != nil {
		return err
	}

	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// Long enough for the revocation feed's 30 s long-poll.
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 32 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// After everything that can fail: a refused start stays one line.
	if short := c.shortLifetimes(); len(short) > 0 {
		log.Warn("lifetimes under one minute: fine for trying out expiry, not for production", "flags", strings.Join(short, " "))
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "authd listening on %s\n", ln.Addr())
	log.Info("serving", "addr", ln.Addr().String(), "db", redact.URL(c.DB), "dev", c.Dev, "password_grant", c.PasswordGrant)

	select {
	case err := <-errc:
		return fmt.Errorf("server stopped: %v", err)
	case <-ctx.Done():
	}
	// In-flight requests finish; long-polls are told to return by the
	// base context ending.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil {
		log.Warn("shutdown incomplete", "err", err)
	}
	// Recovery requests answered but still being worked on finish.
	a.accounts.Wait()
	log.Info("stopped")
	return nil
}

// httpConfig is what serve's flags say to package httpapi.
func httpConfig(c *Config, log *slog.Logger, reg *prometheus.Registry) httpapi.Config {
	return httpapi.Config{
		Dev: c.Dev, Issuer: c.Issuer, Signup: c.Signup, PasswordGrant: c.PasswordGrant, ReauthWindow: c.ReauthWindow,
		DPoPRequired:    c.DPoPRequired,
		RequireMFARoles: c.RequireMFARoles.vals,
		CORSOrigins:     c.CORSOrigins.vals, TrustedProxies: c.trustedPrefixes,
		TLS: c.TLSCert != "", Logger: log, Registry: reg,
	}
}

// listen takes --addr (with TLS when --tls-cert is set). Its error is one
// line naming the address and why.
func listen(c *Config) (net.Listener, error) {
	var tlsCfg *tls.Config
	if c.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("cannot load --tls-cert %s / --tls-key %s: %v", c.TLSCert, c.TLSKey, err)
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", c.Addr)
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("cannot listen on --addr %s: the address is in use (is another authd running?)", c.Addr)
	case err != nil:
		var cause error = err
		if oe, ok := err.(*net.OpError); ok && oe.Err != nil {
			cause = oe.Err
		}
		return nil, fmt.Errorf("cannot listen on --addr %s: %v", c.Addr, cause)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	return ln, nil
}

var migrateCmd = &command{
	name:    "migrate",
	summary: "create or upgrade the schema of --db, then exit",
	usage:   "migrate [--db URL] [--redis URL]",
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	c := adminConfig()
	f := newFlags(migrateCmd)
	storeFlags(f, c)
	if err := f.parse(args, getenv, stdout); err != nil {
		return err
	}
	st, err := openStores(ctx, c, mayCreate)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(stdout, "schema of %s is up to date\n", redact.URL(c.DB))
	return nil
}
