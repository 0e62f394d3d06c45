package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/authd/authd"
)

// Mailed links (authd.LinkStore). A link and the mails that carry it are
// written in one IMMEDIATE transaction; a link is taken by one
// DELETE … RETURNING, so of concurrent takers only the first finds it.

const linkColumns = `hash, purpose, user_id, email, created_at, expires_at`

// IssueLink implements authd.LinkStore in one IMMEDIATE transaction.
//
// NOTE: l.Hash is the SHA-256 of the token; the token itself never
// reaches the file.
func (db *DB) IssueLink(ctx context.Context, l *authd.Link, mails []*authd.OutboxMessage) error {
	const op = "issue link"
	return db.tx(ctx, op, func(tx *sql.Tx) error { return db.issueLink(ctx, tx, op, l, mails) })
}

// CreateUserWithLink implements authd.LinkStore: CreateUser and IssueLink
// in one IMMEDIATE transaction.
func (db *DB) CreateUserWithLink(ctx context.Context, u *authd.User, l *authd.Link, mails []*authd.OutboxMessage) error {
	const op = "create user with link"
	return db.tx(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, createUserSQL, userArgs(u)...); err != nil {
			return db.wrap(ctx, op, err)
		}
		return db.issueLink(ctx, tx, op, l, mails)
	})
}

// issueLink inserts l before it deletes the user's other links of the
// purpose, so that a hash already stored is ErrConflict even when it is
// that very link's. The statements are not prepared: see txQueryRow.
func (db *DB) issueLink(ctx context.Context, tx *sql.Tx, op string, l *authd.Link, mails []*authd.OutboxMessage) error {
	hash := nonNil(l.Hash)
	if _, err := tx.ExecContext(ctx, `INSERT INTO email_links (`+linkColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		hash, l.Purpose, l.UserID, l.Email, micros(l.CreatedAt), micros(l.ExpiresAt)); err != nil {
		return db.wrap(ctx, op, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM email_links WHERE user_id = ? AND purpose = ? AND hash <> ?`,
		l.UserID, l.Purpose, hash); err != nil {
		return db.wrap(ctx, op, err)
	}
	for _, m := range mails {
		if _, err := tx.ExecContext(ctx, enqueueSQL, messageArgs(m)...); err != nil {
			return db.wrap(ctx, op, err)
		}
	}
	return nil
}

// takeLinkSQL deletes a live link of one of the purposes (a JSON array)
// and returns it.
const takeLinkSQL = `DELETE FROM email_links
	WHERE hash = ? AND purpose IN (SELECT value FROM json_each(?)) AND expires_at > ?
	RETURNING ` + linkColumns

// TakeLink implements authd.LinkStore with one DELETE … RETURNING: of
// concurrent calls only the first deletes the row and gets the link. A
// link of another purpose, or expired, matches nothing and stays.
func (db *DB) TakeLink(ctx context.Context, hash []byte, purposes []string, now time.Time) (*authd.Link, error) {
	l, err := scanLink(db.writeQueryRow(ctx, takeLinkSQL, nonNil(hash), encodeList(purposes), micros(now)))
	if err != nil {
		return nil, db.wrap(ctx, "take link", err)
	}
	return l, nil
}

// DeleteLinksBefore implements authd.LinkStore.
func (db *DB) DeleteLinksBefore(ctx context.Context, t time.Time) (int, error) {
	n, err := db.exec(ctx, "delete links", `DELETE FROM email_links WHERE expires_at < ?`, micros(t))
	return int(n), err
}

// scanLink reads one row of linkColumns.
func scanLink(row scanner) (*authd.Link, error) {
	var (
		l                authd.Link
		created, expires int64
	)
	if err := row.Scan(&l.Hash, &l.Purpose, &l.UserID, &l.Email, &created, &expires); err != nil {
		return nil, err
	}
	l.CreatedAt, l.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &l, nil
}
