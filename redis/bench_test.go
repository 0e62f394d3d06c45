package redis_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/redis"
	"github.com/authd/authd/redis/redisproc"
	"github.com/authd/authd/redis/redistest"
)

// The benchmarks of issue #4: a session lookup against a plain GET of a
// value of the same size, on the same client, standalone and cluster:
//
//	AUTHD_TEST_REDIS=redis://127.0.0.1:6379/0 go test -run '^$' -bench . ./redis

var modes = []struct {
	name string
	open func(testing.TB, ...redis.Option) *redis.Store
}{
	{"standalone", openStandalone},
	{"cluster", openCluster},
}

// benchSession stores a realistic session and returns it with its record's
// size.
func benchSession(b *testing.B, s *redis.Store) (*authd.Session, int) {
	b.Helper()
	x := realisticSession(authd.NewID())
	if err := s.CreateSession(b.Context(), x); err != nil {
		b.Fatal(err)
	}
	c := s.Client()
	v, err := c.Do(b.Context(), c.B().Get().Key(s.HashKey(x.Hash)).Build()).ToString()
	if err != nil {
		b.Fatal(err)
	}
	return x, len(v)
}

func BenchmarkSessionByHash(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s := m.open(b)
			x, _ := benchSession(b, s)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.SessionByHash(ctx, x.Hash); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRawGET(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s := m.open(b)
			x, size := benchSession(b, s)
			c := s.Client()
			// A key of the same length in another slot, a value of the same size.
			key := s.HashKey(x.Hash)
			key = key[:len(key)-1] + "!"
			if err := c.Do(b.Context(), c.B().Set().Key(key).Value(strings.Repeat("x", size)).Px(time.Hour).Build()).Error(); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Do(ctx, c.B().Get().Key(key).Build()).ToString(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLookupVsRawGET alternates a session lookup and a raw GET of a
// value of the same size in one loop and reports their mean latencies and
// ratio: unlike two separate benchmarks, both see the same machine load.
func BenchmarkLookupVsRawGET(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s := m.open(b)
			x, size := benchSession(b, s)
			c := s.Client()
			key := s.HashKey(x.Hash)
			key = key[:len(key)-1] + "!"
			if err := c.Do(b.Context(), c.B().Set().Key(key).Value(strings.Repeat("x", size)).Px(time.Hour).Build()).Error(); err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			var lookup, get time.Duration
			for b.Loop() {
				t0 := time.Now()
				if _, err := s.SessionByHash(ctx, x.Hash); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if _, err := c.Do(ctx, c.B().Get().Key(key).Build()).ToString(); err != nil {
					b.Fatal(err)
				}
				get += time.Since(t1)
				lookup += t1.Sub(t0)
			}
			b.ReportMetric(float64(lookup.Nanoseconds())/float64(b.N), "lookup-ns")
			b.ReportMetric(float64(get.Nanoseconds())/float64(b.N), "get-ns")
			b.ReportMetric(float64(lookup)/float64(get), "ratio")
		})
	}
}

func BenchmarkSessionByHashCached(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s := m.open(b, redis.WithClientCache(time.Minute))
			x, _ := benchSession(b, s)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.SessionByHash(ctx, x.Hash); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSessionByHashParallel is the lookup under concurrent load, as a
// server sees it (rueidis pipelines concurrent calls on few connections).
func BenchmarkSessionByHashParallel(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s := m.open(b)
			x, _ := benchSession(b, s)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if _, err := s.SessionByHash(ctx, x.Hash); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkSessionMemory creates b.N realistic sessions on a server of its
// own and reports the Redis memory they take per session, two ways:
// B/session sums MEMORY USAGE over every key the sessions wrote (their
// records, id keys and their users' indexes); used-B/session is the growth
// of INFO used_memory, which also counts the expiry entries and hash-table
// buckets MEMORY USAGE leaves out.
func BenchmarkSessionMemory(b *testing.B) {
	for _, perUser := range []int{1, 3} {
		b.Run(fmt.Sprintf("%d-per-user", perUser), func(b *testing.B) {
			// A server of its own: the default prefix, as in production.
			srv := redistest.StartServer(b)
			prefix := redis.DefaultPrefix
			s := open(b, srv.URL())
			before := usedMemory(b, srv.Addr)
			var user string
			n := 0
			for b.Loop() {
				if n%perUser == 0 {
					user = authd.NewID()
				}
				if err := s.CreateSession(b.Context(), realisticSession(user)); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.StopTimer()
			used := usedMemory(b, srv.Addr) - before
			usage := memoryUsage(b, s, prefix)
			b.ReportMetric(float64(usage)/float64(n), "B/session")
			b.ReportMetric(float64(used)/float64(n), "used-B/session")
		})
	}
}

// TestSessionMemory checks the memory target of issue #4: under 512 bytes
// of Redis memory (MEMORY USAGE of every key) per realistic session, so
// that 10 million sessions fit in 5 GB.
func TestSessionMemory(t *testing.T) {
	for _, perUser := range []int{1, 3} {
		// A server of its own: the default prefix, as in production, and
		// used_memory that counts only these sessions.
		srv := redistest.StartServer(t)
		prefix := redis.DefaultPrefix
		s := open(t, srv.URL())
		const n = 3000
		before := usedMemory(t, srv.Addr)
		var user string
		for i := range n {
			if i%perUser == 0 {
				user = authd.NewID()
			}
			if err := s.CreateSession(t.Context(), realisticSession(user)); err != nil {
				t.Fatal(err)
			}
		}
		used := usedMemory(t, srv.Addr) - before
		per := float64(memoryUsage(t, s, prefix)) / n
		t.Logf("%d session(s) per user: %.0f B/session by MEMORY USAGE, %.0f B/session by used_memory", perUser, per, float64(used)/n)
		if per >= 512 {
			t.Errorf("%d session(s) per user: %.0f bytes of Redis memory per session, want under 512", perUser, per)
		}
	}
}

func usedMemory(tb testing.TB, addr string) int64 {
	tb.Helper()
	info, err := redisproc.Command(context.Background(), addr, "INFO", "memory")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}
	tb.Fatal("no used_memory in INFO memory")
	return 0
}

// memoryUsage sums MEMORY USAGE … SAMPLES 0 (exact) over every key under
// prefix.
func memoryUsage(tb testing.TB, s *redis.Store, prefix string) int64 {
	tb.Helper()
	c := s.Client()
	ctx := context.Background()
	var total int64
	var cursor uint64
	for {
		e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
		if err != nil {
			tb.Fatal(err)
		}
		for _, k := range e.Elements {
			n, err := c.Do(ctx, c.B().MemoryUsage().Key(k).Samples(0).Build()).AsInt64()
			if err != nil {
				tb.Fatal(err)
			}
			total += n
		}
		if cursor = e.Cursor; cursor == 0 {
			return total
		}
	}
}

// BenchmarkRemember measures the DPoP replay check of one request: one
// Remember of a fresh key (one script, one round trip).
func BenchmarkRemember(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s := m.open(b)
			now := time.Now()
			exp := now.Add(time.Minute)
			keys := benchJTIs(b.N)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				ok, err := s.Remember(ctx, keys[i], exp, now)
				if err != nil || !ok {
					b.Fatalf("Remember: %v, %v", ok, err)
				}
			}
		})
	}
}

// BenchmarkRememberVsRawSETNX alternates Remember and its floor, a plain
// SET NX PX of the same key shape and value on the same client (which
// would not honour the caller's now, see replays.go), and reports their
// mean latencies and ratio under the same machine load.
func BenchmarkRememberVsRawSETNX(b *testing.B) {
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			s := m.open(b)
			c := s.Client()
			now := time.Now()
			exp := now.Add(time.Minute)
			value := strconv.FormatInt(exp.UnixMicro(), 10)
			keys, raw := benchJTIs(b.N), benchJTIs(b.N)
			ctx := context.Background()
			var remember, set time.Duration
			b.ResetTimer()
			for i := range b.N {
				t0 := time.Now()
				if ok, err := s.Remember(ctx, keys[i], exp, now); err != nil || !ok {
					b.Fatalf("Remember: %v, %v", ok, err)
				}
				t1 := time.Now()
				if err := c.Do(ctx, c.B().Set().Key(s.ReplayKey(raw[i])).Value(value).Nx().Px(2*time.Minute).Build()).Error(); err != nil {
					b.Fatal(err)
				}
				set += time.Since(t1)
				remember += t1.Sub(t0)
			}
			b.ReportMetric(float64(remember.Nanoseconds())/float64(b.N), "remember-ns")
			b.ReportMetric(float64(set.Nanoseconds())/float64(b.N), "setnx-ns")
			b.ReportMetric(float64(remember)/float64(set), "ratio")
		})
	}
}

// benchJTIs returns n fresh keys shaped like jtis (22 characters, 128
// random bits), made before the timer starts.
func benchJTIs(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = rand.Text()[:22]
	}
	return keys
}
