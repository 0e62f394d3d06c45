package postgres_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/postgres"
	"github.com/authd/authd/postgres/pgtest"
	"github.com/authd/authd/storetest"
	"github.com/jackc/pgx/v5"
)

// userTables are the tables that hold a user's rows, all of which
// DeleteUser deletes; keptTables hold rows that name a user and stay. Every
// other table of the schema must be in noUserTables, with the reason it
// holds nothing of a user. A table in none of them fails
// TestDeleteUserLeavesNothing: whoever adds it decides where it goes (and
// whether DeleteUser must clear it).
var (
	userTables = []string{
		"users", "sessions", "refresh_families", "refresh_tokens", "totp", "recovery_codes", "passkeys",
		"consents", "auth_codes", "session_clients", "email_links", "identities", "outbox",
	}
	keptTables = map[string]string{
		"audit_events": "events stay after DeleteUser; they name the user by id only",
		"outbox":       "messages of other kinds than mail stay (a back-channel logout still goes out)",
	}
	noUserTables = map[string]string{
		"keys":                "signing keys",
		"key_ring_lock":       "one row that orders key rotations",
		"id_key":              "the ID-token key",
		"revocations":         "sids and jtis of access tokens, until they expire",
		"revocation_seq":      "the revocation feed's counter",
		"login_failures":      "keyed by whatever the limiter's caller chooses; ends with its window",
		"clients":             "registered clients",
		"upstreams":           "registered upstream providers; their identities are in identities",
		"webauthn_challenges": "keyed without a user; they expire",
		"dpop_replays":        "DPoP proof ids, keyed without a user; they expire",
		"schema_migrations":   "the schema's version",
	}
)

// TestDeleteUserLeavesNothing fills every table that holds a user's rows,
// deletes the user, and looks in every column of every table of the
// schema for the user's id, email and the ids of their records: none is
// left but in the rows DeleteUser keeps.
func TestDeleteUserLeavesNothing(t *testing.T) {
	db := openFresh(t)
	pool := postgres.PoolOf(db)
	ctx := t.Context()
	rec := storetest.FillUser(t, db)
	other := storetest.FillUser(t, db)
	needles := []string{rec.User.ID, rec.User.Email, rec.Session.ID, rec.Family.ID, rec.Passkey.ID}

	rows, err := pool.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		_, kept := keptTables[table]
		if _, none := noUserTables[table]; !none && !kept && !slices.Contains(userTables, table) {
			t.Errorf("table %s is unknown to this test: add it to userTables (and make DeleteUser clear it), keptTables or noUserTables", table)
		}
	}

	// found counts the rows of table holding needle in any column (bytea
	// as bytes, anything else as text); in outbox only the mails, which
	// DeleteUser deletes.
	found := func(table, needle string) int {
		t.Helper()
		rows, err := pool.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1`, table)
		if err != nil {
			t.Fatal(err)
		}
		var conds []string
		var col, typ string
		if _, err := pgx.ForEachRow(rows, []any{&col, &typ}, func() error {
			c := pgx.Identifier{col}.Sanitize()
			if typ == "bytea" {
				conds = append(conds, fmt.Sprintf(`position(convert_to($1, 'UTF8') in %s) > 0`, c))
			} else {
				conds = append(conds, fmt.Sprintf(`strpos(%s::text, $1) > 0`, c))
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		q := `SELECT count(*) FROM ` + pgx.Identifier{table}.Sanitize() + ` WHERE (` + strings.Join(conds, " OR ") + `)`
		if table == "outbox" {
			q += ` AND kind = 'mail'`
		}
		var n int
		if err := pool.QueryRow(ctx, q, needle).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	for _, table := range userTables {
		n := 0
		for _, needle := range needles {
			n += found(table, needle)
		}
		if n == 0 {
			t.Errorf("before DeleteUser, table %s holds nothing of the user: FillUser must write a row there", table)
		}
	}

	if err := db.DeleteUser(ctx, rec.User.ID); err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		if table == "audit_events" {
			continue
		}
		for _, needle := range needles {
			if n := found(table, needle); n > 0 {
				t.Errorf("after DeleteUser, %d rows of %s hold %q", n, table, needle)
			}
		}
	}
	if got, err := db.UserByID(ctx, other.User.ID); err != nil || got.Email != other.User.Email {
		t.Fatalf("the other user after DeleteUser: %v, %v", got, err)
	}
}

// TestDeleteUserInvalidatesWatchers: the sessions DeleteUser deletes reach
// the watchers of another node, as DeleteSession's do.
func TestDeleteUserInvalidatesWatchers(t *testing.T) {
	dsn := pgtest.Schema(t)
	a, b := openDB(t, dsn), openDB(t, dsn)
	storetest.CheckDeleteUserInvalidates(t, a, b)
}

// TestMigrationKeepsUsers: a schema of before mailed links (migrations
// 0001 to 0006) is upgraded on Open; its users read back as they were,
// with their address not verified.
func TestMigrationKeepsUsers(t *testing.T) {
	ctx := t.Context()
	base := pgtest.DSN(t)
	schema, err := pgtest.CreateSchema(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin(t, base, `DROP SCHEMA "`+schema+`" CASCADE`) })
	dsn := pgtest.WithParams(t, base, map[string]string{"search_path": schema})
	names := []string{"0001_init.sql", "0002_session_notify.sql", "0003_oidc_clients.sql", "0004_oidc.sql", "0005_id_key.sql", "0006_factors.sql"}
	var records []string
	for i, name := range names {
		b, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		admin(t, dsn, string(b))
		records = append(records, fmt.Sprintf("(%d, '%s', now())", i+1, name))
	}
	now := storetest.Now()
	admin(t, dsn, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL);
		INSERT INTO schema_migrations VALUES `+strings.Join(records, ", ")+`;
		INSERT INTO users (id, email, password_hash, roles, locked, created_at, updated_at)
			VALUES ('alice', 'alice@example.com', '$argon2id$x', '{admin}', true, '`+now.Format(time.RFC3339Nano)+`', '`+now.Format(time.RFC3339Nano)+`')`)
	db := openDB(t, dsn)
	got, err := db.UserByID(ctx, "alice")
	if err != nil {
		t.Fatalf("UserByID of the upgraded user: %v", err)
	}
	if got.EmailVerified || got.Email != "alice@example.com" || !got.Locked || len(got.Roles) != 1 || !got.CreatedAt.Equal(now) {
		t.Fatalf("the upgraded user: %+v, want alice as stored, not verified", got)
	}
	if err := db.SetEmail(ctx, "alice", "alice@example.org", true, now); err != nil {
		t.Fatalf("SetEmail after the upgrade: %v", err)
	}
}
