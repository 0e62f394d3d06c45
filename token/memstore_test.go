package token_test

// TEMPORARY in-memory stores, used only until the sqlite package exists.

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/authd/authd"
)

type memStore struct {
	mu     sync.Mutex
	keys   []*authd.Key
	fams   map[string]*authd.RefreshFamily
	hashes map[string]struct {
		fam string
		gen int
	}
	revs  []authd.Revocation
	users map[string]*authd.User
	audit []authd.AuditEvent
}

func newMemStore() *memStore {
	return &memStore{fams: map[string]*authd.RefreshFamily{}, hashes: map[string]struct {
		fam string
		gen int
	}{}, users: map[string]*authd.User{}}
}

func (m *memStore) EnsureKey(ctx context.Context, k *authd.Key) (*authd.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.keys {
		if x.RetiredAt.IsZero() {
			c := *x
			return &c, nil
		}
	}
	c := *k
	m.keys = append(m.keys, &c)
	return k, nil
}

func (m *memStore) RotateKey(ctx context.Context, k *authd.Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.keys {
		if x.ID == k.ID {
			return authd.ErrConflict
		}
	}
	for _, x := range m.keys {
		if x.RetiredAt.IsZero() {
			x.RetiredAt = k.CreatedAt
		}
	}
	c := *k
	m.keys = append(m.keys, &c)
	return nil
}

func (m *memStore) Keys(ctx context.Context, retiredAfter time.Time) ([]*authd.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*authd.Key
	for i := len(m.keys) - 1; i >= 0; i-- {
		x := m.keys[i]
		if x.RetiredAt.IsZero() {
			c := *x
			out = append([]*authd.Key{&c}, out...)
		} else if x.RetiredAt.After(retiredAfter) {
			c := *x
			out = append(out, &c)
		}
	}
	return out, nil
}

func (m *memStore) CreateFamily(ctx context.Context, f *authd.RefreshFamily, h []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.fams[f.ID]; ok {
		return authd.ErrConflict
	}
	c := *f
	m.fams[f.ID] = &c
	m.hashes[string(h)] = struct {
		fam string
		gen int
	}{f.ID, f.Generation}
	return nil
}

func (m *memStore) UpdateFamilyByToken(ctx context.Context, h []byte, fn func(f *authd.RefreshFamily, generation int) ([]byte, error)) (*authd.RefreshFamily, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.hashes[string(h)]
	if !ok {
		return nil, authd.ErrNotFound
	}
	c := *m.fams[e.fam]
	succ, err := fn(&c, e.gen)
	if err != nil {
		return nil, err
	}
	m.fams[e.fam] = &c
	if succ != nil {
		m.hashes[string(succ)] = struct {
			fam string
			gen int
		}{c.ID, c.Generation}
	}
	out := c
	return &out, nil
}

func (m *memStore) FamilyByID(ctx context.Context, id string) (*authd.RefreshFamily, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.fams[id]
	if !ok {
		return nil, authd.ErrNotFound
	}
	c := *f
	return &c, nil
}

func (m *memStore) RevokeFamily(ctx context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.fams[id]
	if !ok {
		return authd.ErrNotFound
	}
	if f.RevokedAt.IsZero() {
		f.RevokedAt = at
	}
	return nil
}

func (m *memStore) RevokeUserFamilies(ctx context.Context, userID string, at time.Time) ([]*authd.RefreshFamily, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []*authd.RefreshFamily{}
	for _, f := range m.fams {
		if f.UserID == userID && f.RevokedAt.IsZero() {
			f.RevokedAt = at
			c := *f
			out = append(out, &c)
		}
	}
	return out, nil
}

func (m *memStore) DeleteFamiliesBefore(ctx context.Context, t time.Time) (int, error) { return 0, nil }

func (m *memStore) Revoke(ctx context.Context, r authd.Revocation) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.revs = append(m.revs, r)
	return nil
}

func (m *memStore) RevokedSince(ctx context.Context, cursor string, now time.Time) ([]authd.Revocation, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	if cursor != "" {
		var err error
		if n, err = strconv.Atoi(cursor); err != nil || n < 0 || n > len(m.revs) {
			return nil, "", authd.Invalidf("since", "bad cursor")
		}
	}
	var out []authd.Revocation
	for _, r := range m.revs[n:] {
		if r.ExpiresAt.After(now) {
			out = append(out, r)
		}
	}
	return out, strconv.Itoa(len(m.revs)), nil
}

func (m *memStore) PruneRevocations(ctx context.Context, now time.Time) error { return nil }

func (m *memStore) CreateUser(ctx context.Context, u *authd.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[u.ID]; ok {
		return authd.ErrConflict
	}
	c := *u
	m.users[u.ID] = &c
	return nil
}
func (m *memStore) UserByID(ctx context.Context, id string) (*authd.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return nil, authd.ErrNotFound
	}
	c := *u
	return &c, nil
}
func (m *memStore) UserByEmail(ctx context.Context, email string) (*authd.User, error) {
	return nil, fmt.Errorf("unused")
}
func (m *memStore) SetPasswordHash(ctx context.Context, id, hash string, at time.Time) error {
	return nil
}
func (m *memStore) SetLocked(ctx context.Context, id string, locked bool, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return authd.ErrNotFound
	}
	u.Locked = locked
	return nil
}

func (m *memStore) RecordEvent(ctx context.Context, e authd.AuditEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.audit = append(m.audit, e)
	return nil
}

var _ = sort.Strings
var _ = bytes.Equal
