package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// addFailureSQL counts one failure in a single statement: the upsert runs
// under the file's write lock, so n concurrent calls (threads or processes)
// add exactly n. A window that has ended (reset_at <= now) is replaced by a
// new one opened at now. SET expressions see the row as it was before the
// update, so both CASEs test the old reset_at.
const addFailureSQL = `INSERT INTO login_failures (key, count, reset_at) VALUES (?1, 1, ?3)
	ON CONFLICT (key) DO UPDATE SET
		count    = CASE WHEN reset_at <= ?2 THEN 1 ELSE count + 1 END,
		reset_at = CASE WHEN reset_at <= ?2 THEN excluded.reset_at ELSE reset_at END
	RETURNING count, reset_at`

// failuresSQL reads a key's live window.
const failuresSQL = `SELECT count, reset_at FROM login_failures WHERE key = ? AND reset_at > ?`

// Failures implements authd.Limiter. A key without a live window has count
// 0 and a zero resetAt.
func (db *DB) Failures(ctx context.Context, key string, now time.Time) (int, time.Time, error) {
	var (
		n     int
		reset int64
	)
	err := db.queryRow(ctx, failuresSQL, key, micros(now)).Scan(&n, &reset)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, db.wrap(ctx, "count failures", err)
	}
	return n, fromMicros(reset), nil
}

// AddFailure implements authd.Limiter.
func (db *DB) AddFailure(ctx context.Context, key string, window time.Duration, now time.Time) (int, time.Time, error) {
	var (
		n     int
		reset int64
	)
	err := db.writeQueryRow(ctx, addFailureSQL, key, micros(now), micros(now.Add(window))).Scan(&n, &reset)
	if err != nil {
		return 0, time.Time{}, db.wrap(ctx, "add failure", err)
	}
	db.prune(ctx, &db.failureWrites, `DELETE FROM login_failures WHERE reset_at < ?`)
	return n, fromMicros(reset), nil
}

// ForgiveFailure implements authd.Limiter in one statement, atomic under
// the file's write lock.
func (db *DB) ForgiveFailure(ctx context.Context, key string, now time.Time) error {
	_, err := db.exec(ctx, "forgive failure",
		`UPDATE login_failures SET count = count - 1 WHERE key = ? AND reset_at > ? AND count > 0`, key, micros(now))
	return err
}

// ResetFailures implements authd.Limiter.
func (db *DB) ResetFailures(ctx context.Context, key string) error {
	_, err := db.exec(ctx, "reset failures", `DELETE FROM login_failures WHERE key = ?`, key)
	return err
}
