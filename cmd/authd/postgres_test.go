package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// postgresURL returns AUTHD_TEST_POSTGRES pointed at a fresh schema that is
// dropped after the test. Without the variable the test is skipped, except
// under CI=true, where it fails.
func postgresURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("AUTHD_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("AUTHD_TEST_POSTGRES is not set (CI=true: PostgreSQL tests may not be skipped)")
		}
		t.Skip("AUTHD_TEST_POSTGRES not set: set it to a PostgreSQL URL to run this test")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at AUTHD_TEST_POSTGRES unreachable: %v", err)
		}
		t.Skipf("PostgreSQL at AUTHD_TEST_POSTGRES unreachable: %v", err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	schema := "authd_cmd_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestServeOnPostgres(t *testing.T) {
	db := postgresURL(t)
	const pw = "correct horse battery staple"
	if code, _, e := runCmd(t, pw+"\n", env(nil), "user", "add", "--db", db, "--email", "ann@example.com", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %s", e)
	}
	base, stop, logs := startServer(t, env(nil), "--db", db, "--dev")
	res, err := http.Post(base+"/v1/login", "application/json", strings.NewReader(`{"email":"ann@example.com","password":"`+pw+`"}`))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("login: %v %v", err, res)
	}
	res.Body.Close()
	ready, err := http.Get(base + "/readyz")
	if err != nil || ready.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", err, ready)
	}
	ready.Body.Close()
	if code := stop(); code != 0 {
		t.Fatalf("exit %d: %s", code, logs)
	}
}

func TestUnreachablePostgres(t *testing.T) {
	code, _, errOut := runCmd(t, "", env(nil), "serve", "--db", "postgres://authd:secret@127.0.0.1:1/authd")
	if code == 0 || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "authd: ") || !strings.Contains(errOut, "--db") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if strings.Contains(errOut, "secret") {
		t.Fatalf("the password leaked into the error: %q", errOut)
	}
}
