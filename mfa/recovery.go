package mfa

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
)

const (
	// RecoveryCodeCount is how many recovery codes a set holds.
	RecoveryCodeCount = 10
	// recoveryAlphabet is Crockford's base32 alphabet, lower case: no i, l,
	// o or u, so that no two characters are easily confused.
	recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"
	recoveryLen      = 10 // characters of 5 bits: 50 bits (M2)
)

// NewRecoveryCodes gives the user a new set of 10 recovery codes, replacing
// (voiding) the old set, and returns them: they are shown once and stored
// only hashed. ErrNotEnrolled when the user has no second factor (recovery
// codes come with one).
func (s *Service) NewRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	st, err := s.Status(ctx, userID)
	if err != nil {
		return nil, err
	}
	if !st.hasFactor() {
		return nil, ErrNotEnrolled
	}
	return s.newRecoveryCodes(ctx, userID)
}

// newRecoveryCodes replaces the user's recovery codes with a new set.
func (s *Service) newRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	codes := make([]string, RecoveryCodeCount)
	hashes := make([][]byte, RecoveryCodeCount)
	for i := range codes {
		c := newRecoveryCode()
		codes[i] = c[:5] + "-" + c[5:]
		hashes[i] = s.sealer.recoveryHash(userID, c)
	}
	if err := s.factors.SetRecoveryCodes(ctx, userID, hashes); err != nil {
		return nil, fmt.Errorf("mfa: set recovery codes: %w", err)
	}
	return codes, nil
}

// newRecoveryCode returns recoveryLen characters of recoveryAlphabet, each
// from 5 uniform random bits of crypto/rand (256 is a multiple of 32, so
// b&31 is uniform): 50 bits.
func newRecoveryCode() string {
	b := make([]byte, recoveryLen)
	rand.Read(b)
	for i := range b {
		b[i] = recoveryAlphabet[b[i]&31]
	}
	return string(b)
}

// normaliseRecoveryCode lowers the case, drops dashes and spaces and reads
// the letters Crockford's base32 folds (i and l as 1, o as 0). ok is false
// when the result is not a well-formed code.
func normaliseRecoveryCode(code string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToLower(code) {
		switch r {
		case '-', ' ', '\t':
			continue
		case 'i', 'l':
			r = '1'
		case 'o':
			r = '0'
		}
		if r > 127 || !strings.ContainsRune(recoveryAlphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != recoveryLen {
		return "", false
	}
	return b.String(), true
}

// UseRecoveryCode spends one of the user's recovery codes at a sign-in and
// returns how many are left. Case, dashes and spaces do not matter. A code
// that is wrong, malformed or already spent is ErrInvalidCode (audited as
// mfa_failed); a spent code is audited as recovery_code_used.
func (s *Service) UseRecoveryCode(ctx context.Context, userID, code string) (left int, err error) {
	norm, ok := normaliseRecoveryCode(code)
	if !ok {
		s.record(ctx, eventFailed, userID, "recovery code: malformed")
		return 0, ErrInvalidCode
	}
	// NOTE: single use is the store's atomic delete of the matching hash:
	// of two requests with one code, one succeeds.
	used, err := s.factors.UseRecoveryCode(ctx, userID, s.sealer.recoveryHash(userID, norm))
	if err != nil {
		return 0, fmt.Errorf("mfa: use recovery code: %w", err)
	}
	if !used {
		s.record(ctx, eventFailed, userID, "recovery code: wrong or spent")
		return 0, ErrInvalidCode
	}
	left, err = s.factors.RecoveryCodesLeft(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("mfa: recovery codes left: %w", err)
	}
	s.record(ctx, eventRecoveryCodeUsed, userID, fmt.Sprintf("%d left", left))
	return left, nil
}
