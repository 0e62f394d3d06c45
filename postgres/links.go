package postgres

import (
	"context"
	"time"

	"github.com/authd/authd"
	"github.com/jackc/pgx/v5"
)

// Mailed links (authd.LinkStore). A link and the mails that carry it are
// written in one transaction; a link is taken by one DELETE … RETURNING:
// a concurrent taker waits on the row, re-checks its WHERE clause once the
// first commits, finds the row gone and matches nothing.

const linkColumns = `hash, purpose, user_id, email, created_at, expires_at`

// IssueLink implements authd.LinkStore in one transaction.
//
// NOTE: l.Hash is the SHA-256 of the token; the token itself never
// reaches the database.
func (db *DB) IssueLink(ctx context.Context, l *authd.Link, mails []*authd.OutboxMessage) error {
	const op = "issue link"
	return db.tx(ctx, op, func(tx pgx.Tx) error { return db.issueLink(ctx, tx, op, l, mails) })
}

// CreateUserWithLink implements authd.LinkStore: CreateUser and IssueLink
// in one transaction.
func (db *DB) CreateUserWithLink(ctx context.Context, u *authd.User, l *authd.Link, mails []*authd.OutboxMessage) error {
	const op = "create user with link"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, createUserSQL, userArgs(u)...); err != nil {
			return db.wrap(ctx, op, err)
		}
		return db.issueLink(ctx, tx, op, l, mails)
	})
}

// issueLink inserts l before it deletes the user's other links of the
// purpose, so that a hash already stored is ErrConflict even when it is
// that very link's.
func (db *DB) issueLink(ctx context.Context, tx pgx.Tx, op string, l *authd.Link, mails []*authd.OutboxMessage) error {
	hash := nonNil(l.Hash)
	if _, err := tx.Exec(ctx, `INSERT INTO email_links (`+linkColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		hash, l.Purpose, l.UserID, l.Email, l.CreatedAt, l.ExpiresAt); err != nil {
		return db.wrap(ctx, op, err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM email_links WHERE user_id = $1 AND purpose = $2 AND hash <> $3`,
		l.UserID, l.Purpose, hash); err != nil {
		return db.wrap(ctx, op, err)
	}
	for _, m := range mails {
		if _, err := tx.Exec(ctx, enqueueSQL, messageArgs(m)...); err != nil {
			return db.wrap(ctx, op, err)
		}
	}
	return nil
}

// TakeLink implements authd.LinkStore with one DELETE … RETURNING: of
// concurrent calls only the first deletes the row and gets the link. A
// link of another purpose, or expired, matches nothing and stays.
func (db *DB) TakeLink(ctx context.Context, hash []byte, purposes []string, now time.Time) (*authd.Link, error) {
	const op = "take link"
	if !storable(purposes...) {
		return nil, db.keyNotFound(ctx, op)
	}
	l, err := scanLink(db.pool.QueryRow(ctx, `DELETE FROM email_links
		WHERE hash = $1 AND purpose = ANY($2) AND expires_at > $3
		RETURNING `+linkColumns, nonNil(hash), list(purposes), now))
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return l, nil
}

// DeleteLinksBefore implements authd.LinkStore.
func (db *DB) DeleteLinksBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := db.exec(ctx, "delete links", `DELETE FROM email_links WHERE expires_at < $1`, t)
	return int(n), err
}

// scanLink reads one row of linkColumns.
func scanLink(row pgx.Row) (*authd.Link, error) {
	var l authd.Link
	if err := row.Scan(&l.Hash, &l.Purpose, &l.UserID, &l.Email, &l.CreatedAt, &l.ExpiresAt); err != nil {
		return nil, err
	}
	return &l, nil
}
