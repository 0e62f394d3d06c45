package postgres_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/postgres"
	"github.com/authd/authd/postgres/pgtest"
	"github.com/authd/authd/storetest"
	"github.com/jackc/pgx/v5"
)

// benchSessions is how many sessions the lookup benchmarks run among.
const benchSessions = 10_000

// bench is the fixture the benchmarks share, so that the store's lookup
// and the raw query run on the same pool, table and rows in one run. It is
// made on first use and dropped by TestMain.
var bench struct {
	once   sync.Once
	dsn    string
	schema string
	db     *postgres.DB
	hashes [][]byte
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.db != nil {
		bench.db.Close()
	}
	if bench.schema != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := pgtest.Exec(ctx, bench.dsn, "DROP SCHEMA "+pgx.Identifier{bench.schema}.Sanitize()+" CASCADE"); err != nil {
			fmt.Fprintf(os.Stderr, "dropping the benchmark schema: %v\n", err)
		}
		cancel()
	}
	os.Exit(code)
}

// benchDB returns the shared fixture: a DB on its own schema holding
// benchSessions sessions, and their hashes.
func benchDB(b *testing.B) (*postgres.DB, [][]byte) {
	b.Helper()
	dsn := pgtest.DSN(b)
	bench.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		bench.dsn = dsn
		bench.schema, bench.err = pgtest.CreateSchema(ctx, dsn)
		if bench.err != nil {
			return
		}
		bench.db, bench.err = postgres.Open(ctx, pgtest.WithParams(b, dsn, map[string]string{
			"search_path":    bench.schema,
			"pool_max_conns": "4",
		}))
		if bench.err != nil {
			return
		}
		now := storetest.Now()
		rows := make([][]any, benchSessions)
		for i := range rows {
			h := storetest.NewHash()
			bench.hashes = append(bench.hashes, h)
			rows[i] = []any{
				authd.NewID(), h, fmt.Sprintf("user-%d", i%1000), fmt.Sprintf("user-%d@example.com", i%1000),
				[]string{"admin"}, now, now, now.Add(24 * time.Hour), now.Add(720 * time.Hour),
				"203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64) bench",
			}
		}
		pool := postgres.PoolOf(bench.db)
		_, bench.err = pool.CopyFrom(ctx, pgx.Identifier{"sessions"}, []string{
			"id", "hash", "user_id", "email", "roles", "created_at", "last_seen_at", "expires_at",
			"absolute_expires_at", "ip", "user_agent",
		}, pgx.CopyFromRows(rows))
		if bench.err == nil {
			_, bench.err = pool.Exec(ctx, "ANALYZE sessions")
		}
	})
	if bench.err != nil {
		b.Fatalf("benchmark fixture: %v", bench.err)
	}
	return bench.db, bench.hashes
}

// BenchmarkSessionByHash is the store's session lookup, the work of every
// request that carries a cookie, among benchSessions sessions.
func BenchmarkSessionByHash(b *testing.B) {
	db, hashes := benchDB(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if _, err := db.SessionByHash(ctx, hashes[i%len(hashes)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkRawPrimaryKeySelect is the floor SessionByHash is measured
// against: a plain pgx query on the same pool and rows, scanning the same
// columns, with nothing around it.
func BenchmarkRawPrimaryKeySelect(b *testing.B) {
	db, hashes := benchDB(b)
	pool := postgres.PoolOf(db)
	ctx := context.Background()
	var (
		id, userID, email, ip, ua          string
		hash                               []byte
		roles                              []string
		created, seen, expires, absExpires time.Time
	)
	i := 0
	for b.Loop() {
		err := pool.QueryRow(ctx, `SELECT id, hash, user_id, email, roles, created_at, last_seen_at, expires_at, absolute_expires_at, ip, user_agent
			FROM sessions WHERE hash = $1`, hashes[i%len(hashes)]).
			Scan(&id, &hash, &userID, &email, &roles, &created, &seen, &expires, &absExpires, &ip, &ua)
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkSessionByHashParallel and BenchmarkRawPrimaryKeySelectParallel
// are the same, from GOMAXPROCS goroutines sharing the pool.
func BenchmarkSessionByHashParallel(b *testing.B) {
	db, hashes := benchDB(b)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := db.SessionByHash(ctx, hashes[i%len(hashes)]); err != nil {
				b.Error(err)
				return
			}
			i += 7
		}
	})
}

func BenchmarkRawPrimaryKeySelectParallel(b *testing.B) {
	db, hashes := benchDB(b)
	pool := postgres.PoolOf(db)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		var (
			id, userID, email, ip, ua          string
			hash                               []byte
			roles                              []string
			created, seen, expires, absExpires time.Time
		)
		i := 0
		for pb.Next() {
			err := pool.QueryRow(ctx, `SELECT id, hash, user_id, email, roles, created_at, last_seen_at, expires_at, absolute_expires_at, ip, user_agent
				FROM sessions WHERE hash = $1`, hashes[i%len(hashes)]).
				Scan(&id, &hash, &userID, &email, &roles, &created, &seen, &expires, &absExpires, &ip, &ua)
			if err != nil {
				b.Error(err)
				return
			}
			i += 7
		}
	})
}

// BenchmarkSessionByHashVsRaw alternates the two lookups above call by
// call, so that both meet the same load on a shared machine, and reports
// each one's median latency and their ratio (the target: the
// store within 1.3× of the raw round trip). ns/op is the time of a pair.
func BenchmarkSessionByHashVsRaw(b *testing.B) {
	db, hashes := benchDB(b)
	pool := postgres.PoolOf(db)
	ctx := context.Background()
	var (
		id, userID, email, ip, ua          string
		hash                               []byte
		roles                              []string
		created, seen, expires, absExpires time.Time
	)
	var store, raw []time.Duration
	i := 0
	for b.Loop() {
		h := hashes[i%len(hashes)]
		t0 := time.Now()
		if _, err := db.SessionByHash(ctx, h); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		err := pool.QueryRow(ctx, `SELECT id, hash, user_id, email, roles, created_at, last_seen_at, expires_at, absolute_expires_at, ip, user_agent
			FROM sessions WHERE hash = $1`, hashes[(i+len(hashes)/2)%len(hashes)]).
			Scan(&id, &hash, &userID, &email, &roles, &created, &seen, &expires, &absExpires, &ip, &ua)
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		store, raw = append(store, t1.Sub(t0)), append(raw, t2.Sub(t1))
		i++
	}
	ms, mr := median(store), median(raw)
	b.ReportMetric(float64(ms.Nanoseconds()), "store-median-ns")
	b.ReportMetric(float64(mr.Nanoseconds()), "raw-median-ns")
	b.ReportMetric(float64(ms)/float64(mr), "store/raw")
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkRemember measures the DPoP replay check of one request: one
// Remember of a fresh key (a new row), one round trip.
//
//	AUTHD_TEST_POSTGRES=… go test -run '^$' -bench Remember ./postgres
func BenchmarkRemember(b *testing.B) {
	db, _ := benchDB(b)
	now := time.Now()
	exp := now.Add(5 * time.Minute)
	keys := make([]string, b.N)
	for i := range keys {
		keys[i] = rand.Text()[:22] // a jti: 128 random bits, base64url-sized
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ok, err := db.Remember(ctx, keys[i], exp, now)
		if err != nil || !ok {
			b.Fatalf("Remember: %v, %v", ok, err)
		}
	}
}
