package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/authd/authd"
	"github.com/authd/authd/httpapi"
	"github.com/authd/authd/postgres"
	"github.com/authd/authd/sqlite"
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

// openStores opens --db (and --redis), applying migrations. The error is
// one line naming the store and what to do.
func openStores(ctx context.Context, c *Config) (*stores, error) {
	st := &stores{}
	switch {
	case strings.HasPrefix(c.DB, "sqlite:"):
		path := strings.TrimPrefix(c.DB, "sqlite:")
		db, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("cannot open --db %s: %v", c.DB, err)
		}
		st.users, st.sessions, st.refresh, st.keys = db, db, db, db
		st.revocations, st.limiter, st.clients, st.audit = db, db, db, db
		st.checks = append(st.checks, httpapi.Check{Name: "db", Pinger: db})
		st.closers = append(st.closers, db.Close)
	default:
		db, err := postgres.Open(ctx, c.DB)
		if err != nil {
			return nil, fmt.Errorf("cannot open --db %s: %v", redactURL(c.DB), err)
		}
		st.users, st.sessions, st.refresh, st.keys = db, db, db, db
		st.revocations, st.limiter, st.clients, st.audit = db, db, db, db
		st.checks = append(st.checks, httpapi.Check{Name: "db", Pinger: db})
		st.closers = append(st.closers, db.Close)
	}
	if c.Redis != "" {
		st.Close()
		return nil, fmt.Errorf("--redis: Redis is not supported by this build yet; leave it unset")
	}
	return st, nil
}
