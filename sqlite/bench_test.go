package sqlite

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/authd/authd"
)

// benchSessions is how many sessions the benchmark database holds.
const benchSessions = 10_000

// benchDB opens a database holding benchSessions sessions and returns it
// with their hashes, warmed by one lookup of each.
func benchDB(b *testing.B) (*DB, [][]byte) {
	b.Helper()
	db, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	now := time.Now()
	hashes := make([][]byte, benchSessions)
	for i := range hashes {
		var v [32]byte
		rand.Read(v[:])
		h := sha256.Sum256(v[:])
		hashes[i] = h[:]
		s := &authd.Session{
			ID: fmt.Sprintf("sess-%06d", i), Hash: hashes[i], UserID: fmt.Sprintf("user-%04d", i%1000),
			Email: fmt.Sprintf("user-%04d@example.com", i%1000), Roles: []string{"user"},
			CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(24 * time.Hour), AbsoluteExpiresAt: now.Add(720 * time.Hour),
			IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		}
		if err := db.CreateSession(b.Context(), s); err != nil {
			b.Fatal(err)
		}
	}
	for _, h := range hashes {
		if _, err := db.SessionByHash(b.Context(), h); err != nil {
			b.Fatal(err)
		}
	}
	return db, hashes
}

// BenchmarkSessionByHash is the store's lookup of every cookie-carrying
// request, on a warm database of benchSessions sessions.
func BenchmarkSessionByHash(b *testing.B) {
	db, hashes := benchDB(b)
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := db.SessionByHash(ctx, hashes[i%len(hashes)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkRawPrimaryKeySelect is the floor SessionByHash is measured
// against: the same SELECT through database/sql with a prepared statement on
// the same read pool, scanning the same columns into plain variables.
func BenchmarkRawPrimaryKeySelect(b *testing.B) {
	db, hashes := benchDB(b)
	ctx := b.Context()
	stmt, err := db.read.PrepareContext(ctx, sessionByHashSQL)
	if err != nil {
		b.Fatal(err)
	}
	defer stmt.Close()
	var (
		id, user, email, roles, ip, agent  string
		amr                                string
		pending                            bool
		hash                               []byte
		created, seen, expires, absExpires int64
	)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		err := stmt.QueryRowContext(ctx, hashes[i%len(hashes)]).
			Scan(&id, &hash, &user, &email, &roles, &created, &seen, &expires, &absExpires, &ip, &agent, &amr, &pending)
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkSessionByHashVsRaw interleaves the two lookups above, a store
// call and a raw SELECT of the same hash, so that both see the same machine load, and
// reports each one's time per lookup and their ratio (store/raw).
func BenchmarkSessionByHashVsRaw(b *testing.B) {
	db, hashes := benchDB(b)
	ctx := b.Context()
	stmt, err := db.read.PrepareContext(ctx, sessionByHashSQL)
	if err != nil {
		b.Fatal(err)
	}
	defer stmt.Close()
	var (
		id, user, email, roles, ip, agent  string
		amr                                string
		pending                            bool
		hash                               []byte
		created, seen, expires, absExpires int64
		storeTime, rawTime                 time.Duration
		n                                  int
	)
	store := func(h []byte) time.Duration {
		t0 := time.Now()
		if _, err := db.SessionByHash(ctx, h); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	raw := func(h []byte) time.Duration {
		t0 := time.Now()
		if err := stmt.QueryRowContext(ctx, h).Scan(&id, &hash, &user, &email, &roles, &created, &seen, &expires, &absExpires, &ip, &agent, &amr, &pending); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	for b.Loop() {
		h := hashes[n%len(hashes)]
		// Alternate which goes first, so neither always finds the other's
		// pages freshly cached.
		if n%2 == 0 {
			storeTime += store(h)
			rawTime += raw(h)
		} else {
			rawTime += raw(h)
			storeTime += store(h)
		}
		n++
	}
	b.ReportMetric(float64(storeTime.Nanoseconds())/float64(n), "store-ns/lookup")
	b.ReportMetric(float64(rawTime.Nanoseconds())/float64(n), "raw-ns/lookup")
	b.ReportMetric(float64(storeTime)/float64(rawTime), "store/raw")
}

// BenchmarkRemember measures the DPoP replay check of one request: one
// Remember of a fresh key (a new row), on a file that already holds
// benchSessions live records.
//
//	go test -run '^$' -bench Remember ./sqlite
func BenchmarkRemember(b *testing.B) {
	db, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	now := time.Now()
	exp := now.Add(5 * time.Minute)
	for i := range benchSessions {
		if _, err := db.Remember(b.Context(), fmt.Sprintf("warm-%d", i), exp, now); err != nil {
			b.Fatal(err)
		}
	}
	keys := benchKeys(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ok, err := db.Remember(b.Context(), keys[i], exp, now)
		if err != nil || !ok {
			b.Fatalf("Remember: %v, %v", ok, err)
		}
	}
}

// benchKeys returns n fresh keys shaped like jtis (22 base64url
// characters, 128 random bits), made before the timer starts.
func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = rand.Text()[:22]
	}
	return keys
}
