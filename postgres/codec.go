package postgres

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgtype"
)

// Times are timestamptz: microseconds, the precision the storetest suite
// expects of every store; pgx truncates the nanoseconds of a time.Time. A
// nullable time column holds NULL for the zero time ("never": not rotated,
// not revoked, not retired).

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) pgtype.Timestamptz {
	return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()}
}

// fromNullTime reads NULL back as the zero time.
func fromNullTime(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time
}

// list stores nil as an empty text[]: the columns are NOT NULL, and pgx
// sends a nil slice as NULL.
func list(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// nonNil stores a nil []byte as an empty bytea (pgx sends nil as NULL).
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// storable reports whether PostgreSQL can hold every s as text: valid
// UTF-8 (the database encoding) without NUL, which text cannot hold. A key
// that is not storable cannot name a stored row, so lookups answer
// ErrNotFound without asking the server, which would refuse the value.
func storable(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
			return false
		}
	}
	return true
}

// sanitize replaces what text cannot hold (invalid UTF-8, NUL) with U+FFFD,
// for the audit log, which never fails because of an event's content.
func sanitize(s string) string {
	if storable(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// nullString stores "" as NULL (audit_events), sanitized.
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	s = sanitize(s)
	return &s
}

// keyNotFound is the answer to a call keyed by a value that is not
// storable: ErrNotFound, or the context's error when ctx is done.
func (db *DB) keyNotFound(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return db.wrap(ctx, op, err)
	}
	return notFound(op)
}
