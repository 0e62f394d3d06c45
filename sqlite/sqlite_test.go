package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/sqlite"
	"github.com/authd/authd/storetest"
)

// open opens a fresh database in t's temporary directory.
func open(t *testing.T) *sqlite.DB {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "authd.db"))
}

func openAt(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// raw opens a plain database/sql handle on the same file, as another
// program (sqlite3, an operator's script) would.
func raw(t *testing.T, path string) *sql.DB {
	t.Helper()
	r, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestUserStore(t *testing.T) {
	storetest.RunUserStore(t, func(t *testing.T) authd.UserStore { return open(t) })
}

func TestSessionStore(t *testing.T) {
	storetest.RunSessionStore(t, func(t *testing.T) authd.SessionStore { return open(t) })
}

func TestRefreshStore(t *testing.T) {
	storetest.RunRefreshStore(t, func(t *testing.T) authd.RefreshStore { return open(t) })
}

func TestKeyStore(t *testing.T) {
	storetest.RunKeyStore(t, func(t *testing.T) authd.KeyStore { return open(t) })
	storetest.RunIDKeyStore(t, func(t *testing.T) authd.IDKeyStore { return open(t) })
}

func TestRevocationList(t *testing.T) {
	storetest.RunRevocationList(t, func(t *testing.T) authd.RevocationList { return open(t) })
}

func TestLimiter(t *testing.T) {
	storetest.RunLimiter(t, func(t *testing.T) authd.Limiter { return open(t) })
}

func TestClientStore(t *testing.T) {
	storetest.RunClientStore(t, func(t *testing.T) authd.ClientStore { return open(t) })
}

func TestCodeStore(t *testing.T) {
	storetest.RunCodeStore(t, func(t *testing.T) authd.CodeStore { return open(t) })
}

func TestConsentStore(t *testing.T) {
	storetest.RunConsentStore(t, func(t *testing.T) authd.ConsentStore { return open(t) })
}

func TestSessionClientStore(t *testing.T) {
	storetest.RunSessionClientStore(t, func(t *testing.T) authd.SessionClientStore { return open(t) })
}

func TestOutbox(t *testing.T) {
	storetest.RunOutbox(t, func(t *testing.T) authd.Outbox { return open(t) })
}

func TestFactorStore(t *testing.T) {
	storetest.RunFactorStore(t, func(t *testing.T) authd.FactorStore { return open(t) })
}

func TestChallengeStore(t *testing.T) {
	storetest.RunChallengeStore(t, func(t *testing.T) authd.ChallengeStore { return open(t) })
}

func TestLinkStore(t *testing.T) {
	storetest.RunLinkStore(t, func(t *testing.T) storetest.LinkBackend { return open(t) })
}

func TestUserDirectory(t *testing.T) {
	storetest.RunUserDirectory(t, func(t *testing.T) storetest.DirectoryBackend { return open(t) })
}

func TestAuditReader(t *testing.T) {
	storetest.RunAuditReader(t, func(t *testing.T) storetest.AuditBackend { return open(t) })
}

func TestUpstreamStore(t *testing.T) {
	storetest.RunUpstreamStore(t, func(t *testing.T) storetest.UpstreamBackend { return open(t) })
}

func TestIdentityStore(t *testing.T) {
	storetest.RunIdentityStore(t, func(t *testing.T) storetest.IdentityBackend { return open(t) })
}

// TestAuditLog reads the events back straight from the table, by the column
// names API.md gives, so the table keeps its published shape.
func TestAuditLog(t *testing.T) {
	storetest.RunAuditLog(t, func(t *testing.T) (authd.AuditLog, storetest.AuditTable) {
		db := open(t)
		r := raw(t, db.Path())
		return db, func(ctx context.Context) ([]authd.AuditEvent, error) {
			rows, err := r.QueryContext(ctx, `SELECT id, at, event, user_id, session_id, ip, user_agent, detail FROM audit_events ORDER BY id`)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			var out []authd.AuditEvent
			for rows.Next() {
				var (
					id, at                        int64
					e                             authd.AuditEvent
					user, sess, ip, agent, detail sql.NullString
				)
				if err := rows.Scan(&id, &at, &e.Event, &user, &sess, &ip, &agent, &detail); err != nil {
					return nil, err
				}
				e.At = time.UnixMicro(at).UTC()
				e.UserID, e.SessionID, e.IP, e.UserAgent, e.Detail = user.String, sess.String, ip.String, agent.String, detail.String
				out = append(out, e)
			}
			return out, rows.Err()
		}
	})
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "not-a-db")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("this is not an SQLite database\n", 200)), 0o600); err != nil {
		t.Fatal(err)
	}
	unavailable := map[string]string{
		"a path in a missing directory": filepath.Join(dir, "missing", "authd.db"),
		"a directory":                   dir,
		"a file that is not a database": notDB,
	}
	loop := filepath.Join(dir, "loop.db")
	if err := os.Symlink(loop, loop); err != nil {
		t.Fatal(err)
	}
	unavailable["a symlink loop"] = loop
	if os.Geteuid() != 0 { // root reads any file
		unreadable := filepath.Join(dir, "unreadable.db")
		db := openAt(t, unreadable)
		db.Close()
		if err := os.Chmod(unreadable, 0); err != nil {
			t.Fatal(err)
		}
		unavailable["an unreadable file"] = unreadable
	}
	for name, path := range unavailable {
		t.Run(name, func(t *testing.T) {
			db, err := sqlite.Open(t.Context(), path)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%s) succeeded", path)
			}
			if !errors.Is(err, authd.ErrUnavailable) {
				t.Fatalf("Open(%s): %v, want an error wrapping ErrUnavailable", path, err)
			}
			if !strings.Contains(err.Error(), path) {
				t.Fatalf("Open(%s): %q does not name the path", path, err)
			}
		})
	}
	for _, path := range []string{"", ":memory:"} {
		if db, err := sqlite.Open(t.Context(), path); err == nil {
			db.Close()
			t.Fatalf("Open(%q) succeeded, want an error: the DB needs a file", path)
		}
	}
}

func TestOpenOddPaths(t *testing.T) {
	// A path is a path, even with characters that mean something in a URI.
	for _, name := range []string{"with space.db", "q?mark.db", "hash#.db", "pct%41.db", "ünï.db"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			db := openAt(t, path)
			if err := db.Ping(t.Context()); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("the file %q was not created where asked: %v", path, err)
			}
		})
	}
}

func TestClosedIsUnavailable(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "authd.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	checks := map[string]error{
		"Ping":          db.Ping(t.Context()),
		"CreateUser":    db.CreateUser(t.Context(), &authd.User{ID: "u", Email: "e"}),
		"ResetFailures": db.ResetFailures(t.Context(), "k"),
	}
	_, checks["SessionByHash"] = db.SessionByHash(t.Context(), storetest.NewHash())
	_, checks["UserByID"] = db.UserByID(t.Context(), "u")
	_, _, checks["RevokedSince"] = db.RevokedSince(t.Context(), "", time.Now())
	_, checks["UpdateFamilyByToken"] = db.UpdateFamilyByToken(t.Context(), storetest.NewHash(), func(*authd.RefreshFamily, int) ([]byte, error) { return nil, nil })
	for name, err := range checks {
		if !errors.Is(err, authd.ErrUnavailable) {
			t.Errorf("%s after Close: %v, want ErrUnavailable", name, err)
		}
	}
}

func TestMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authd.db")
	db := openAt(t, path)
	r := raw(t, path)
	versions := func() []string {
		rows, err := r.QueryContext(t.Context(), `SELECT version, name FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var v int
			var n string
			if err := rows.Scan(&v, &n); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%d:%s", v, n))
		}
		return out
	}
	first := versions()
	if len(first) == 0 || first[0] != "1:0001_init.sql" {
		t.Fatalf("schema_migrations after Open: %q, want 1:0001_init.sql first", first)
	}

	t.Run("idempotent", func(t *testing.T) {
		mustCreateUser(t, db, "kept")
		for range 2 {
			if err := db.Migrate(t.Context()); err != nil {
				t.Fatalf("Migrate again: %v", err)
			}
		}
		again := openAt(t, path)
		if got := versions(); strings.Join(got, ",") != strings.Join(first, ",") {
			t.Fatalf("schema_migrations after migrating again: %q, want %q", got, first)
		}
		if _, err := again.UserByID(t.Context(), "kept"); err != nil {
			t.Fatalf("data after migrating again: %v", err)
		}
	})

	t.Run("the tables API.md and the schema name", func(t *testing.T) {
		want := map[string][]string{
			"audit_events":     {"id", "at", "event", "user_id", "session_id", "ip", "user_agent", "detail"},
			"sessions":         {"id", "hash", "user_id", "email", "roles", "created_at", "last_seen_at", "expires_at", "absolute_expires_at", "ip", "user_agent", "amr", "pending"},
			"refresh_tokens":   {"hash", "family_id", "generation"},
			"refresh_families": nil, "users": nil, "keys": nil, "revocations": nil, "login_failures": nil, "clients": nil,
			"auth_codes": nil, "consents": nil, "session_clients": nil,
			"outbox":              {"id", "kind", "target", "body", "user_id", "session_id", "client_id", "attempts", "created_at", "next_at", "last_err"},
			"id_key":              nil,
			"totp":                {"user_id", "sealed", "confirmed", "last_step", "created_at"},
			"recovery_codes":      {"user_id", "hash"},
			"passkeys":            {"id", "user_id", "name", "credential_id", "credential", "sign_count", "created_at", "last_used_at"},
			"webauthn_challenges": {"key", "data", "expires_at"},
			"email_links":         {"hash", "purpose", "user_id", "email", "created_at", "expires_at"},
		}
		for table, cols := range want {
			rows, err := r.QueryContext(t.Context(), `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				var n string
				rows.Scan(&n)
				got = append(got, n)
			}
			rows.Close()
			if len(got) == 0 {
				t.Errorf("table %s is missing", table)
			}
			if cols != nil && strings.Join(got, ",") != strings.Join(cols, ",") {
				t.Errorf("table %s has columns %q, want %q", table, got, cols)
			}
		}
	})

	t.Run("a newer schema is refused", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "newer.db")
		openAt(t, p)
		if _, err := raw(t, p).ExecContext(t.Context(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)`); err != nil {
			t.Fatal(err)
		}
		db, err := sqlite.Open(t.Context(), p)
		if err == nil {
			db.Close()
			t.Fatal("Open of a database with a newer schema succeeded")
		}
		if !strings.Contains(err.Error(), "newer") {
			t.Fatalf("Open of a newer schema: %v, want it to say the schema is newer", err)
		}
	})

	t.Run("processes starting at once", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "race.db")
		const n = 6
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				db, err := sqlite.Open(t.Context(), p)
				if err != nil {
					errs <- err
					return
				}
				db.Close()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("concurrent Open: %v", err)
		}
		var count int
		if err := raw(t, p).QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&count); err != nil {
			t.Fatal(err)
		}
		if count != len(first) {
			t.Fatalf("%d migrations recorded after concurrent Opens, want %d", count, len(first))
		}
	})
}

// TestMigrationKeepsIntrospectionClients: a database of the schema before
// the client registry (migrations 0001 and 0002, as an older authd left it)
// is upgraded on Open; its introspection clients become confidential
// resource servers, secret kept, with no redirect URI, grant or scope.
func TestMigrationKeepsIntrospectionClients(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	r := raw(t, path)
	for _, name := range []string{"0001_init.sql", "0002_session_events.sql"} {
		b, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.ExecContext(t.Context(), string(b)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	created := storetest.Now()
	const hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`,
		`INSERT INTO schema_migrations VALUES (1, '0001_init.sql', 0), (2, '0002_session_events.sql', 0)`,
		fmt.Sprintf(`INSERT INTO clients (id, secret_hash, created_at) VALUES ('orders', '%s', %d)`, hash, created.UnixMicro()),
	} {
		if _, err := r.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db := openAt(t, path)
	storetest.CheckUpgradedClient(t, db, "orders", hash, created)
}

// TestMigrationKeepsPasswordFamilies: a database of the schema before the
// authorization server (migrations 0001 to 0003) is upgraded on Open; its
// refresh families, issued by the password grant, read back with no client
// and no scope, and their tokens still find them.
func TestMigrationKeepsPasswordFamilies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	r := raw(t, path)
	for _, name := range []string{"0001_init.sql", "0002_session_events.sql", "0003_oidc_clients.sql"} {
		b, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.ExecContext(t.Context(), string(b)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	now := storetest.Now()
	h := storetest.NewHash()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`, nil},
		{`INSERT INTO schema_migrations VALUES (1, '0001_init.sql', 0), (2, '0002_session_events.sql', 0), (3, '0003_oidc_clients.sql', 0)`, nil},
		{`INSERT INTO refresh_families (id, user_id, audience, secret, generation, rotated_at, created_at, last_used_at, expires_at, revoked_at)
			VALUES ('fam', 'alice', '["authd"]', x'01', 1, NULL, ?1, ?1, ?2, NULL)`, []any{now.UnixMicro(), now.Add(time.Hour).UnixMicro()}},
		{`INSERT INTO refresh_tokens (hash, family_id, generation) VALUES (?, 'fam', 1)`, []any{h}},
	} {
		if _, err := r.ExecContext(t.Context(), q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	db := openAt(t, path)
	got, err := db.UpdateFamilyByToken(t.Context(), h, func(*authd.RefreshFamily, int) ([]byte, error) { return nil, nil })
	if err != nil {
		t.Fatalf("UpdateFamilyByToken of the upgraded family's token: %v", err)
	}
	if got.ID != "fam" || got.UserID != "alice" || got.ClientID != "" || len(got.Scopes) != 0 || len(got.Audience) != 1 || !got.ExpiresAt.Equal(now.Add(time.Hour)) || got.JKT != "" {
		t.Fatalf("the upgraded family: %+v, want fam of alice, no client, no scope, unbound", got)
	}
	revoked, err := db.RevokeClientFamilies(t.Context(), "alice", "", now)
	if err != nil || len(revoked) != 1 || revoked[0].ID != "fam" {
		t.Fatalf("RevokeClientFamilies(alice, \"\"): %v, %v; want the upgraded family", revoked, err)
	}
}

// TestMigrationKeepsSessions: a database of the schema before sessions
// recorded their sign-in (migrations 0001 to 0005) is upgraded on Open; its
// sessions read back as they were, with no methods and not pending, and
// the new tables work.
func TestMigrationKeepsSessions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	r := raw(t, path)
	names := []string{"0001_init.sql", "0002_session_events.sql", "0003_oidc_clients.sql", "0004_oidc.sql", "0005_id_key.sql"}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.ExecContext(t.Context(), string(b)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := r.ExecContext(t.Context(), `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		t.Fatal(err)
	}
	for i, name := range names {
		if _, err := r.ExecContext(t.Context(), `INSERT INTO schema_migrations VALUES (?, ?, 0)`, i+1, name); err != nil {
			t.Fatal(err)
		}
	}
	now := storetest.Now()
	old := &authd.Session{
		ID: "sess-old", Hash: storetest.NewHash(), UserID: "alice", Email: "alice@example.com", Roles: []string{"admin"},
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(24 * time.Hour),
		IP: "192.0.2.1", UserAgent: "curl/8",
	}
	if _, err := r.ExecContext(t.Context(), `INSERT INTO sessions (id, hash, user_id, email, roles, created_at, last_seen_at, expires_at, absolute_expires_at, ip, user_agent)
		VALUES (?, ?, ?, ?, '["admin"]', ?, ?, ?, ?, ?, ?)`, old.ID, old.Hash, old.UserID, old.Email,
		now.UnixMicro(), now.UnixMicro(), old.ExpiresAt.UnixMicro(), old.AbsoluteExpiresAt.UnixMicro(), old.IP, old.UserAgent); err != nil {
		t.Fatal(err)
	}
	db := openAt(t, path)
	got, err := db.SessionByHash(t.Context(), old.Hash)
	if err != nil {
		t.Fatalf("SessionByHash of the upgraded session: %v", err)
	}
	if got.AMR != nil || got.Pending {
		t.Fatalf("the upgraded session: AMR %q, Pending %v; want nil, false", got.AMR, got.Pending)
	}
	if got.ID != old.ID || got.UserID != old.UserID || !got.ExpiresAt.Equal(old.ExpiresAt) || len(got.Roles) != 1 || got.UserAgent != old.UserAgent {
		t.Fatalf("the upgraded session: %+v, want %+v", got, old)
	}
	list, err := db.ListSessions(t.Context(), "alice", now)
	if err != nil || len(list) != 1 || list[0].AMR != nil || list[0].Pending {
		t.Fatalf("ListSessions of the upgraded session: %+v, %v", list, err)
	}
	if err := db.PutTOTP(t.Context(), &authd.TOTP{UserID: "alice", Sealed: []byte{1}, CreatedAt: now}); err != nil {
		t.Fatalf("PutTOTP after the upgrade: %v", err)
	}
}

func mustCreateUser(t *testing.T, db *sqlite.DB, id string) {
	t.Helper()
	now := storetest.Now()
	if err := db.CreateUser(t.Context(), &authd.User{ID: id, Email: id + "@example.com", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
}

// TestTwoProcesses opens two DBs on one file, as two `authd serve`
// processes on one machine would: each sees the other's writes at once, and
// the read-modify-writes stay exact across them.
func TestTwoProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	a, b := openAt(t, path), openAt(t, path)
	ctx := t.Context()
	now := storetest.Now()

	t.Run("each sees the other's writes", func(t *testing.T) {
		mustCreateUser(t, a, "from-a")
		if _, err := b.UserByID(ctx, "from-a"); err != nil {
			t.Fatalf("b does not see a's user: %v", err)
		}
		s := &authd.Session{ID: "s1", Hash: storetest.NewHash(), UserID: "from-a", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(time.Hour)}
		if err := b.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
		if _, err := a.SessionByHash(ctx, s.Hash); err != nil {
			t.Fatalf("a does not see b's session: %v", err)
		}
		if err := a.DeleteSession(ctx, "from-a", "s1"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.SessionByHash(ctx, s.Hash); !errors.Is(err, authd.ErrNotFound) {
			t.Fatalf("b still finds the session a deleted: %v", err)
		}
		err := b.CreateUser(ctx, &authd.User{ID: "other", Email: "from-a@example.com"})
		if !errors.Is(err, authd.ErrConflict) {
			t.Fatalf("b creating a's email: %v, want ErrConflict", err)
		}
	})

	t.Run("failures are counted exactly across both", func(t *testing.T) {
		const each = 25
		var wg sync.WaitGroup
		for _, db := range []*sqlite.DB{a, b} {
			for range each {
				wg.Go(func() {
					if _, _, err := db.AddFailure(ctx, "ip:203.0.113.9", time.Hour, now); err != nil {
						t.Error(err)
					}
				})
			}
		}
		wg.Wait()
		n, _, err := a.Failures(ctx, "ip:203.0.113.9", now)
		if err != nil || n != 2*each {
			t.Fatalf("Failures: %d, %v; want %d", n, err, 2*each)
		}
	})

	t.Run("refresh rotation is serialised across both", func(t *testing.T) {
		h := storetest.NewHash()
		f := &authd.RefreshFamily{ID: "fam", UserID: "from-a", Generation: 1, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := a.CreateFamily(ctx, f, h); err != nil {
			t.Fatal(err)
		}
		const each = 10
		var wg sync.WaitGroup
		for _, db := range []*sqlite.DB{a, b} {
			for range each {
				wg.Go(func() {
					_, err := db.UpdateFamilyByToken(ctx, h, func(f *authd.RefreshFamily, _ int) ([]byte, error) {
						f.Generation++
						return storetest.NewHash(), nil
					})
					if err != nil {
						t.Error(err)
					}
				})
			}
		}
		wg.Wait()
		got, err := b.FamilyByID(ctx, "fam")
		if err != nil || got.Generation != 1+2*each {
			t.Fatalf("generation after %d rotations from two DBs: %v, %v; want %d", 2*each, got, err, 1+2*each)
		}
	})

	t.Run("a DPoP proof id is remembered once across both", func(t *testing.T) {
		const each = 16
		jti := storetest.NewID("jti")
		var wins atomic.Int32
		var wg sync.WaitGroup
		for _, db := range []*sqlite.DB{a, b} {
			for range each {
				wg.Go(func() {
					ok, err := db.Remember(ctx, jti, now.Add(time.Minute), now)
					if err != nil {
						t.Error(err)
					}
					if ok {
						wins.Add(1)
					}
				})
			}
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("%d of %d Remember calls from two DBs reported true, want 1", n, 2*each)
		}
	})

	t.Run("one current key across both", func(t *testing.T) {
		var wg sync.WaitGroup
		ids := make(chan string, 8)
		for i := range 8 {
			db := []*sqlite.DB{a, b}[i%2]
			wg.Go(func() {
				k, err := db.EnsureKey(ctx, &authd.Key{ID: fmt.Sprintf("kid-%d", i), Alg: authd.AlgEdDSA, Private: []byte{1}, CreatedAt: now})
				if err != nil {
					t.Error(err)
					return
				}
				ids <- k.ID
			})
		}
		wg.Wait()
		close(ids)
		first := ""
		for id := range ids {
			if first == "" {
				first = id
			}
			if id != first {
				t.Fatalf("EnsureKey from two DBs returned %s and %s", first, id)
			}
		}
	})
}

// TestBusyWaits checks that busy_timeout reaches the write connection: a
// write waits while another program holds the file's write lock, instead of
// failing at once; and a context deadline ends the wait with ErrUnavailable.
func TestBusyWaits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "busy.db")
	db := openAt(t, path)
	other := raw(t, path)
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	lock := func() {
		if _, err := conn.ExecContext(t.Context(), `BEGIN IMMEDIATE`); err != nil {
			t.Fatal(err)
		}
	}
	unlock := func() {
		if _, err := conn.ExecContext(t.Context(), `COMMIT`); err != nil {
			t.Fatal(err)
		}
	}

	lock()
	released := make(chan struct{})
	go func() {
		time.Sleep(300 * time.Millisecond)
		unlock()
		close(released)
	}()
	start := time.Now()
	mustCreateUser(t, db, "waited")
	if waited := time.Since(start); waited < 250*time.Millisecond {
		t.Fatalf("CreateUser returned after %s while the lock was held for 300ms", waited)
	}
	<-released

	lock()
	defer unlock()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	err = db.CreateUser(ctx, &authd.User{ID: "late", Email: "late@example.com"})
	if !errors.Is(err, authd.ErrUnavailable) {
		t.Fatalf("CreateUser past its deadline while locked: %v, want ErrUnavailable", err)
	}
	// Reads go on while a writer holds the lock (WAL).
	if _, err := db.UserByID(t.Context(), "waited"); err != nil {
		t.Fatalf("read while another program holds the write lock: %v", err)
	}
}

func TestDeleteFamiliesRemovesTokenRows(t *testing.T) {
	db := open(t)
	now := storetest.Now()
	f := &authd.RefreshFamily{ID: "f", UserID: "u", Generation: 1, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Minute)}
	h := storetest.NewHash()
	if err := db.CreateFamily(t.Context(), f, h); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := db.UpdateFamilyByToken(t.Context(), h, func(f *authd.RefreshFamily, _ int) ([]byte, error) {
			f.Generation++
			h = storetest.NewHash()
			return h, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	r := raw(t, db.Path())
	count := func() (n int) {
		if err := r.QueryRowContext(t.Context(), `SELECT count(*) FROM refresh_tokens`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 4 {
		t.Fatalf("%d token rows before, want 4", n)
	}
	if n, err := db.DeleteFamiliesBefore(t.Context(), now.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("DeleteFamiliesBefore: %d, %v", n, err)
	}
	if n := count(); n != 0 {
		t.Fatalf("%d token rows left after deleting their family", n)
	}
}

func TestRevokedSinceCursorFormat(t *testing.T) {
	db := open(t)
	now := storetest.Now()
	if err := db.Revoke(t.Context(), authd.Revocation{Kind: authd.RevokeJTI, ID: "j", ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"r", "R1", "r01", "r00", "r-1", "r+1", "r 1", "r1 ", "r1.0", "r0x1", "r9223372036854775808", "r99999999999999999999", "1", "\u0661"} {
		_, _, err := db.RevokedSince(t.Context(), c, now)
		var inv *authd.InvalidError
		if !errors.As(err, &inv) {
			t.Errorf("RevokedSince(%q): %v, want *authd.InvalidError", c, err)
		}
	}
	rs, next, err := db.RevokedSince(t.Context(), "", now)
	if err != nil || len(rs) != 1 || next != "r1" {
		t.Fatalf("RevokedSince(\"\"): %v, %q, %v; want one entry and cursor r1", rs, next, err)
	}
	for _, c := range []string{"r0", "r1", "r9223372036854775807"} {
		if _, _, err := db.RevokedSince(t.Context(), c, now); err != nil {
			t.Errorf("RevokedSince(%q): %v", c, err)
		}
	}
}

func TestPing(t *testing.T) {
	db := open(t)
	if err := db.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := db.Ping(ctx); err == nil {
		t.Fatal("Ping with a cancelled context succeeded")
	}
}

func TestReplaySet(t *testing.T) {
	storetest.RunReplaySet(t, func(t *testing.T) authd.ReplaySet { return open(t) }, storetest.PrunesReplays)
}
