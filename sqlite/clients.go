package sqlite

import (
	"context"

	"github.com/authd/authd"
)

const clientColumns = `id, secret_hash, name, redirect_uris, post_logout_redirect_uris, backchannel_logout_uri,
	scopes, grants, first_party, created_at`

// CreateClient implements authd.ClientStore.
//
// NOTE: SecretHash is an argon2id PHC string; the client secret itself is
// never stored.
func (db *DB) CreateClient(ctx context.Context, c *authd.Client) error {
	_, err := db.exec(ctx, "create client",
		`INSERT INTO clients (`+clientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.SecretHash, c.Name, encodeList(c.RedirectURIs), encodeList(c.PostLogoutRedirectURIs), c.BackchannelLogoutURI,
		encodeList(c.Scopes), encodeList(c.Grants), c.FirstParty, micros(c.CreatedAt))
	return err
}

// ClientByID implements authd.ClientStore. Ids compare exactly (the
// column's collation is BINARY).
func (db *DB) ClientByID(ctx context.Context, id string) (*authd.Client, error) {
	const op = "find client"
	c, err := scanClient(db.queryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id))
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return c, nil
}

// ListClients implements authd.ClientStore: ORDER BY under the BINARY
// collation is byte order.
func (db *DB) ListClients(ctx context.Context) ([]*authd.Client, error) {
	const op = "list clients"
	rows, err := db.read.QueryContext(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY id`)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return collect(ctx, db, op, rows, scanClient)
}

// DeleteClient implements authd.ClientStore.
func (db *DB) DeleteClient(ctx context.Context, id string) error {
	const op = "delete client"
	n, err := db.exec(ctx, op, `DELETE FROM clients WHERE id = ?`, id)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// scanClient reads one row of clientColumns.
func scanClient(row scanner) (*authd.Client, error) {
	var (
		c                                     authd.Client
		redirects, postLogout, scopes, grants string
		created                               int64
	)
	err := row.Scan(&c.ID, &c.SecretHash, &c.Name, &redirects, &postLogout, &c.BackchannelLogoutURI,
		&scopes, &grants, &c.FirstParty, &created)
	if err != nil {
		return nil, err
	}
	for _, l := range []struct {
		dst *[]string
		src string
	}{{&c.RedirectURIs, redirects}, {&c.PostLogoutRedirectURIs, postLogout}, {&c.Scopes, scopes}, {&c.Grants, grants}} {
		if *l.dst, err = decodeList(l.src); err != nil {
			return nil, err
		}
	}
	c.CreatedAt = fromMicros(created)
	return &c, nil
}
