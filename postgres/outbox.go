package postgres

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/authd/authd"
	"github.com/jackc/pgx/v5"
)

const outboxColumns = `id, kind, target, body, user_id, session_id, client_id, attempts, created_at, next_at, last_err`

// enqueueSQL inserts the message of messageArgs; IssueLink runs it in its
// transaction.
const enqueueSQL = `INSERT INTO outbox (` + outboxColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

func messageArgs(m *authd.OutboxMessage) []any {
	return []any{m.ID, m.Kind, m.Target, nonNil(m.Body), m.UserID, m.SessionID, m.ClientID, m.Attempts,
		m.CreatedAt, m.NextAt, m.LastErr}
}

// Enqueue implements authd.Outbox.
func (db *DB) Enqueue(ctx context.Context, m *authd.OutboxMessage) error {
	_, err := db.exec(ctx, "enqueue message", enqueueSQL, messageArgs(m)...)
	return err
}

// Claim implements authd.Outbox in one statement: the WITH picks the due
// messages and locks them (FOR UPDATE SKIP LOCKED), and the UPDATE takes
// their lease. A concurrent Claim skips the rows this one has locked
// instead of waiting for them; a row it reaches after this one committed
// is re-checked on its new version (next_at moved past now) and left out.
// So no message is claimed twice within a lease, and claimers on many
// nodes do not queue behind each other.
//
// SKIP LOCKED is the one exception to the portable subset of
// doc.go; PostgreSQL has it since 9.5, CockroachDB and YugabyteDB in
// their recent releases.
//
// RETURNING gives the new next_at; the old one, joined from the WITH,
// orders the result (ties by id).
func (db *DB) Claim(ctx context.Context, kind string, now time.Time, lease time.Duration, limit int) ([]*authd.OutboxMessage, error) {
	const op = "claim messages"
	if limit <= 0 || !storable(kind) {
		if err := ctx.Err(); err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		return []*authd.OutboxMessage{}, nil
	}
	type claimed struct {
		m     *authd.OutboxMessage
		dueAt time.Time
	}
	rows, err := db.pool.Query(ctx, `WITH due AS (
			SELECT id, next_at FROM outbox
			WHERE kind = $1 AND next_at <= $2
			ORDER BY next_at, id
			LIMIT $3
			FOR UPDATE SKIP LOCKED
		)
		UPDATE outbox o SET next_at = $4, attempts = o.attempts + 1
		FROM due WHERE o.id = due.id
		RETURNING o.id, o.kind, o.target, o.body, o.user_id, o.session_id, o.client_id, o.attempts,
			o.created_at, o.next_at, o.last_err, due.next_at`,
		kind, now, limit, now.Add(lease))
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	cs, err := collect(ctx, db, op, rows, func(r pgx.Row) (claimed, error) {
		var c claimed
		m, err := scanMessage(r, &c.dueAt)
		c.m = m
		return c, err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(cs, func(a, b claimed) int {
		if c := a.dueAt.Compare(b.dueAt); c != 0 {
			return c
		}
		return strings.Compare(a.m.ID, b.m.ID)
	})
	out := make([]*authd.OutboxMessage, len(cs))
	for i, c := range cs {
		out[i] = c.m
	}
	return out, nil
}

// Reschedule implements authd.Outbox. lastErr may quote what a receiver
// answered: it is stored with what text cannot hold (NUL, invalid UTF-8)
// replaced by U+FFFD, as audit events are.
func (db *DB) Reschedule(ctx context.Context, id string, next time.Time, lastErr string) error {
	const op = "reschedule message"
	if !storable(id) {
		return db.keyNotFound(ctx, op)
	}
	n, err := db.exec(ctx, op, `UPDATE outbox SET next_at = $2, last_err = $3 WHERE id = $1`, id, next, sanitize(lastErr))
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// DeleteMessage implements authd.Outbox.
func (db *DB) DeleteMessage(ctx context.Context, id string) error {
	const op = "delete message"
	if !storable(id) {
		if err := ctx.Err(); err != nil {
			return db.wrap(ctx, op, err)
		}
		return nil
	}
	_, err := db.exec(ctx, op, `DELETE FROM outbox WHERE id = $1`, id)
	return err
}

// scanMessage reads one row of outboxColumns, then extra.
func scanMessage(row pgx.Row, extra ...any) (*authd.OutboxMessage, error) {
	var m authd.OutboxMessage
	dest := append([]any{&m.ID, &m.Kind, &m.Target, &m.Body, &m.UserID, &m.SessionID, &m.ClientID, &m.Attempts,
		&m.CreatedAt, &m.NextAt, &m.LastErr}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	return &m, nil
}
