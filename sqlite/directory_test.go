package sqlite_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/authd/authd/sqlite"
	"github.com/authd/authd/storetest"
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
		"id_key":              "the ID-token key",
		"revocations":         "sids and jtis of access tokens, until they expire",
		"login_failures":      "keyed by whatever the limiter's caller chooses; ends with its window",
		"clients":             "registered clients",
		"upstreams":           "registered upstream providers; their identities are in identities",
		"webauthn_challenges": "keyed without a user; they expire",
		"dpop_replays":        "DPoP proof ids, keyed without a user; they expire",
		"session_events":      "hashes of changed sessions for the watchers; pruned after a minute",
		"schema_migrations":   "the schema's version",
		"sqlite_sequence":     "AUTOINCREMENT high-water marks",
	}
)

// TestDeleteUserLeavesNothing fills every table that holds a user's rows,
// deletes the user, and looks in every column of every table of the
// schema for the user's id, email and the ids of their records: none is
// left but in the rows DeleteUser keeps.
func TestDeleteUserLeavesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authd.db")
	db := openAt(t, path)
	r := raw(t, path)
	rec := storetest.FillUser(t, db)
	other := storetest.FillUser(t, db)
	needles := []string{rec.User.ID, rec.User.Email, rec.Session.ID, rec.Family.ID, rec.Passkey.ID}

	var tables []string
	rows, err := r.QueryContext(t.Context(), `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	for _, table := range tables {
		_, kept := keptTables[table]
		if _, none := noUserTables[table]; !none && !kept && !slices.Contains(userTables, table) {
			t.Errorf("table %s is unknown to this test: add it to userTables (and make DeleteUser clear it), keptTables or noUserTables", table)
		}
	}

	// found counts the rows of table holding needle in any column; in
	// outbox only the mails, which DeleteUser deletes.
	found := func(table, needle string) int {
		t.Helper()
		cols, err := r.QueryContext(t.Context(), `SELECT name FROM pragma_table_info(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		where := ""
		for cols.Next() {
			var c string
			if err := cols.Scan(&c); err != nil {
				t.Fatal(err)
			}
			if where != "" {
				where += " OR "
			}
			where += `instr(CAST("` + c + `" AS BLOB), CAST(?1 AS BLOB)) > 0`
		}
		cols.Close()
		q := `SELECT count(*) FROM "` + table + `" WHERE (` + where + `)`
		if table == "outbox" {
			q += ` AND kind = 'mail'`
		}
		var n int
		if err := r.QueryRowContext(t.Context(), q, needle).Scan(&n); err != nil {
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

	if err := db.DeleteUser(t.Context(), rec.User.ID); err != nil {
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
	if got, err := db.UserByID(t.Context(), other.User.ID); err != nil || got.Email != other.User.Email {
		t.Fatalf("the other user after DeleteUser: %v, %v", got, err)
	}
}

// TestDeleteUserInvalidatesWatchers: the sessions DeleteUser deletes reach
// the watchers of another process sharing the file, as DeleteSession's do.
func TestDeleteUserInvalidatesWatchers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authd.db")
	a := openAt(t, path)
	b, err := sqlite.Open(t.Context(), path, sqlite.WithWatchPoll(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	storetest.CheckDeleteUserInvalidates(t, a, b)
}

// TestMigrationKeepsUsers: a database of the schema before mailed links
// (migrations 0001 to 0006) is upgraded on Open; its users read back as
// they were, with their address not verified.
func TestMigrationKeepsUsers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	r := raw(t, path)
	names := []string{"0001_init.sql", "0002_session_events.sql", "0003_oidc_clients.sql", "0004_oidc.sql", "0005_id_key.sql", "0006_factors.sql"}
	if _, err := r.ExecContext(t.Context(), `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		b, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.ExecContext(t.Context(), string(b)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := r.ExecContext(t.Context(), `INSERT INTO schema_migrations VALUES (?, ?, 0)`, i+1, name); err != nil {
			t.Fatal(err)
		}
	}
	now := storetest.Now()
	if _, err := r.ExecContext(t.Context(), `INSERT INTO users (id, email, password_hash, roles, locked, created_at, updated_at)
		VALUES ('alice', 'alice@example.com', '$argon2id$x', '["admin"]', 1, ?1, ?1)`, now.UnixMicro()); err != nil {
		t.Fatal(err)
	}
	db := openAt(t, path)
	got, err := db.UserByID(t.Context(), "alice")
	if err != nil {
		t.Fatalf("UserByID of the upgraded user: %v", err)
	}
	if got.EmailVerified || got.Email != "alice@example.com" || !got.Locked || len(got.Roles) != 1 || !got.CreatedAt.Equal(now) {
		t.Fatalf("the upgraded user: %+v, want alice as stored, not verified", got)
	}
	if err := db.SetEmail(t.Context(), "alice", "alice@example.org", true, now); err != nil {
		t.Fatalf("SetEmail after the upgrade: %v", err)
	}
}
