package sqlite

import (
	"context"
	"time"

	"github.com/authd/authd"
)

const sessionColumns = `id, hash, user_id, email, roles, created_at, last_seen_at, expires_at, absolute_expires_at, ip, user_agent, amr, pending`

// The statements of every request that carries a cookie.
const (
	sessionByHashSQL = `SELECT ` + sessionColumns + ` FROM sessions WHERE hash = ?`
	touchSessionSQL  = `UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?`
)

// CreateSession implements authd.SessionStore.
//
// NOTE: only s.Hash, the SHA-256 of the cookie value, is stored: a leaked
// database file gives no live session.
func (db *DB) CreateSession(ctx context.Context, s *authd.Session) error {
	hash := s.Hash
	if hash == nil {
		hash = []byte{}
	}
	_, err := db.exec(ctx, "create session",
		`INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, hash, s.UserID, s.Email, encodeList(s.Roles),
		micros(s.CreatedAt), micros(s.LastSeenAt), micros(s.ExpiresAt), micros(s.AbsoluteExpiresAt),
		s.IP, s.UserAgent, encodeList(s.AMR), s.Pending)
	if err == nil {
		db.prune(ctx, &db.sessionWrites, `DELETE FROM sessions WHERE expires_at < ?`)
	}
	return err
}

// SessionByHash implements authd.SessionStore. It is the lookup of every
// request that carries a cookie: one prepared statement on the read pool,
// served from the UNIQUE index on hash. Expired sessions are returned as
// stored; the caller checks expiry.
func (db *DB) SessionByHash(ctx context.Context, hash []byte) (*authd.Session, error) {
	const op = "find session"
	if len(hash) == 0 {
		return nil, notFound(op)
	}
	s, err := scanSession(db.queryRow(ctx, sessionByHashSQL, hash))
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return s, nil
}

// sessionRow is a session with the scan targets of its encoded columns, in
// one allocation: a lookup allocates this, the roles and AMR slices and
// what the driver hands over, nothing more.
type sessionRow struct {
	s                                  authd.Session
	roles, amr                         string
	created, seen, expires, absExpires int64
}

func scanSession(row scanner) (*authd.Session, error) {
	r := new(sessionRow)
	s := &r.s
	if err := row.Scan(&s.ID, &s.Hash, &s.UserID, &s.Email, &r.roles, &r.created, &r.seen, &r.expires, &r.absExpires, &s.IP, &s.UserAgent, &r.amr, &s.Pending); err != nil {
		return nil, err
	}
	var err error
	if s.Roles, err = decodeList(r.roles); err != nil {
		return nil, err
	}
	// No methods reads back as nil: the sessions of before 0006 hold '[]'
	// and were password sign-ins (see authd.Session).
	if r.amr != "[]" {
		if s.AMR, err = decodeList(r.amr); err != nil {
			return nil, err
		}
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.AbsoluteExpiresAt = fromMicros(r.created), fromMicros(r.seen), fromMicros(r.expires), fromMicros(r.absExpires)
	return s, nil
}

// TouchSession implements authd.SessionStore.
func (db *DB) TouchSession(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	const op = "touch session"
	n, err := db.exec(ctx, op, touchSessionSQL, micros(lastSeen), micros(expiresAt), id)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(op)
	}
	return nil
}

// ListSessions implements authd.SessionStore.
func (db *DB) ListSessions(ctx context.Context, userID string, now time.Time) ([]*authd.Session, error) {
	const op = "list sessions"
	rows, err := db.read.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = ? AND expires_at > ? ORDER BY created_at DESC, id DESC`, userID, micros(now))
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return collect(ctx, db, op, rows, scanSession)
}

// DeleteSession implements authd.SessionStore. Another user's session is
// not found: the WHERE clause names both the user and the id.
func (db *DB) DeleteSession(ctx context.Context, userID, id string) error {
	const op = "delete session"
	n, err := db.exec(ctx, op, `DELETE FROM sessions WHERE user_id = ? AND id = ?`, userID, id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// DeleteUserSessions implements authd.SessionStore. One DELETE … RETURNING
// statement: atomic, and it reports exactly the rows it deleted.
func (db *DB) DeleteUserSessions(ctx context.Context, userID, except string) ([]string, error) {
	const op = "delete user sessions"
	rows, err := db.write.QueryContext(ctx, `DELETE FROM sessions WHERE user_id = ? AND id <> ? RETURNING id`, userID, except)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	defer rows.Close()
	ids := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return ids, nil
}
