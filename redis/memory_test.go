package redis_test

import (
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/redis/redistest"
	"github.com/authd/authd/storetest"
)

// scaleUserAgent is a 100-character User-Agent (Safari on macOS, cut at 100
// bytes): what the sessions of TestSessionMemoryAtScale carry.
const scaleUserAgent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17."

// scaleSession is the session of issue #19's memory target: two roles, a
// 25-character email, an IPv4 address, a 100-character User-Agent, amr pwd.
func scaleSession(userID string) *authd.Session {
	now := storetest.Now()
	return &authd.Session{
		ID:                authd.NewID(),
		Hash:              storetest.NewHash(),
		UserID:            userID,
		Email:             "jane.doe.smith@example.io",
		Roles:             []string{"user", "billing"},
		AMR:               []string{"pwd"},
		CreatedAt:         now,
		LastSeenAt:        now,
		ExpiresAt:         now.Add(24 * time.Hour),
		AbsoluteExpiresAt: now.Add(720 * time.Hour),
		IP:                "203.0.113.42",
		UserAgent:         scaleUserAgent,
	}
}

// TestSessionMemoryAtScale measures the Redis memory target of issue #19:
// INFO used_memory growth per session, on a redis-server of its own, over
// AUTHD_REDIS_MEMORY sessions (two per user) created concurrently through
// CreateSession. It reports the figure at every tenth of the way, so that
// one run shows whether it is flat; it fails when the final figure is over
// 512 bytes. Skipped unless AUTHD_REDIS_MEMORY is set:
//
//	AUTHD_REDIS_MEMORY=1000000 go test -run TestSessionMemoryAtScale -v -timeout 30m ./redis
func TestSessionMemoryAtScale(t *testing.T) {
	env := os.Getenv("AUTHD_REDIS_MEMORY")
	if env == "" {
		t.Skip("set AUTHD_REDIS_MEMORY=<sessions> (e.g. 1000000) to measure")
	}
	n, err := strconv.Atoi(env)
	if err != nil || n < 1000 {
		t.Fatalf("AUTHD_REDIS_MEMORY=%q: want a number of sessions ≥ 1000", env)
	}
	const perUser = 2
	srv := redistest.StartServer(t)
	s := open(t, srv.URL()) // the default prefix, as in production
	before := usedMemory(t, srv.Addr)
	if x := scaleSession(authd.NewID()); len(x.UserAgent) != 100 || len(x.Email) != 25 {
		t.Fatalf("scaleSession: User-Agent %d, email %d bytes", len(x.UserAgent), len(x.Email))
	}
	users := n / perUser
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	step := users / 10
	var mu sync.Mutex
	report := func(done int) {
		mu.Lock()
		defer mu.Unlock()
		used := usedMemory(t, srv.Addr) - before
		t.Logf("%8d sessions: %6.1f B/session (used_memory +%d)", done, float64(used)/float64(done), used)
	}
	start := time.Now()
	for range 32 {
		wg.Go(func() {
			for {
				u := int(next.Add(1)) - 1
				if u >= users {
					return
				}
				user := authd.NewID()
				for range perUser {
					if err := s.CreateSession(t.Context(), scaleSession(user)); err != nil {
						select {
						case errs <- err:
						default:
						}
						return
					}
				}
				if step > 0 && (u+1)%step == 0 && u+1 < users {
					report((u + 1) * perUser)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	done := users * perUser
	used := usedMemory(t, srv.Addr) - before
	per := float64(used) / float64(done)
	t.Logf("%8d sessions: %6.1f B/session (used_memory +%d) in %v", done, per, used, time.Since(start).Round(time.Millisecond))
	if per > 512 {
		t.Errorf("%.1f bytes of Redis memory (used_memory) per session, want at most 512", per)
	}
}
