package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/postgres"
	"github.com/authd/authd/postgres/pgtest"
	"github.com/authd/authd/token"
	"github.com/jackc/pgx/v5"
)

// queryInt runs a query of one integer on a connection of its own.
func queryInt(ctx context.Context, dsn, sql string, args ...any) (int, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var n int
	err = conn.QueryRow(ctx, sql, args...).Scan(&n)
	return n, err
}

var _ token.ChangeProber = (*postgres.DB)(nil)

// probeDeadline bounds every wait of these tests for something that
// happens in milliseconds: generous, for a loaded machine. Nothing is
// asserted about speed.
const probeDeadline = 20 * time.Second

// revocation returns a fresh entry of kind, live for an hour.
func revocation(kind string) authd.Revocation {
	return authd.Revocation{Kind: kind, ID: rand.Text(), ExpiresAt: time.Now().Add(time.Hour)}
}

// drain takes a pending send off wake, if any.
func drain(wake <-chan struct{}) {
	select {
	case <-wake:
	default:
	}
}

// awaitChanged calls changed until it says true (with or without an
// error), waiting on wake between calls, and returns its last error.
func awaitChanged(t *testing.T, changed func(context.Context) (bool, error), wake <-chan struct{}) error {
	t.Helper()
	deadline := time.After(probeDeadline)
	for {
		ch, err := changed(t.Context())
		if ch {
			return err
		}
		select {
		case <-wake:
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("changed never said true")
		}
	}
}

// awaitQuiet calls changed until it says false without an error (the
// probe listens again and has reported what it had), waiting on wake
// between calls.
func awaitQuiet(t *testing.T, changed func(context.Context) (bool, error), wake <-chan struct{}) {
	t.Helper()
	deadline := time.After(probeDeadline)
	for {
		ch, err := changed(t.Context())
		if !ch && err == nil {
			return
		}
		if !ch {
			t.Fatalf("changed = false, %v: an error must come with true", err)
		}
		select {
		case <-wake:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("changed never settled on false (last: %v, %v)", ch, err)
		}
	}
}

// killListeners ends the server sessions of application name app that
// listen for revocations, as a restart, a failover or an administrator
// would, and returns how many it ended.
func killListeners(t *testing.T, app string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := queryInt(ctx, pgtest.DSN(t), `SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity
		WHERE application_name = $1 AND query = 'LISTEN authd_revocations'`, app)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// listeners counts the sessions of application name app listening for
// revocations.
func listeners(t *testing.T, app string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := queryInt(ctx, pgtest.DSN(t), `SELECT count(*)::int FROM pg_stat_activity
		WHERE application_name = $1 AND query = 'LISTEN authd_revocations'`, app)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestChangeProbe follows one probe through a sequence of steps: each
// does something (or nothing) and says what changed must then report.
func TestChangeProbe(t *testing.T) {
	dsn := pgtest.Schema(t)
	app := "authd_probe_" + rand.Text()[:8]
	db := openDB(t, pgtest.WithParams(t, dsn, map[string]string{"application_name": app}))
	other := openDB(t, dsn)
	elsewhere := openFresh(t) // another schema of the same database
	ctx := t.Context()
	changed, wake, closeProbe, err := db.ChangeProbe(ctx)
	if err != nil {
		t.Fatalf("ChangeProbe: %v", err)
	}
	defer func() {
		if err := closeProbe(); err != nil {
			t.Errorf("closeProbe: %v", err)
		}
		if _, open := <-wake; open {
			// A pending send may come first; then it must close.
			if _, open := <-wake; open {
				t.Error("wake still open after closeProbe")
			}
		}
		if listeners(t, app) != 0 {
			t.Error("the listener's connection outlived closeProbe")
		}
	}()

	const (
		quiet   = iota // changed says false at once, without an error
		changes        // wake receives and changed says true (an error allowed only after a kill)
	)
	for _, step := range []struct {
		name string
		do   func(t *testing.T)
		want int
	}{
		{"first call", nil, changes},
		{"nothing since", nil, quiet},
		{"revoke on this DB", func(t *testing.T) {
			if err := db.Revoke(ctx, revocation(authd.RevokeSID)); err != nil {
				t.Fatal(err)
			}
		}, changes},
		{"nothing since the revocation", nil, quiet},
		{"revoke on another DB", func(t *testing.T) {
			if err := other.Revoke(ctx, revocation(authd.RevokeJTI)); err != nil {
				t.Fatal(err)
			}
		}, changes},
		{"later expiry of a listed id", func(t *testing.T) {
			r := revocation(authd.RevokeSID)
			if err := other.Revoke(ctx, r); err != nil {
				t.Fatal(err)
			}
			awaitChanged(t, changed, wake)
			r.ExpiresAt = r.ExpiresAt.Add(time.Hour)
			if err := other.Revoke(ctx, r); err != nil {
				t.Fatal(err)
			}
		}, changes},
		{"revoke in another schema", func(t *testing.T) {
			if err := elsewhere.Revoke(ctx, revocation(authd.RevokeSID)); err != nil {
				t.Fatal(err)
			}
			// Its notification (which must be ignored) has time to come.
			time.Sleep(300 * time.Millisecond)
		}, quiet},
		{"listener killed", func(t *testing.T) {
			if n := killListeners(t, app); n != 1 {
				t.Fatalf("killed %d listeners, want 1", n)
			}
		}, changes},
		{"listening again", func(t *testing.T) {
			awaitQuiet(t, changed, wake)
			deadline := time.Now().Add(probeDeadline)
			for listeners(t, app) != 1 {
				if time.Now().After(deadline) {
					t.Fatal("the probe never listened again")
				}
				time.Sleep(50 * time.Millisecond)
			}
		}, quiet},
		{"revoke after the reconnect", func(t *testing.T) {
			if err := other.Revoke(ctx, revocation(authd.RevokeSID)); err != nil {
				t.Fatal(err)
			}
		}, changes},
	} {
		if !t.Run(step.name, func(t *testing.T) {
			drain(wake)
			if step.do != nil {
				step.do(t)
			}
			switch step.want {
			case quiet:
				if ch, err := changed(ctx); ch || err != nil {
					t.Fatalf("changed = %v, %v; want false, nil", ch, err)
				}
			case changes:
				err := awaitChanged(t, changed, wake)
				if err != nil && !errors.Is(err, authd.ErrUnavailable) {
					t.Fatalf("changed: %v; want nil or ErrUnavailable", err)
				}
				if err != nil && step.name != "listener killed" {
					t.Fatalf("changed: %v", err)
				}
				if step.name != "listener killed" {
					if ch, err := changed(ctx); ch || err != nil {
						t.Fatalf("changed again = %v, %v; want false, nil", ch, err)
					}
				}
			}
		}) {
			return
		}
	}
}

// TestChangeProbeHeartbeat: a listener that pings its connection through
// long silences keeps the same connection, keeps listening and still
// reports revocations.
func TestChangeProbeHeartbeat(t *testing.T) {
	dsn := pgtest.Schema(t)
	app := "authd_probe_" + rand.Text()[:8]
	db := openDB(t, pgtest.WithParams(t, dsn, map[string]string{"application_name": app}))
	defer postgres.SetProbeHeartbeat(20 * time.Millisecond)()
	changed, wake, closeProbe, err := db.ChangeProbe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer closeProbe()
	awaitChanged(t, changed, wake)
	pid := func() int {
		t.Helper()
		n, err := queryInt(t.Context(), pgtest.DSN(t), `SELECT coalesce(min(pid), 0) FROM pg_stat_activity
			WHERE application_name = $1 AND backend_type = 'client backend' AND query IN ('LISTEN authd_revocations', '-- ping')
			HAVING count(*) = 1`, app)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	first := pid()
	if first == 0 {
		t.Fatal("no listener")
	}
	// Many heartbeats pass.
	time.Sleep(500 * time.Millisecond)
	if ch, err := changed(t.Context()); ch || err != nil {
		t.Fatalf("changed after heartbeats = %v, %v; want false, nil", ch, err)
	}
	if got := pid(); got != first {
		t.Fatalf("listener pid %d, want %d: the heartbeat replaced a live connection", got, first)
	}
	drain(wake)
	if err := db.Revoke(t.Context(), revocation(authd.RevokeJTI)); err != nil {
		t.Fatal(err)
	}
	if err := awaitChanged(t, changed, wake); err != nil {
		t.Fatalf("changed: %v", err)
	}
}

// TestChangeProbeFailures: a probe asked of a closed DB fails; a probe
// whose DB closes under it stops, closes wake, and says true with an
// error from then on.
func TestChangeProbeFailures(t *testing.T) {
	dsn := pgtest.Schema(t)
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, db *postgres.DB)
	}{
		{"closed before", func(t *testing.T, db *postgres.DB) {
			db.Close()
			if _, _, _, err := db.ChangeProbe(t.Context()); !errors.Is(err, authd.ErrUnavailable) {
				t.Fatalf("ChangeProbe after Close: %v, want ErrUnavailable", err)
			}
		}},
		{"closed under it", func(t *testing.T, _ *postgres.DB) {
			app := "authd_probe_" + rand.Text()[:8]
			db := openDB(t, pgtest.WithParams(t, dsn, map[string]string{"application_name": app}))
			changed, wake, closeProbe, err := db.ChangeProbe(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer closeProbe()
			db.Close()
			killListeners(t, app)
			deadline := time.After(probeDeadline)
			for open := true; open; {
				select {
				case _, open = <-wake:
				case <-deadline:
					t.Fatal("wake never closed after the DB closed and its listener was lost")
				}
			}
			if ch, err := changed(t.Context()); !ch || !errors.Is(err, authd.ErrUnavailable) {
				t.Fatalf("changed = %v, %v; want true, ErrUnavailable", ch, err)
			}
		}},
		{"cancelled context", func(t *testing.T, db *postgres.DB) {
			changed, _, closeProbe, err := db.ChangeProbe(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer closeProbe()
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if ch, err := changed(ctx); !ch || !errors.Is(err, context.Canceled) {
				t.Fatalf("changed = %v, %v; want true, context.Canceled", ch, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, openDB(t, dsn)) })
	}
}

// countingList counts RevokedSince calls of the DB it wraps, keeping its
// change probe.
type countingList struct {
	*postgres.DB
	reads atomic.Int64
}

func (l *countingList) RevokedSince(ctx context.Context, cursor string, now time.Time) ([]authd.Revocation, string, error) {
	l.reads.Add(1)
	return l.DB.RevokedSince(ctx, cursor, now)
}

// TestRevocationsRunAcrossDBs: a revocation written through one DB is seen
// by token.Revocations.Run following another, also after that one's
// listener was killed; and an idle Run over the probe does not read the
// list every PollInterval.
func TestRevocationsRunAcrossDBs(t *testing.T) {
	dsn := pgtest.Schema(t)
	app := "authd_probe_" + rand.Text()[:8]
	writer := token.NewRevocations(openDB(t, dsn), token.RevocationsConfig{})
	list := &countingList{DB: openDB(t, pgtest.WithParams(t, dsn, map[string]string{"application_name": app}))}
	reader := token.NewRevocations(list, token.RevocationsConfig{PollInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); reader.Run(ctx) }()
	defer func() { cancel(); <-done }()
	await := func(t *testing.T, what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(probeDeadline)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s", what, probeDeadline)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	await(t, "the reader's first sync", func() bool { return reader.Fresh() == nil })
	await(t, "the reader's listener", func() bool { return listeners(t, app) == 1 })

	for _, tc := range []struct {
		name   string
		before func(t *testing.T)
		kind   string
	}{
		{"sid", nil, authd.RevokeSID},
		{"jti", nil, authd.RevokeJTI},
		{"sid after the listener was killed", func(t *testing.T) {
			if n := killListeners(t, app); n != 1 {
				t.Fatalf("killed %d listeners, want 1", n)
			}
		}, authd.RevokeSID},
		{"jti once it listens again", func(t *testing.T) {
			await(t, "the listener again", func() bool { return listeners(t, app) == 1 })
		}, authd.RevokeJTI},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before(t)
			}
			r := revocation(tc.kind)
			if err := writer.Revoke(ctx, r); err != nil {
				t.Fatal(err)
			}
			c := &authd.Claims{}
			if tc.kind == authd.RevokeSID {
				c.SessionID = r.ID
			} else {
				c.ID = r.ID
			}
			await(t, "the revocation on the other DB", func() bool { return reader.IsRevoked(c) })
			if err := reader.Fresh(); err != nil {
				t.Fatalf("Fresh: %v", err)
			}
		})
	}

	t.Run("idle", func(t *testing.T) {
		// Without the probe Run would read the list 75 times in 1.5 s;
		// with it, once a second (fullSyncEvery) plus whatever the
		// previous steps still cause.
		before := list.reads.Load()
		time.Sleep(1500 * time.Millisecond)
		if n := list.reads.Load() - before; n > 10 {
			t.Fatalf("an idle Run read the list %d times in 1.5 s", n)
		}
		if err := reader.Fresh(); err != nil {
			t.Fatalf("Fresh while idle: %v", err)
		}
	})
}

// TestRevocationsRecoverFromRestart stops a test-owned PostgreSQL under a
// following Revocations: it goes stale (fail closed), and once the server
// is back it is fresh again, listening again, and sees new revocations,
// without being restarted.
func TestRevocationsRecoverFromRestart(t *testing.T) {
	pgtest.DSN(t)
	srv := pgtest.StartServer(t)
	dsn := pgtest.WithParams(t, srv.URL(), map[string]string{"application_name": "authd_probe_restart"})
	writerDB := openDB(t, dsn)
	readerDB := openDB(t, dsn)
	reader := token.NewRevocations(readerDB, token.RevocationsConfig{PollInterval: 20 * time.Millisecond, MaxStaleness: time.Second})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); reader.Run(ctx) }()
	defer func() { cancel(); <-done }()
	await := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(probeDeadline)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s", what, probeDeadline)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	await("first sync", func() bool { return reader.Fresh() == nil })
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	await("stale while the server is down", func() bool { return errors.Is(reader.Fresh(), authd.ErrUnavailable) })
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	await("fresh once the server is back", func() bool { return reader.Fresh() == nil })
	await("listening again", func() bool {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		n, err := queryInt(c, srv.URL(), `SELECT count(*)::int FROM pg_stat_activity WHERE query = 'LISTEN authd_revocations'`)
		return err == nil && n == 1
	})
	r := revocation(authd.RevokeSID)
	// The writer's pool may meet its dead connections first.
	await("a revocation written after the restart", func() bool { return writerDB.Revoke(ctx, r) == nil })
	await("the revocation seen", func() bool { return reader.IsRevoked(&authd.Claims{SessionID: r.ID}) })
}
