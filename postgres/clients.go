package postgres

import (
	"context"

	"github.com/authd/authd"
)

// CreateClient implements authd.ClientStore.
//
// NOTE: SecretHash is an argon2id PHC string; the client secret itself is
// never stored.
func (db *DB) CreateClient(ctx context.Context, c *authd.Client) error {
	_, err := db.exec(ctx, "create client",
		`INSERT INTO clients (id, secret_hash, created_at) VALUES ($1, $2, $3)`, c.ID, c.SecretHash, c.CreatedAt)
	return err
}

// ClientByID implements authd.ClientStore. The id comes from HTTP Basic
// credentials: one that cannot be stored is simply not found.
func (db *DB) ClientByID(ctx context.Context, id string) (*authd.Client, error) {
	const op = "find client"
	if !storable(id) {
		return nil, db.keyNotFound(ctx, op)
	}
	var c authd.Client
	err := db.pool.QueryRow(ctx, `SELECT id, secret_hash, created_at FROM clients WHERE id = $1`, id).Scan(&c.ID, &c.SecretHash, &c.CreatedAt)
	if err != nil {
		return nil, db.wrap(ctx, op, err)
	}
	return &c, nil
}
