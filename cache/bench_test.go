package cache_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/redis"
	"github.com/authd/authd/redis/redisproc"
	"github.com/authd/authd/redis/redistest"
	"github.com/authd/authd/session"
	"github.com/authd/authd/token"
)

// BenchmarkValidate is session validation (cookie value → session, the
// per-request path of session.Manager.Lookup) on each store, straight and
// through the local cache, beside a full HS256 JWT verify (no verified-token
// cache) measured in the same run: the issue's "sessions as fast as JWTs".
//
//	AUTHD_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test?sslmode=disable \
//	  go test -run '^$' -bench . -benchmem ./cache
func BenchmarkValidate(b *testing.B) {
	ctx := context.Background()
	parent := b
	for _, be := range backends {
		for _, cached := range []bool{false, true} {
			name := be.name + "/store"
			if cached {
				name = be.name + "/cached"
			}
			b.Run(name, func(b *testing.B) {
				src, _ := be.open(b)
				var st authd.SessionStore = src
				if cached {
					st = start(b, src)
				}
				m := session.NewManager(st, nil, session.Config{Idle: time.Hour, Max: 2 * time.Hour})
				tok, _, err := m.Create(ctx, &authd.User{ID: authd.NewID(), Email: "a@example.com", Roles: []string{"admin"}}, session.Meta{IP: "192.0.2.1", UserAgent: "Mozilla/5.0"})
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for b.Loop() {
					if _, err := m.Lookup(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	// Redis keeps its own local cache: rueidis client-side caching, kept
	// true by Redis's invalidation messages (redis.WithClientCache).
	var clusterURL string
	for _, mode := range []string{"redis", "redis-cluster"} {
		for _, cached := range []bool{false, true} {
			name := mode + "/store"
			if cached {
				name = mode + "/cached"
			}
			b.Run(name, func(b *testing.B) {
				u, prefix := redistest.URL(b)
				if mode == "redis-cluster" {
					if clusterURL == "" {
						clusterURL = redisproc.ClusterURL(redistest.StartCluster(parent, 3))
					}
					u = clusterURL
				}
				opts := []redis.Option{redis.WithPrefix(prefix)}
				if cached {
					opts = append(opts, redis.WithClientCache(time.Minute))
				}
				st, err := redis.Open(ctx, u, opts...)
				if err != nil {
					b.Fatal(err)
				}
				defer st.Close()
				m := session.NewManager(st, nil, session.Config{Idle: time.Hour, Max: 2 * time.Hour})
				tok, _, err := m.Create(ctx, &authd.User{ID: authd.NewID(), Email: "a@example.com", Roles: []string{"admin"}}, session.Meta{IP: "192.0.2.1", UserAgent: "Mozilla/5.0"})
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for b.Loop() {
					if _, err := m.Lookup(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
	b.Run("jwt-HS256-verify", func(b *testing.B) {
		db := openDB(b, filepath.Join(b.TempDir(), "k.db"))
		cfg := token.DefaultConfig("http://authd.test", "authd")
		cfg.Alg = authd.AlgHS256
		cfg.CacheSize = -1
		svc, err := token.New(ctx, cfg, token.Stores{Keys: db, Refresh: db, Revocations: db, Users: db})
		if err != nil {
			b.Fatal(err)
		}
		p, err := svc.IssueForSession(ctx, &authd.Session{ID: authd.NewID(), UserID: authd.NewID(), Email: "a@example.com", Roles: []string{"admin"}})
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			if _, err := svc.Verify(ctx, p.AccessToken); err != nil {
				b.Fatal(err)
			}
		}
	})
}
