package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/httpapi"
	"github.com/authd/authd/postgres"
	"github.com/authd/authd/redis"
	"github.com/authd/authd/sqlite"

	"github.com/authd/authd/internal/redact"
)

// stores are the opened stores, by role.
type stores struct {
	users       authd.UserStore
	sessions    authd.SessionStore
	refresh     authd.RefreshStore
	keys        authd.KeyStore
	revocations authd.RevocationList
	limiter     authd.Limiter
	clients     authd.ClientStore
	audit       authd.AuditLog
	idKeys      authd.IDKeyStore
	codes       authd.CodeStore
	consents    authd.ConsentStore
	links       authd.SessionClientStore
	outbox      authd.Outbox
	factors     authd.FactorStore
	challenges  authd.ChallengeStore
	mailLinks   authd.LinkStore
	directory   authd.UserDirectory
	auditReader authd.AuditReader
	upstreams   authd.UpstreamStore
	identities  authd.IdentityStore
	replays     authd.ReplaySet
	checks      []httpapi.Check
	closers     []func() error
}

func (s *stores) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	return errors.Join(errs...)
}

// mainStore is what --db opens: every store on one SQL database.
type mainStore interface {
	authd.UserStore
	authd.SessionStore
	authd.RefreshStore
	authd.KeyStore
	authd.RevocationList
	authd.Limiter
	authd.ClientStore
	authd.AuditLog
	authd.IDKeyStore
	authd.CodeStore
	authd.ConsentStore
	authd.SessionClientStore
	authd.Outbox
	authd.FactorStore
	authd.ChallengeStore
	authd.LinkStore
	authd.UserDirectory
	authd.AuditReader
	authd.UpstreamStore
	authd.IdentityStore
	authd.ReplaySet
	authd.Pinger
	Close() error
}

// openMode says whether openStores may create a missing SQLite file.
type openMode int

const (
	// mayCreate: serve and migrate make the database when it is missing.
	mayCreate openMode = iota
	// mustExist: the commands that only read or change existing data refuse
	// a missing SQLite file rather than start an empty one with a new key.
	mustExist
)

// openStores checks the store flags, then opens --db (and --redis),
// applying migrations. The error is one line naming the store and what to
// do.
func openStores(ctx context.Context, c *Config, mode openMode) (*stores, error) {
	if err := validateStores(c); err != nil {
		return nil, err
	}
	var (
		db  mainStore
		err error
	)
	if path, ok := strings.CutPrefix(c.DB, "sqlite:"); ok {
		if mode == mustExist {
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("no database at %s (run authd migrate, or pass --db)", path)
			}
		}
		db, err = sqlite.Open(ctx, path)
	} else {
		db, err = postgres.Open(ctx, c.DB)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open --db %s: %v", redact.URL(c.DB), err)
	}
	st := &stores{
		users: db, sessions: db, refresh: db, keys: db,
		revocations: db, limiter: db, clients: db, audit: db,
		idKeys: db, codes: db, consents: db, links: db, outbox: db, factors: db, challenges: db,
		mailLinks: db, directory: db, auditReader: db, upstreams: db, identities: db, replays: db,
		checks:  []httpapi.Check{{Name: "db", Pinger: db}},
		closers: []func() error{db.Close},
	}
	if c.Redis != "" {
		opts := []redis.Option{redis.WithPrefix(c.RedisPrefix)}
		if c.SessionCache {
			// NOTE: rueidis client-side caching: Redis itself tells every
			// node when a cached session key changes, and a broken
			// connection drops the whole cache.
			opts = append(opts, redis.WithClientCache(time.Minute))
		}
		rs, err := redis.Open(ctx, c.Redis, opts...)
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("cannot open --redis %s: %v", redact.URL(c.Redis), err)
		}
		st.sessions, st.revocations, st.limiter, st.replays = rs, rs, rs, rs
		st.checks = append(st.checks, httpapi.Check{Name: "redis", Pinger: rs})
		st.closers = append(st.closers, rs.Close)
	}
	return st, nil
}
