package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/seqcursor"
)

// Revoke implements authd.RevocationList. An id already listed with an
// ExpiresAt at least as late is left alone; otherwise the entry is
// (re)inserted. INSERT OR REPLACE deletes the old row and inserts a new one
// with a new seq, so an extended entry is delivered again to readers whose
// cursor passed it: they must learn the later ExpiresAt.
func (db *DB) Revoke(ctx context.Context, r authd.Revocation) error {
	_, err := db.exec(ctx, "revoke",
		`INSERT OR REPLACE INTO revocations (kind, id, expires_at)
		SELECT ?1, ?2, ?3 WHERE NOT EXISTS (
			SELECT 1 FROM revocations WHERE kind = ?1 AND id = ?2 AND expires_at >= ?3)`,
		r.Kind, r.ID, micros(r.ExpiresAt))
	return err
}

// RevokedSince implements authd.RevocationList.
//
// The cursor is the seq of the newest entry the reader has passed. No entry
// is ever skipped, even one a concurrent transaction is adding:
//
//   - SQLite has one writer at a time per file (across processes), and a
//     seq is assigned inside the writing transaction. While a transaction
//     that took seq N is uncommitted, no other transaction can commit at
//     all, so no committed seq above N exists for a reader to pass.
//   - AUTOINCREMENT never hands out a seq at or below one already used, even
//     after the newest rows are pruned (sqlite_sequence keeps the high-water
//     mark).
//   - The rows and the next cursor are read in one read transaction, that
//     is one WAL snapshot: the cursor returned (the high-water mark of that
//     snapshot) covers exactly the rows that snapshot holds.
//
// Rows left out because they expired still move the cursor past them.
func (db *DB) RevokedSince(ctx context.Context, cursor string, now time.Time) ([]authd.Revocation, string, error) {
	const op = "revoked since"
	from, err := seqcursor.Parse(cursor)
	if err != nil {
		return nil, "", err
	}
	tx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return nil, "", db.wrap(ctx, op, err)
	}
	defer tx.Rollback()
	var high int64
	err = tx.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'revocations'`).Scan(&high)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, "", db.wrap(ctx, op, err)
	}
	out := []authd.Revocation{}
	if high > from {
		rows, err := tx.QueryContext(ctx, `SELECT kind, id, expires_at FROM revocations
			WHERE seq > ? AND expires_at > ? ORDER BY seq`, from, micros(now))
		if err != nil {
			return nil, "", db.wrap(ctx, op, err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				r   authd.Revocation
				exp int64
			)
			if err := rows.Scan(&r.Kind, &r.ID, &exp); err != nil {
				return nil, "", db.wrap(ctx, op, err)
			}
			r.ExpiresAt = fromMicros(exp)
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			return nil, "", db.wrap(ctx, op, err)
		}
	}
	return out, seqcursor.Format(max(from, high)), nil
}

// PruneRevocations implements authd.RevocationList.
func (db *DB) PruneRevocations(ctx context.Context, now time.Time) error {
	_, err := db.exec(ctx, "prune revocations", `DELETE FROM revocations WHERE expires_at < ?`, micros(now))
	return err
}
