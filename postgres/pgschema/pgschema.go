// Package pgschema creates and drops throw-away PostgreSQL schemas on a
// connection of their own: what the tests (postgres/pgtest) and `authd
// bench` need to run authd on a fresh schema of a shared database. authd
// itself never creates or drops a schema; serve's store is package
// postgres. It does not import package testing, so the authd binary can
// link it.
package pgschema

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Create creates an empty schema named prefix followed by 16 random hex
// digits, and returns the name.
func Create(ctx context.Context, dsn, prefix string) (string, error) {
	var b [8]byte
	rand.Read(b[:])
	name := prefix + hex.EncodeToString(b[:])
	return name, Exec(ctx, dsn, "CREATE SCHEMA "+pgx.Identifier{name}.Sanitize())
}

// Drop drops the schema name and everything in it; a missing schema is no
// error.
func Drop(ctx context.Context, dsn, name string) error {
	return Exec(ctx, dsn, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE")
}

// Exec runs one statement on a connection of its own.
func Exec(ctx context.Context, dsn, sql string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}
