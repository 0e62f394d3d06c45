package postgres

import (
	"context"
	"slices"
	"strings"

	"github.com/authd/authd"
	"github.com/jackc/pgx/v5"
)

// Upstream providers (authd.UpstreamStore) and the identities users have
// at them (authd.IdentityStore). The primary key (upstream_id, subject)
// and UNIQUE (user_id, upstream_id) refuse a second link: of concurrent
// links that meet on either, the later ones wait for the first's commit
// and fail with 23505 (ErrConflict).

const upstreamColumns = `id, issuer, client_id, secret_sealed, name, scopes, trust_email, created_at`

// CreateUpstream implements authd.UpstreamStore. A nil or empty
// SecretSealed is stored as NULL and read back as nil.
//
// NOTE: SecretSealed is sealed under a key that is not in the database.
func (db *DB) CreateUpstream(ctx context.Context, u *authd.Upstream) error {
	var secret []byte
	if len(u.SecretSealed) > 0 {
		secret = u.SecretSealed
	}
	_, err := db.exec(ctx, "create upstream",
		`INSERT INTO upstreams (`+upstreamColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		u.ID, u.Issuer, u.ClientID, secret, u.Name, list(u.Scopes), u.TrustEmail, u.CreatedAt)
	return err
}

// UpstreamByID implements authd.UpstreamStore. The id comes from a URL:
// one that cannot be stored is simply not found.
func (db *DB) UpstreamByID(ctx context.Context, id string) (*authd.Upstream, error) {
	const op = "find upstream"
	if !storable(id) {
		return nil, db.keyNotFound(ctx, op)
	}
	u, err := scanUpstream(db.pool.QueryRow(ctx, `SELECT `+upstreamColumns+` FROM upstreams WHERE id = $1`, id))
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return u, nil
}

// ListUpstreams implements authd.UpstreamStore. The providers are sorted
// here, not by ORDER BY, for the reason ListClients gives: the database's
// collation need not be byte order. Providers are few.
func (db *DB) ListUpstreams(ctx context.Context) ([]*authd.Upstream, error) {
	const op = "list upstreams"
	rows, err := db.pool.Query(ctx, `SELECT `+upstreamColumns+` FROM upstreams`)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	out, err := collect(ctx, db, op, rows, scanUpstream)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *authd.Upstream) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// DeleteUpstream implements authd.UpstreamStore in one transaction. The
// provider's row goes first: an unknown id rolls back before any identity
// is deleted.
func (db *DB) DeleteUpstream(ctx context.Context, id string) error {
	const op = "delete upstream"
	if !storable(id) {
		return db.keyNotFound(ctx, op)
	}
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM upstreams WHERE id = $1`, id)
		if err != nil {
			return db.wrap(ctx, op, err)
		}
		if tag.RowsAffected() == 0 {
			return notFound(op)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM identities WHERE upstream_id = $1`, id); err != nil {
			return db.wrap(ctx, op, err)
		}
		return nil
	})
}

// scanUpstream reads one row of upstreamColumns.
func scanUpstream(row pgx.Row) (*authd.Upstream, error) {
	var u authd.Upstream
	err := row.Scan(&u.ID, &u.Issuer, &u.ClientID, &u.SecretSealed, &u.Name, &u.Scopes, &u.TrustEmail, &u.CreatedAt)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

const identityColumns = `upstream_id, subject, user_id, email, linked_at`

// linkIdentitySQL inserts the identity of identityArgs; LinkIdentity and
// CreateUserWithIdentity run it.
const linkIdentitySQL = `INSERT INTO identities (` + identityColumns + `) VALUES ($1, $2, $3, $4, $5)`

func identityArgs(i *authd.Identity) []any {
	return []any{i.UpstreamID, i.Subject, i.UserID, i.Email, i.LinkedAt}
}

// LinkIdentity implements authd.IdentityStore with one INSERT.
func (db *DB) LinkIdentity(ctx context.Context, i *authd.Identity) error {
	_, err := db.exec(ctx, "link identity", linkIdentitySQL, identityArgs(i)...)
	return err
}

// CreateUserWithIdentity implements authd.IdentityStore: CreateUser and
// LinkIdentity in one transaction.
func (db *DB) CreateUserWithIdentity(ctx context.Context, u *authd.User, i *authd.Identity) error {
	const op = "create user with identity"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, createUserSQL, userArgs(u)...); err != nil {
			return db.wrap(ctx, op, err)
		}
		if _, err := tx.Exec(ctx, linkIdentitySQL, identityArgs(i)...); err != nil {
			return db.wrap(ctx, op, err)
		}
		return nil
	})
}

// IdentityBySubject implements authd.IdentityStore. Subjects compare
// exactly (text equality under a deterministic collation is byte
// equality), as OpenID Connect compares sub; they come from ID tokens:
// one that cannot be stored is simply not found.
func (db *DB) IdentityBySubject(ctx context.Context, upstreamID, subject string) (*authd.Identity, error) {
	const op = "find identity"
	if !storable(upstreamID, subject) {
		return nil, db.keyNotFound(ctx, op)
	}
	i, err := scanIdentity(db.pool.QueryRow(ctx, `SELECT `+identityColumns+` FROM identities
		WHERE upstream_id = $1 AND subject = $2`, upstreamID, subject))
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return i, nil
}

// ListIdentities implements authd.IdentityStore, found through the index
// of UNIQUE (user_id, upstream_id) and sorted here by upstream id in byte
// order, as ListUpstreams. A user has few.
func (db *DB) ListIdentities(ctx context.Context, userID string) ([]*authd.Identity, error) {
	const op = "list identities"
	if !storable(userID) {
		if err := ctx.Err(); err != nil {
			return nil, db.wrap(ctx, op, err)
		}
		return []*authd.Identity{}, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT `+identityColumns+` FROM identities WHERE user_id = $1`, userID)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	out, err := collect(ctx, db, op, rows, scanIdentity)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *authd.Identity) int { return strings.Compare(a.UpstreamID, b.UpstreamID) })
	return out, nil
}

// UnlinkIdentity implements authd.IdentityStore.
func (db *DB) UnlinkIdentity(ctx context.Context, userID, upstreamID string) error {
	const op = "unlink identity"
	if !storable(userID, upstreamID) {
		return db.keyNotFound(ctx, op)
	}
	n, err := db.exec(ctx, op, `DELETE FROM identities WHERE user_id = $1 AND upstream_id = $2`, userID, upstreamID)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// scanIdentity reads one row of identityColumns.
func scanIdentity(row pgx.Row) (*authd.Identity, error) {
	var i authd.Identity
	if err := row.Scan(&i.UpstreamID, &i.Subject, &i.UserID, &i.Email, &i.LinkedAt); err != nil {
		return nil, err
	}
	return &i, nil
}
