// Package password owns everything authd does with passwords: hashing them
// with argon2id into PHC strings, verifying them (with rehash-on-login when
// the parameters rise), bounding how many hashes run at once, and the
// password policy of SECURITY P2–P3 (length in code points after NFC, and a
// blocklist of common passwords).
//
// It knows nothing of users, stores or HTTP: the session and account
// packages call Check when a password is set, Hasher.Hash to store it,
// Hasher.Verify at login, and Hasher.VerifyDummy when the email is unknown.
//
// NOTE: security choices made here, and why.
//
//   - argon2id (golang.org/x/crypto/argon2) at no less than the OWASP
//     Password Storage minimum, DefaultParams (m=19 MiB, t=2, p=1, 16-byte
//     salt from crypto/rand, 32-byte key), stored as a self-describing PHC
//     string so parameters can rise without a migration: Verify reports
//     needsRehash and the caller rehashes on the next successful login
//     (SECURITY P1). Hashes are never downgraded: lowering the configured
//     parameters does not ask for a rehash.
//   - A semaphore bounds the number of argon2id computations in flight.
//     Each takes Params.Memory KiB for its whole duration, so without a
//     bound a login flood makes the process allocate Memory × (requests in
//     flight) and die; with it, excess logins wait (or give up with their
//     context) instead, and memory stays at most Memory × maxConcurrent.
//     (A stored hash made at larger parameters than the Hasher's costs its
//     own m while it is verified; the PHC parser caps m at 1 GiB, t and p at
//     64, so even a corrupted row cannot ask for more.)
//   - VerifyDummy runs the very same code path as Verify (parse, normalise,
//     wait for a slot, argon2id at the Hasher's parameters, constant-time
//     compare) against a random hash made at construction. The login path
//     calls it for an unknown email so that it costs the same time as a wrong
//     password and a response's timing does not reveal which emails have
//     accounts (SECURITY P4).
//   - Passwords are NFC-normalised before hashing and before the policy
//     counts them: the same passphrase typed on two keyboards (é as one code
//     point or as e + U+0301) is the same password, and "15 characters"
//     means 15 code points of the normalised form (SECURITY P2).
//   - No truncation, ever: the whole normalised password goes into argon2id
//     (unlike bcrypt's 72 bytes). The length bound is a policy refusal in
//     Check (MaxBytes is tested first, before any normalisation, so a 1 MB
//     password is a cheap refusal), never a silent cut.
//   - Keys are compared with crypto/subtle.ConstantTimeCompare.
//   - PHC strings are parsed strictly and with bounds (length first, then
//     exact algorithm and version, m, t, p, salt and key lengths capped) so
//     that a corrupted row is an error wrapping ErrMalformedHash, never a
//     panic nor a multi-gigabyte allocation.
//   - The blocklist is compared case-insensitively after NFC, exactly (no
//     fuzzy matching, no composition rules: NIST SP 800-63B-4). It is
//     embedded in the binary and loaded on first use. See
//     blocklist_SOURCE.md for its origin, licence and update procedure.
package password
