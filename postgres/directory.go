package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/pagecursor"
	"github.com/jackc/pgx/v5"
)

// SetRoles implements authd.UserDirectory.
func (db *DB) SetRoles(ctx context.Context, id string, roles []string, at time.Time) error {
	const op = "set roles"
	if !storable(id) {
		return db.keyNotFound(ctx, op)
	}
	n, err := db.exec(ctx, op, `UPDATE users SET roles = $1, updated_at = $2 WHERE id = $3`, list(roles), at, id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// SetEmail implements authd.UserDirectory. The unique constraint on email
// gives ErrConflict.
func (db *DB) SetEmail(ctx context.Context, id, email string, verified bool, at time.Time) error {
	const op = "set email"
	if !storable(id) {
		return db.keyNotFound(ctx, op)
	}
	n, err := db.exec(ctx, op, `UPDATE users SET email = $1, email_verified = $2, updated_at = $3 WHERE id = $4`,
		email, verified, at, id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// ListUsers implements authd.UserDirectory by keyset paging on the
// primary key: each page starts after the last id of the page before, so
// users inserted or deleted meanwhile shift no other user to another page.
// It reads one row past the page, which tells whether there is a next one.
//
// Ids compare and sort under the column's collation, the same in the
// WHERE clause as in ORDER BY, so the primary key serves both; with a
// collation other than C that order is not byte order (see ListClients).
// ILIKE compares case-insensitively; the query is lower-cased as emails
// are stored. Backslash is LIKE's default escape character here: no
// ESCAPE '\' literal, which would read differently with
// standard_conforming_strings off.
func (db *DB) ListUsers(ctx context.Context, q authd.UserQuery) ([]*authd.User, string, error) {
	const op = "list users"
	if err := pagecursor.CheckLimit(q.Limit); err != nil {
		return nil, "", err
	}
	after, err := pagecursor.ParseUser(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	if !storable(after) {
		return nil, "", authd.Invalidf("cursor", "malformed cursor")
	}
	if !storable(q.Query) {
		// No stored email contains what text cannot hold.
		if err := ctx.Err(); err != nil {
			return nil, "", db.wrap(ctx, op, err)
		}
		return []*authd.User{}, "", nil
	}
	rows, err := db.pool.Query(ctx, `SELECT `+userColumns+` FROM users
		WHERE id > $1 AND email ILIKE $2 ORDER BY id LIMIT $3`,
		after, pagecursor.Contains(strings.ToLower(q.Query)), q.Limit+1)
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

// deleteUserSQL deletes, each with the user's id as $1, every row a user
// has besides their row in users and their audit events. Deleting
// sessions fires the trigger of 0002, which tells the session watchers of
// every node at commit, as DeleteSession does; token hashes go with their
// family (ON DELETE CASCADE).
var deleteUserSQL = []string{
	`DELETE FROM sessions WHERE user_id = $1`,
	`DELETE FROM refresh_families WHERE user_id = $1`,
	`DELETE FROM totp WHERE user_id = $1`,
	`DELETE FROM recovery_codes WHERE user_id = $1`,
	`DELETE FROM passkeys WHERE user_id = $1`,
	`DELETE FROM consents WHERE user_id = $1`,
	`DELETE FROM auth_codes WHERE user_id = $1`,
	`DELETE FROM session_clients WHERE user_id = $1`,
	`DELETE FROM email_links WHERE user_id = $1`,
	`DELETE FROM identities WHERE user_id = $1`,
}

// DeleteUser implements authd.UserDirectory in one transaction. The
// user's row goes first: an unknown id rolls back before anything else is
// deleted. Outbox messages of other kinds than mail stay (a back-channel
// logout still tells the client the user's sessions ended).
func (db *DB) DeleteUser(ctx context.Context, id string) error {
	const op = "delete user"
	if !storable(id) {
		return db.keyNotFound(ctx, op)
	}
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err != nil {
			return db.wrap(ctx, op, err)
		}
		if tag.RowsAffected() == 0 {
			return notFound(op)
		}
		for _, q := range deleteUserSQL {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return db.wrap(ctx, op, err)
			}
		}
		if _, err := tx.Exec(ctx, `DELETE FROM outbox WHERE user_id = $1 AND kind = $2`, id, authd.OutboxMail); err != nil {
			return db.wrap(ctx, op, err)
		}
		return nil
	})
}
