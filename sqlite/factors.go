package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/authd/authd"
)

// Second factors (authd.FactorStore) and WebAuthn challenges
// (authd.ChallengeStore). Every check that must not race is one
// conditional statement; the single write connection and BEGIN IMMEDIATE
// order the writes of every process sharing the file.

const totpColumns = `user_id, sealed, confirmed, last_step, created_at`

// PutTOTP implements authd.FactorStore: one UPSERT that replaces every
// field of the user's previous TOTP.
//
// NOTE: t.Sealed is the secret sealed by package mfa; the secret itself
// never reaches the file.
func (db *DB) PutTOTP(ctx context.Context, t *authd.TOTP) error {
	_, err := db.exec(ctx, "put totp",
		`INSERT INTO totp (`+totpColumns+`) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET sealed = excluded.sealed, confirmed = excluded.confirmed,
			last_step = excluded.last_step, created_at = excluded.created_at`,
		t.UserID, nonNil(t.Sealed), t.Confirmed, t.LastStep, micros(t.CreatedAt))
	return err
}

// TOTPOf implements authd.FactorStore.
func (db *DB) TOTPOf(ctx context.Context, userID string) (*authd.TOTP, error) {
	var (
		t       authd.TOTP
		created int64
	)
	err := db.queryRow(ctx, `SELECT `+totpColumns+` FROM totp WHERE user_id = ?`, userID).
		Scan(&t.UserID, &t.Sealed, &t.Confirmed, &t.LastStep, &created)
	if err != nil {
		return nil, db.wrap(ctx, "find totp", err)
	}
	t.CreatedAt = fromMicros(created)
	return &t, nil
}

// ConfirmTOTP implements authd.FactorStore.
func (db *DB) ConfirmTOTP(ctx context.Context, userID string, step int64) error {
	const op = "confirm totp"
	n, err := db.exec(ctx, op, `UPDATE totp SET confirmed = 1, last_step = ? WHERE user_id = ?`, step, userID)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// UseTOTPStep implements authd.FactorStore with one conditional UPDATE
// (confirmed, and last_step below step): of concurrent calls with one step
// only the first changes the row, the others find last_step = step.
//
// NOTE: this is what makes a code single-use (RFC 6238 §5.2): a code seen
// on the wire cannot be replayed within its window.
func (db *DB) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	const op = "use totp step"
	n, err := db.exec(ctx, op, `UPDATE totp SET last_step = ? WHERE user_id = ? AND confirmed AND last_step < ?`, step, userID, step)
	if err != nil {
		return false, err
	}
	if n == 1 {
		return true, nil
	}
	return false, db.exists(ctx, op, `SELECT 1 FROM totp WHERE user_id = ?`, userID)
}

// DeleteTOTP implements authd.FactorStore.
func (db *DB) DeleteTOTP(ctx context.Context, userID string) error {
	const op = "delete totp"
	n, err := db.exec(ctx, op, `DELETE FROM totp WHERE user_id = ?`, userID)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// SetRecoveryCodes implements authd.FactorStore in one transaction: the
// user's codes are deleted and hashes inserted (a hash given twice is one
// code).
func (db *DB) SetRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error {
	const op = "set recovery codes"
	return db.tx(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE user_id = ?`, userID); err != nil {
			return db.wrap(ctx, op, err)
		}
		for _, h := range hashes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (user_id, hash) VALUES (?, ?)
				ON CONFLICT DO NOTHING`, userID, nonNil(h)); err != nil {
				return db.wrap(ctx, op, err)
			}
		}
		return nil
	})
}

// UseRecoveryCode implements authd.FactorStore with one DELETE: of
// concurrent calls for one code only the first deletes a row.
func (db *DB) UseRecoveryCode(ctx context.Context, userID string, hash []byte) (bool, error) {
	n, err := db.exec(ctx, "use recovery code", `DELETE FROM recovery_codes WHERE user_id = ? AND hash = ?`, userID, nonNil(hash))
	return n == 1, err
}

// RecoveryCodesLeft implements authd.FactorStore.
func (db *DB) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	var n int
	if err := db.queryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = ?`, userID).Scan(&n); err != nil {
		return 0, db.wrap(ctx, "count recovery codes", err)
	}
	return n, nil
}

const passkeyColumns = `id, user_id, name, credential_id, credential, sign_count, created_at, last_used_at`

// AddPasskey implements authd.FactorStore. The UNIQUE constraint on
// credential_id and the primary key give ErrConflict.
func (db *DB) AddPasskey(ctx context.Context, p *authd.Passkey) error {
	_, err := db.exec(ctx, "add passkey",
		`INSERT INTO passkeys (`+passkeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.UserID, p.Name, nonNil(p.CredentialID), nonNil(p.Credential), int64(p.SignCount),
		micros(p.CreatedAt), nullMicros(p.LastUsedAt))
	return err
}

// Passkeys implements authd.FactorStore: oldest first, by id among those
// created in one microsecond.
func (db *DB) Passkeys(ctx context.Context, userID string) ([]*authd.Passkey, error) {
	const op = "list passkeys"
	rows, err := db.query(ctx, `SELECT `+passkeyColumns+` FROM passkeys
		WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return collect(ctx, db, op, rows, scanPasskey)
}

// PasskeyByCredentialID implements authd.FactorStore.
func (db *DB) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*authd.Passkey, error) {
	p, err := scanPasskey(db.queryRow(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = ?`, nonNil(credentialID)))
	if err != nil {
		return nil, db.wrap(ctx, "find passkey", err)
	}
	return p, nil
}

// UsePasskey implements authd.FactorStore with one conditional UPDATE:
// the counter must go up, unless it is zero and stays zero (an
// authenticator without a counter).
//
// NOTE: a counter that does not go up means two authenticators hold the
// same key (WebAuthn §6.1.1): the use is refused.
func (db *DB) UsePasskey(ctx context.Context, id string, count uint32, at time.Time) (bool, error) {
	const op = "use passkey"
	n, err := db.exec(ctx, op, `UPDATE passkeys SET sign_count = ?1, last_used_at = ?2
		WHERE id = ?3 AND (sign_count < ?1 OR (sign_count = 0 AND ?1 = 0))`, int64(count), micros(at), id)
	if err != nil {
		return false, err
	}
	if n == 1 {
		return true, nil
	}
	return false, db.exists(ctx, op, `SELECT 1 FROM passkeys WHERE id = ?`, id)
}

// RenamePasskey implements authd.FactorStore. Another user's passkey is
// not found: the WHERE clause names both the user and the id.
func (db *DB) RenamePasskey(ctx context.Context, userID, id, name string) error {
	const op = "rename passkey"
	n, err := db.exec(ctx, op, `UPDATE passkeys SET name = ? WHERE user_id = ? AND id = ?`, name, userID, id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// DeletePasskey implements authd.FactorStore, as RenamePasskey.
func (db *DB) DeletePasskey(ctx context.Context, userID, id string) error {
	const op = "delete passkey"
	n, err := db.exec(ctx, op, `DELETE FROM passkeys WHERE user_id = ? AND id = ?`, userID, id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// DeleteFactors implements authd.FactorStore in one transaction.
func (db *DB) DeleteFactors(ctx context.Context, userID string) error {
	const op = "delete factors"
	return db.tx(ctx, op, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM totp WHERE user_id = ?`,
			`DELETE FROM recovery_codes WHERE user_id = ?`,
			`DELETE FROM passkeys WHERE user_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, userID); err != nil {
				return db.wrap(ctx, op, err)
			}
		}
		return nil
	})
}

// scanPasskey reads one row of passkeyColumns.
func scanPasskey(row scanner) (*authd.Passkey, error) {
	var (
		p        authd.Passkey
		count    int64
		created  int64
		lastUsed sql.NullInt64
	)
	if err := row.Scan(&p.ID, &p.UserID, &p.Name, &p.CredentialID, &p.Credential, &count, &created, &lastUsed); err != nil {
		return nil, err
	}
	p.SignCount = uint32(count)
	p.CreatedAt, p.LastUsedAt = fromMicros(created), fromNullMicros(lastUsed)
	return &p, nil
}

// exists answers a conditional write that changed nothing: nil when query
// (a package constant) finds the row, ErrNotFound named for op when it
// does not.
func (db *DB) exists(ctx context.Context, op, query string, args ...any) error {
	var one int
	return db.wrap(ctx, op, db.queryRow(ctx, query, args...).Scan(&one))
}

// PutChallenge implements authd.ChallengeStore. The primary key gives
// ErrConflict.
func (db *DB) PutChallenge(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	_, err := db.exec(ctx, "put challenge", `INSERT INTO webauthn_challenges (key, data, expires_at) VALUES (?, ?, ?)`,
		key, nonNil(data), micros(expiresAt))
	return err
}

// takeChallengeSQL deletes a live challenge and returns its data.
const takeChallengeSQL = `DELETE FROM webauthn_challenges WHERE key = ? AND expires_at >= ? RETURNING data`

// TakeChallenge implements authd.ChallengeStore with one DELETE …
// RETURNING: of concurrent calls only the first deletes the row and gets
// its data. An expired challenge is not taken; DeleteChallengesBefore
// removes it.
func (db *DB) TakeChallenge(ctx context.Context, key string, now time.Time) ([]byte, error) {
	const op = "take challenge"
	var row *sql.Row
	if s := db.stmt(ctx, db.write, takeChallengeSQL); s != nil {
		row = s.QueryRowContext(ctx, key, micros(now))
	} else {
		row = db.write.QueryRowContext(ctx, takeChallengeSQL, key, micros(now))
	}
	var data []byte
	if err := row.Scan(&data); err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return data, nil
}

// DeleteChallengesBefore implements authd.ChallengeStore.
func (db *DB) DeleteChallengesBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := db.exec(ctx, "delete challenges", `DELETE FROM webauthn_challenges WHERE expires_at < ?`, micros(t))
	return int(n), err
}
