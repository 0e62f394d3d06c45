package postgres

import (
	"context"
	"time"

	"github.com/authd/authd"
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
