package authd

import (
	"slices"
	"time"
)

// Authentication methods (RFC 8176) a sign-in used; sessions and tokens
// carry them as amr.
const (
	AMRPassword = "pwd"  // a password
	AMROTP      = "otp"  // a one-time code: an authenticator app or a recovery code
	AMRHardware = "hwk"  // a passkey: proof of possession of a key
	AMRUser     = "user" // the authenticator verified the user (PIN, biometrics)
	AMRMFA      = "mfa"  // more than one factor
)

// AAL is the NIST SP 800-63B authenticator assurance level of a sign-in
// that used the methods amr: 2 for two factors (a password and a one-time
// code, or a passkey with user verification), 1 for one, 0 for none.
func AAL(amr []string) int {
	switch {
	case len(amr) == 0:
		return 0
	case slices.Contains(amr, AMRMFA),
		slices.Contains(amr, AMRHardware) && slices.Contains(amr, AMRUser):
		return 2
	}
	return 1
}

// TOTP is a user's authenticator app (RFC 6238).
//
// NOTE: Sealed is the secret encrypted by package mfa (AES-GCM under a key
// that is not in the database); a leaked database gives no secret.
type TOTP struct {
	UserID    string
	Sealed    []byte
	Confirmed bool
	// LastStep is the last time step whose code was accepted: a code is
	// accepted once (RFC 6238 §5.2).
	LastStep  int64
	CreatedAt time.Time
}

// Passkey is a WebAuthn credential of a user.
type Passkey struct {
	ID           string // public id (authd.NewID), what the API and pages name
	UserID       string
	Name         string
	CredentialID []byte
	// Credential is the credential as package mfa encodes it (public key,
	// flags, transports, authenticator data), opaque to stores.
	Credential []byte
	SignCount  uint32
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used
}

// Audit events of second factors, as API.md names them.
const (
	EventMFAEnrolled             = "mfa_enrolled"
	EventMFARemoved              = "mfa_removed"
	EventMFAFailed               = "mfa_failed"
	EventRecoveryCodeUsed        = "recovery_code_used"
	EventPasskeyCounterRegressed = "passkey_counter_regressed"
)
