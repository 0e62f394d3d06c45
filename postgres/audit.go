package postgres

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/pagecursor"
	"github.com/jackc/pgx/v5"
)

// RecordEvent implements authd.AuditLog. An event without a time is
// stamped with the current time; empty strings are stored as NULL. Text
// PostgreSQL cannot hold (NUL, invalid UTF-8) is replaced with U+FFFD, so
// that no content makes the insert fail.
//
// NOTE: the audit log never receives a secret: callers pass ids, addresses
// and event names, never passwords, cookie values, tokens or hashes.
func (db *DB) RecordEvent(ctx context.Context, e authd.AuditEvent) error {
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	_, err := db.exec(ctx, "record event",
		`INSERT INTO audit_events (at, event, user_id, session_id, ip, user_agent, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		at, sanitize(e.Event), nullString(e.UserID), nullString(e.SessionID), nullString(e.IP), nullString(e.UserAgent), nullString(e.Detail))
	return err
}

// ListEvents implements authd.AuditReader by keyset paging on id, newest
// first: each page starts below the last id of the page before. The
// identity column hands out ids in the order inserts begin, so an event
// recorded after a page was read has an id above every id that page saw
// and never appears in a later page; an insert still uncommitted when the
// first page was read may appear in a later one.
//
// The statement is one of the few combinations of the filters, each a
// constant clause (pgx prepares each once per connection); the indexes of
// 0007 serve the user and event filters.
func (db *DB) ListEvents(ctx context.Context, q authd.AuditQuery) ([]authd.AuditEvent, string, error) {
	const op = "list events"
	if err := pagecursor.CheckLimit(q.Limit); err != nil {
		return nil, "", err
	}
	before, err := pagecursor.ParseEvent(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	if before == 0 {
		before = math.MaxInt64
	}
	query := `SELECT id, at, event, coalesce(user_id, ''), coalesce(session_id, ''), coalesce(ip, ''),
		coalesce(user_agent, ''), coalesce(detail, '') FROM audit_events WHERE id < $1`
	args := []any{before}
	arg := func(clause string, v any) {
		args = append(args, v)
		query += fmt.Sprintf(clause, len(args))
	}
	// The filters are sanitized as RecordEvent stored the values.
	if q.UserID != "" {
		arg(` AND user_id = $%d`, sanitize(q.UserID))
	}
	if q.Event != "" {
		arg(` AND event = $%d`, sanitize(q.Event))
	}
	if !q.Since.IsZero() {
		arg(` AND at >= $%d`, q.Since)
	}
	arg(` ORDER BY id DESC LIMIT $%d`, q.Limit+1)
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, "", db.wrap(ctx, op, err)
	}
	type row struct {
		id int64
		e  authd.AuditEvent
	}
	rs, err := collect(ctx, db, op, rows, func(r pgx.Row) (row, error) {
		var x row
		err := r.Scan(&x.id, &x.e.At, &x.e.Event, &x.e.UserID, &x.e.SessionID, &x.e.IP, &x.e.UserAgent, &x.e.Detail)
		return x, err
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rs) > q.Limit {
		rs = rs[:q.Limit]
		next = pagecursor.Event(rs[len(rs)-1].id)
	}
	out := make([]authd.AuditEvent, len(rs))
	for i, x := range rs {
		out[i] = x.e
	}
	return out, next, nil
}
