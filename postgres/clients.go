package postgres

import (
	"context"
	"slices"
	"strings"

	"github.com/authd/authd"
	"github.com/jackc/pgx/v5"
)

const clientColumns = `id, secret_hash, name, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri,
	scopes, grants, first_party, created_at`

// CreateClient implements authd.ClientStore.
//
// NOTE: SecretHash is an argon2id PHC string; the client secret itself is
// never stored.
func (db *DB) CreateClient(ctx context.Context, c *authd.Client) error {
	_, err := db.exec(ctx, "create client",
		`INSERT INTO clients (`+clientColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		c.ID, c.SecretHash, c.Name, list(c.RedirectURIs), list(c.PostLogoutRedirectURIs), c.BackchannelLogoutURI,
		list(c.Scopes), list(c.Grants), c.FirstParty, c.CreatedAt)
	return err
}

// ClientByID implements authd.ClientStore. The id may come from HTTP Basic
// credentials: one that cannot be stored is simply not found.
func (db *DB) ClientByID(ctx context.Context, id string) (*authd.Client, error) {
	const op = "find client"
	if !storable(id) {
		return nil, db.keyNotFound(ctx, op)
	}
	c, err := scanClient(db.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1`, id))
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return c, nil
}

// ListClients implements authd.ClientStore. The clients are sorted here,
// not by ORDER BY: the database's collation need not be byte order (en_US
// puts "a" before "B"), and a "C" collation is not spelt alike by every
// database this package serves. Clients are few.
func (db *DB) ListClients(ctx context.Context) ([]*authd.Client, error) {
	const op = "list clients"
	rows, err := db.pool.Query(ctx, `SELECT `+clientColumns+` FROM clients`)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	out, err := collect(ctx, db, op, rows, scanClient)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *authd.Client) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// DeleteClient implements authd.ClientStore.
func (db *DB) DeleteClient(ctx context.Context, id string) error {
	const op = "delete client"
	if !storable(id) {
		return db.keyNotFound(ctx, op)
	}
	n, err := db.exec(ctx, op, `DELETE FROM clients WHERE id = $1`, id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// scanClient reads one row of clientColumns.
func scanClient(row pgx.Row) (*authd.Client, error) {
	var c authd.Client
	err := row.Scan(&c.ID, &c.SecretHash, &c.Name, &c.RedirectURIs, &c.PostLogoutRedirectURIs, &c.BackchannelLogoutURI,
		&c.Scopes, &c.Grants, &c.FirstParty, &c.CreatedAt)
	if err != nil {
		return nil, err
	}
	return &c, nil
}
