package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"time"

	"github.com/authd/authd"
)

const outboxColumns = `id, kind, target, body, user_id, session_id, client_id, attempts, created_at, next_at, last_err`

// enqueueSQL inserts the message of messageArgs; IssueLink runs it in its
// transaction.
const enqueueSQL = `INSERT INTO outbox (` + outboxColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func messageArgs(m *authd.OutboxMessage) []any {
	return []any{m.ID, m.Kind, m.Target, nonNil(m.Body), m.UserID, m.SessionID, m.ClientID, m.Attempts,
		micros(m.CreatedAt), micros(m.NextAt), m.LastErr}
}

// Enqueue implements authd.Outbox.
func (db *DB) Enqueue(ctx context.Context, m *authd.OutboxMessage) error {
	_, err := db.exec(ctx, "enqueue message", enqueueSQL, messageArgs(m)...)
	return err
}

// Claim implements authd.Outbox in one IMMEDIATE transaction: the due
// messages are chosen and their lease taken while this process holds the
// file's write lock, so no other call, of this process or another, sees
// them due until the lease ends. Ties of NextAt go by id.
func (db *DB) Claim(ctx context.Context, kind string, now time.Time, lease time.Duration, limit int) ([]*authd.OutboxMessage, error) {
	const op = "claim messages"
	var out []*authd.OutboxMessage
	err := db.tx(ctx, op, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM outbox WHERE kind = ? AND next_at <= ?
			ORDER BY next_at, id LIMIT ?`, kind, micros(now), max(limit, 0))
		if err != nil {
			return db.wrap(ctx, op, err)
		}
		ids, err := collect(ctx, db, op, rows, func(r scanner) (string, error) {
			var id string
			return id, r.Scan(&id)
		})
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			out = []*authd.OutboxMessage{}
			return nil
		}
		list, err := json.Marshal(ids)
		if err != nil {
			return db.wrap(ctx, op, err)
		}
		rows, err = tx.QueryContext(ctx, `UPDATE outbox SET next_at = ?, attempts = attempts + 1
			WHERE id IN (SELECT value FROM json_each(?)) RETURNING `+outboxColumns, micros(now.Add(lease)), string(list))
		if err != nil {
			return db.wrap(ctx, op, err)
		}
		if out, err = collect(ctx, db, op, rows, scanMessage); err != nil {
			return err
		}
		// RETURNING has no order: put them back in the order chosen.
		slices.SortFunc(out, func(a, b *authd.OutboxMessage) int {
			return slices.Index(ids, a.ID) - slices.Index(ids, b.ID)
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Reschedule implements authd.Outbox.
func (db *DB) Reschedule(ctx context.Context, id string, next time.Time, lastErr string) error {
	const op = "reschedule message"
	n, err := db.exec(ctx, op, `UPDATE outbox SET next_at = ?, last_err = ? WHERE id = ?`, micros(next), lastErr, id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// DeleteMessage implements authd.Outbox.
func (db *DB) DeleteMessage(ctx context.Context, id string) error {
	_, err := db.exec(ctx, "delete message", `DELETE FROM outbox WHERE id = ?`, id)
	return err
}

// scanMessage reads one row of outboxColumns.
func scanMessage(row scanner) (*authd.OutboxMessage, error) {
	var (
		m             authd.OutboxMessage
		created, next int64
	)
	err := row.Scan(&m.ID, &m.Kind, &m.Target, &m.Body, &m.UserID, &m.SessionID, &m.ClientID, &m.Attempts,
		&created, &next, &m.LastErr)
	if err != nil {
		return nil, err
	}
	m.CreatedAt, m.NextAt = fromMicros(created), fromMicros(next)
	return &m, nil
}
