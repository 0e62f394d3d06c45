package session_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/session"
	"github.com/authd/authd/sqlite"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func setup(t testing.TB) (*session.Manager, *sqlite.DB, *clock, *authd.User) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: time.Now().UTC().Truncate(time.Microsecond)}
	m := session.NewManager(db, db, session.Config{Idle: time.Hour, Max: 8 * time.Hour, TouchEvery: time.Minute, AccessTTL: 15 * time.Minute, Now: c.Now})
	u := &authd.User{ID: authd.NewID(), Email: "ann@example.com", PasswordHash: "x", Roles: []string{"admin"}, CreatedAt: c.Now(), UpdatedAt: c.Now()}
	if err := db.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return m, db, c, u
}

func TestLookup(t *testing.T) {
	ctx := context.Background()
	m, _, c, u := setup(t)
	tok, s, err := m.Create(ctx, u, session.Meta{IP: "192.0.2.1", UserAgent: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if !session.WellFormed(tok) || len(s.ID) < 22 {
		t.Fatalf("token %q id %q", tok, s.ID)
	}
	got, err := m.Lookup(ctx, tok)
	if err != nil || got.UserID != u.ID || got.Email != u.Email || len(got.Roles) != 1 {
		t.Fatalf("lookup: %v %+v", err, got)
	}
	tests := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"short", tok[:42]},
		{"long", tok + "A"},
		{"bad alphabet", tok[:42] + "+"},
		{"padding", tok[:42] + "="},
		{"unknown", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"the public id", s.ID},
		{"the hash", string(s.Hash)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := m.Lookup(ctx, tt.token); !errors.Is(err, authd.ErrUnauthenticated) {
				t.Fatalf("err %v, want ErrUnauthenticated", err)
			}
		})
	}
	_ = c
}

func TestExpiry(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		steps []time.Duration // uses before the final check
		final time.Duration
		alive bool
	}{
		{"fresh", nil, 0, true},
		{"idle just before", nil, time.Hour - time.Second, true},
		{"idle at deadline", nil, time.Hour, false},
		{"activity extends idle", []time.Duration{50 * time.Minute}, 50 * time.Minute, true},
		{"absolute not extended by activity", []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute}, 31 * time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, c, u := setup(t)
			tok, _, err := m.Create(ctx, u, session.Meta{})
			if err != nil {
				t.Fatal(err)
			}
			for i, d := range tt.steps {
				c.Add(d)
				if _, err := m.Lookup(ctx, tok); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			c.Add(tt.final)
			_, err = m.Lookup(ctx, tok)
			if alive := err == nil; alive != tt.alive {
				t.Fatalf("alive=%v (err %v), want %v", alive, err, tt.alive)
			}
		})
	}
}

func TestTouchIsThrottled(t *testing.T) {
	ctx := context.Background()
	m, db, c, u := setup(t)
	tok, s, _ := m.Create(ctx, u, session.Meta{})
	stored := func() time.Time {
		x, err := db.SessionByHash(ctx, s.Hash)
		if err != nil {
			t.Fatal(err)
		}
		return x.LastSeenAt
	}
	created := stored()
	c.Add(30 * time.Second)
	for i := 0; i < 10; i++ {
		if _, err := m.Lookup(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	if !stored().Equal(created) {
		t.Fatal("last-seen was written within TouchEvery")
	}
	c.Add(31 * time.Second)
	if _, err := m.Lookup(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if got := stored(); !got.Equal(c.Now()) {
		t.Fatalf("last-seen %v, want %v", got, c.Now())
	}
}

func TestRevoke(t *testing.T) {
	ctx := context.Background()
	m, db, _, u := setup(t)
	t1, s1, _ := m.Create(ctx, u, session.Meta{})
	t2, s2, _ := m.Create(ctx, u, session.Meta{})
	t3, _, _ := m.Create(ctx, u, session.Meta{})
	if err := m.Revoke(ctx, "someone-else", s1.ID); !errors.Is(err, authd.ErrNotFound) {
		t.Fatalf("revoking another user's session: %v", err)
	}
	if err := m.Revoke(ctx, u.ID, s1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Lookup(ctx, t1); !errors.Is(err, authd.ErrUnauthenticated) {
		t.Fatalf("revoked session: %v", err)
	}
	ids, err := m.RevokeAll(ctx, u.ID, s2.ID)
	if err != nil || len(ids) != 1 {
		t.Fatalf("revoke all: %v %v", ids, err)
	}
	if _, err := m.Lookup(ctx, t2); err != nil {
		t.Fatalf("kept session: %v", err)
	}
	if _, err := m.Lookup(ctx, t3); !errors.Is(err, authd.ErrUnauthenticated) {
		t.Fatalf("other session: %v", err)
	}
	// Tokens exchanged from the revoked sessions are listed as revoked sids.
	revs, _, err := db.RevokedSince(ctx, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, r := range revs {
		if r.Kind == authd.RevokeSID {
			listed[r.ID] = true
		}
	}
	if !listed[s1.ID] || !listed[ids[0]] || listed[s2.ID] {
		t.Fatalf("revocations %v", revs)
	}
}
