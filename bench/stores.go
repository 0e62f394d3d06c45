package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
)

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ---- PostgreSQL: a fresh schema per mode, dropped after it.

func pgExec(ctx context.Context, dsn, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// pgSchema creates a schema with a random name in the database of dsn and
// returns a URL whose search_path is that schema.
func pgSchema(ctx context.Context, dsn string) (schema, schemaURL string, err error) {
	schema = "authd_bench_" + randomHex(6)
	if err := pgExec(ctx, dsn, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		return "", "", err
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", "", err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return schema, u.String(), nil
}

func pgDropSchema(dsn, schema string) error {
	return pgExec(context.Background(), dsn, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
}

// ---- Redis Cluster: started with package redisproc from redis-server.
