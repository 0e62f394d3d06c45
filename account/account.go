// Package account holds the rules of accounts: registration, password
// authentication with per-account and per-IP throttling, password changes
// and locking. It is shared by the login form, the JSON API, the OAuth
// password grant and the command line, so those rules hold the same
// everywhere.
package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"strings"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/password"
)

// SessionRevoker ends a user's sessions; *session.Manager is one.
type SessionRevoker interface {
	RevokeAll(ctx context.Context, userID, except string) ([]string, error)
}

// TokenRevoker ends a user's refresh token families and their access tokens.
type TokenRevoker interface {
	RevokeUser(ctx context.Context, userID string) error
}

// Config configures a Service.
type Config struct {
	MaxFailures   int           // per account within Window
	MaxFailuresIP int           // per client IP within Window
	Window        time.Duration // the throttle window
	Now           func() time.Time
	Logger        *slog.Logger
}

// Service applies the account rules.
type Service struct {
	users    authd.UserStore
	limiter  authd.Limiter
	audit    authd.AuditLog
	hasher   *password.Hasher
	sessions SessionRevoker
	tokens   TokenRevoker // may be nil
	cfg      Config
	dir      authd.UserDirectory // nil until UseDirectory
	mail     *mailRules          // nil until UseMail
	// identities and upstreamSignup: sign-in through upstream providers
	// (UseIdentities).
	identities     authd.IdentityStore
	upstreamSignup bool
}

// NewService returns a Service. tokens may be nil.
func NewService(users authd.UserStore, limiter authd.Limiter, audit authd.AuditLog, hasher *password.Hasher,
	sessions SessionRevoker, tokens TokenRevoker, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{users: users, limiter: limiter, audit: audit, hasher: hasher, sessions: sessions, tokens: tokens, cfg: cfg}
}

// SetTokenRevoker sets the TokenRevoker after construction (the token
// service is built from stores the account service also uses).
func (s *Service) SetTokenRevoker(t TokenRevoker) { s.tokens = t }

// Meta is what is known of the client making a request, for throttling and
// the audit log.
type Meta struct {
	IP        string
	UserAgent string
}

// MaxEmailLen bounds an email address (RFC 5321's path limit).
const MaxEmailLen = 254

// NormalizeEmail trims and lower-cases an email address.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// ValidateEmail checks that email (normalised) is one plain address.
func ValidateEmail(email string) error {
	if email == "" {
		return authd.Invalidf("email", "email is required")
	}
	if len(email) > MaxEmailLen {
		return authd.Invalidf("email", "email is longer than %d characters", MaxEmailLen)
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return authd.Invalidf("email", "email must be a plain address like name@example.com")
	}
	return nil
}

// Register creates a user with email and password and no roles. A weak
// password or a malformed email is an *authd.InvalidError; a taken email is
// authd.ErrConflict.
func (s *Service) Register(ctx context.Context, email, pw string) (*authd.User, error) {
	return s.Create(ctx, email, pw, nil)
}

// Create is Register with roles, for the command line.
func (s *Service) Create(ctx context.Context, email, pw string, roles []string) (*authd.User, error) {
	email = NormalizeEmail(email)
	if err := ValidateEmail(email); err != nil {
		return nil, err
	}
	if err := password.Check(pw, email); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return nil, fmt.Errorf("account: hash password: %w", err)
	}
	now := s.cfg.Now()
	if roles == nil {
		roles = []string{}
	}
	u := &authd.User{ID: authd.NewID(), Email: email, PasswordHash: hash, Roles: roles, CreatedAt: now, UpdatedAt: now}
	if err := s.createUser(ctx, u); err != nil {
		return nil, err
	}
	return u, nil
}

// Authenticate checks email and password. Unknown email, wrong password and
// locked account all return authd.ErrInvalidCredentials after the same work
// (one argon2id verification). While the ip or the account has used up its
// attempts in the window it returns *authd.ThrottledError without checking
// the password, the right one included. A store failure is
// authd.ErrUnavailable.
func (s *Service) Authenticate(ctx context.Context, email, pw string, meta Meta) (*authd.User, error) {
	email = NormalizeEmail(email)
	now := s.cfg.Now()
	acctKey, ipKey := accountKey(email), "ip:"+meta.IP
	if err := s.countAttempt(ctx, acctKey, ipKey, meta, now); err != nil {
		return nil, err
	}
	// NOTE: an oversized password is refused before hashing would cost
	// anything, but with the same answer as a wrong one: the login form
	// tells nothing about the policy.
	var u *authd.User
	var err error
	if len(email) <= MaxEmailLen && len(pw) <= password.MaxBytes {
		u, err = s.users.UserByEmail(ctx, email)
		if err != nil && !errors.Is(err, authd.ErrNotFound) {
			return nil, fmt.Errorf("account: find user: %w", err)
		}
	}
	ok, rehash := false, false
	switch {
	case u == nil || u.PasswordHash == "":
		// NOTE: an unknown email costs one argon2id verification like a
		// wrong password, so timing does not reveal which emails exist (P4).
		// So does an account without a password (made through an upstream
		// provider): no password opens it.
		s.hasher.VerifyDummy(ctx, pw)
	default:
		ok, rehash, err = s.hasher.Verify(ctx, u.PasswordHash, pw)
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			s.cfg.Logger.ErrorContext(ctx, "stored password hash unusable", "user_id", u.ID, "err", err)
			ok = false
		}
	}
	if !ok || u.Locked {
		// The attempt stays counted: it was a failure.
		s.recordFailure(ctx, meta, u, now)
		return nil, authd.ErrInvalidCredentials
	}
	if err := s.attemptSucceeded(ctx, acctKey, ipKey, meta, now); err != nil {
		return nil, err
	}
	if err := s.CheckVerified(ctx, u); err != nil {
		return nil, err
	}
	if rehash {
		// Parameters have risen since this hash was made: upgrade it now
		// that the password is at hand. A failure here is not the user's.
		if h, err := s.hasher.Hash(ctx, pw); err == nil {
			if err := s.users.SetPasswordHash(ctx, u.ID, h, now); err != nil {
				s.cfg.Logger.WarnContext(ctx, "password rehash not saved", "user_id", u.ID, "err", err)
			} else {
				u.PasswordHash = h
			}
		}
	}
	return u, nil
}

// The throttle's keys that name an account: its sign-in attempts, its
// recovery mails, its verification mails. Erase forgets all three.
func accountKey(email string) string  { return "acct:" + email }
func recoveryKey(email string) string { return "recovery:" + email }
func verifyKey(userID string) string  { return "verify:" + userID }

// countAttempt counts one sign-in attempt for the client ip and the
// account, ip first, and refuses it (*authd.ThrottledError) when either's
// slot is over its limit.
//
// NOTE: the attempt is counted before the secret is checked, in one atomic
// store operation whose result is this attempt's slot, and only an attempt
// whose slot is within the limit is checked (SECURITY P5). Reading the
// count, checking, then adding let 40 parallel guesses against a limit of 3
// check 39 passwords. The ip is counted first, so that a throttled ip
// spends none of the account's attempts.
func (s *Service) countAttempt(ctx context.Context, acctKey, ipKey string, meta Meta, now time.Time) error {
	if meta.IP != "" {
		if err := s.attempt(ctx, ipKey, s.cfg.MaxFailuresIP, now); err != nil {
			return err
		}
	}
	return s.attempt(ctx, acctKey, s.cfg.MaxFailures, now)
}

// attemptSucceeded takes back a counted attempt that succeeded: the
// account's count starts over, the ip gets its slot back.
func (s *Service) attemptSucceeded(ctx context.Context, acctKey, ipKey string, meta Meta, now time.Time) error {
	if s.cfg.MaxFailures > 0 {
		if err := s.limiter.ResetFailures(ctx, acctKey); err != nil {
			return fmt.Errorf("account: reset failures: %w", err)
		}
	}
	if meta.IP != "" && s.cfg.MaxFailuresIP > 0 {
		// A success is no failure of the ip's either; its earlier failures
		// stay counted (one address may be many users).
		if err := s.limiter.ForgiveFailure(ctx, ipKey, now); err != nil {
			return fmt.Errorf("account: forgive attempt: %w", err)
		}
	}
	return nil
}

// CheckSecondFactor runs check, the check of a second factor of u (an
// authenticator app's code, a recovery code), under the login throttle:
// the same counters as passwords, counted first. A throttled attempt is
// *authd.ThrottledError and check does not run; check's error is
// returned as it is and the attempt stays counted.
//
// NOTE: a six-digit code is guessed in at most a million tries; counting
// wrong codes with wrong passwords keeps that out of reach (SECURITY M1,
// RFC 6238 §5.2).
func (s *Service) CheckSecondFactor(ctx context.Context, u *authd.User, meta Meta, check func() error) error {
	now := s.cfg.Now()
	acctKey, ipKey := accountKey(u.Email), "ip:"+meta.IP
	if err := s.countAttempt(ctx, acctKey, ipKey, meta, now); err != nil {
		return err
	}
	if err := check(); err != nil {
		return err
	}
	return s.attemptSucceeded(ctx, acctKey, ipKey, meta, now)
}

// attempt counts one attempt for key and refuses it when its slot is over
// limit. A limit of 0 or less turns the throttle off for key.
func (s *Service) attempt(ctx context.Context, key string, limit int, now time.Time) error {
	if limit <= 0 {
		return nil
	}
	n, reset, err := s.limiter.AddFailure(ctx, key, s.cfg.Window, now)
	if err != nil {
		return fmt.Errorf("account: count attempt: %w", err)
	}
	if n > limit {
		return &authd.ThrottledError{RetryAfter: max(reset.Sub(now), time.Second)}
	}
	return nil
}

func (s *Service) recordFailure(ctx context.Context, meta Meta, u *authd.User, now time.Time) {
	ev := authd.AuditEvent{At: now, Event: authd.EventLoginFailed, IP: meta.IP, UserAgent: meta.UserAgent}
	switch {
	case u == nil:
		ev.Detail = "unknown email"
	case u.Locked:
		ev.UserID, ev.Detail = u.ID, "account locked"
	default:
		ev.UserID, ev.Detail = u.ID, "wrong password"
	}
	s.Record(ctx, ev)
}

// Record writes an audit event to the audit table and the structured log.
// NOTE: events carry ids, addresses and user agents, never a password,
// cookie value, token or hash (P6).
func (s *Service) Record(ctx context.Context, ev authd.AuditEvent) {
	if ev.At.IsZero() {
		ev.At = s.cfg.Now()
	}
	s.cfg.Logger.InfoContext(ctx, "audit", "event", ev.Event, "user_id", ev.UserID, "session_id", ev.SessionID,
		"ip", ev.IP, "user_agent", ev.UserAgent, "detail", ev.Detail)
	if s.audit == nil {
		return
	}
	if err := s.audit.RecordEvent(ctx, ev); err != nil {
		s.cfg.Logger.ErrorContext(ctx, "audit event not stored", "event", ev.Event, "err", err)
	}
}

// ChangePassword sets a new password for the user after checking the
// current one, then ends every other session (keep is the current one) and
// every refresh token family of the user. A wrong current password is
// authd.ErrForbidden; a weak new one an *authd.InvalidError.
func (s *Service) ChangePassword(ctx context.Context, userID, current, next, keep string, meta Meta) error {
	u, err := s.userByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.checkCurrent(ctx, u, current); err != nil {
		return err
	}
	if err := password.Check(next, u.Email); err != nil {
		return newPasswordField(err)
	}
	if err := s.setPassword(ctx, u, next, keep); err != nil {
		return err
	}
	s.Record(ctx, authd.AuditEvent{Event: authd.EventPasswordChanged, UserID: u.ID, SessionID: keep, IP: meta.IP, UserAgent: meta.UserAgent})
	return nil
}

// SetPassword sets the user's password without the current one (the
// command line's `user passwd`) and ends all the user's sessions and
// refresh token families.
func (s *Service) SetPassword(ctx context.Context, email, pw string) error {
	u, err := s.users.UserByEmail(ctx, NormalizeEmail(email))
	if err != nil {
		return fmt.Errorf("account: find user: %w", err)
	}
	if err := password.Check(pw, u.Email); err != nil {
		return err
	}
	if err := s.setPassword(ctx, u, pw, ""); err != nil {
		return err
	}
	s.Record(ctx, authd.AuditEvent{Event: authd.EventPasswordChanged, UserID: u.ID, Detail: "set by administrator"})
	return nil
}

func (s *Service) setPassword(ctx context.Context, u *authd.User, pw, keep string) error {
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return fmt.Errorf("account: hash password: %w", err)
	}
	if err := s.users.SetPasswordHash(ctx, u.ID, hash, s.cfg.Now()); err != nil {
		return fmt.Errorf("account: set password: %w", err)
	}
	return s.revokeAll(ctx, u.ID, keep)
}

func (s *Service) revokeAll(ctx context.Context, userID, keep string) error {
	if _, err := s.sessions.RevokeAll(ctx, userID, keep); err != nil {
		return err
	}
	if s.tokens != nil {
		if err := s.tokens.RevokeUser(ctx, userID); err != nil {
			return fmt.Errorf("account: revoke tokens: %w", err)
		}
	}
	return nil
}

// Lock locks or unlocks the account with this email (the command line):
// see SetLocked.
func (s *Service) Lock(ctx context.Context, email string, locked bool) error {
	u, err := s.users.UserByEmail(ctx, NormalizeEmail(email))
	if err != nil {
		return fmt.Errorf("account: find user: %w", err)
	}
	return s.SetLocked(ctx, u.ID, locked, ActorCLI, Meta{})
}
