// Package mfa holds the second-factor rules of authd: authenticator apps
// (TOTP, RFC 6238), passkeys (WebAuthn Level 3, through go-webauthn) and
// recovery codes, over the root package's FactorStore and ChallengeStore.
//
// It owns:
//
//   - Sealer: the AES-256-GCM encryption of TOTP secrets under
//     --encryption-key-file (LoadKey creates the file on first start), and
//     the key of the recovery-code hashes;
//   - Service: enrolment, checking and removal of each factor, the status a
//     pending sign-in needs (Status.Methods), the operator's reset, and the
//     housekeeping of expired WebAuthn challenges.
//
// It does not own the pending sign-in itself, the throttle of wrong codes
// (the caller counts attempts exactly as for passwords), cookies, or the
// HTTP status of its errors; it never imports httpapi or a store package.
//
// The rules it keeps (SECURITY.md M1–M3):
//
//   - a TOTP code is SHA-1, 6 digits, 30 s, accepted for the steps now-1,
//     now and now+1 only, and once: the store moves the user's last used
//     step forward atomically (FactorStore.UseTOTPStep), so a replay in the
//     same or an earlier step fails, even on another node;
//   - TOTP secrets are 160 bits, stored sealed with the user id as
//     associated data;
//   - recovery codes are 10 characters (50 bits) from crypto/rand, stored as
//     HMAC-SHA256 under a key derived from --encryption-key-file, spent by
//     the store's atomic delete;
//   - a WebAuthn challenge is 256 bits (go-webauthn's default), kept
//     server-side in the ChallengeStore under the challenge itself for at
//     most five minutes, bound to a purpose and a user, and taken (deleted)
//     by the finish request whatever its outcome; origin, RP id, flags and
//     the signature counter are checked, and a counter that goes backwards
//     refuses the passkey and is audited.
package mfa
