package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/mail"
	"github.com/authd/authd/password"
)

// Verification is the --email-verification mode.
type Verification string

// The --email-verification modes.
const (
	// VerificationOff sends no verification mail.
	VerificationOff Verification = "off"
	// VerificationOptional mails a link at registration; sign-in is
	// allowed before it is used.
	VerificationOptional Verification = "optional"
	// VerificationRequired refuses sign-in until the address is verified.
	VerificationRequired Verification = "required"
)

// ParseVerification parses an --email-verification value.
func ParseVerification(s string) (Verification, error) {
	switch v := Verification(s); v {
	case VerificationOff, VerificationOptional, VerificationRequired:
		return v, nil
	}
	return "", fmt.Errorf("must be off, optional or required, not %q", s)
}

// MailConfig configures the rules that mail links: verification of an
// address, recovery of a password, change of email.
type MailConfig struct {
	// Site is the issuer URL: links are Site/verify?token=… and
	// Site/recover?token=….
	Site string
	// LinkTTL is how long a link works (--recovery-ttl).
	LinkTTL      time.Duration
	Verification Verification
	// Sealer seals the mails in the outbox (they carry live links); nil
	// means this server cannot send mail: the requests that exist to send
	// mail are authd.ErrMailUnavailable, registration sends none.
	Sealer mail.Sealer
	// Wake, when set, is called after mail is enqueued, so that the sender
	// delivers it at once instead of at its next poll.
	Wake func()
	// MaxRecoveryPerAddress and MaxRecoveryPerIP bound the recovery mails
	// per --login-window (0: no bound).
	MaxRecoveryPerAddress int
	MaxRecoveryPerIP      int
}

// linkBytes is the entropy of a link's token.
//
// NOTE: 256 bits from crypto/rand (SECURITY.md E1): guessing is hopeless
// even without the expiry and the throttle.
const linkBytes = 32

// recoveryWorkers bounds the recovery requests being worked on in the
// background at once; past it a request is refused with 503.
const recoveryWorkers = 64

// mailRules is the state of the mail-link rules of a Service.
type mailRules struct {
	links  authd.LinkStore
	outbox authd.Outbox
	cfg    MailConfig
	// busy bounds the background recovery work; wg waits for it (Wait).
	busy chan struct{}
	wg   sync.WaitGroup
}

// UseDirectory gives the Service what it needs to change a user's
// address and delete accounts.
func (s *Service) UseDirectory(dir authd.UserDirectory) { s.dir = dir }

// UseMail turns on the rules that mail links. outbox receives the notices
// that carry no link.
func (s *Service) UseMail(links authd.LinkStore, outbox authd.Outbox, cfg MailConfig) {
	s.mail = &mailRules{links: links, outbox: outbox, cfg: cfg, busy: make(chan struct{}, recoveryWorkers)}
}

// Verification reports the --email-verification mode (off without UseMail).
func (s *Service) Verification() Verification {
	if s.mail == nil {
		return VerificationOff
	}
	return s.mail.cfg.Verification
}

// LinkTTL is how long a mailed link works (0 without UseMail).
func (s *Service) LinkTTL() time.Duration {
	if s.mail == nil {
		return 0
	}
	return s.mail.cfg.LinkTTL
}

// CanMail reports whether this server can send mail.
func (s *Service) CanMail() bool { return s.mail != nil && s.mail.cfg.Sealer != nil }

// Wait waits for the recovery requests still being worked on in the
// background (tests, and a clean shutdown).
func (s *Service) Wait() {
	if s.mail != nil {
		s.mail.wg.Wait()
	}
}

// newLinkToken returns a fresh link token and the hash the store keeps.
func newLinkToken() (token string, hash []byte) {
	b := make([]byte, linkBytes)
	rand.Read(b)
	h := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(b), h[:]
}

// linkHash returns the hash of a presented token, or false when it cannot
// be one of ours (then it is authd.ErrInvalidLink like any other).
func linkHash(token string) ([]byte, bool) {
	if len(token) != base64.RawURLEncoding.EncodedLen(linkBytes) {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) != linkBytes {
		return nil, false
	}
	h := sha256.Sum256(b)
	return h[:], true
}

// pageFor is the page a link of purpose opens.
func pageFor(purpose string) string {
	if purpose == authd.LinkRecover {
		return "/recover"
	}
	return "/verify"
}

// newLink makes a link of purpose for u that works for ttl, to be sent to
// the address to, and its mail of kind.
func (s *Service) newLink(u *authd.User, purpose, to, kind string, ttl time.Duration) (*authd.Link, []*authd.OutboxMessage, error) {
	now := s.cfg.Now()
	token, hash := newLinkToken()
	l := &authd.Link{Hash: hash, Purpose: purpose, UserID: u.ID, Email: to, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	link := s.mail.cfg.Site + pageFor(purpose) + "?token=" + url.QueryEscape(token)
	m, err := s.composeMail(kind, u.ID, mail.Data{To: to, Link: link, NewEmail: to, ExpiresIn: ttl})
	if err != nil {
		return nil, nil, err
	}
	return l, []*authd.OutboxMessage{m}, nil
}

// composeMail renders a mail of kind and seals it into an outbox message.
func (s *Service) composeMail(kind, userID string, d mail.Data) (*authd.OutboxMessage, error) {
	d.Site = s.mail.cfg.Site
	msg, err := mail.Render(kind, d)
	if err != nil {
		return nil, fmt.Errorf("account: compose mail: %w", err)
	}
	m, err := mail.NewOutboxMessage(msg, userID, s.mail.cfg.Sealer, s.cfg.Now())
	if err != nil {
		return nil, fmt.Errorf("account: compose mail: %w", err)
	}
	return m, nil
}

// wake tells the sender there is mail.
func (s *Service) wake() {
	if s.mail.cfg.Wake != nil {
		s.mail.cfg.Wake()
	}
}

// issueLink stores a link of purpose for u with its mail (and more mails
// without a link), in one transaction, and wakes the sender.
func (s *Service) issueLink(ctx context.Context, u *authd.User, purpose, to, kind string, more ...*authd.OutboxMessage) error {
	l, mails, err := s.newLink(u, purpose, to, kind, s.mail.cfg.LinkTTL)
	if err != nil {
		return err
	}
	if err := s.mail.links.IssueLink(ctx, l, append(mails, more...)); err != nil {
		return fmt.Errorf("account: issue link: %w", err)
	}
	s.wake()
	return nil
}

// createUser stores a new user; with verification on, together with the
// link that verifies the address and its mail (the mail is written in the
// same transaction, so no account is left without its link).
func (s *Service) createUser(ctx context.Context, u *authd.User) error {
	if !s.CanMail() || s.mail.cfg.Verification == VerificationOff {
		if err := s.users.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("account: create user: %w", err)
		}
		return nil
	}
	l, mails, err := s.newLink(u, authd.LinkVerifyEmail, u.Email, mail.KindVerify, s.mail.cfg.LinkTTL)
	if err != nil {
		return err
	}
	if err := s.mail.links.CreateUserWithLink(ctx, u, l, mails); err != nil {
		return fmt.Errorf("account: create user: %w", err)
	}
	s.wake()
	return nil
}

// CheckVerified refuses a sign-in of u while its address is not verified
// under --email-verification required, and mails a new link (at most a
// few per window, silently). Authenticate and the upstream sign-in apply
// it; the ways in that skip both (passkeys) call it.
func (s *Service) CheckVerified(ctx context.Context, u *authd.User) error {
	if u.EmailVerified || s.Verification() != VerificationRequired {
		return nil
	}
	if s.CanMail() {
		// The right password was given: a fresh link is no enumeration.
		if err := s.resend(ctx, u); err != nil && !isThrottled(err) {
			s.cfg.Logger.WarnContext(ctx, "verification mail not issued", "user_id", u.ID, "err", err)
		}
	}
	return authd.ErrEmailUnverified
}

func isThrottled(err error) bool {
	var thr *authd.ThrottledError
	return errors.As(err, &thr)
}

// ResendVerification mails the signed-in user a new verification link,
// voiding the previous one. Nothing is sent when the address is verified.
// A few per --login-window; past that *authd.ThrottledError.
func (s *Service) ResendVerification(ctx context.Context, userID string) error {
	if !s.CanMail() {
		return authd.ErrMailUnavailable
	}
	u, err := s.userByID(ctx, userID)
	if err != nil {
		return err
	}
	if u.EmailVerified {
		return nil
	}
	return s.resend(ctx, u)
}

// resendPerWindow bounds the verification mails of one user per window.
const resendPerWindow = 3

func (s *Service) resend(ctx context.Context, u *authd.User) error {
	if err := s.attempt(ctx, verifyKey(u.ID), resendPerWindow, s.cfg.Now()); err != nil {
		return err
	}
	return s.issueLink(ctx, u, authd.LinkVerifyEmail, u.Email, mail.KindVerify)
}

// RequestRecovery starts a password recovery for email: when an unlocked
// account has it, a link to /recover is mailed. It returns nil whether the
// account exists or not; authd.ErrMailUnavailable when this server cannot
// send mail; *authd.InvalidError for a malformed address.
//
// NOTE: the answer may not tell whether the account exists, in what it
// says or in how long it takes (SECURITY.md E1). Everything that depends
// on the account (finding it, writing the link and its mail) happens after
// the answer, in the background; before it only what is the same for
// every address: the checks of the input and the counting of the limits.
// A request over a limit is answered the same and sends nothing.
func (s *Service) RequestRecovery(ctx context.Context, email string, meta Meta) error {
	if !s.CanMail() {
		return authd.ErrMailUnavailable
	}
	email = NormalizeEmail(email)
	if err := ValidateEmail(email); err != nil {
		return err
	}
	now := s.cfg.Now()
	over := ""
	if meta.IP != "" {
		if err := s.attempt(ctx, "recovery-ip:"+meta.IP, s.mail.cfg.MaxRecoveryPerIP, now); err != nil {
			if !isThrottled(err) {
				return err
			}
			over = "too many requests from the address"
		}
	}
	if over == "" {
		if err := s.attempt(ctx, recoveryKey(email), s.mail.cfg.MaxRecoveryPerAddress, now); err != nil {
			if !isThrottled(err) {
				return err
			}
			over = "too many requests for the account"
		}
	}
	select {
	case s.mail.busy <- struct{}{}:
	default:
		return fmt.Errorf("%w: too many recovery requests at once", authd.ErrUnavailable)
	}
	s.mail.wg.Add(1)
	go func() {
		defer s.mail.wg.Done()
		defer func() { <-s.mail.busy }()
		// The request has been answered: its context ends now.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		s.startRecovery(ctx, email, over, meta)
	}()
	return nil
}

// startRecovery is RequestRecovery's work after the answer.
func (s *Service) startRecovery(ctx context.Context, email, over string, meta Meta) {
	ev := authd.AuditEvent{Event: authd.EventRecoveryRequested, IP: meta.IP, UserAgent: meta.UserAgent}
	u, err := s.users.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, authd.ErrNotFound):
		ev.Detail = "no such account; nothing sent"
	case err != nil:
		s.cfg.Logger.ErrorContext(ctx, "recovery request lost: the user store failed", "err", err)
		return
	case u.Locked:
		ev.UserID, ev.Detail = u.ID, "account locked; nothing sent"
	case over != "":
		ev.UserID, ev.Detail = u.ID, over+"; nothing sent"
	default:
		ev.UserID = u.ID
		if err := s.issueLink(ctx, u, authd.LinkRecover, u.Email, mail.KindRecover); err != nil {
			s.cfg.Logger.ErrorContext(ctx, "recovery request lost", "user_id", u.ID, "err", err)
			return
		}
	}
	s.Record(ctx, ev)
}

// takeLink spends the link of token if it is of one of purposes.
func (s *Service) takeLink(ctx context.Context, token string, purposes ...string) (*authd.Link, error) {
	if s.mail == nil {
		return nil, authd.ErrInvalidLink
	}
	hash, ok := linkHash(token)
	if !ok {
		return nil, authd.ErrInvalidLink
	}
	l, err := s.mail.links.TakeLink(ctx, hash, purposes, s.cfg.Now())
	if errors.Is(err, authd.ErrNotFound) {
		return nil, authd.ErrInvalidLink
	}
	if err != nil {
		return nil, fmt.Errorf("account: take link: %w", err)
	}
	return l, nil
}

// CompleteRecovery sets a new password with a recovery link's token,
// marks the address verified, and ends every session and refresh token
// family of the user; second factors stay. A token that is not a live
// recovery link is authd.ErrInvalidLink; a weak password an
// *authd.InvalidError (the link then still works).
//
// NOTE: the link must have gone to the account's current address: one
// sent to an address the user has since left opens nothing (E1). Second
// factors stay, so the next sign-in still asks for one (E2).
func (s *Service) CompleteRecovery(ctx context.Context, token, pw string, meta Meta) error {
	if err := password.Check(pw, ""); err != nil {
		return newPasswordField(err)
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return fmt.Errorf("account: hash password: %w", err)
	}
	l, err := s.takeLink(ctx, token, authd.LinkRecover)
	if err != nil {
		return err
	}
	u, err := s.users.UserByID(ctx, l.UserID)
	if errors.Is(err, authd.ErrNotFound) {
		return authd.ErrInvalidLink
	}
	if err != nil {
		return fmt.Errorf("account: find user: %w", err)
	}
	if u.Locked || u.Email != l.Email {
		return authd.ErrInvalidLink
	}
	if err := password.Check(pw, u.Email); err != nil {
		// The link was spent on a password the policy refuses for this
		// account only: put it back, so the user can try another.
		if perr := s.mail.links.IssueLink(ctx, l, nil); perr != nil {
			s.cfg.Logger.WarnContext(ctx, "recovery link not restored", "user_id", u.ID, "err", perr)
		}
		return newPasswordField(err)
	}
	now := s.cfg.Now()
	if err := s.users.SetPasswordHash(ctx, u.ID, hash, now); err != nil {
		return fmt.Errorf("account: set password: %w", err)
	}
	if !u.EmailVerified && s.dir != nil {
		if err := s.dir.SetEmail(ctx, u.ID, u.Email, true, now); err != nil {
			return fmt.Errorf("account: verify email: %w", err)
		}
	}
	if err := s.revokeAll(ctx, u.ID, ""); err != nil {
		return err
	}
	s.Record(ctx, authd.AuditEvent{Event: authd.EventPasswordReset, UserID: u.ID, IP: meta.IP, UserAgent: meta.UserAgent})
	s.notify(ctx, u, mail.KindPasswordReset, mail.Data{To: u.Email})
	return nil
}

// notify mails u a notice without a link; a failure to enqueue it is
// logged, not the caller's.
func (s *Service) notify(ctx context.Context, u *authd.User, kind string, d mail.Data) {
	if !s.CanMail() || s.mail.outbox == nil {
		return
	}
	m, err := s.composeMail(kind, u.ID, d)
	if err == nil {
		err = s.mail.outbox.Enqueue(ctx, m)
	}
	if err != nil {
		s.cfg.Logger.WarnContext(ctx, "notice mail not queued", "user_id", u.ID, "kind", kind, "err", err)
		return
	}
	s.wake()
}

func newPasswordField(err error) error {
	var inv *authd.InvalidError
	if errors.As(err, &inv) {
		inv.Field = "new_password"
	}
	return err
}

// VerifyEmail uses a verification or change-of-email link. A verification
// link marks the address verified; a change-of-email link moves the
// account to the address it was sent to, verified, and ends every session
// and token family of the user (they carry the old address). Returns the
// user as changed. A token that is not a live link of those purposes is
// authd.ErrInvalidLink; authd.ErrConflict when the new address has been
// taken meanwhile.
func (s *Service) VerifyEmail(ctx context.Context, token string, meta Meta) (*authd.User, error) {
	if s.dir == nil {
		return nil, authd.ErrInvalidLink
	}
	l, err := s.takeLink(ctx, token, authd.LinkVerifyEmail, authd.LinkChangeEmail)
	if err != nil {
		return nil, err
	}
	u, err := s.users.UserByID(ctx, l.UserID)
	if errors.Is(err, authd.ErrNotFound) {
		return nil, authd.ErrInvalidLink
	}
	if err != nil {
		return nil, fmt.Errorf("account: find user: %w", err)
	}
	now := s.cfg.Now()
	ev := authd.AuditEvent{UserID: u.ID, IP: meta.IP, UserAgent: meta.UserAgent}
	switch l.Purpose {
	case authd.LinkVerifyEmail:
		if l.Email != u.Email {
			// NOTE: the address changed after this link was sent: it
			// verifies nothing the account has now.
			return nil, authd.ErrInvalidLink
		}
		ev.Event = authd.EventEmailVerified
	default:
		ev.Event = authd.EventEmailChanged
	}
	if err := s.dir.SetEmail(ctx, u.ID, l.Email, true, now); err != nil {
		return nil, fmt.Errorf("account: set email: %w", err)
	}
	if l.Purpose == authd.LinkChangeEmail && l.Email != u.Email {
		if err := s.revokeAll(ctx, u.ID, ""); err != nil {
			return nil, err
		}
	}
	s.Record(ctx, ev)
	u.Email, u.EmailVerified = l.Email, true
	return u, nil
}

// RequestEmailChange mails a link to newEmail that moves the account
// there, and a notice without a link to the current address. The change
// happens when the link is used (VerifyEmail). A wrong current password
// is authd.ErrForbidden; a malformed address an *authd.InvalidError. When
// another account has newEmail nothing is sent and nil is returned.
//
// NOTE: the answer is the same whether the new address is taken, so that
// a signed-in user cannot probe for other accounts; the change fails when
// its link is used.
func (s *Service) RequestEmailChange(ctx context.Context, userID, newEmail, current string, meta Meta) error {
	if !s.CanMail() {
		return authd.ErrMailUnavailable
	}
	u, err := s.userByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.checkCurrent(ctx, u, current); err != nil {
		return err
	}
	newEmail = NormalizeEmail(newEmail)
	if err := ValidateEmail(newEmail); err != nil {
		var inv *authd.InvalidError
		if errors.As(err, &inv) {
			inv.Field = "new_email"
		}
		return err
	}
	if newEmail == u.Email {
		return authd.Invalidf("new_email", "this is already your address")
	}
	if _, err := s.users.UserByEmail(ctx, newEmail); err == nil {
		s.Record(ctx, authd.AuditEvent{Event: authd.EventEmailChanged, UserID: u.ID, IP: meta.IP, UserAgent: meta.UserAgent,
			Detail: "requested; the new address has an account, nothing sent"})
		return nil
	} else if !errors.Is(err, authd.ErrNotFound) {
		return fmt.Errorf("account: find user: %w", err)
	}
	notice, err := s.composeMail(mail.KindEmailChangeNotice, u.ID, mail.Data{To: u.Email, NewEmail: newEmail})
	if err != nil {
		return err
	}
	if err := s.issueLink(ctx, u, authd.LinkChangeEmail, newEmail, mail.KindChangeEmail, notice); err != nil {
		return err
	}
	s.Record(ctx, authd.AuditEvent{Event: authd.EventEmailChanged, UserID: u.ID, IP: meta.IP, UserAgent: meta.UserAgent,
		Detail: "requested; link sent to the new address"})
	return nil
}

// DeleteAccount deletes the user after checking their password (a wrong
// one is authd.ErrForbidden): see Erase.
func (s *Service) DeleteAccount(ctx context.Context, userID, current string, meta Meta) error {
	u, err := s.userByID(ctx, userID)
	if err != nil {
		return err
	}
	if err := s.checkCurrent(ctx, u, current); err != nil {
		return err
	}
	return s.Erase(ctx, u.ID, "by the user", meta)
}

// Erase deletes the user and everything of theirs: first the account is
// locked and every session and token family is revoked (every node sees it through the revocation
// feed and the session stores), then the records are deleted. The audit
// log keeps the user's id; detail says who deleted them.
func (s *Service) Erase(ctx context.Context, userID, detail string, meta Meta) error {
	if s.dir == nil {
		return fmt.Errorf("account: %w: deleting accounts is not configured", authd.ErrUnavailable)
	}
	// NOTE: locked first, so that no sign-in can start a session between
	// the revocation and the deletion (a session in Redis would outlive
	// the user's rows).
	if err := s.users.SetLocked(ctx, userID, true, s.cfg.Now()); err != nil {
		return fmt.Errorf("account: lock before delete: %w", err)
	}
	if err := s.revokeAll(ctx, userID, ""); err != nil {
		return err
	}
	u, err := s.users.UserByID(ctx, userID)
	if err != nil {
		return fmt.Errorf("account: find user: %w", err)
	}
	if err := s.dir.DeleteUser(ctx, userID); err != nil {
		return fmt.Errorf("account: delete user: %w", err)
	}
	// The throttle's counters name the account by its email: they go too,
	// so that nothing of the user stays in any store.
	for _, key := range []string{accountKey(u.Email), recoveryKey(u.Email), verifyKey(u.ID)} {
		if err := s.limiter.ResetFailures(ctx, key); err != nil {
			return fmt.Errorf("account: forget counters: %w", err)
		}
	}
	s.Record(ctx, authd.AuditEvent{Event: authd.EventAccountDeleted, UserID: userID, IP: meta.IP, UserAgent: meta.UserAgent, Detail: detail})
	return nil
}

// userByID finds the signed-in user; one that no longer exists is
// authd.ErrUnauthenticated.
func (s *Service) userByID(ctx context.Context, id string) (*authd.User, error) {
	u, err := s.users.UserByID(ctx, id)
	if errors.Is(err, authd.ErrNotFound) {
		return nil, authd.ErrUnauthenticated
	}
	if err != nil {
		return nil, fmt.Errorf("account: find user: %w", err)
	}
	return u, nil
}

// checkCurrent checks the signed-in user's current password: a wrong one
// is authd.ErrForbidden.
func (s *Service) checkCurrent(ctx context.Context, u *authd.User, current string) error {
	if u.PasswordHash == "" {
		return fmt.Errorf("%w: this account has no password yet: set one with Forgot password? first", authd.ErrForbidden)
	}
	if len(current) > password.MaxBytes {
		return fmt.Errorf("%w: current password is wrong", authd.ErrForbidden)
	}
	ok, _, err := s.hasher.Verify(ctx, u.PasswordHash, current)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if !ok {
		return fmt.Errorf("%w: current password is wrong", authd.ErrForbidden)
	}
	return nil
}
