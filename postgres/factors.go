package postgres

import (
	"context"
	"time"

	"github.com/authd/authd"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Second factors (authd.FactorStore) and WebAuthn challenges
// (authd.ChallengeStore). Every check that must not race is one
// conditional statement: at READ COMMITTED a concurrent UPDATE or DELETE
// of the same row waits for the first to commit, then re-checks its WHERE
// clause on the row as committed, so only the first one matches.

const totpColumns = `user_id, sealed, confirmed, last_step, created_at`

// PutTOTP implements authd.FactorStore: one INSERT … ON CONFLICT DO UPDATE
// that replaces every field of the user's previous TOTP.
//
// NOTE: t.Sealed is the secret sealed by package mfa; the secret itself
// never reaches the database.
func (db *DB) PutTOTP(ctx context.Context, t *authd.TOTP) error {
	_, err := db.exec(ctx, "put totp",
		`INSERT INTO totp (`+totpColumns+`) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (user_id) DO UPDATE SET sealed = excluded.sealed, confirmed = excluded.confirmed,
			last_step = excluded.last_step, created_at = excluded.created_at`,
		t.UserID, nonNil(t.Sealed), t.Confirmed, t.LastStep, t.CreatedAt)
	return err
}

// TOTPOf implements authd.FactorStore.
func (db *DB) TOTPOf(ctx context.Context, userID string) (*authd.TOTP, error) {
	const op = "find totp"
	if !storable(userID) {
		return nil, db.keyNotFound(ctx, op)
	}
	var t authd.TOTP
	err := db.pool.QueryRow(ctx, `SELECT `+totpColumns+` FROM totp WHERE user_id = $1`, userID).
		Scan(&t.UserID, &t.Sealed, &t.Confirmed, &t.LastStep, &t.CreatedAt)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return &t, nil
}

// ConfirmTOTP implements authd.FactorStore.
func (db *DB) ConfirmTOTP(ctx context.Context, userID string, step int64) error {
	const op = "confirm totp"
	if !storable(userID) {
		return db.keyNotFound(ctx, op)
	}
	n, err := db.exec(ctx, op, `UPDATE totp SET confirmed = true, last_step = $2 WHERE user_id = $1`, userID, step)
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
	if !storable(userID) {
		return false, db.keyNotFound(ctx, op)
	}
	n, err := db.exec(ctx, op, `UPDATE totp SET last_step = $2 WHERE user_id = $1 AND confirmed AND last_step < $2`, userID, step)
	if err != nil {
		return false, err
	}
	if n == 1 {
		return true, nil
	}
	return false, db.exists(ctx, op, `SELECT 1 FROM totp WHERE user_id = $1`, userID)
}

// DeleteTOTP implements authd.FactorStore.
func (db *DB) DeleteTOTP(ctx context.Context, userID string) error {
	const op = "delete totp"
	if !storable(userID) {
		return db.keyNotFound(ctx, op)
	}
	n, err := db.exec(ctx, op, `DELETE FROM totp WHERE user_id = $1`, userID)
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
	hs := make([][]byte, len(hashes))
	for i, h := range hashes {
		hs[i] = nonNil(h)
	}
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM recovery_codes WHERE user_id = $1`, userID); err != nil {
			return db.wrap(ctx, op, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO recovery_codes (user_id, hash)
			SELECT $1, h FROM unnest($2::bytea[]) AS h ON CONFLICT DO NOTHING`, userID, hs); err != nil {
			return db.wrap(ctx, op, err)
		}
		return nil
	})
}

// UseRecoveryCode implements authd.FactorStore with one DELETE: of
// concurrent calls for one code only the first deletes a row.
func (db *DB) UseRecoveryCode(ctx context.Context, userID string, hash []byte) (bool, error) {
	const op = "use recovery code"
	if !storable(userID) {
		return false, db.keyNotFound(ctx, op)
	}
	n, err := db.exec(ctx, op, `DELETE FROM recovery_codes WHERE user_id = $1 AND hash = $2`, userID, nonNil(hash))
	return n == 1, err
}

// RecoveryCodesLeft implements authd.FactorStore.
func (db *DB) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	const op = "count recovery codes"
	if !storable(userID) {
		if err := ctx.Err(); err != nil {
			return 0, db.wrap(ctx, op, err)
		}
		return 0, nil
	}
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE user_id = $1`, userID).Scan(&n); err != nil {
		return 0, db.wrap(ctx, op, err)
	}
	return n, nil
}

const passkeyColumns = `id, user_id, name, credential_id, credential, sign_count, created_at, last_used_at`

// AddPasskey implements authd.FactorStore. The primary key and the UNIQUE
// constraint on credential_id give ErrConflict.
func (db *DB) AddPasskey(ctx context.Context, p *authd.Passkey) error {
	_, err := db.exec(ctx, "add passkey",
		`INSERT INTO passkeys (`+passkeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		p.ID, p.UserID, p.Name, nonNil(p.CredentialID), nonNil(p.Credential), int64(p.SignCount),
		p.CreatedAt, nullTime(p.LastUsedAt))
	return err
}

// Passkeys implements authd.FactorStore: oldest first, by id among those
// created in one microsecond.
func (db *DB) Passkeys(ctx context.Context, userID string) ([]*authd.Passkey, error) {
	const op = "list passkeys"
	if !storable(userID) {
		if err := ctx.Err(); err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		return []*authd.Passkey{}, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT `+passkeyColumns+` FROM passkeys
		WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return collect(ctx, db, op, rows, scanPasskey)
}

// PasskeyByCredentialID implements authd.FactorStore.
func (db *DB) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*authd.Passkey, error) {
	p, err := scanPasskey(db.pool.QueryRow(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE credential_id = $1`, nonNil(credentialID)))
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
	if !storable(id) {
		return false, db.keyNotFound(ctx, op)
	}
	n, err := db.exec(ctx, op, `UPDATE passkeys SET sign_count = $2, last_used_at = $3
		WHERE id = $1 AND (sign_count < $2 OR (sign_count = 0 AND $2 = 0))`, id, int64(count), nullTime(at))
	if err != nil {
		return false, err
	}
	if n == 1 {
		return true, nil
	}
	return false, db.exists(ctx, op, `SELECT 1 FROM passkeys WHERE id = $1`, id)
}

// RenamePasskey implements authd.FactorStore. Another user's passkey is
// not found: the WHERE clause names both the user and the id.
func (db *DB) RenamePasskey(ctx context.Context, userID, id, name string) error {
	const op = "rename passkey"
	if !storable(userID, id) {
		return db.keyNotFound(ctx, op)
	}
	n, err := db.exec(ctx, op, `UPDATE passkeys SET name = $3 WHERE user_id = $1 AND id = $2`, userID, id, name)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// DeletePasskey implements authd.FactorStore, as RenamePasskey.
func (db *DB) DeletePasskey(ctx context.Context, userID, id string) error {
	const op = "delete passkey"
	if !storable(userID, id) {
		return db.keyNotFound(ctx, op)
	}
	n, err := db.exec(ctx, op, `DELETE FROM passkeys WHERE user_id = $1 AND id = $2`, userID, id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// DeleteFactors implements authd.FactorStore in one transaction.
func (db *DB) DeleteFactors(ctx context.Context, userID string) error {
	const op = "delete factors"
	if !storable(userID) {
		if err := ctx.Err(); err != nil {
			return db.wrap(ctx, op, err)
		}
		return nil
	}
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		for _, q := range []string{
			`DELETE FROM totp WHERE user_id = $1`,
			`DELETE FROM recovery_codes WHERE user_id = $1`,
			`DELETE FROM passkeys WHERE user_id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, userID); err != nil {
				return db.wrap(ctx, op, err)
			}
		}
		return nil
	})
}

// scanPasskey reads one row of passkeyColumns.
func scanPasskey(row pgx.Row) (*authd.Passkey, error) {
	var (
		p        authd.Passkey
		count    int64
		lastUsed pgtype.Timestamptz
	)
	if err := row.Scan(&p.ID, &p.UserID, &p.Name, &p.CredentialID, &p.Credential, &count, &p.CreatedAt, &lastUsed); err != nil {
		return nil, err
	}
	p.SignCount = uint32(count)
	p.LastUsedAt = fromNullTime(lastUsed)
	return &p, nil
}

// exists answers a conditional write that changed nothing: nil when query
// finds the row, ErrNotFound named for op when it does not.
func (db *DB) exists(ctx context.Context, op, query string, args ...any) error {
	var one int
	return db.wrap(ctx, op, db.pool.QueryRow(ctx, query, args...).Scan(&one))
}

// PutChallenge implements authd.ChallengeStore. The primary key gives
// ErrConflict.
func (db *DB) PutChallenge(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	_, err := db.exec(ctx, "put challenge", `INSERT INTO webauthn_challenges (key, data, expires_at) VALUES ($1, $2, $3)`,
		key, nonNil(data), expiresAt)
	return err
}

// TakeChallenge implements authd.ChallengeStore with one DELETE …
// RETURNING: of concurrent calls only the first deletes the row and gets
// its data. An expired challenge is not taken; DeleteChallengesBefore
// removes it.
func (db *DB) TakeChallenge(ctx context.Context, key string, now time.Time) ([]byte, error) {
	const op = "take challenge"
	if !storable(key) {
		return nil, db.keyNotFound(ctx, op)
	}
	var data []byte
	err := db.pool.QueryRow(ctx, `DELETE FROM webauthn_challenges WHERE key = $1 AND expires_at >= $2 RETURNING data`, key, now).Scan(&data)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return data, nil
}

// DeleteChallengesBefore implements authd.ChallengeStore.
func (db *DB) DeleteChallengesBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := db.exec(ctx, "delete challenges", `DELETE FROM webauthn_challenges WHERE expires_at < $1`, t)
	return int(n), err
}
