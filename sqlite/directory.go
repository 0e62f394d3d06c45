package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/pagecursor"
)

// SetEmail implements authd.UserDirectory. The UNIQUE constraint on email
// gives ErrConflict.
func (db *DB) SetEmail(ctx context.Context, id, email string, verified bool, at time.Time) error {
	const op = "set email"
	n, err := db.exec(ctx, op, `UPDATE users SET email = ?, email_verified = ?, updated_at = ? WHERE id = ?`,
		email, verified, micros(at), id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// SetRoles implements authd.UserDirectory.
func (db *DB) SetRoles(ctx context.Context, id string, roles []string, at time.Time) error {
	const op = "set roles"
	n, err := db.exec(ctx, op, `UPDATE users SET roles = ?, updated_at = ? WHERE id = ?`, encodeList(roles), micros(at), id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// listUsersSQL reads one row past the page, which tells whether there is
// a next one. LIKE compares ASCII letters case-insensitively, and the
// query is lower-cased as emails are stored.
const listUsersSQL = `SELECT ` + userColumns + ` FROM users
	WHERE id > ? AND email LIKE ? ESCAPE '\' ORDER BY id LIMIT ?`

// ListUsers implements authd.UserDirectory by keyset paging on the
// primary key: each page starts after the last id of the page before, so
// users inserted or deleted meanwhile shift no other user to another page.
// Ids compare as bytes (BINARY).
func (db *DB) ListUsers(ctx context.Context, q authd.UserQuery) ([]*authd.User, string, error) {
	const op = "list users"
	if err := pagecursor.CheckLimit(q.Limit); err != nil {
		return nil, "", err
	}
	after, err := pagecursor.ParseUser(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	rows, err := db.query(ctx, listUsersSQL, after, pagecursor.Contains(strings.ToLower(q.Query)), q.Limit+1)
	if err != nil {
		return nil, "", db.wrap(ctx, op, err)
	}
	us, err := collect(ctx, db, op, rows, scanUser)
	if err != nil {
		return nil, "", err
	}
	if len(us) <= q.Limit {
		return us, "", nil
	}
	us = us[:q.Limit]
	return us, pagecursor.User(us[len(us)-1].ID), nil
}

// deleteUserSQL deletes, each with the user's id as its argument, every
// row a user has besides their row in users and their audit events.
// Deleting sessions fires the triggers of 0002, which tell the session
// watchers of every process, as DeleteSession does. Token hashes go with
// their family: explicitly, and by ON DELETE CASCADE as well.
var deleteUserSQL = []string{
	`DELETE FROM sessions WHERE user_id = ?`,
	`DELETE FROM refresh_tokens WHERE family_id IN (SELECT id FROM refresh_families WHERE user_id = ?)`,
	`DELETE FROM refresh_families WHERE user_id = ?`,
	`DELETE FROM totp WHERE user_id = ?`,
	`DELETE FROM recovery_codes WHERE user_id = ?`,
	`DELETE FROM passkeys WHERE user_id = ?`,
	`DELETE FROM consents WHERE user_id = ?`,
	`DELETE FROM auth_codes WHERE user_id = ?`,
	`DELETE FROM session_clients WHERE user_id = ?`,
	`DELETE FROM email_links WHERE user_id = ?`,
	`DELETE FROM identities WHERE user_id = ?`,
}

// DeleteUser implements authd.UserDirectory in one IMMEDIATE transaction.
// The user's row goes first: an unknown id rolls back before anything
// else is deleted. Outbox messages of other kinds than mail stay (a
// back-channel logout still tells the client the user's sessions ended).
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	const op = "delete user"
	return db.tx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id)
		if err != nil {
			return db.wrap(ctx, op, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return db.wrap(ctx, op, err)
		} else if n == 0 {
			return notFound(op)
		}
		for _, q := range deleteUserSQL {
			if _, err := tx.ExecContext(ctx, q, id); err != nil {
				return db.wrap(ctx, op, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM outbox WHERE user_id = ? AND kind = ?`, id, authd.OutboxMail); err != nil {
			return db.wrap(ctx, op, err)
		}
		return nil
	})
}
