// Package password owns everything authd does with passwords: hashing them
// with argon2id into PHC strings, verifying them (with rehash-on-login when
// the parameters rise), bounding how many hashes run at once, and the
// password policy of SECURITY P2–P3 (length in code points after NFC, a
// blocklist of common and breached passwords, and zxcvbn's patterns:
// repeats, runs, rows of keys, the user's own email and the service's
// name).
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
//     fuzzy matching, no composition rules: NIST SP 800-63B-4). It holds
//     the 100,000 most common passwords of SecLists' xato-net list, the
//     zxcvbn-ts list, and the long entries of the rest of SecLists' top
//     million; it is embedded in the binary and loaded on first use. See
//     blocklist_SOURCE.md for its origin, licence and update procedure.
//   - Patterns are found by a maintained estimator, not by rules written
//     here: zxcvbn (github.com/trustelem/zxcvbn, a port of Dropbox's
//     zxcvbn 4.4.2). Check refuses a password when repeats, runs of
//     sequential characters, rows of keys, or the user's own words (the
//     email given by the caller, and always "authd") cover two thirds of
//     its code points or more, or when zxcvbn would guess it in fewer than
//     a million tries, and says which (NIST SP 800-63B-4 §3.1.1.2;
//     ASVS 5 6.2.4, 6.2.11). zxcvbn runs on chunks of at most 32 bytes
//     with a bounded number of l33t tables, and stops once the answer is
//     known, so its cost stays bounded (about 30 ms for the worst
//     256-code-point inputs found, 1 ms for ordinary ones); see
//     patterns.go for the thresholds and why.
package password
