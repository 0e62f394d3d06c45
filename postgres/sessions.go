package postgres

import (
	"context"
	"time"

	"github.com/authd/authd"
	"github.com/jackc/pgx/v5"
)

const sessionColumns = `id, hash, user_id, email, roles, created_at, last_seen_at, expires_at, absolute_expires_at, ip, user_agent, amr, pending`

// sessionByHashSQL is the lookup of every request that carries a cookie.
// pgx prepares it once per connection (its statement cache) and then runs
// it in one round trip: Bind, Execute, Sync. No transaction.
const sessionByHashSQL = `SELECT ` + sessionColumns + ` FROM sessions WHERE hash = $1`

// CreateSession implements authd.SessionStore.
//
// NOTE: only s.Hash, the SHA-256 of the cookie value, is stored: a leaked
// database gives no live session.
func (db *DB) CreateSession(ctx context.Context, s *authd.Session) error {
	_, err := db.exec(ctx, "create session",
		`INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		s.ID, nonNil(s.Hash), s.UserID, s.Email, list(s.Roles),
		s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.AbsoluteExpiresAt, s.IP, s.UserAgent, list(s.AMR), s.Pending)
	if err == nil {
		db.prune(&db.sessionWrites, `DELETE FROM sessions WHERE id IN (
			SELECT id FROM sessions WHERE expires_at < $1 LIMIT $2)`)
	}
	return err
}

// SessionByHash implements authd.SessionStore: one prepared statement
// served from the unique index on hash. Expired sessions are returned as
// stored; the caller checks expiry.
func (db *DB) SessionByHash(ctx context.Context, hash []byte) (*authd.Session, error) {
	const op = "find session"
	if len(hash) == 0 {
		return nil, db.keyNotFound(ctx, op)
	}
	s, err := scanSession(db.pool.QueryRow(ctx, sessionByHashSQL, hash))
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return s, nil
}

func scanSession(row pgx.Row) (*authd.Session, error) {
	var s authd.Session
	err := row.Scan(&s.ID, &s.Hash, &s.UserID, &s.Email, &s.Roles,
		&s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt, &s.AbsoluteExpiresAt, &s.IP, &s.UserAgent, &s.AMR, &s.Pending)
	if err != nil {
		return nil, err
	}
	// No methods reads back as nil: the sessions of before 0006 hold '{}'
	// and were password sign-ins (see authd.Session).
	if len(s.AMR) == 0 {
		s.AMR = nil
	}
	return &s, nil
}

// TouchSession implements authd.SessionStore. Neither column it sets is
// indexed but expires_at, so most touches are HOT updates.
func (db *DB) TouchSession(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	const op = "touch session"
	if !storable(id) {
		return db.keyNotFound(ctx, op)
	}
	n, err := db.exec(ctx, op, `UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id = $3`, lastSeen, expiresAt, id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// ListSessions implements authd.SessionStore.
func (db *DB) ListSessions(ctx context.Context, userID string, now time.Time) ([]*authd.Session, error) {
	const op = "list sessions"
	if !storable(userID) {
		if err := ctx.Err(); err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		return []*authd.Session{}, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at DESC, id DESC`, userID, now)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return collect(ctx, db, op, rows, scanSession)
}

// DeleteSession implements authd.SessionStore. Another user's session is
// not found: the WHERE clause names both the user and the id. Once it
// returns, the row is gone for every node (there is no cache here).
func (db *DB) DeleteSession(ctx context.Context, userID, id string) error {
	const op = "delete session"
	if !storable(userID, id) {
		return db.keyNotFound(ctx, op)
	}
	n, err := db.exec(ctx, op, `DELETE FROM sessions WHERE user_id = $1 AND id = $2`, userID, id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// DeleteUserSessions implements authd.SessionStore. One DELETE … RETURNING
// statement: atomic, and it reports exactly the rows it deleted. Two
// concurrent calls never report one session twice: the second waits on the
// rows the first deleted and skips them once it commits.
func (db *DB) DeleteUserSessions(ctx context.Context, userID, except string) ([]string, error) {
	const op = "delete user sessions"
	if !storable(userID) {
		if err := ctx.Err(); err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		return []string{}, nil
	}
	if !storable(except) {
		except = "" // names no session; "" names none either
	}
	rows, err := db.pool.Query(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id <> $2 RETURNING id`, userID, except)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	ids, err := pgx.AppendRows(make([]string, 0, 4), rows, pgx.RowTo[string])
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return ids, nil
}
