package redis_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/testenv"
	"github.com/authd/authd/redis"
	"github.com/authd/authd/redis/redisproc"
	"github.com/authd/authd/redis/redistest"
	"github.com/authd/authd/storetest"
)

// One 3-master cluster serves every cluster test and benchmark of this
// binary: it is started on first use and killed after the last test.
var shared struct {
	once sync.Once
	dir  string
	c    *redistest.Cluster
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.c != nil {
		shared.c.Close()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// clusterURL returns the URL of the shared cluster, starting it on first
// use; it skips tb (fails under CI=true) when it cannot be started.
func clusterURL(tb testing.TB) string {
	tb.Helper()
	shared.once.Do(func() {
		if _, shared.err = redisproc.ServerBinary(); shared.err != nil {
			return
		}
		if shared.dir, shared.err = os.MkdirTemp("", "authd-redis-cluster-"); shared.err != nil {
			return
		}
		shared.c, shared.err = redisproc.NewCluster(shared.dir, 3)
	})
	if shared.err != nil {
		testenv.SkipOrFail(tb, "cannot start a Redis Cluster: %v", shared.err)
	}
	return shared.c.URL()
}

// open opens a Store on url and closes it when tb ends.
func open(tb testing.TB, url string, opts ...redis.Option) *redis.Store {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := redis.Open(ctx, url, opts...)
	if err != nil {
		tb.Fatalf("Open(%s): %v", url, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// openStandalone opens a Store with a fresh prefix on the shared server of
// AUTHD_TEST_REDIS; the prefix's keys are deleted when tb ends.
func openStandalone(tb testing.TB, opts ...redis.Option) *redis.Store {
	tb.Helper()
	url, prefix := redistest.URL(tb)
	return open(tb, url, append([]redis.Option{redis.WithPrefix(prefix)}, opts...)...)
}

// openCluster opens a Store with a fresh prefix on the shared cluster.
func openCluster(tb testing.TB, opts ...redis.Option) *redis.Store {
	tb.Helper()
	url := clusterURL(tb)
	return open(tb, url, append([]redis.Option{redis.WithPrefix(redistest.Prefix())}, opts...)...)
}

func runSuite(t *testing.T, newStore func(testing.TB, ...redis.Option) *redis.Store) {
	t.Run("SessionStore", func(t *testing.T) {
		storetest.RunSessionStore(t, func(t *testing.T) authd.SessionStore { return newStore(t) })
	})
	t.Run("RevocationList", func(t *testing.T) {
		storetest.RunRevocationList(t, func(t *testing.T) authd.RevocationList { return newStore(t) })
	})
	t.Run("Limiter", func(t *testing.T) {
		storetest.RunLimiter(t, func(t *testing.T) authd.Limiter { return newStore(t) })
	})
	t.Run("ReplaySet", func(t *testing.T) {
		storetest.RunReplaySet(t, func(t *testing.T) authd.ReplaySet { return newStore(t) }, storetest.ReplaysExpireByThemselves)
	})
}

func TestStandalone(t *testing.T) { runSuite(t, openStandalone) }

// withClientCache adds the client-side cache that serve turns on by
// default (--session-cache), so the conformance suite pins down the store
// as it runs in production too.
func withClientCache(open func(testing.TB, ...redis.Option) *redis.Store) func(testing.TB, ...redis.Option) *redis.Store {
	return func(tb testing.TB, opts ...redis.Option) *redis.Store {
		return open(tb, append([]redis.Option{redis.WithClientCache(time.Minute)}, opts...)...)
	}
}

func TestStandaloneClientCache(t *testing.T) { runSuite(t, withClientCache(openStandalone)) }

func TestClusterClientCache(t *testing.T) { runSuite(t, withClientCache(openCluster)) }

func TestCluster(t *testing.T) { runSuite(t, openCluster) }

func TestOpenRefusesBadURLs(t *testing.T) {
	for _, u := range []string{
		"",
		"127.0.0.1:6379",
		"http://127.0.0.1:6379",
		"redis://127.0.0.1:6379/x",
		"redis-cluster://",
		"redis-cluster://127.0.0.1:7000/3",
	} {
		s, err := redis.Open(t.Context(), u)
		if err == nil {
			s.Close()
			t.Fatalf("Open(%q) succeeded", u)
		}
		if errors.Is(err, authd.ErrUnavailable) {
			t.Errorf("Open(%q): %v; a malformed URL is not an unavailable store", u, err)
		}
	}
	_, err := redis.Open(t.Context(), "redis://127.0.0.1:1/0", redis.WithPrefix("a{b}:"))
	if err == nil {
		t.Fatal("Open with a prefix holding a hash tag succeeded")
	}
}

func TestOpenPasswordNotInErrors(t *testing.T) {
	port := closedPort(t)
	_, err := redis.Open(t.Context(), "redis://user:s3cret@127.0.0.1:"+port+"/0")
	if err == nil {
		t.Fatal("Open on a closed port succeeded")
	}
	if msg := err.Error(); strings.Contains(msg, "s3cret") {
		t.Fatalf("error shows the password: %s", msg)
	}
}

// closedPort returns a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return port
}

func TestOpenClosedPortIsUnavailableFast(t *testing.T) {
	port := closedPort(t)
	for _, u := range []string{"redis://127.0.0.1:" + port + "/0", "redis-cluster://127.0.0.1:" + port} {
		start := time.Now()
		s, err := redis.Open(t.Context(), u)
		took := time.Since(start)
		if err == nil {
			s.Close()
			t.Fatalf("Open(%s) succeeded", u)
		}
		if !errors.Is(err, authd.ErrUnavailable) {
			t.Fatalf("Open(%s): %v, want ErrUnavailable", u, err)
		}
		if took > 2*time.Second {
			t.Errorf("Open(%s) took %s to fail", u, took)
		}
	}
}

// realisticSession is a session as session.Manager creates it for a
// desktop browser.
func realisticSession(userID string) *authd.Session {
	now := storetest.Now()
	return &authd.Session{
		ID:                authd.NewID(),
		Hash:              storetest.NewHash(),
		UserID:            userID,
		Email:             "jane.doe@example.com",
		Roles:             []string{"user"},
		CreatedAt:         now,
		LastSeenAt:        now,
		ExpiresAt:         now.Add(24 * time.Hour),
		AbsoluteExpiresAt: now.Add(720 * time.Hour),
		IP:                "203.0.113.42",
		UserAgent:         "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
	}
}

// ops are every call of the Store, for the fail-closed tests.
func ops(s *redis.Store, x *authd.Session) map[string]func(ctx context.Context) error {
	now := storetest.Now()
	return map[string]func(ctx context.Context) error{
		"Ping": s.Ping,
		"CreateSession": func(ctx context.Context) error {
			return s.CreateSession(ctx, realisticSession(x.UserID))
		},
		"SessionByHash": func(ctx context.Context) error { _, err := s.SessionByHash(ctx, x.Hash); return err },
		"TouchSession": func(ctx context.Context) error {
			return s.TouchSession(ctx, x.ID, now, now.Add(time.Hour))
		},
		"ListSessions":       func(ctx context.Context) error { _, err := s.ListSessions(ctx, x.UserID, now); return err },
		"DeleteSession":      func(ctx context.Context) error { return s.DeleteSession(ctx, x.UserID, x.ID) },
		"DeleteUserSessions": func(ctx context.Context) error { _, err := s.DeleteUserSessions(ctx, x.UserID, ""); return err },
		"Revoke": func(ctx context.Context) error {
			return s.Revoke(ctx, authd.Revocation{Kind: authd.RevokeJTI, ID: "j", ExpiresAt: now.Add(time.Hour)})
		},
		"RevokedSince":     func(ctx context.Context) error { _, _, err := s.RevokedSince(ctx, "", now); return err },
		"PruneRevocations": func(ctx context.Context) error { return s.PruneRevocations(ctx, now) },
		"AddFailure":       func(ctx context.Context) error { _, _, err := s.AddFailure(ctx, "k", time.Minute, now); return err },
		"Failures":         func(ctx context.Context) error { _, _, err := s.Failures(ctx, "k", now); return err },
		"ResetFailures":    func(ctx context.Context) error { return s.ResetFailures(ctx, "k") },
		"Remember": func(ctx context.Context) error {
			_, err := s.Remember(ctx, authd.NewID(), now.Add(time.Minute), now)
			return err
		},
	}
}

// TestFailClosed kills a server under a Store: every call fails with
// ErrUnavailable by its deadline (without a deadline, within the Store's
// timeout); after a restart the same Store recovers by itself.
func TestFailClosed(t *testing.T) {
	srv := redistest.StartServer(t, "--appendonly", "yes", "--appendfsync", "always")
	s := open(t, srv.URL(), redis.WithTimeout(time.Second))
	x := realisticSession(authd.NewID())
	if err := s.CreateSession(t.Context(), x); err != nil {
		t.Fatal(err)
	}
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}

	const deadline = 500 * time.Millisecond
	for name, op := range ops(s, x) {
		ctx, cancel := context.WithTimeout(t.Context(), deadline)
		start := time.Now()
		err := op(ctx)
		took := time.Since(start)
		cancel()
		if !errors.Is(err, authd.ErrUnavailable) {
			t.Errorf("%s with the server down: %v, want ErrUnavailable", name, err)
		}
		if took > deadline+250*time.Millisecond {
			t.Errorf("%s with the server down took %s, past its %s deadline", name, took, deadline)
		}
	}
	// No deadline at all: the Store's own bounds (dial timeout, bounded
	// retries) end the call.
	start := time.Now()
	if _, err := s.SessionByHash(context.Background(), x.Hash); !errors.Is(err, authd.ErrUnavailable) {
		t.Errorf("SessionByHash without a deadline, server down: %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("SessionByHash without a deadline, server down, took %s", took)
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	// The same Store reconnects by itself: poll, with a deadline.
	recovered := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		_, err := s.SessionByHash(ctx, x.Hash)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(recovered) {
			t.Fatalf("the Store did not recover within 10s of the restart: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("recovered %s after the restart", time.Since(start))
	// The session survived in the AOF; a write works again too.
	got, err := s.SessionByHash(t.Context(), x.Hash)
	if err != nil || got.ID != x.ID {
		t.Fatalf("SessionByHash after restart: %v, %v", got, err)
	}
	if err := s.DeleteSession(t.Context(), x.UserID, x.ID); err != nil {
		t.Fatalf("DeleteSession after restart: %v", err)
	}
}

// TestHungServer stops (SIGSTOP) a server under a Store: calls fail with
// ErrUnavailable by their deadline instead of hanging.
func TestHungServer(t *testing.T) {
	srv := redistest.StartServer(t)
	s := open(t, srv.URL(), redis.WithTimeout(time.Second))
	x := realisticSession(authd.NewID())
	if err := s.CreateSession(t.Context(), x); err != nil {
		t.Fatal(err)
	}
	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Resume() })
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.SessionByHash(ctx, x.Hash)
	if !errors.Is(err, authd.ErrUnavailable) {
		t.Errorf("SessionByHash on a hung server: %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 800*time.Millisecond {
		t.Errorf("SessionByHash on a hung server took %s past a 300ms deadline", took)
	}
	// Without a deadline the Store's timeout (1s here) ends the wait.
	start = time.Now()
	_, err = s.SessionByHash(context.Background(), x.Hash)
	if !errors.Is(err, authd.ErrUnavailable) {
		t.Errorf("SessionByHash on a hung server without a deadline: %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("SessionByHash on a hung server without a deadline took %s", took)
	}
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	poll(t, 10*time.Second, "recovery after SIGCONT", func() error {
		_, err := s.SessionByHash(t.Context(), x.Hash)
		return err
	})
}

// poll calls f until it returns nil, failing t after d.
func poll(t *testing.T, d time.Duration, what string, f func() error) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		err := f()
		if err == nil {
			return time.Since(start)
		}
		if time.Since(start) > d {
			t.Fatalf("%s: not within %s: %v", what, d, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestClientCache checks WithClientCache: repeated lookups are served from
// this process (the server sees one GET), and a delete or touch by another
// Store reaches the cached lookup through Redis's invalidation message.
func TestClientCache(t *testing.T) {
	for _, mode := range []string{"standalone", "cluster"} {
		t.Run(mode, func(t *testing.T) {
			var url, addr string
			if mode == "standalone" {
				srv := redistest.StartServer(t)
				url, addr = srv.URL(), srv.Addr
			} else {
				url = clusterURL(t)
			}
			prefix := redistest.Prefix()
			cached := open(t, url, redis.WithPrefix(prefix), redis.WithClientCache(time.Minute))
			other := open(t, url, redis.WithPrefix(prefix))
			x := realisticSession(authd.NewID())
			if err := other.CreateSession(t.Context(), x); err != nil {
				t.Fatal(err)
			}
			gets := func() int {
				if addr == "" {
					return -1
				}
				info, err := redisproc.Command(t.Context(), addr, "INFO", "commandstats")
				if err != nil {
					t.Fatal(err)
				}
				var n int
				if i := strings.Index(info, "cmdstat_get:calls="); i >= 0 {
					fmt.Sscanf(info[i+len("cmdstat_get:calls="):], "%d", &n)
				}
				return n
			}
			before := gets()
			for range 5 {
				if _, err := cached.SessionByHash(t.Context(), x.Hash); err != nil {
					t.Fatal(err)
				}
			}
			if addr != "" {
				if n := gets() - before; n != 1 {
					t.Errorf("5 cached lookups made %d GETs on the server, want 1", n)
				}
			}

			// A touch by another client: the cached copy is invalidated.
			seen := x.LastSeenAt.Add(time.Minute)
			if err := other.TouchSession(t.Context(), x.ID, seen, x.ExpiresAt.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			took := poll(t, 100*time.Millisecond, "the cached lookup to see a touch by another client", func() error {
				got, err := cached.SessionByHash(t.Context(), x.Hash)
				if err != nil {
					return err
				}
				if !got.LastSeenAt.Equal(seen) {
					return fmt.Errorf("LastSeenAt %s, want %s", got.LastSeenAt, seen)
				}
				return nil
			})
			t.Logf("touch seen by the cached client after %s", took)

			// A delete by another client: the cached lookup says not found.
			if err := other.DeleteSession(t.Context(), x.UserID, x.ID); err != nil {
				t.Fatal(err)
			}
			took = poll(t, 100*time.Millisecond, "the cached lookup to see a delete by another client", func() error {
				_, err := cached.SessionByHash(t.Context(), x.Hash)
				if errors.Is(err, authd.ErrNotFound) {
					return nil
				}
				return fmt.Errorf("still found (err %v)", err)
			})
			t.Logf("delete seen by the cached client after %s", took)

			// Read your own deletes: a session this client deletes is
			// refused at once, before any invalidation message arrives.
			for _, deleteAll := range []bool{false, true} {
				y := realisticSession(authd.NewID())
				if err := cached.CreateSession(t.Context(), y); err != nil {
					t.Fatal(err)
				}
				for range 2 {
					if _, err := cached.SessionByHash(t.Context(), y.Hash); err != nil {
						t.Fatal(err)
					}
				}
				if deleteAll {
					if _, err := cached.DeleteUserSessions(t.Context(), y.UserID, ""); err != nil {
						t.Fatal(err)
					}
				} else if err := cached.DeleteSession(t.Context(), y.UserID, y.ID); err != nil {
					t.Fatal(err)
				}
				if _, err := cached.SessionByHash(t.Context(), y.Hash); !errors.Is(err, authd.ErrNotFound) {
					t.Fatalf("deleteAll=%v: own delete not seen at once: %v", deleteAll, err)
				}
			}
		})
	}
}

// TestTouchBeyondAbsoluteExpiry covers the rare path of TouchSession: an
// ExpiresAt later than AbsoluteExpiresAt keeps the session listed.
func TestTouchBeyondAbsoluteExpiry(t *testing.T) {
	for _, mode := range []string{"standalone", "cluster"} {
		t.Run(mode, func(t *testing.T) {
			var s *redis.Store
			if mode == "standalone" {
				s = openStandalone(t)
			} else {
				s = openCluster(t)
			}
			x := realisticSession(authd.NewID())
			if err := s.CreateSession(t.Context(), x); err != nil {
				t.Fatal(err)
			}
			later := x.AbsoluteExpiresAt.Add(48 * time.Hour)
			if err := s.TouchSession(t.Context(), x.ID, x.LastSeenAt, later); err != nil {
				t.Fatal(err)
			}
			list, err := s.ListSessions(t.Context(), x.UserID, x.AbsoluteExpiresAt.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || !list[0].ExpiresAt.Equal(later) {
				t.Fatalf("ListSessions after touching beyond the absolute expiry: %v", list)
			}
		})
	}
}

// TestIndexGC: sessions that died of idleness (their keys expired, their
// index entries not yet due) are dropped from the user's index by a later
// CreateSession once the index grows.
func TestIndexGC(t *testing.T) {
	s := openStandalone(t)
	user := authd.NewID()
	var dead []*authd.Session
	for range 20 {
		// NOTE: the sessions live long enough that none dies while the
		// others are created (a 50 ms lifetime raced the loop and the GC it
		// triggers); then Redis is told to expire them.
		x := realisticSession(user)
		if err := s.CreateSession(t.Context(), x); err != nil {
			t.Fatal(err)
		}
		dead = append(dead, x)
	}
	if n := redis.IndexLen(t, s, user); n != 20 {
		t.Fatalf("index holds %d entries while all 20 sessions live, want 20", n)
	}
	for _, x := range dead {
		redis.ExpireNow(t, s, x)
	}
	for _, x := range dead {
		poll(t, 5*time.Second, "the session's keys to expire", func() error {
			if _, err := s.SessionByHash(t.Context(), x.Hash); !errors.Is(err, authd.ErrNotFound) {
				return fmt.Errorf("still there (err %v)", err)
			}
			return nil
		})
	}
	if n := redis.IndexLen(t, s, user); n != 20 {
		t.Fatalf("index holds %d entries before the GC, want 20", n)
	}
	live := realisticSession(user)
	if err := s.CreateSession(t.Context(), live); err != nil {
		t.Fatal(err)
	}
	if n := redis.IndexLen(t, s, user); n != 1 {
		t.Fatalf("index holds %d entries after the GC, want 1", n)
	}
	list, err := s.ListSessions(t.Context(), user, storetest.Now())
	if err != nil || len(list) != 1 || list[0].ID != live.ID {
		t.Fatalf("ListSessions: %v, %v", list, err)
	}
}

// TestClosedStore: every call after Close fails with ErrUnavailable.
func TestClosedStore(t *testing.T) {
	url, prefix := redistest.URL(t)
	s, err := redis.Open(t.Context(), url, redis.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	x := realisticSession(authd.NewID())
	if err := s.CreateSession(t.Context(), x); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for name, op := range ops(s, x) {
		if err := op(t.Context()); !errors.Is(err, authd.ErrUnavailable) {
			t.Errorf("%s after Close: %v, want ErrUnavailable", name, err)
		}
	}
}

// TestClusterNodeDown kills one master of a cluster of its own: lookups of
// sessions on that node fail with ErrUnavailable by their deadline (never
// ErrNotFound), the others keep working, Ping reports the store
// unavailable; after the node restarts the Store recovers by itself.
func TestClusterNodeDown(t *testing.T) {
	c, err := redisproc.NewCluster(t.TempDir(), 3)
	if err != nil {
		testenv.SkipOrFail(t, "cannot start a Redis Cluster: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	s := open(t, c.URL())
	var xs []*authd.Session
	for range 30 {
		x := realisticSession(authd.NewID())
		if err := s.CreateSession(t.Context(), x); err != nil {
			t.Fatal(err)
		}
		xs = append(xs, x)
	}
	if err := c.Nodes[0].Kill(); err != nil {
		t.Fatal(err)
	}
	const deadline = 500 * time.Millisecond
	var down, up int
	for _, x := range xs {
		ctx, cancel := context.WithTimeout(t.Context(), deadline)
		start := time.Now()
		_, err := s.SessionByHash(ctx, x.Hash)
		took := time.Since(start)
		cancel()
		switch {
		case err == nil:
			up++
		case errors.Is(err, authd.ErrUnavailable):
			down++
		default:
			t.Errorf("SessionByHash with a master down: %v, want the session or ErrUnavailable", err)
		}
		if took > deadline+250*time.Millisecond {
			t.Errorf("SessionByHash with a master down took %s", took)
		}
	}
	if down == 0 || up == 0 {
		t.Errorf("with one of three masters down: %d lookups unavailable, %d served; want some of each", down, up)
	}
	// Without a deadline the Store's own bounds end every call.
	for _, x := range xs {
		start := time.Now()
		_, err := s.SessionByHash(context.Background(), x.Hash)
		if err != nil && !errors.Is(err, authd.ErrUnavailable) {
			t.Errorf("SessionByHash without a deadline, a master down: %v", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("SessionByHash without a deadline, a master down, took %s", took)
		}
	}
	if err := s.Ping(t.Context()); !errors.Is(err, authd.ErrUnavailable) {
		t.Errorf("Ping with a master down: %v, want ErrUnavailable", err)
	}
	if err := c.Nodes[0].Restart(); err != nil {
		t.Fatal(err)
	}
	took := poll(t, 20*time.Second, "the Store to recover after the master restarts", func() error {
		return s.Ping(t.Context())
	})
	t.Logf("%d lookups unavailable, %d served with a master down; recovered %s after its restart", down, up, took)
}

// TestReplayRecords checks what the conformance suite cannot see: a
// record's key expires by Redis's clock replaySlack after expiresAt, a
// record born expired leaves no key, and a client's {tag} in a jti does not
// choose the slot.
func TestReplayRecords(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s := m.open(t)
			c := s.Client()
			ctx := t.Context()
			now := time.Now()
			exp := now.Add(5 * time.Minute)
			jti := authd.NewID()
			if ok, err := s.Remember(ctx, jti, exp, now); err != nil || !ok {
				t.Fatalf("Remember: %v, %v", ok, err)
			}
			pttl, err := c.Do(ctx, c.B().Pttl().Key(s.ReplayKey(jti)).Build()).AsInt64()
			if err != nil {
				t.Fatal(err)
			}
			want := time.Until(exp.Add(redis.ReplaySlack))
			if got := time.Duration(pttl) * time.Millisecond; got > want+time.Second || got < want-5*time.Second {
				t.Errorf("PTTL of a record expiring in 5m: %s, want about %s", got, want)
			}

			old := authd.NewID()
			if ok, err := s.Remember(ctx, old, now.Add(-time.Hour), now); err != nil || !ok {
				t.Fatalf("Remember of a record born expired: %v, %v", ok, err)
			}
			if n, err := c.Do(ctx, c.B().Exists().Key(s.ReplayKey(old)).Build()).AsInt64(); err != nil || n != 0 {
				t.Errorf("a record born expired left its key: EXISTS %d, %v", n, err)
			}

			// Two jtis with one {tag}: the slot follows the whole key.
			a, b := s.ReplayKey("{x}jti-1"), s.ReplayKey("{x}jti-2")
			sa, err1 := c.Do(ctx, c.B().ClusterKeyslot().Key(a).Build()).AsInt64()
			sb, err2 := c.Do(ctx, c.B().ClusterKeyslot().Key(b).Build()).AsInt64()
			if err1 == nil && err2 == nil && sa == sb {
				t.Errorf("two jtis with the tag {x} share slot %d", sa)
			}
			if !strings.Contains(a, "{}") {
				t.Errorf("replay key %q has no empty hash tag", a)
			}
		})
	}
}
