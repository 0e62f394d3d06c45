package postgres_test

import (
	"context"
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
	"github.com/authd/authd/postgres"
	"github.com/authd/authd/postgres/pgtest"
	"github.com/authd/authd/storetest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// admin runs one statement on a connection of its own, or fails t.
func admin(t testing.TB, dsn, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := pgtest.Exec(ctx, dsn, sql); err != nil {
		t.Fatal(err)
	}
}

// openDB opens a DB on dsn, closed in t.Cleanup.
func openDB(t testing.TB, dsn string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openFresh opens a DB on a fresh, empty schema.
func openFresh(t testing.TB) *postgres.DB {
	t.Helper()
	return openDB(t, pgtest.Schema(t))
}

func TestUserStore(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunUserStore(t, func(t *testing.T) authd.UserStore { return openFresh(t) })
}

func TestSessionStore(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunSessionStore(t, func(t *testing.T) authd.SessionStore { return openFresh(t) })
}

func TestRefreshStore(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunRefreshStore(t, func(t *testing.T) authd.RefreshStore { return openFresh(t) })
}

func TestKeyStore(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunKeyStore(t, func(t *testing.T) authd.KeyStore { return openFresh(t) })
	storetest.RunIDKeyStore(t, func(t *testing.T) authd.IDKeyStore { return openFresh(t) })
}

func TestRevocationList(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunRevocationList(t, func(t *testing.T) authd.RevocationList { return openFresh(t) })
}

func TestLimiter(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunLimiter(t, func(t *testing.T) authd.Limiter { return openFresh(t) })
}

func TestClientStore(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunClientStore(t, func(t *testing.T) authd.ClientStore { return openFresh(t) })
}

func TestCodeStore(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunCodeStore(t, func(t *testing.T) authd.CodeStore { return openFresh(t) })
}

func TestConsentStore(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunConsentStore(t, func(t *testing.T) authd.ConsentStore { return openFresh(t) })
}

func TestSessionClientStore(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunSessionClientStore(t, func(t *testing.T) authd.SessionClientStore { return openFresh(t) })
}

func TestOutbox(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunOutbox(t, func(t *testing.T) authd.Outbox { return openFresh(t) })
}

func TestFactorStore(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunFactorStore(t, func(t *testing.T) authd.FactorStore { return openFresh(t) })
}

func TestChallengeStore(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunChallengeStore(t, func(t *testing.T) authd.ChallengeStore { return openFresh(t) })
}

func TestLinkStore(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunLinkStore(t, func(t *testing.T) storetest.LinkBackend { return openFresh(t) })
}

func TestUserDirectory(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunUserDirectory(t, func(t *testing.T) storetest.DirectoryBackend { return openFresh(t) })
}

func TestAuditReader(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunAuditReader(t, func(t *testing.T) storetest.AuditBackend { return openFresh(t) })
}

func TestUpstreamStore(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunUpstreamStore(t, func(t *testing.T) storetest.UpstreamBackend { return openFresh(t) })
}

func TestIdentityStore(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunIdentityStore(t, func(t *testing.T) storetest.IdentityBackend { return openFresh(t) })
}

func TestAuditLog(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunAuditLog(t, func(t *testing.T) (authd.AuditLog, storetest.AuditTable) {
		db := openFresh(t)
		return db, func(ctx context.Context) ([]authd.AuditEvent, error) {
			rows, err := postgres.PoolOf(db).Query(ctx, `SELECT at, event, coalesce(user_id, ''), coalesce(session_id, ''),
				coalesce(ip, ''), coalesce(user_agent, ''), coalesce(detail, '') FROM audit_events ORDER BY id`)
			if err != nil {
				return nil, err
			}
			return pgx.CollectRows(rows, func(r pgx.CollectableRow) (authd.AuditEvent, error) {
				var e authd.AuditEvent
				err := r.Scan(&e.At, &e.Event, &e.UserID, &e.SessionID, &e.IP, &e.UserAgent, &e.Detail)
				return e, err
			})
		}
	})
}

func TestAuditEventsColumns(t *testing.T) {
	// API.md names the columns of audit_events: exactly these, in order.
	db := openFresh(t)
	rows, err := postgres.PoolOf(db).Query(t.Context(), `SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'audit_events' ORDER BY ordinal_position`)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"id", "at", "event", "user_id", "session_id", "ip", "user_agent", "detail"}
	if strings.Join(cols, ",") != strings.Join(want, ",") {
		t.Fatalf("audit_events columns: got %q, want %q", cols, want)
	}
}

func TestOpenUnreachableFailsFast(t *testing.T) {
	// No database needed: nothing listens on port 1.
	start := time.Now()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	db, err := postgres.Open(ctx, "postgres://authd@127.0.0.1:1/authd?sslmode=disable")
	if err == nil {
		db.Close()
		t.Fatal("Open of a closed port succeeded")
	}
	if !errors.Is(err, authd.ErrUnavailable) {
		t.Fatalf("Open of a closed port: got %v, want an error wrapping authd.ErrUnavailable", err)
	}
	if d := time.Since(start); d > postgres.ConnectTimeout {
		t.Fatalf("Open of a closed port took %s, want under %s", d, postgres.ConnectTimeout)
	}
	if !strings.HasPrefix(err.Error(), "postgres: ") {
		t.Errorf("error %q does not name the package", err)
	}
}

func TestOpenMalformedURL(t *testing.T) {
	_, err := postgres.Open(t.Context(), "postgres://user:s3cret@[::1/db?pool_max_conns=x")
	if err == nil {
		t.Fatal("Open of a malformed URL succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("the error repeats the password: %v", err)
	}
}

func TestOpenHonoursDeadline(t *testing.T) {
	// A TCP listener that never answers: the connect_timeout of the URL or
	// ctx's deadline ends the attempt, as authd.ErrUnavailable.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	l := listenSilently(t)
	start := time.Now()
	_, err := postgres.Open(ctx, "postgres://authd@"+l+"/authd?sslmode=disable")
	if !errors.Is(err, authd.ErrUnavailable) {
		t.Fatalf("Open of a silent server: got %v, want authd.ErrUnavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Open of a silent server took %s", d)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	dsn := pgtest.Schema(t)
	a := openDB(t, dsn)
	u := &authd.User{ID: authd.NewID(), Email: "a@example.com", PasswordHash: "$argon2id$x", CreatedAt: storetest.Now(), UpdatedAt: storetest.Now()}
	if err := a.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b := openDB(t, dsn) // migrations again: nothing to do, nothing lost
	if _, err := b.UserByID(t.Context(), u.ID); err != nil {
		t.Fatalf("UserByID after reopening: %v", err)
	}
	if err := b.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	var n int
	if err := postgres.PoolOf(b).QueryRow(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if want := postgres.MigrationCount(); n != want {
		t.Fatalf("schema_migrations has %d rows, want %d", n, want)
	}
}

// TestMigrationKeepsIntrospectionClients: a schema as an older authd left
// it (migrations 0001 and 0002) is upgraded on Open; its introspection
// clients become confidential resource servers, secret kept, with no
// redirect URI, grant or scope.
func TestMigrationKeepsIntrospectionClients(t *testing.T) {
	ctx := t.Context()
	base := pgtest.DSN(t)
	schema, err := pgtest.CreateSchema(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin(t, base, `DROP SCHEMA "`+schema+`" CASCADE`) })
	// pgtest.Schema's DSN carries pool parameters a plain connection refuses.
	dsn := pgtest.WithParams(t, base, map[string]string{"search_path": schema})
	for _, name := range []string{"0001_init.sql", "0002_session_notify.sql"} {
		b, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		admin(t, dsn, string(b))
	}
	created := storetest.Now()
	const hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"
	admin(t, dsn, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL);
		INSERT INTO schema_migrations VALUES (1, '0001_init.sql', now()), (2, '0002_session_notify.sql', now());
		INSERT INTO clients (id, secret_hash, created_at) VALUES ('orders', '`+hash+`', '`+created.Format(time.RFC3339Nano)+`')`)
	db := openDB(t, dsn)
	storetest.CheckUpgradedClient(t, db, "orders", hash, created)
}

// TestMigrationKeepsPasswordFamilies: a schema of before the authorization
// server (migrations 0001 to 0003) is upgraded on Open; its refresh
// families, issued by the password grant, read back with no client and no
// scope, and their tokens still find them.
func TestMigrationKeepsPasswordFamilies(t *testing.T) {
	ctx := t.Context()
	base := pgtest.DSN(t)
	schema, err := pgtest.CreateSchema(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin(t, base, `DROP SCHEMA "`+schema+`" CASCADE`) })
	dsn := pgtest.WithParams(t, base, map[string]string{"search_path": schema})
	for _, name := range []string{"0001_init.sql", "0002_session_notify.sql", "0003_oidc_clients.sql"} {
		b, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		admin(t, dsn, string(b))
	}
	now := storetest.Now()
	admin(t, dsn, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL);
		INSERT INTO schema_migrations VALUES (1, '0001_init.sql', now()), (2, '0002_session_notify.sql', now()), (3, '0003_oidc_clients.sql', now());
		INSERT INTO refresh_families (id, user_id, audience, secret, generation, created_at, last_used_at, expires_at)
			VALUES ('fam', 'alice', '{authd}', '\x01', 1, '`+now.Format(time.RFC3339Nano)+`', '`+now.Format(time.RFC3339Nano)+`', '`+now.Add(time.Hour).Format(time.RFC3339Nano)+`');
		INSERT INTO refresh_tokens (hash, family_id, generation) VALUES ('\x00aa', 'fam', 1)`)
	db := openDB(t, dsn)
	got, err := db.UpdateFamilyByToken(ctx, []byte{0, 0xaa}, func(*authd.RefreshFamily, int) ([]byte, error) { return nil, nil })
	if err != nil {
		t.Fatalf("UpdateFamilyByToken of the upgraded family's token: %v", err)
	}
	if got.ID != "fam" || got.UserID != "alice" || got.ClientID != "" || len(got.Scopes) != 0 || len(got.Audience) != 1 || !got.ExpiresAt.Equal(now.Add(time.Hour)) || got.JKT != "" {
		t.Fatalf("the upgraded family: %+v, want fam of alice, no client, no scope, unbound", got)
	}
	revoked, err := db.RevokeClientFamilies(ctx, "alice", "", now)
	if err != nil || len(revoked) != 1 || revoked[0].ID != "fam" {
		t.Fatalf("RevokeClientFamilies(alice, \"\"): %v, %v; want the upgraded family", revoked, err)
	}
}

// TestMigrationKeepsSessions: a schema of before sessions recorded their
// sign-in (migrations 0001 to 0005) is upgraded on Open; its sessions read
// back as they were, with no methods and not pending, and the new tables
// work.
func TestMigrationKeepsSessions(t *testing.T) {
	ctx := t.Context()
	base := pgtest.DSN(t)
	schema, err := pgtest.CreateSchema(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin(t, base, `DROP SCHEMA "`+schema+`" CASCADE`) })
	dsn := pgtest.WithParams(t, base, map[string]string{"search_path": schema})
	names := []string{"0001_init.sql", "0002_session_notify.sql", "0003_oidc_clients.sql", "0004_oidc.sql", "0005_id_key.sql"}
	for _, name := range names {
		b, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		admin(t, dsn, string(b))
	}
	var records []string
	for i, name := range names {
		records = append(records, fmt.Sprintf("(%d, '%s', now())", i+1, name))
	}
	now := storetest.Now()
	ts := func(t time.Time) string { return "'" + t.Format(time.RFC3339Nano) + "'" }
	admin(t, dsn, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL);
		INSERT INTO schema_migrations VALUES `+strings.Join(records, ", ")+`;
		INSERT INTO sessions (id, hash, user_id, email, roles, created_at, last_seen_at, expires_at, absolute_expires_at, ip, user_agent)
			VALUES ('sess-old', '\x00aa', 'alice', 'alice@example.com', '{admin}', `+ts(now)+`, `+ts(now)+`, `+ts(now.Add(time.Hour))+`, `+ts(now.Add(24*time.Hour))+`, '192.0.2.1', 'curl/8')`)
	db := openDB(t, dsn)
	got, err := db.SessionByHash(ctx, []byte{0, 0xaa})
	if err != nil {
		t.Fatalf("SessionByHash of the upgraded session: %v", err)
	}
	if got.AMR != nil || got.Pending {
		t.Fatalf("the upgraded session: AMR %q, Pending %v; want nil, false", got.AMR, got.Pending)
	}
	if got.ID != "sess-old" || got.UserID != "alice" || !got.ExpiresAt.Equal(now.Add(time.Hour)) || len(got.Roles) != 1 || got.UserAgent != "curl/8" {
		t.Fatalf("the upgraded session: %+v", got)
	}
	list, err := db.ListSessions(ctx, "alice", now)
	if err != nil || len(list) != 1 || list[0].AMR != nil || list[0].Pending {
		t.Fatalf("ListSessions of the upgraded session: %+v, %v", list, err)
	}
	if err := db.PutTOTP(ctx, &authd.TOTP{UserID: "alice", Sealed: []byte{1}, CreatedAt: now}); err != nil {
		t.Fatalf("PutTOTP after the upgrade: %v", err)
	}
}

func TestMigrationsConcurrentOpen(t *testing.T) {
	// Nodes starting at once on an empty schema: every Open succeeds and
	// each migration is recorded once.
	dsn := pgtest.WithParams(t, pgtest.Schema(t), map[string]string{"pool_max_conns": "2"})
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			db, err := postgres.Open(t.Context(), dsn)
			if err == nil {
				db.Close()
			}
			errs[i] = err
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		}
	}
	db := openDB(t, dsn)
	var rows, current int
	if err := postgres.PoolOf(db).QueryRow(t.Context(), `SELECT count(*), max(version) FROM schema_migrations`).Scan(&rows, &current); err != nil {
		t.Fatal(err)
	}
	if rows != current {
		t.Fatalf("schema_migrations: %d rows for version %d", rows, current)
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	dsn := pgtest.Schema(t)
	db := openDB(t, dsn)
	if _, err := postgres.PoolOf(db).Exec(t.Context(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.Open(t.Context(), dsn); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("Open of a newer schema: got %v, want a refusal", err)
	}
}

func TestTwoDBsShareOneSchema(t *testing.T) {
	dsn := pgtest.Schema(t)
	a, b := openDB(t, dsn), openDB(t, dsn)
	ctx := t.Context()
	now := storetest.Now()
	s := &authd.Session{
		ID: authd.NewID(), Hash: storetest.NewHash(), UserID: "u1", Email: "u1@example.com",
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(24 * time.Hour),
	}
	if err := a.CreateSession(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, err := b.SessionByHash(ctx, s.Hash)
	if err != nil || got.ID != s.ID {
		t.Fatalf("the other DB's SessionByHash: %v, %v", got, err)
	}
	if err := b.DeleteSession(ctx, s.UserID, s.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.SessionByHash(ctx, s.Hash); !errors.Is(err, authd.ErrNotFound) {
		t.Fatalf("SessionByHash after the other DB deleted it: %v, want ErrNotFound", err)
	}

	// Limiter counters and the revocation feed are shared too.
	for i, db := range []*postgres.DB{a, b, a} {
		n, _, err := db.AddFailure(ctx, "acct:x", time.Minute, now)
		if err != nil || n != i+1 {
			t.Fatalf("AddFailure %d: %d, %v", i, n, err)
		}
	}
	r := authd.Revocation{Kind: authd.RevokeJTI, ID: "j1", ExpiresAt: now.Add(time.Hour)}
	if err := a.Revoke(ctx, r); err != nil {
		t.Fatal(err)
	}
	rs, _, err := b.RevokedSince(ctx, "", now)
	if err != nil || len(rs) != 1 || rs[0].ID != "j1" {
		t.Fatalf("the other DB's RevokedSince: %v, %v", rs, err)
	}

	// A DPoP proof id remembered by one DB is a replay to the other, and
	// of concurrent calls from both exactly one reports true.
	jti := storetest.NewID("jti")
	if ok, err := a.Remember(ctx, jti, now.Add(time.Minute), now); err != nil || !ok {
		t.Fatalf("Remember: %v, %v; want true", ok, err)
	}
	if ok, err := b.Remember(ctx, jti, now.Add(time.Minute), now); err != nil || ok {
		t.Fatalf("the other DB's Remember of the same key: %v, %v; want false", ok, err)
	}
	jti = storetest.NewID("jti")
	var (
		wins atomic.Int32
		wg   sync.WaitGroup
	)
	for i := range 16 {
		db := []*postgres.DB{a, b}[i%2]
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
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Fatalf("%d of 16 Remember calls from two DBs reported true, want 1", n)
	}

	// Keys: both DBs agree on the current key.
	k1 := &authd.Key{ID: "k1", Alg: authd.AlgHS256, Private: []byte("secret"), CreatedAt: now}
	k2 := &authd.Key{ID: "k2", Alg: authd.AlgHS256, Private: []byte("other"), CreatedAt: now}
	if _, err := a.EnsureKey(ctx, k1); err != nil {
		t.Fatal(err)
	}
	if cur, err := b.EnsureKey(ctx, k2); err != nil || cur.ID != "k1" {
		t.Fatalf("the other DB's EnsureKey: %v, %v; want k1", cur, err)
	}
}

func TestErrorsAfterClose(t *testing.T) {
	db := openFresh(t)
	db.Close()
	if err := db.Ping(t.Context()); !errors.Is(err, authd.ErrUnavailable) {
		t.Fatalf("Ping after Close: %v, want ErrUnavailable", err)
	}
	if _, err := db.UserByID(t.Context(), "x"); !errors.Is(err, authd.ErrUnavailable) {
		t.Fatalf("UserByID after Close: %v, want ErrUnavailable", err)
	}
	if _, err := db.SessionByHash(t.Context(), storetest.NewHash()); !errors.Is(err, authd.ErrUnavailable) {
		t.Fatalf("SessionByHash after Close: %v, want ErrUnavailable", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestServerGoneIsUnavailable(t *testing.T) {
	// The server ends every connection of the DB (as a restart or a
	// failover does): calls fail with ErrUnavailable, or succeed on a new
	// connection, and never fail otherwise.
	db := openFresh(t)
	ctx := t.Context()
	if err := db.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	var pids []string
	var conns []*pgxpool.Conn
	for range pgtest.PoolSize {
		c, err := postgres.PoolOf(db).Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		pids = append(pids, fmt.Sprint(c.Conn().PgConn().PID()))
	}
	for _, c := range conns {
		c.Release()
	}
	admin(t, pgtest.DSN(t), "SELECT pg_terminate_backend(pid) FROM unnest('{"+strings.Join(pids, ",")+"}'::int[]) AS pid")
	// The first call meets a dead connection; the pool is reset then, so
	// the next call runs on a new one.
	_, err := db.UserByID(ctx, "nobody")
	if err != nil && !errors.Is(err, authd.ErrNotFound) && !errors.Is(err, authd.ErrUnavailable) {
		t.Fatalf("first call after the server ended the connections: %v, want ErrNotFound or ErrUnavailable", err)
	}
	if _, err := db.UserByID(ctx, "nobody"); !errors.Is(err, authd.ErrNotFound) {
		t.Fatalf("second call after the server ended the connections: %v, want ErrNotFound (a new connection)", err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestUnstorableKeysAreNotFound(t *testing.T) {
	// Keys come from clients (an email, a session id in a URL, Basic
	// credentials): bytes PostgreSQL's text cannot hold are not found,
	// never a server error.
	db := openFresh(t)
	ctx := t.Context()
	for _, bad := range []string{"nul\x00byte", "bad \xff utf-8"} {
		if _, err := db.UserByEmail(ctx, bad); !errors.Is(err, authd.ErrNotFound) {
			t.Errorf("UserByEmail(%q): %v", bad, err)
		}
		if _, err := db.UserByID(ctx, bad); !errors.Is(err, authd.ErrNotFound) {
			t.Errorf("UserByID(%q): %v", bad, err)
		}
		if err := db.DeleteSession(ctx, "u", bad); !errors.Is(err, authd.ErrNotFound) {
			t.Errorf("DeleteSession(%q): %v", bad, err)
		}
		if err := db.TouchSession(ctx, bad, time.Now(), time.Now()); !errors.Is(err, authd.ErrNotFound) {
			t.Errorf("TouchSession(%q): %v", bad, err)
		}
		if _, err := db.ClientByID(ctx, bad); !errors.Is(err, authd.ErrNotFound) {
			t.Errorf("ClientByID(%q): %v", bad, err)
		}
		if err := db.DeleteClient(ctx, bad); !errors.Is(err, authd.ErrNotFound) {
			t.Errorf("DeleteClient(%q): %v", bad, err)
		}
		if _, err := db.FamilyByID(ctx, bad); !errors.Is(err, authd.ErrNotFound) {
			t.Errorf("FamilyByID(%q): %v", bad, err)
		}
		if ss, err := db.ListSessions(ctx, bad, time.Now()); err != nil || ss == nil || len(ss) != 0 {
			t.Errorf("ListSessions(%q): %v, %v", bad, ss, err)
		}
		// The limiter counts them (sanitized) rather than fail.
		if n, _, err := db.AddFailure(ctx, "acct:"+bad, time.Minute, time.Now()); err != nil || n != 1 {
			t.Errorf("AddFailure(%q): %d, %v", bad, n, err)
		}
	}
}

func TestRevocationCursorAcrossDBs(t *testing.T) {
	// Writers on two DBs (two nodes) and a reader on a third: the reader,
	// following its cursor, sees every entry exactly once.
	dsn := pgtest.Schema(t)
	w1, w2, r := openDB(t, dsn), openDB(t, dsn), openDB(t, dsn)
	ctx := t.Context()
	now := storetest.Now()
	const each = 100
	var wg sync.WaitGroup
	errs := make(chan error, 2*each)
	for w, db := range []*postgres.DB{w1, w2} {
		wg.Go(func() {
			for i := range each {
				rv := authd.Revocation{Kind: authd.RevokeSID, ID: fmt.Sprintf("w%d-%d", w, i), ExpiresAt: now.Add(time.Hour)}
				if err := db.Revoke(ctx, rv); err != nil {
					errs <- err
				}
			}
		})
	}
	seen := map[string]int{}
	cursor := ""
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for last := false; !last; {
		select {
		case <-done:
			last = true
		default:
		}
		rs, next, err := r.RevokedSince(ctx, cursor, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range rs {
			seen[x.ID]++
		}
		cursor = next
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != 2*each {
		t.Fatalf("the reader saw %d entries, want %d", len(seen), 2*each)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("entry %s seen %d times", id, n)
		}
	}
}

func TestReplaySet(t *testing.T) {
	pgtest.DSN(t)
	storetest.RunReplaySet(t, func(t *testing.T) authd.ReplaySet { return openFresh(t) }, storetest.PrunesReplays)
}
