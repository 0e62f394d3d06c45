package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// Keys are sanitized (see sanitize): a key built from what a client sent
// (an email, an address) may hold bytes text cannot, and throttling must
// not fail because of them. Keys that differ only there share a window.

// Failures implements authd.Limiter. A window whose reset_at is not after
// now has ended: it counts 0.
func (db *DB) Failures(ctx context.Context, key string, now time.Time) (int, time.Time, error) {
	const op = "login failures"
	var (
		n     int
		reset time.Time
	)
	err := db.pool.QueryRow(ctx, `SELECT count, reset_at FROM login_failures WHERE key = $1 AND reset_at > $2`, sanitize(key), now).Scan(&n, &reset)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, db.wrap(ctx, op, err)
	}
	return n, reset, nil
}

// addFailureSQL counts one failure in one statement, atomic across nodes:
// the INSERT opens a window; on conflict the row is locked and updated in
// place, restarting the window when it has ended (reset_at <= now).
// Concurrent calls for one key queue on the row lock and each sees the
// previous one's count. Every expression of SET reads the row as it was.
const addFailureSQL = `INSERT INTO login_failures AS f (key, count, reset_at) VALUES ($1, 1, $3)
	ON CONFLICT (key) DO UPDATE SET
		count    = CASE WHEN f.reset_at <= $2 THEN 1 ELSE f.count + 1 END,
		reset_at = CASE WHEN f.reset_at <= $2 THEN excluded.reset_at ELSE f.reset_at END
	RETURNING count, reset_at`

// AddFailure implements authd.Limiter.
func (db *DB) AddFailure(ctx context.Context, key string, window time.Duration, now time.Time) (int, time.Time, error) {
	const op = "add login failure"
	var (
		n     int
		reset time.Time
	)
	err := db.pool.QueryRow(ctx, addFailureSQL, sanitize(key), now, now.Add(window)).Scan(&n, &reset)
	if err != nil {
		return 0, time.Time{}, db.wrap(ctx, op, err)
	}
	db.prune(&db.failureWrites, `DELETE FROM login_failures WHERE key IN (
		SELECT key FROM login_failures WHERE reset_at < $1 LIMIT $2)`)
	return n, reset, nil
}

// ForgiveFailure implements authd.Limiter in one statement: the UPDATE
// locks the row, so concurrent calls and AddFailure queue on it.
func (db *DB) ForgiveFailure(ctx context.Context, key string, now time.Time) error {
	const op = "forgive login failure"
	_, err := db.exec(ctx, op, `UPDATE login_failures SET count = count - 1 WHERE key = $1 AND reset_at > $2 AND count > 0`,
		sanitize(key), now)
	return err
}

// ResetFailures implements authd.Limiter.
func (db *DB) ResetFailures(ctx context.Context, key string) error {
	const op = "reset login failures"
	_, err := db.exec(ctx, op, `DELETE FROM login_failures WHERE key = $1`, sanitize(key))
	return err
}
