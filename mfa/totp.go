package mfa

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"image/png"
	"strings"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"

	"github.com/authd/authd"
)

// TOTP parameters (RFC 6238 defaults, the only ones every authenticator app
// supports).
const (
	totpPeriod     = 30 // seconds
	totpDigits     = otp.DigitsSix
	totpSecretSize = 20 // bytes: 160 bits (M1, RFC 4226 §4 R6)
	totpSkew       = 1  // steps either side of now
	qrSize         = 256
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Enrolment is what a user needs to add authd to an authenticator app.
type Enrolment struct {
	// Secret is the secret in base32 without padding, for typing in.
	Secret string
	// URI is the otpauth:// URI (Key Uri Format) the QR code holds.
	URI string
	// QR is the QR code of URI as a data: URL of a PNG image
	// (data:image/png;base64,…), for an <img src>.
	QR string
}

// BeginTOTP starts enrolling an authenticator app for user: a new 160-bit
// secret is stored sealed and unconfirmed (replacing an unconfirmed one),
// and returned for the app. It is not active until ConfirmTOTP. A user with
// a confirmed app gets ErrAlreadyEnrolled (RemoveTOTP first).
func (s *Service) BeginTOTP(ctx context.Context, user *authd.User) (Enrolment, error) {
	t, err := s.factors.TOTPOf(ctx, user.ID)
	switch {
	case err == nil && t.Confirmed:
		return Enrolment{}, ErrAlreadyEnrolled
	case err != nil && !errors.Is(err, authd.ErrNotFound):
		return Enrolment{}, fmt.Errorf("mfa: begin TOTP: %w", err)
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      s.cfg.Issuer,
		AccountName: user.Email,
		Period:      totpPeriod,
		SecretSize:  totpSecretSize,
		Digits:      totpDigits,
		Algorithm:   otp.AlgorithmSHA1,
		Rand:        rand.Reader,
	})
	if err != nil {
		return Enrolment{}, fmt.Errorf("mfa: begin TOTP: %w", err)
	}
	secret, err := b32.DecodeString(key.Secret())
	if err != nil || len(secret) != totpSecretSize {
		return Enrolment{}, fmt.Errorf("mfa: begin TOTP: unexpected secret from otp.Generate")
	}
	if err := s.factors.PutTOTP(ctx, &authd.TOTP{
		UserID:    user.ID,
		Sealed:    s.sealer.Seal(user.ID, secret),
		CreatedAt: s.cfg.Now(),
	}); err != nil {
		return Enrolment{}, fmt.Errorf("mfa: begin TOTP: %w", err)
	}
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return Enrolment{}, fmt.Errorf("mfa: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrolment{}, fmt.Errorf("mfa: QR code: %w", err)
	}
	return Enrolment{
		Secret: key.Secret(),
		URI:    key.URL(),
		QR:     "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()),
	}, nil
}

// ConfirmTOTP activates the user's pending authenticator app with a code
// from it (±1 step). When it is the user's first second factor it returns
// 10 new recovery codes (shown once), else nil. ErrNotEnrolled when there
// is no pending enrolment, ErrAlreadyEnrolled when it is already confirmed,
// ErrInvalidCode for a wrong code.
func (s *Service) ConfirmTOTP(ctx context.Context, userID, code string) (recoveryCodes []string, err error) {
	t, err := s.factors.TOTPOf(ctx, userID)
	switch {
	case errors.Is(err, authd.ErrNotFound):
		return nil, ErrNotEnrolled
	case err != nil:
		return nil, fmt.Errorf("mfa: confirm TOTP: %w", err)
	case t.Confirmed:
		return nil, ErrAlreadyEnrolled
	}
	step, ok, err := s.matchTOTP(userID, t, code)
	if err != nil {
		return nil, err
	}
	if !ok {
		s.record(ctx, eventFailed, userID, "totp: wrong code at enrolment")
		return nil, ErrInvalidCode
	}
	st, err := s.Status(ctx, userID)
	if err != nil {
		return nil, err
	}
	// NOTE: the confirming code's step becomes the last used one, so the
	// same code cannot then pass a sign-in.
	if err := s.factors.ConfirmTOTP(ctx, userID, step); err != nil {
		if errors.Is(err, authd.ErrNotFound) {
			return nil, ErrNotEnrolled
		}
		return nil, fmt.Errorf("mfa: confirm TOTP: %w", err)
	}
	if !st.hasFactor() {
		if recoveryCodes, err = s.newRecoveryCodes(ctx, userID); err != nil {
			return nil, err
		}
	}
	s.record(ctx, eventEnrolled, userID, "totp")
	return recoveryCodes, nil
}

// CheckTOTP checks a code from the user's confirmed authenticator app at a
// sign-in: it must be the code of step now-1, now or now+1, and of a step
// after the last one used (FactorStore.UseTOTPStep), so each code works
// once. Anything else is ErrInvalidCode, audited as mfa_failed. Throttling
// wrong codes is the caller's (it counts them as wrong passwords).
func (s *Service) CheckTOTP(ctx context.Context, userID, code string) error {
	t, err := s.factors.TOTPOf(ctx, userID)
	switch {
	case errors.Is(err, authd.ErrNotFound):
		s.record(ctx, eventFailed, userID, "totp: no authenticator app")
		return ErrInvalidCode
	case err != nil:
		return fmt.Errorf("mfa: check TOTP: %w", err)
	case !t.Confirmed:
		s.record(ctx, eventFailed, userID, "totp: no authenticator app")
		return ErrInvalidCode
	}
	step, ok, err := s.matchTOTP(userID, t, code)
	if err != nil {
		return err
	}
	if !ok {
		s.record(ctx, eventFailed, userID, "totp: wrong code")
		return ErrInvalidCode
	}
	// NOTE: single use (RFC 6238 §5.2) is the store's compare-and-swap on
	// the last used step, so two nodes given one code accept it once.
	used, err := s.factors.UseTOTPStep(ctx, userID, step)
	if errors.Is(err, authd.ErrNotFound) {
		s.record(ctx, eventFailed, userID, "totp: no authenticator app")
		return ErrInvalidCode
	}
	if err != nil {
		return fmt.Errorf("mfa: check TOTP: %w", err)
	}
	if !used {
		s.record(ctx, eventFailed, userID, "totp: code already used")
		return ErrInvalidCode
	}
	return nil
}

// RemoveTOTP deletes the user's authenticator app (confirmed or not).
// authd.ErrNotFound when there is none. Removing the last second factor
// also deletes the recovery codes.
func (s *Service) RemoveTOTP(ctx context.Context, userID string) error {
	if err := s.factors.DeleteTOTP(ctx, userID); err != nil {
		return fmt.Errorf("mfa: remove TOTP: %w", err)
	}
	if err := s.dropOrphanRecoveryCodes(ctx, userID); err != nil {
		return err
	}
	s.record(ctx, eventRemoved, userID, "totp")
	return nil
}

// matchTOTP returns the time step among now-1, now, now+1 whose code is
// code. ok is false for a malformed or wrong code; err is set only when the
// sealed secret does not open.
func (s *Service) matchTOTP(userID string, t *authd.TOTP, code string) (step int64, ok bool, err error) {
	code = strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, code)
	if len(code) != totpDigits.Length() || strings.Trim(code, "0123456789") != "" {
		return 0, false, nil
	}
	secret, err := s.sealer.Open(userID, t.Sealed)
	if err != nil {
		return 0, false, fmt.Errorf("mfa: the TOTP secret of user %s does not open (wrong --encryption-key-file?): %w", userID, err)
	}
	enc := b32.EncodeToString(secret)
	now := s.cfg.Now().Unix() / totpPeriod
	opts := hotp.ValidateOpts{Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}
	// NOTE: every candidate step is computed and compared in constant time,
	// so the time taken does not tell which step matched.
	for st := now - totpSkew; st <= now+totpSkew; st++ {
		want, err := hotp.GenerateCodeCustom(enc, uint64(st), opts)
		if err != nil {
			return 0, false, fmt.Errorf("mfa: TOTP: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !ok {
			step, ok = st, true
		}
	}
	return step, ok, nil
}
