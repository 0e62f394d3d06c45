package sqlite

import (
	"context"

	"github.com/authd/authd"
)

// CreateClient implements authd.ClientStore.
func (db *DB) CreateClient(ctx context.Context, c *authd.Client) error {
	_, err := db.exec(ctx, "create client",
		`INSERT INTO clients (id, secret_hash, created_at) VALUES (?, ?, ?)`, c.ID, c.SecretHash, micros(c.CreatedAt))
	return err
}

// ClientByID implements authd.ClientStore.
func (db *DB) ClientByID(ctx context.Context, id string) (*authd.Client, error) {
	var (
		c       authd.Client
		created int64
	)
	err := db.read.QueryRowContext(ctx, `SELECT id, secret_hash, created_at FROM clients WHERE id = ?`, id).
		Scan(&c.ID, &c.SecretHash, &created)
	if err != nil {
		return nil, db.wrap(ctx, "find client", err)
	}
	c.CreatedAt = fromMicros(created)
	return &c, nil
}
