package redis_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/redis"
	"github.com/authd/authd/storetest"
)

// TestLegacySessions: sessions written by an authd before the id map (an
// id key <prefix>i:<id> per session) are found, touched, listed and
// deleted by this one, and their id keys go with them.
func TestLegacySessions(t *testing.T) {
	for _, mode := range []string{"standalone", "cluster"} {
		t.Run(mode, func(t *testing.T) {
			var s *redis.Store
			if mode == "standalone" {
				s = openStandalone(t)
			} else {
				s = openCluster(t)
			}
			ctx := t.Context()
			user := authd.NewID()
			a, b, c := realisticSession(user), realisticSession(user), realisticSession(user)
			redis.WriteLegacySession(t, s, a)
			redis.WriteLegacySession(t, s, b)
			if err := s.CreateSession(ctx, c); err != nil {
				t.Fatal(err)
			}
			if got, err := s.SessionByHash(ctx, a.Hash); err != nil || got.ID != a.ID {
				t.Fatalf("SessionByHash(legacy): %v, %v", got, err)
			}
			later := a.ExpiresAt.Add(time.Hour)
			if err := s.TouchSession(ctx, a.ID, a.LastSeenAt, later); err != nil {
				t.Fatalf("TouchSession(legacy): %v", err)
			}
			list, err := s.ListSessions(ctx, user, storetest.Now())
			if err != nil || len(list) != 3 {
				t.Fatalf("ListSessions: %d sessions, %v; want 3", len(list), err)
			}
			for _, x := range list {
				if x.ID == a.ID && !x.ExpiresAt.Equal(later) {
					t.Fatalf("touched legacy session expires at %v, want %v", x.ExpiresAt, later)
				}
			}
			if err := s.DeleteSession(ctx, user, a.ID); err != nil {
				t.Fatalf("DeleteSession(legacy): %v", err)
			}
			if redis.LegacyIDKeyExists(t, s, a.ID) {
				t.Fatal("DeleteSession left the legacy id key")
			}
			if _, err := s.SessionByHash(ctx, a.Hash); !errors.Is(err, authd.ErrNotFound) {
				t.Fatalf("SessionByHash after DeleteSession: %v", err)
			}
			ids, err := s.DeleteUserSessions(ctx, user, c.ID)
			if err != nil || !slices.Equal(ids, []string{b.ID}) {
				t.Fatalf("DeleteUserSessions: %v, %v; want [%s]", ids, err, b.ID)
			}
			if redis.LegacyIDKeyExists(t, s, b.ID) {
				t.Fatal("DeleteUserSessions left the legacy id key")
			}
			if _, err := s.SessionByHash(ctx, c.Hash); err != nil {
				t.Fatalf("the kept session: %v", err)
			}
			ids, err = s.DeleteUserSessions(ctx, user, "")
			if err != nil || !slices.Equal(ids, []string{c.ID}) {
				t.Fatalf("DeleteUserSessions: %v, %v; want [%s]", ids, err, c.ID)
			}
			if redis.MapEntryExists(t, s, c.ID) {
				t.Fatal("DeleteUserSessions left the id map entry")
			}
		})
	}
}

// TestIDMapGC: an id map entry kept until more than a minute ago is
// dropped by the next CreateSession into its bucket; a live one is not.
func TestIDMapGC(t *testing.T) {
	s := openStandalone(t)
	ctx := t.Context()
	dead := authd.NewID()
	sameBucket := func() string {
		for {
			if id := authd.NewID(); s.MapKey(id) == s.MapKey(dead) {
				return id
			}
		}
	}
	live := realisticSession(authd.NewID())
	live.ID = sameBucket()
	if err := s.CreateSession(ctx, live); err != nil {
		t.Fatal(err)
	}
	redis.PutMapEntry(t, s, dead, storetest.NewHash(), time.Now().Add(-2*time.Minute))
	recent := authd.NewID()
	for s.MapKey(recent) != s.MapKey(dead) {
		recent = authd.NewID()
	}
	redis.PutMapEntry(t, s, recent, storetest.NewHash(), time.Now().Add(-time.Second))
	next := realisticSession(authd.NewID())
	next.ID = sameBucket()
	if err := s.CreateSession(ctx, next); err != nil {
		t.Fatal(err)
	}
	if redis.MapEntryExists(t, s, dead) {
		t.Error("an entry dead for two minutes is still in the id map")
	}
	if !redis.MapEntryExists(t, s, recent) {
		t.Error("an entry dead for a second (within the clock-skew margin) was dropped")
	}
	for _, x := range []*authd.Session{live, next} {
		if !redis.MapEntryExists(t, s, x.ID) {
			t.Errorf("the id map lost a live session's entry")
		}
		if err := s.TouchSession(ctx, x.ID, storetest.Now(), storetest.Now().Add(time.Hour)); err != nil {
			t.Errorf("TouchSession: %v", err)
		}
	}
}
