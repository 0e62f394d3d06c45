package account_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/account"
	"github.com/authd/authd/password"
	"github.com/authd/authd/postgres"
	"github.com/authd/authd/postgres/pgtest"
	"github.com/authd/authd/redis"
	"github.com/authd/authd/redis/redistest"
	"github.com/authd/authd/session"
	"github.com/authd/authd/sqlite"
)

// TestParallelGuessesCheckAtMostTheLimit: 40 parallel wrong guesses for
// one account against a limit of 3: at most 3 passwords are checked, the
// rest are throttled (SECURITY P5), whichever store holds the counters.
//
// The right password is not among them: a success resets the account's
// count (the contract), so guesses that arrive after it start a new window
// and the number checked would depend on scheduling. That the right
// password is refused once the limit is used up is TestThrottle's (httpapi)
// and TestSuccessTakesBackItsAttempt's.
func TestParallelGuessesCheckAtMostTheLimit(t *testing.T) {
	limiters := []struct {
		name string
		open func(t *testing.T) authd.Limiter
	}{
		{"sqlite", nil}, // the service's own database
		{"postgres", func(t *testing.T) authd.Limiter {
			db, err := postgres.Open(t.Context(), pgtest.Schema(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}},
		{"redis", func(t *testing.T) authd.Limiter {
			u, prefix := redistest.URL(t)
			s, err := redis.Open(t.Context(), u, redis.WithPrefix(prefix))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
	}
	for _, l := range limiters {
		t.Run(l.name, func(t *testing.T) {
			ctx := context.Background()
			db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			var limiter authd.Limiter = db
			if l.open != nil {
				limiter = l.open(t)
			}
			sessions := session.NewManager(db, db, session.Config{Idle: time.Hour, Max: time.Hour, AccessTTL: time.Minute})
			h := password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4)
			const limit, n = 3, 40
			svc := account.NewService(db, limiter, db, h, sessions, nil,
				account.Config{MaxFailures: limit, MaxFailuresIP: 1000, Window: time.Minute})
			if _, err := svc.Register(ctx, "ann@example.com", pw); err != nil {
				t.Fatal(err)
			}
			var (
				wg                        sync.WaitGroup
				mu                        sync.Mutex
				checked, throttled, other int
			)
			start := make(chan struct{})
			for i := range n {
				guess := fmt.Sprintf("wrong guess number %02d", i)
				wg.Go(func() {
					<-start
					_, err := svc.Authenticate(ctx, "ann@example.com", guess, account.Meta{IP: fmt.Sprintf("192.0.2.%d", i)})
					var th *authd.ThrottledError
					mu.Lock()
					defer mu.Unlock()
					switch {
					case errors.Is(err, authd.ErrInvalidCredentials):
						checked++
					case errors.As(err, &th):
						throttled++
					default:
						other++
						t.Errorf("Authenticate: %v", err)
					}
				})
			}
			close(start)
			wg.Wait()
			if checked > limit || checked+throttled != n {
				t.Fatalf("%d parallel logins against a limit of %d: %d passwords checked, %d throttled, %d errors; want at most %d checked",
					n, limit, checked, throttled, other, limit)
			}
			t.Logf("%d checked, %d throttled", checked, throttled)
		})
	}
}

// TestSuccessTakesBackItsAttempt: a right password resets the account's
// count and does not count against the client's ip, whose failures stay.
func TestSuccessTakesBackItsAttempt(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sessions := session.NewManager(db, db, session.Config{Idle: time.Hour, Max: time.Hour, AccessTTL: time.Minute})
	h := password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2)
	now := time.Now()
	svc := account.NewService(db, db, db, h, sessions, nil,
		account.Config{MaxFailures: 3, MaxFailuresIP: 3, Window: time.Minute, Now: func() time.Time { return now }})
	for _, e := range []string{"ann@example.com", "bob@example.com"} {
		if _, err := svc.Register(ctx, e, pw); err != nil {
			t.Fatal(err)
		}
	}
	meta := account.Meta{IP: "192.0.2.1"}
	// Many successes from one address never throttle it.
	for i := range 10 {
		if _, err := svc.Authenticate(ctx, "ann@example.com", pw, meta); err != nil {
			t.Fatalf("success %d: %v", i, err)
		}
	}
	// Two failures for ann, then a success: ann's count is reset.
	for range 2 {
		if _, err := svc.Authenticate(ctx, "ann@example.com", "not the right one at all", meta); !errors.Is(err, authd.ErrInvalidCredentials) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	if _, err := svc.Authenticate(ctx, "ann@example.com", pw, meta); err != nil {
		t.Fatalf("right password after 2 failures: %v", err)
	}
	if n, _, _ := db.Failures(ctx, "acct:ann@example.com", now); n != 0 {
		t.Fatalf("ann's count after a success: %d, want 0", n)
	}
	// The ip's two failures stay: one more (for bob) throttles the ip.
	if n, _, _ := db.Failures(ctx, "ip:192.0.2.1", now); n != 2 {
		t.Fatalf("the ip's count: %d, want its 2 failures", n)
	}
	if _, err := svc.Authenticate(ctx, "bob@example.com", "not the right one at all", meta); !errors.Is(err, authd.ErrInvalidCredentials) {
		t.Fatalf("third failure from the ip: %v", err)
	}
	var th *authd.ThrottledError
	if _, err := svc.Authenticate(ctx, "bob@example.com", pw, meta); !errors.As(err, &th) {
		t.Fatalf("right password from an ip over its limit: %v, want throttled", err)
	}
}
