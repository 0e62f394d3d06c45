package postgres

import (
	"context"
	"time"

	"github.com/authd/authd"
	"github.com/jackc/pgx/v5"
)

const userColumns = `id, email, password_hash, roles, locked, email_verified, created_at, updated_at`

// createUserSQL inserts the user of userArgs; CreateUserWithLink and
// CreateUserWithIdentity run it in their transactions.
const createUserSQL = `INSERT INTO users (` + userColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

func userArgs(u *authd.User) []any {
	return []any{u.ID, u.Email, u.PasswordHash, list(u.Roles), u.Locked, u.EmailVerified, u.CreatedAt, u.UpdatedAt}
}

// CreateUser implements authd.UserStore.
//
// NOTE: PasswordHash is an argon2id PHC string; the password itself never
// reaches the store.
func (db *DB) CreateUser(ctx context.Context, u *authd.User) error {
	_, err := db.exec(ctx, "create user", createUserSQL, userArgs(u)...)
	return err
}

// UserByID implements authd.UserStore.
func (db *DB) UserByID(ctx context.Context, id string) (*authd.User, error) {
	return db.user(ctx, "find user", `SELECT `+userColumns+` FROM users WHERE id = $1`, id)
}

// UserByEmail implements authd.UserStore. Emails compare exactly (text
// equality under a deterministic collation is byte equality); callers
// normalise.
func (db *DB) UserByEmail(ctx context.Context, email string) (*authd.User, error) {
	return db.user(ctx, "find user by email", `SELECT `+userColumns+` FROM users WHERE email = $1`, email)
}

func (db *DB) user(ctx context.Context, op, query, arg string) (*authd.User, error) {
	if !storable(arg) {
		return nil, db.keyNotFound(ctx, op)
	}
	u, err := scanUser(db.pool.QueryRow(ctx, query, arg))
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return u, nil
}

// scanUser reads one row of userColumns.
func scanUser(row pgx.Row) (*authd.User, error) {
	var u authd.User
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &u.Roles, &u.Locked, &u.EmailVerified, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return nil, err
	}
	return &u, nil
}

// SetPasswordHash implements authd.UserStore.
func (db *DB) SetPasswordHash(ctx context.Context, id, hash string, at time.Time) error {
	const op = "set password hash"
	if !storable(id) {
		return db.keyNotFound(ctx, op)
	}
	n, err := db.exec(ctx, op, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3`, hash, at, id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// SetLocked implements authd.UserStore.
func (db *DB) SetLocked(ctx context.Context, id string, locked bool, at time.Time) error {
	const op = "set locked"
	if !storable(id) {
		return db.keyNotFound(ctx, op)
	}
	n, err := db.exec(ctx, op, `UPDATE users SET locked = $1, updated_at = $2 WHERE id = $3`, locked, at, id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}
