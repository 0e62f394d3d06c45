package mfa

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/authd/authd"
)

// Errors of the second-factor rules, checked with errors.Is.
var (
	// ErrSealed: a sealed value does not open (another key, another user,
	// changed bytes).
	ErrSealed = errors.New("mfa: sealed value does not open")
	// ErrNoRPID: passkeys are off because no WebAuthn RP id is configured
	// (or the issuer's host is an IP address, which is no valid RP id).
	ErrNoRPID = errors.New("mfa: passkeys are disabled: no WebAuthn RP id (an IP address is none; set --webauthn-rp-id, e.g. localhost)")
	// ErrAlreadyEnrolled: the user already has a confirmed authenticator
	// app; it must be removed before another is enrolled.
	ErrAlreadyEnrolled = errors.New("mfa: an authenticator app is already enrolled")
	// ErrNotEnrolled: the user has no such factor (no TOTP enrolment to
	// confirm, no passkey to sign in with, no second factor at all).
	ErrNotEnrolled = errors.New("mfa: no such second factor")
	// ErrInvalidCode: a TOTP or recovery code that is wrong, malformed,
	// outside ±1 step, already used or for a factor the user does not have.
	// NOTE: one error for all of these, so that no answer tells them apart.
	ErrInvalidCode = errors.New("mfa: invalid code")
	// ErrInvalidCredential: a WebAuthn response that does not verify, or
	// whose challenge is unknown, expired, spent or for another purpose or
	// user.
	ErrInvalidCredential = errors.New("mfa: invalid passkey credential")
	// ErrCounterRegressed: a passkey's signature counter did not go forward
	// (a cloned authenticator); the sign-in is refused and audited.
	ErrCounterRegressed = errors.New("mfa: passkey signature counter went backwards")
)

// Audit event names (the root package's).
const (
	eventEnrolled         = authd.EventMFAEnrolled
	eventRemoved          = authd.EventMFARemoved
	eventFailed           = authd.EventMFAFailed
	eventRecoveryCodeUsed = authd.EventRecoveryCodeUsed
	eventCounterRegressed = authd.EventPasskeyCounterRegressed
)

// MaxChallengeTTL is the longest a WebAuthn challenge may live (M3).
const MaxChallengeTTL = 5 * time.Minute

// Config is the second-factor configuration, validated once by New.
type Config struct {
	// Issuer is the label of the otpauth URI and the name authenticator
	// apps show (default "authd"). It must not contain ':' (so not a URL:
	// pass the issuer's host).
	Issuer string
	// RPID is the WebAuthn relying-party id (--webauthn-rp-id, by default
	// the host of --issuer). Empty or an IP address: passkeys are off and
	// the passkey methods return ErrNoRPID.
	RPID string
	// RPOrigins are the origins allowed in clientDataJSON
	// (--webauthn-origin, by default the origin of --issuer). Each host
	// must be RPID or a subdomain of it.
	RPOrigins []string
	// RPName is the relying party's display name (default Issuer).
	RPName string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// ChallengeTTL is how long a WebAuthn challenge lives (default and
	// maximum 5 minutes).
	ChallengeTTL time.Duration
	// Logger receives the audit events that could not be stored (default:
	// discarded).
	Logger *slog.Logger
}

// Service applies the second-factor rules over a FactorStore and a
// ChallengeStore. It is safe for concurrent use.
type Service struct {
	cfg        Config
	factors    authd.FactorStore
	challenges authd.ChallengeStore
	sealer     *Sealer
	audit      authd.AuditLog
	wa         *webauthn.WebAuthn // nil: passkeys are off
}

// New validates cfg and returns a Service. audit may be nil (no audit
// trail: tests only).
func New(cfg Config, factors authd.FactorStore, challenges authd.ChallengeStore, sealer *Sealer, audit authd.AuditLog) (*Service, error) {
	if cfg.Issuer == "" {
		cfg.Issuer = "authd"
	}
	if cfg.RPName == "" {
		cfg.RPName = cfg.Issuer
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ChallengeTTL == 0 {
		cfg.ChallengeTTL = MaxChallengeTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	checks := []struct {
		bad bool
		msg string
	}{
		{factors == nil, "a FactorStore is required"},
		{sealer == nil, "a Sealer is required (LoadKey)"},
		{passkeysOn(cfg.RPID) && challenges == nil, "a ChallengeStore is required for passkeys"},
		{cfg.ChallengeTTL < 0 || cfg.ChallengeTTL > MaxChallengeTTL,
			fmt.Sprintf("ChallengeTTL %s is outside (0, %s]", cfg.ChallengeTTL, MaxChallengeTTL)},
		{strings.Contains(cfg.Issuer, ":"), fmt.Sprintf("Issuer %q must not contain ':' (it labels the otpauth URI: use a name, e.g. the issuer's host)", cfg.Issuer)},
	}
	for _, c := range checks {
		if c.bad {
			return nil, fmt.Errorf("mfa: %s", c.msg)
		}
	}
	s := &Service{cfg: cfg, factors: factors, challenges: challenges, sealer: sealer, audit: audit}
	if !passkeysOn(cfg.RPID) {
		return s, nil
	}
	if err := checkOrigins(cfg.RPID, cfg.RPOrigins); err != nil {
		return nil, err
	}
	// NOTE: go-webauthn's own expiry check reads the wall clock; authd
	// enforces the challenge lifetime in the ChallengeStore with the
	// injected clock instead, so Enforce stays off and the timeouts only
	// tell the browser how long to wait.
	timeout := webauthn.TimeoutConfig{Timeout: cfg.ChallengeTTL, TimeoutUVD: cfg.ChallengeTTL}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:                  cfg.RPID,
		RPDisplayName:         cfg.RPName,
		RPOrigins:             cfg.RPOrigins,
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementPreferred,
			RequireResidentKey: protocol.ResidentKeyNotRequired(),
			UserVerification:   protocol.VerificationPreferred,
		},
		Timeouts: webauthn.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return nil, fmt.Errorf("mfa: WebAuthn configuration: %w", err)
	}
	s.wa = wa
	return s, nil
}

// passkeysOn reports whether rpID can be a WebAuthn RP id at all.
func passkeysOn(rpID string) bool {
	return rpID != "" && net.ParseIP(strings.Trim(rpID, "[]")) == nil
}

// checkOrigins requires at least one origin and every origin's host to be
// rpID or one of its subdomains (WebAuthn L3 §5.1.3 step 8: a browser
// refuses any other pair, so such a configuration could never sign anyone
// in).
func checkOrigins(rpID string, origins []string) error {
	if len(origins) == 0 {
		return fmt.Errorf("mfa: WebAuthn RP id %q needs at least one origin (--webauthn-origin)", rpID)
	}
	for _, o := range origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("mfa: WebAuthn origin %q is not an origin like https://example.com", o)
		}
		host := strings.ToLower(u.Hostname())
		id := strings.ToLower(rpID)
		if host != id && !strings.HasSuffix(host, "."+id) {
			return fmt.Errorf("mfa: WebAuthn origin %q is not on the RP id %q or a subdomain of it (set --webauthn-rp-id or --webauthn-origin)", o, rpID)
		}
	}
	return nil
}

// PasskeysEnabled reports whether passkeys are on (an RP id is configured).
func (s *Service) PasskeysEnabled() bool { return s.wa != nil }

// Status is what second factors a user has.
type Status struct {
	// TOTP is true when the user has a confirmed authenticator app.
	TOTP bool
	// Passkeys are the user's passkeys, oldest first.
	Passkeys []*authd.Passkey
	// RecoveryCodesLeft is how many unused recovery codes the user has.
	RecoveryCodesLeft int
}

// Methods returns the second-factor methods the user can use at a pending
// sign-in, in this order: "totp" (a confirmed authenticator app),
// "webauthn" (at least one passkey), "recovery_code" (codes left, beside
// one of the others). It is empty (not nil) when the user has no second
// factor.
func (st Status) Methods() []string {
	m := []string{}
	if st.TOTP {
		m = append(m, "totp")
	}
	if len(st.Passkeys) > 0 {
		m = append(m, "webauthn")
	}
	if st.RecoveryCodesLeft > 0 && (st.TOTP || len(st.Passkeys) > 0) {
		m = append(m, "recovery_code")
	}
	return m
}

// hasFactor reports whether st holds a second factor other than recovery
// codes (which only ever come with one).
func (st Status) hasFactor() bool { return st.TOTP || len(st.Passkeys) > 0 }

// Status returns the second factors of the user userID.
func (s *Service) Status(ctx context.Context, userID string) (Status, error) {
	var st Status
	t, err := s.factors.TOTPOf(ctx, userID)
	switch {
	case err == nil:
		st.TOTP = t.Confirmed
	case !errors.Is(err, authd.ErrNotFound):
		return Status{}, fmt.Errorf("mfa: status: %w", err)
	}
	if st.Passkeys, err = s.factors.Passkeys(ctx, userID); err != nil {
		return Status{}, fmt.Errorf("mfa: status: %w", err)
	}
	if st.RecoveryCodesLeft, err = s.factors.RecoveryCodesLeft(ctx, userID); err != nil {
		return Status{}, fmt.Errorf("mfa: status: %w", err)
	}
	return st, nil
}

// Reset deletes every second factor of the user (the operator's `authd user
// mfa reset` and DELETE /admin/v1/users/{id}/mfa). Idempotent.
func (s *Service) Reset(ctx context.Context, userID string) error {
	if err := s.factors.DeleteFactors(ctx, userID); err != nil {
		return fmt.Errorf("mfa: reset: %w", err)
	}
	s.record(ctx, eventRemoved, userID, "reset by an operator")
	return nil
}

// DeleteExpiredChallenges deletes the WebAuthn challenges that expired
// (housekeeping; TakeChallenge already refuses them).
func (s *Service) DeleteExpiredChallenges(ctx context.Context) error {
	if s.challenges == nil {
		return nil
	}
	if _, err := s.challenges.DeleteChallengesBefore(ctx, s.cfg.Now()); err != nil {
		return fmt.Errorf("mfa: delete expired challenges: %w", err)
	}
	return nil
}

// dropOrphanRecoveryCodes deletes the user's recovery codes once the user
// has no second factor left.
//
// NOTE: recovery codes stand in for a second factor; kept without one they
// would make Methods non-empty and a password sign-in would ask for a code
// the user may no longer hold. The next first factor comes with a new set.
func (s *Service) dropOrphanRecoveryCodes(ctx context.Context, userID string) error {
	st, err := s.Status(ctx, userID)
	if err != nil {
		return err
	}
	if st.hasFactor() || st.RecoveryCodesLeft == 0 {
		return nil
	}
	if err := s.factors.SetRecoveryCodes(ctx, userID, nil); err != nil {
		return fmt.Errorf("mfa: delete recovery codes: %w", err)
	}
	return nil
}

// record writes an audit event; a failure is logged, never returned (the
// operation it describes has happened).
//
// NOTE: details name the factor and the reason, never a code, secret or
// credential.
func (s *Service) record(ctx context.Context, event, userID, detail string) {
	if s.audit == nil {
		return
	}
	e := authd.AuditEvent{At: s.cfg.Now(), Event: event, UserID: userID, Detail: detail}
	if err := s.audit.RecordEvent(ctx, e); err != nil {
		s.cfg.Logger.ErrorContext(ctx, "mfa: audit event not recorded", "event", event, "err", err)
	}
}
