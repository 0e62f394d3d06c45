package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"time"

	"github.com/authd/authd/postgres/pgschema"
)

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ---- PostgreSQL: a fresh schema per mode, dropped after it.
//
// NOTE: authd itself never creates or drops a schema (its tables go into
// the first schema of the URL's search_path, which the operator makes), so
// package postgres has no call for it; the bench makes its schemas with
// postgres/pgschema, as the tests do (through pgtest).

// pgTimeout bounds each statement the bench sends to PostgreSQL itself.
const pgTimeout = 30 * time.Second

// pgPing reports whether the PostgreSQL at dsn answers a query.
func pgPing(ctx context.Context, dsn string) error {
	ctx, cancel := context.WithTimeout(ctx, pgTimeout)
	defer cancel()
	return pgError(pgschema.Exec(ctx, dsn, "SELECT 1"))
}

// pgSchema creates a schema with a random name in the database of dsn and
// returns a URL whose search_path is that schema.
func pgSchema(ctx context.Context, dsn string) (schema, schemaURL string, err error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", "", err
	}
	ctx, cancel := context.WithTimeout(ctx, pgTimeout)
	defer cancel()
	if schema, err = pgschema.Create(ctx, dsn, "authd_bench_"); err != nil {
		return "", "", pgError(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return schema, u.String(), nil
}

// pgDropSchema drops a schema of pgSchema and everything in it.
func pgDropSchema(dsn, schema string) error {
	ctx, cancel := context.WithTimeout(context.Background(), pgTimeout)
	defer cancel()
	return pgError(pgschema.Drop(ctx, dsn, schema))
}

// pgError is the driver's error without pgschema's wrapping, so that the
// reason names the server's answer.
func pgError(err error) error {
	if inner := errors.Unwrap(err); inner != nil {
		return inner
	}
	return err
}
