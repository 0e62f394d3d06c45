// Package pgtest gives tests anywhere in authd a PostgreSQL of their own:
// a fresh schema in the database named by AUTHD_TEST_POSTGRES, dropped
// when the test ends. Without the variable tests skip with a message,
// except under CI=true, where they fail.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/testenv"
	"github.com/authd/authd/postgres/pgschema"
)

// PoolSize bounds each test DB's pool: many subtests each open a DB on
// a fresh schema, and PostgreSQL's default max_connections is 100.
const PoolSize = 4

// DSN returns the DSN of AUTHD_TEST_POSTGRES, or skips t when it is
// unset (fails it under CI=true, where the database must be there).
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("AUTHD_TEST_POSTGRES")
	if dsn == "" {
		const msg = "AUTHD_TEST_POSTGRES not set: set it to a PostgreSQL URL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable) to run the PostgreSQL store tests"
		testenv.SkipOrFail(t, "%s", msg)
	}
	return dsn
}

// WithParams returns dsn with extra connection parameters, in its own
// syntax (URL or key=value).
func WithParams(t testing.TB, dsn string, params map[string]string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("AUTHD_TEST_POSTGRES: %v", err)
		}
		q := u.Query()
		for k, v := range params {
			q.Set(k, v)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	for k, v := range params {
		dsn += fmt.Sprintf(" %s='%s'", k, v)
	}
	return dsn
}

// Schema creates an empty schema, dropped in t.Cleanup, and returns a
// DSN whose search_path is that schema.
func Schema(t testing.TB) string {
	t.Helper()
	dsn := DSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	schema, err := CreateSchema(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := pgschema.Drop(ctx, dsn, schema); err != nil {
			t.Error(err)
		}
	})
	return WithParams(t, dsn, map[string]string{
		"search_path":    schema,
		"pool_max_conns": fmt.Sprint(PoolSize),
	})
}

// CreateSchema creates a schema with a random name and returns the name.
func CreateSchema(ctx context.Context, dsn string) (string, error) {
	return pgschema.Create(ctx, dsn, "authd_test_")
}

// Exec runs one statement on a connection of its own.
func Exec(ctx context.Context, dsn, sql string) error { return pgschema.Exec(ctx, dsn, sql) }
