package sqlite

import (
	"context"
	"time"

	"github.com/authd/authd"
)

const userColumns = `id, email, password_hash, roles, locked, email_verified, created_at, updated_at`

// createUserSQL inserts the user of userArgs; CreateUserWithLink and
// CreateUserWithIdentity run it in their transactions.
const createUserSQL = `INSERT INTO users (` + userColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

func userArgs(u *authd.User) []any {
	return []any{u.ID, u.Email, u.PasswordHash, encodeList(u.Roles), u.Locked, u.EmailVerified, micros(u.CreatedAt), micros(u.UpdatedAt)}
}

// CreateUser implements authd.UserStore.
func (db *DB) CreateUser(ctx context.Context, u *authd.User) error {
	_, err := db.exec(ctx, "create user", createUserSQL, userArgs(u)...)
	return err
}

// UserByID implements authd.UserStore.
func (db *DB) UserByID(ctx context.Context, id string) (*authd.User, error) {
	return db.user(ctx, "find user", `SELECT `+userColumns+` FROM users WHERE id = ?`, id)
}

// UserByEmail implements authd.UserStore. Emails compare exactly (the
// column's collation is BINARY); callers normalise.
func (db *DB) UserByEmail(ctx context.Context, email string) (*authd.User, error) {
	return db.user(ctx, "find user by email", `SELECT `+userColumns+` FROM users WHERE email = ?`, email)
}

func (db *DB) user(ctx context.Context, op, query string, arg string) (*authd.User, error) {
	u, err := scanUser(db.queryRow(ctx, query, arg))
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return u, nil
}

// scanUser reads one row of userColumns.
func scanUser(row scanner) (*authd.User, error) {
	var (
		u                authd.User
		roles            string
		created, updated int64
	)
	err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &roles, &u.Locked, &u.EmailVerified, &created, &updated)
	if err != nil {
		return nil, err
	}
	if u.Roles, err = decodeList(roles); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &u, nil
}

// SetPasswordHash implements authd.UserStore.
func (db *DB) SetPasswordHash(ctx context.Context, id, hash string, at time.Time) error {
	const op = "set password hash"
	n, err := db.exec(ctx, op, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?`, hash, micros(at), id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// SetLocked implements authd.UserStore.
func (db *DB) SetLocked(ctx context.Context, id string, locked bool, at time.Time) error {
	const op = "set locked"
	n, err := db.exec(ctx, op, `UPDATE users SET locked = ?, updated_at = ? WHERE id = ?`, locked, micros(at), id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}
