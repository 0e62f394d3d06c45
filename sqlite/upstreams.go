package sqlite

import (
	"context"
	"database/sql"

	"github.com/authd/authd"
)

// Upstream providers (authd.UpstreamStore) and the identities users have
// at them (authd.IdentityStore). The primary key (upstream_id, subject)
// and UNIQUE (user_id, upstream_id) refuse a second link: every write is
// one statement or one IMMEDIATE transaction.

const upstreamColumns = `id, issuer, client_id, secret_sealed, name, scopes, trust_email, created_at`

// CreateUpstream implements authd.UpstreamStore. A nil or empty
// SecretSealed is stored as NULL and read back as nil.
//
// NOTE: SecretSealed is sealed under a key that is not in the file.
func (db *DB) CreateUpstream(ctx context.Context, u *authd.Upstream) error {
	var secret any
	if len(u.SecretSealed) > 0 {
		secret = u.SecretSealed
	}
	_, err := db.exec(ctx, "create upstream",
		`INSERT INTO upstreams (`+upstreamColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Issuer, u.ClientID, secret, u.Name, encodeList(u.Scopes), u.TrustEmail, micros(u.CreatedAt))
	return err
}

// UpstreamByID implements authd.UpstreamStore. Ids compare exactly (the
// column's collation is BINARY).
func (db *DB) UpstreamByID(ctx context.Context, id string) (*authd.Upstream, error) {
	u, err := scanUpstream(db.queryRow(ctx, `SELECT `+upstreamColumns+` FROM upstreams WHERE id = ?`, id))
	if err != nil {
		return nil, db.wrap(ctx, "find upstream", err)
	}
	return u, nil
}

// ListUpstreams implements authd.UpstreamStore: ORDER BY under the BINARY
// collation is byte order.
func (db *DB) ListUpstreams(ctx context.Context) ([]*authd.Upstream, error) {
	const op = "list upstreams"
	rows, err := db.query(ctx, `SELECT `+upstreamColumns+` FROM upstreams ORDER BY id`)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return collect(ctx, db, op, rows, scanUpstream)
}

// DeleteUpstream implements authd.UpstreamStore in one IMMEDIATE
// transaction. The provider's row goes first: an unknown id rolls back
// before any identity is deleted.
func (db *DB) DeleteUpstream(ctx context.Context, id string) error {
	const op = "delete upstream"
	return db.tx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM upstreams WHERE id = ?`, id)
		if err != nil {
			return db.wrap(ctx, op, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return db.wrap(ctx, op, err)
		} else if n == 0 {
			return notFound(op)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM identities WHERE upstream_id = ?`, id); err != nil {
			return db.wrap(ctx, op, err)
		}
		return nil
	})
}

// scanUpstream reads one row of upstreamColumns.
func scanUpstream(row scanner) (*authd.Upstream, error) {
	var (
		u       authd.Upstream
		scopes  string
		created int64
	)
	err := row.Scan(&u.ID, &u.Issuer, &u.ClientID, &u.SecretSealed, &u.Name, &scopes, &u.TrustEmail, &created)
	if err != nil {
		return nil, err
	}
	if u.Scopes, err = decodeList(scopes); err != nil {
		return nil, err
	}
	u.CreatedAt = fromMicros(created)
	return &u, nil
}

const identityColumns = `upstream_id, subject, user_id, email, linked_at`

// linkIdentitySQL inserts the identity of identityArgs; LinkIdentity and
// CreateUserWithIdentity run it.
const linkIdentitySQL = `INSERT INTO identities (` + identityColumns + `) VALUES (?, ?, ?, ?, ?)`

func identityArgs(i *authd.Identity) []any {
	return []any{i.UpstreamID, i.Subject, i.UserID, i.Email, micros(i.LinkedAt)}
}

// LinkIdentity implements authd.IdentityStore with one INSERT: the
// primary key and the unique index give ErrConflict, and of concurrent
// links of one pair (or of one user at one provider) only the first is
// written.
func (db *DB) LinkIdentity(ctx context.Context, i *authd.Identity) error {
	_, err := db.exec(ctx, "link identity", linkIdentitySQL, identityArgs(i)...)
	return err
}

// CreateUserWithIdentity implements authd.IdentityStore: CreateUser and
// LinkIdentity in one IMMEDIATE transaction. The statements are not
// prepared: see txQueryRow.
func (db *DB) CreateUserWithIdentity(ctx context.Context, u *authd.User, i *authd.Identity) error {
	const op = "create user with identity"
	return db.tx(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, createUserSQL, userArgs(u)...); err != nil {
			return db.wrap(ctx, op, err)
		}
		if _, err := tx.ExecContext(ctx, linkIdentitySQL, identityArgs(i)...); err != nil {
			return db.wrap(ctx, op, err)
		}
		return nil
	})
}

// IdentityBySubject implements authd.IdentityStore. Subjects compare
// exactly (BINARY), as OpenID Connect compares sub.
func (db *DB) IdentityBySubject(ctx context.Context, upstreamID, subject string) (*authd.Identity, error) {
	i, err := scanIdentity(db.queryRow(ctx, `SELECT `+identityColumns+` FROM identities
		WHERE upstream_id = ? AND subject = ?`, upstreamID, subject))
	if err != nil {
		return nil, db.wrap(ctx, "find identity", err)
	}
	return i, nil
}

// ListIdentities implements authd.IdentityStore, in byte order of the
// upstream id (BINARY), through the index of UNIQUE (user_id,
// upstream_id).
func (db *DB) ListIdentities(ctx context.Context, userID string) ([]*authd.Identity, error) {
	const op = "list identities"
	rows, err := db.query(ctx, `SELECT `+identityColumns+` FROM identities
		WHERE user_id = ? ORDER BY upstream_id`, userID)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return collect(ctx, db, op, rows, scanIdentity)
}

// UnlinkIdentity implements authd.IdentityStore.
func (db *DB) UnlinkIdentity(ctx context.Context, userID, upstreamID string) error {
	const op = "unlink identity"
	n, err := db.exec(ctx, op, `DELETE FROM identities WHERE user_id = ? AND upstream_id = ?`, userID, upstreamID)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// scanIdentity reads one row of identityColumns.
func scanIdentity(row scanner) (*authd.Identity, error) {
	var (
		i      authd.Identity
		linked int64
	)
	if err := row.Scan(&i.UpstreamID, &i.Subject, &i.UserID, &i.Email, &linked); err != nil {
		return nil, err
	}
	i.LinkedAt = fromMicros(linked)
	return &i, nil
}
