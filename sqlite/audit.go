package sqlite

import (
	"context"
	"database/sql"
	"math"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/pagecursor"
)

// RecordEvent implements authd.AuditLog. An event without a time is stamped
// with the current time; empty strings are stored as NULL. Any string is
// stored as given (TEXT keeps every byte).
//
// NOTE: the audit log never receives a secret: callers pass ids, addresses
// and event names, never passwords, cookie values, tokens or hashes.
func (db *DB) RecordEvent(ctx context.Context, e authd.AuditEvent) error {
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	_, err := db.exec(ctx, "record event",
		`INSERT INTO audit_events (at, event, user_id, session_id, ip, user_agent, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		micros(at), e.Event, nullString(e.UserID), nullString(e.SessionID), nullString(e.IP), nullString(e.UserAgent), nullString(e.Detail))
	return err
}

// ListEvents implements authd.AuditReader by keyset paging on id, which
// AUTOINCREMENT hands out in the order of recording (one writer at a time
// per file) and never reuses: each page starts below the last id of the
// page before, so events recorded during a paging, all above the first
// page's ids, never appear in its later pages.
//
// The statement is one of the few combinations of the filters, each a
// constant clause; the indexes of 0007 serve the user and event filters.
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
	query := `SELECT id, at, event, user_id, session_id, ip, user_agent, detail FROM audit_events WHERE id < ?`
	args := []any{before}
	if q.UserID != "" {
		query += ` AND user_id = ?`
		args = append(args, q.UserID)
	}
	if q.Event != "" {
		query += ` AND event = ?`
		args = append(args, q.Event)
	}
	if !q.Since.IsZero() {
		query += ` AND at >= ?`
		args = append(args, micros(q.Since))
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, q.Limit+1)
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, "", db.wrap(ctx, op, err)
	}
	type row struct {
		id int64
		e  authd.AuditEvent
	}
	rs, err := collect(ctx, db, op, rows, func(r scanner) (row, error) {
		var (
			x                             row
			at                            int64
			user, sess, ip, agent, detail sql.NullString
		)
		if err := r.Scan(&x.id, &at, &x.e.Event, &user, &sess, &ip, &agent, &detail); err != nil {
			return x, err
		}
		x.e.At = fromMicros(at)
		x.e.UserID, x.e.SessionID, x.e.IP, x.e.UserAgent, x.e.Detail = user.String, sess.String, ip.String, agent.String, detail.String
		return x, nil
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
