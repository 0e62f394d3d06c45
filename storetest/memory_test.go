package storetest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/authd/authd"
)

// memory is a reference implementation of every store interface, kept as
// plain as possible: one mutex over maps. The suite must pass against it,
// and fail against each of the broken variants in mutants_test.go.
type memory struct {
	mu       sync.Mutex
	users    map[string]authd.User
	sessions map[string]authd.Session // by id
	families map[string]authd.RefreshFamily
	tokens   map[string]token // by string(hash)
	keys     map[string]authd.Key
	revs     []rev // in order of seq
	seq      int
	failures map[string]window
	clients  map[string]authd.Client
	events   []authd.AuditEvent
	codes    map[string]authd.AuthCode   // by string(hash)
	consents map[[2]string]authd.Consent // by user id, client id
	links    map[[2]string]link          // by session id, client id
	outbox   map[string]authd.OutboxMessage
	idKey    *authd.Key
	totps    map[string]authd.TOTP
	recovery map[[2]string]bool // by user id, string(hash)
	passkeys map[string]authd.Passkey
	chals    map[string]challenge
	mails    map[string]authd.Link // mailed links, by string(hash)
	ups      map[string]authd.Upstream
	idents   map[[2]string]authd.Identity // by upstream id, subject
	replays  map[string]time.Time         // key → expiresAt
}

type challenge struct {
	data      []byte
	expiresAt time.Time
}

type link struct {
	userID    string
	expiresAt time.Time
}

type token struct {
	family     string
	generation int
}

type rev struct {
	seq int
	r   authd.Revocation
}

type window struct {
	count   int
	resetAt time.Time
}

func newMemory() *memory {
	return &memory{
		users:    map[string]authd.User{},
		sessions: map[string]authd.Session{},
		families: map[string]authd.RefreshFamily{},
		tokens:   map[string]token{},
		keys:     map[string]authd.Key{},
		failures: map[string]window{},
		clients:  map[string]authd.Client{},
		codes:    map[string]authd.AuthCode{},
		consents: map[[2]string]authd.Consent{},
		links:    map[[2]string]link{},
		outbox:   map[string]authd.OutboxMessage{},
		totps:    map[string]authd.TOTP{},
		recovery: map[[2]string]bool{},
		passkeys: map[string]authd.Passkey{},
		chals:    map[string]challenge{},
		mails:    map[string]authd.Link{},
		ups:      map[string]authd.Upstream{},
		idents:   map[[2]string]authd.Identity{},
		replays:  map[string]time.Time{},
	}
}

func (m *memory) lock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	m.mu.Lock()
	return nil
}

func (m *memory) CreateUser(ctx context.Context, u *authd.User) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.users[u.ID]; ok {
		return authd.ErrConflict
	}
	for _, v := range m.users {
		if v.Email == u.Email {
			return authd.ErrConflict
		}
	}
	c := *u
	c.Roles = slices.Clone(u.Roles)
	m.users[u.ID] = c
	return nil
}

func (m *memory) UserByID(ctx context.Context, id string) (*authd.User, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return nil, authd.ErrNotFound
	}
	u.Roles = slices.Clone(u.Roles)
	return &u, nil
}

func (m *memory) UserByEmail(ctx context.Context, email string) (*authd.User, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	for _, u := range m.users {
		if u.Email == email {
			u.Roles = slices.Clone(u.Roles)
			return &u, nil
		}
	}
	return nil, authd.ErrNotFound
}

func (m *memory) SetPasswordHash(ctx context.Context, id, hash string, at time.Time) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return authd.ErrNotFound
	}
	u.PasswordHash, u.UpdatedAt = hash, at
	m.users[id] = u
	return nil
}

func (m *memory) SetLocked(ctx context.Context, id string, locked bool, at time.Time) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return authd.ErrNotFound
	}
	u.Locked, u.UpdatedAt = locked, at
	m.users[id] = u
	return nil
}

func (m *memory) CreateSession(ctx context.Context, s *authd.Session) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.sessions[s.ID]; ok {
		return authd.ErrConflict
	}
	for _, x := range m.sessions {
		if bytes.Equal(x.Hash, s.Hash) {
			return authd.ErrConflict
		}
	}
	c := *s
	c.Hash, c.Roles, c.AMR = bytes.Clone(s.Hash), slices.Clone(s.Roles), slices.Clone(s.AMR)
	m.sessions[s.ID] = c
	return nil
}

func (m *memory) SessionByHash(ctx context.Context, hash []byte) (*authd.Session, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	for _, x := range m.sessions {
		if bytes.Equal(x.Hash, hash) && len(hash) > 0 {
			x.Hash, x.Roles, x.AMR = bytes.Clone(x.Hash), slices.Clone(x.Roles), slices.Clone(x.AMR)
			return &x, nil
		}
	}
	return nil, authd.ErrNotFound
}

func (m *memory) TouchSession(ctx context.Context, id string, lastSeen, expiresAt time.Time) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	x, ok := m.sessions[id]
	if !ok {
		return authd.ErrNotFound
	}
	x.LastSeenAt, x.ExpiresAt = lastSeen, expiresAt
	m.sessions[id] = x
	return nil
}

func (m *memory) ListSessions(ctx context.Context, userID string, now time.Time) ([]*authd.Session, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := []*authd.Session{}
	for _, x := range m.sessions {
		if x.UserID == userID && x.ExpiresAt.After(now) {
			x.Hash, x.Roles, x.AMR = bytes.Clone(x.Hash), slices.Clone(x.Roles), slices.Clone(x.AMR)
			out = append(out, &x)
		}
	}
	slices.SortFunc(out, func(a, b *authd.Session) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

func (m *memory) DeleteSession(ctx context.Context, userID, id string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	x, ok := m.sessions[id]
	if !ok || x.UserID != userID {
		return authd.ErrNotFound
	}
	delete(m.sessions, id)
	return nil
}

func (m *memory) DeleteUserSessions(ctx context.Context, userID, except string) ([]string, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	ids := []string{}
	for id, x := range m.sessions {
		if x.UserID == userID && id != except {
			delete(m.sessions, id)
			ids = append(ids, id)
		}
	}
	return ids, nil
}

func cloneFamily(f authd.RefreshFamily) *authd.RefreshFamily {
	f.Audience, f.Scopes, f.Secret = slices.Clone(f.Audience), slices.Clone(f.Scopes), bytes.Clone(f.Secret)
	return &f
}

func (m *memory) CreateFamily(ctx context.Context, f *authd.RefreshFamily, tokenHash []byte) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.families[f.ID]; ok {
		return authd.ErrConflict
	}
	if _, ok := m.tokens[string(tokenHash)]; ok {
		return authd.ErrConflict
	}
	m.families[f.ID] = *cloneFamily(*f)
	m.tokens[string(tokenHash)] = token{f.ID, f.Generation}
	return nil
}

func (m *memory) UpdateFamilyByToken(ctx context.Context, tokenHash []byte, fn func(f *authd.RefreshFamily, generation int) ([]byte, error)) (*authd.RefreshFamily, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	tok, ok := m.tokens[string(tokenHash)]
	if !ok {
		return nil, authd.ErrNotFound
	}
	orig := m.families[tok.family]
	f := cloneFamily(orig)
	succ, err := fn(f, tok.generation)
	if err != nil {
		return nil, err
	}
	saved := orig
	saved.Generation, saved.RotatedAt, saved.LastUsedAt, saved.RevokedAt = f.Generation, f.RotatedAt, f.LastUsedAt, f.RevokedAt
	if succ != nil {
		if t, ok := m.tokens[string(succ)]; ok && t != (token{saved.ID, saved.Generation}) {
			return nil, authd.ErrConflict
		}
		m.tokens[string(succ)] = token{saved.ID, saved.Generation}
	}
	m.families[saved.ID] = saved
	return cloneFamily(saved), nil
}

func (m *memory) FamilyByID(ctx context.Context, id string) (*authd.RefreshFamily, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	f, ok := m.families[id]
	if !ok {
		return nil, authd.ErrNotFound
	}
	return cloneFamily(f), nil
}

func (m *memory) RevokeFamily(ctx context.Context, id string, at time.Time) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	f, ok := m.families[id]
	if !ok {
		return authd.ErrNotFound
	}
	if f.RevokedAt.IsZero() {
		f.RevokedAt = at
		m.families[id] = f
	}
	return nil
}

func (m *memory) RevokeUserFamilies(ctx context.Context, userID string, at time.Time) ([]*authd.RefreshFamily, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := []*authd.RefreshFamily{}
	for id, f := range m.families {
		if f.UserID == userID && f.RevokedAt.IsZero() {
			f.RevokedAt = at
			m.families[id] = f
			out = append(out, cloneFamily(f))
		}
	}
	return out, nil
}

func (m *memory) RevokeClientFamilies(ctx context.Context, userID, clientID string, at time.Time) ([]*authd.RefreshFamily, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := []*authd.RefreshFamily{}
	for id, f := range m.families {
		if f.UserID == userID && f.ClientID == clientID && f.RevokedAt.IsZero() {
			f.RevokedAt = at
			m.families[id] = f
			out = append(out, cloneFamily(f))
		}
	}
	return out, nil
}

func (m *memory) DeleteFamiliesBefore(ctx context.Context, t time.Time) (int, error) {
	if err := m.lock(ctx); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	n := 0
	for id, f := range m.families {
		if f.ExpiresAt.Before(t) || (!f.RevokedAt.IsZero() && f.RevokedAt.Before(t)) {
			delete(m.families, id)
			n++
			for h, tok := range m.tokens {
				if tok.family == id {
					delete(m.tokens, h)
				}
			}
		}
	}
	return n, nil
}

func (m *memory) EnsureKey(ctx context.Context, k *authd.Key) (*authd.Key, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	for _, c := range m.keys {
		if c.RetiredAt.IsZero() {
			return &c, nil
		}
	}
	c := *k
	c.RetiredAt = time.Time{}
	m.keys[k.ID] = c
	return &c, nil
}

func (m *memory) RotateKey(ctx context.Context, k *authd.Key) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.keys[k.ID]; ok {
		return authd.ErrConflict
	}
	for id, c := range m.keys {
		if c.RetiredAt.IsZero() {
			c.RetiredAt = k.CreatedAt
			m.keys[id] = c
		}
	}
	c := *k
	c.RetiredAt = time.Time{}
	m.keys[k.ID] = c
	return nil
}

func (m *memory) Keys(ctx context.Context, retiredAfter time.Time) ([]*authd.Key, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	var out []*authd.Key
	for _, k := range m.keys {
		if k.RetiredAt.IsZero() || k.RetiredAt.After(retiredAfter) {
			out = append(out, &k)
		}
	}
	slices.SortFunc(out, func(a, b *authd.Key) int {
		if a.RetiredAt.IsZero() != b.RetiredAt.IsZero() {
			if a.RetiredAt.IsZero() {
				return -1
			}
			return 1
		}
		return b.CreatedAt.Compare(a.CreatedAt)
	})
	return out, nil
}

func (m *memory) Revoke(ctx context.Context, r authd.Revocation) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	for i, x := range m.revs {
		if x.r.Kind == r.Kind && x.r.ID == r.ID {
			if !r.ExpiresAt.After(x.r.ExpiresAt) {
				return nil
			}
			m.revs = slices.Delete(m.revs, i, i+1)
			break
		}
	}
	m.seq++
	m.revs = append(m.revs, rev{m.seq, r})
	return nil
}

func parseCursor(c string) (int, error) {
	if c == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(c, "m"))
	if err != nil || !strings.HasPrefix(c, "m") || n < 0 || strconv.Itoa(n) != c[1:] {
		return 0, authd.Invalidf("cursor", "malformed cursor")
	}
	return n, nil
}

func (m *memory) RevokedSince(ctx context.Context, cursor string, now time.Time) ([]authd.Revocation, string, error) {
	from, err := parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	if err := m.lock(ctx); err != nil {
		return nil, "", err
	}
	defer m.mu.Unlock()
	var out []authd.Revocation
	for _, x := range m.revs {
		if x.seq > from && x.r.ExpiresAt.After(now) {
			out = append(out, x.r)
		}
	}
	return out, "m" + strconv.Itoa(max(from, m.seq)), nil
}

func (m *memory) PruneRevocations(ctx context.Context, now time.Time) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.revs = slices.DeleteFunc(m.revs, func(x rev) bool { return x.r.ExpiresAt.Before(now) })
	return nil
}

func (m *memory) Failures(ctx context.Context, key string, now time.Time) (int, time.Time, error) {
	if err := m.lock(ctx); err != nil {
		return 0, time.Time{}, err
	}
	defer m.mu.Unlock()
	w, ok := m.failures[key]
	if !ok || !now.Before(w.resetAt) {
		return 0, time.Time{}, nil
	}
	return w.count, w.resetAt, nil
}

func (m *memory) AddFailure(ctx context.Context, key string, length time.Duration, now time.Time) (int, time.Time, error) {
	if err := m.lock(ctx); err != nil {
		return 0, time.Time{}, err
	}
	defer m.mu.Unlock()
	w, ok := m.failures[key]
	if !ok || !now.Before(w.resetAt) {
		w = window{0, now.Add(length)}
	}
	w.count++
	m.failures[key] = w
	return w.count, w.resetAt, nil
}

func (m *memory) ForgiveFailure(ctx context.Context, key string, now time.Time) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if w, ok := m.failures[key]; ok && now.Before(w.resetAt) && w.count > 0 {
		w.count--
		m.failures[key] = w
	}
	return nil
}

func (m *memory) ResetFailures(ctx context.Context, key string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	delete(m.failures, key)
	return nil
}

func (m *memory) CreateClient(ctx context.Context, c *authd.Client) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.clients[c.ID]; ok {
		return authd.ErrConflict
	}
	m.clients[c.ID] = *cloneClient(c)
	return nil
}

func (m *memory) ClientByID(ctx context.Context, id string) (*authd.Client, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	c, ok := m.clients[id]
	if !ok {
		return nil, authd.ErrNotFound
	}
	return cloneClient(&c), nil
}

func (m *memory) ListClients(ctx context.Context) ([]*authd.Client, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := []*authd.Client{}
	for _, id := range slices.Sorted(maps.Keys(m.clients)) {
		c := m.clients[id]
		out = append(out, cloneClient(&c))
	}
	return out, nil
}

func (m *memory) DeleteClient(ctx context.Context, id string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.clients[id]; !ok {
		return authd.ErrNotFound
	}
	delete(m.clients, id)
	return nil
}

// cloneClient copies c and its lists, so that no caller shares the store's.
func cloneClient(c *authd.Client) *authd.Client {
	x := *c
	x.RedirectURIs = slices.Clone(c.RedirectURIs)
	x.PostLogoutRedirectURIs = slices.Clone(c.PostLogoutRedirectURIs)
	x.Scopes = slices.Clone(c.Scopes)
	x.Grants = slices.Clone(c.Grants)
	return &x
}

func (m *memory) RecordEvent(ctx context.Context, e authd.AuditEvent) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	m.events = append(m.events, e)
	return nil
}

func (m *memory) AuditEvents(ctx context.Context) ([]authd.AuditEvent, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	return slices.Clone(m.events), nil
}

func cloneCode(c authd.AuthCode) *authd.AuthCode {
	c.Hash = bytes.Clone(c.Hash)
	c.Scopes, c.Audience, c.AMR = slices.Clone(c.Scopes), slices.Clone(c.Audience), slices.Clone(c.AMR)
	return &c
}

func (m *memory) CreateCode(ctx context.Context, c *authd.AuthCode) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.codes[string(c.Hash)]; ok {
		return authd.ErrConflict
	}
	x := *cloneCode(*c)
	x.UsedAt, x.TokenID, x.FamilyID, x.Reused = time.Time{}, "", "", false
	m.codes[string(c.Hash)] = x
	return nil
}

func (m *memory) RedeemCode(ctx context.Context, hash []byte, at time.Time, tokenID, familyID string) (*authd.AuthCode, bool, error) {
	if err := m.lock(ctx); err != nil {
		return nil, false, err
	}
	defer m.mu.Unlock()
	c, ok := m.codes[string(hash)]
	if !ok {
		return nil, false, authd.ErrNotFound
	}
	first := c.UsedAt.IsZero()
	if first {
		c.UsedAt, c.TokenID, c.FamilyID = at, tokenID, familyID
	} else {
		c.Reused = true
	}
	m.codes[string(hash)] = c
	return cloneCode(c), first, nil
}

func (m *memory) CodeReused(ctx context.Context, hash []byte) (bool, error) {
	if err := m.lock(ctx); err != nil {
		return false, err
	}
	defer m.mu.Unlock()
	c, ok := m.codes[string(hash)]
	if !ok {
		return false, authd.ErrNotFound
	}
	return c.Reused, nil
}

func (m *memory) DeleteCodesBefore(ctx context.Context, t time.Time) (int, error) {
	if err := m.lock(ctx); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	n := 0
	for h, c := range m.codes {
		if c.ExpiresAt.Before(t) {
			delete(m.codes, h)
			n++
		}
	}
	return n, nil
}

func (m *memory) PutConsent(ctx context.Context, c *authd.Consent) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	x := *c
	x.Scopes = slices.Clone(c.Scopes)
	m.consents[[2]string{c.UserID, c.ClientID}] = x
	return nil
}

func (m *memory) ConsentFor(ctx context.Context, userID, clientID string) (*authd.Consent, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	c, ok := m.consents[[2]string{userID, clientID}]
	if !ok {
		return nil, authd.ErrNotFound
	}
	c.Scopes = slices.Clone(c.Scopes)
	return &c, nil
}

func (m *memory) ListConsents(ctx context.Context, userID string) ([]*authd.Consent, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := []*authd.Consent{}
	for k, c := range m.consents {
		if k[0] == userID {
			c.Scopes = slices.Clone(c.Scopes)
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, func(a, b *authd.Consent) int { return strings.Compare(a.ClientID, b.ClientID) })
	return out, nil
}

func (m *memory) DeleteConsent(ctx context.Context, userID, clientID string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	k := [2]string{userID, clientID}
	if _, ok := m.consents[k]; !ok {
		return authd.ErrNotFound
	}
	delete(m.consents, k)
	return nil
}

func (m *memory) LinkSessionClient(ctx context.Context, sessionID, clientID, userID string, expiresAt time.Time) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	k := [2]string{sessionID, clientID}
	if l, ok := m.links[k]; ok && l.expiresAt.After(expiresAt) {
		expiresAt = l.expiresAt
	}
	m.links[k] = link{userID, expiresAt}
	return nil
}

func (m *memory) TakeSessionClients(ctx context.Context, sessionID string) ([]string, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := []string{}
	for k := range m.links {
		if k[0] == sessionID {
			delete(m.links, k)
			out = append(out, k[1])
		}
	}
	slices.Sort(out)
	return out, nil
}

func (m *memory) DeleteSessionClientsBefore(ctx context.Context, t time.Time) (int, error) {
	if err := m.lock(ctx); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	n := 0
	for k, l := range m.links {
		if l.expiresAt.Before(t) {
			delete(m.links, k)
			n++
		}
	}
	return n, nil
}

func cloneMessage(x authd.OutboxMessage) *authd.OutboxMessage {
	x.Body = bytes.Clone(x.Body)
	return &x
}

func (m *memory) Enqueue(ctx context.Context, msg *authd.OutboxMessage) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.outbox[msg.ID]; ok {
		return authd.ErrConflict
	}
	m.outbox[msg.ID] = *cloneMessage(*msg)
	return nil
}

func (m *memory) Claim(ctx context.Context, kind string, now time.Time, lease time.Duration, limit int) ([]*authd.OutboxMessage, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := []*authd.OutboxMessage{}
	for _, x := range m.outbox {
		if x.Kind == kind && !x.NextAt.After(now) {
			out = append(out, cloneMessage(x))
		}
	}
	slices.SortFunc(out, func(a, b *authd.OutboxMessage) int {
		if c := a.NextAt.Compare(b.NextAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	out = out[:min(len(out), max(limit, 0))]
	for _, x := range out {
		x.NextAt = now.Add(lease)
		x.Attempts++
		m.outbox[x.ID] = *cloneMessage(*x)
	}
	return out, nil
}

func (m *memory) Reschedule(ctx context.Context, id string, next time.Time, lastErr string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	x, ok := m.outbox[id]
	if !ok {
		return authd.ErrNotFound
	}
	x.NextAt, x.LastErr = next, lastErr
	m.outbox[id] = x
	return nil
}

func (m *memory) DeleteMessage(ctx context.Context, id string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	delete(m.outbox, id)
	return nil
}

var (
	_ authd.CodeStore          = (*memory)(nil)
	_ authd.ConsentStore       = (*memory)(nil)
	_ authd.SessionClientStore = (*memory)(nil)
	_ authd.Outbox             = (*memory)(nil)
)

var (
	_ authd.UserStore      = (*memory)(nil)
	_ authd.SessionStore   = (*memory)(nil)
	_ authd.RefreshStore   = (*memory)(nil)
	_ authd.KeyStore       = (*memory)(nil)
	_ authd.RevocationList = (*memory)(nil)
	_ authd.Limiter        = (*memory)(nil)
	_ authd.ClientStore    = (*memory)(nil)
	_ authd.AuditLog       = (*memory)(nil)
)

func (m *memory) EnsureIDKey(ctx context.Context, k *authd.Key) (*authd.Key, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	if m.idKey == nil {
		c := *k
		c.RetiredAt = time.Time{}
		m.idKey = &c
	}
	c := *m.idKey
	return &c, nil
}

var (
	_ authd.FactorStore    = (*memory)(nil)
	_ authd.ChallengeStore = (*memory)(nil)
)

func (m *memory) PutTOTP(ctx context.Context, t *authd.TOTP) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	c := *t
	c.Sealed = bytes.Clone(t.Sealed)
	m.totps[t.UserID] = c
	return nil
}

func (m *memory) TOTPOf(ctx context.Context, userID string) (*authd.TOTP, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	t, ok := m.totps[userID]
	if !ok {
		return nil, authd.ErrNotFound
	}
	t.Sealed = bytes.Clone(t.Sealed)
	return &t, nil
}

func (m *memory) ConfirmTOTP(ctx context.Context, userID string, step int64) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	t, ok := m.totps[userID]
	if !ok {
		return authd.ErrNotFound
	}
	t.Confirmed, t.LastStep = true, step
	m.totps[userID] = t
	return nil
}

func (m *memory) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	if err := m.lock(ctx); err != nil {
		return false, err
	}
	defer m.mu.Unlock()
	t, ok := m.totps[userID]
	if !ok {
		return false, authd.ErrNotFound
	}
	if !t.Confirmed || t.LastStep >= step {
		return false, nil
	}
	t.LastStep = step
	m.totps[userID] = t
	return true, nil
}

func (m *memory) DeleteTOTP(ctx context.Context, userID string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.totps[userID]; !ok {
		return authd.ErrNotFound
	}
	delete(m.totps, userID)
	return nil
}

func (m *memory) SetRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	for k := range m.recovery {
		if k[0] == userID {
			delete(m.recovery, k)
		}
	}
	for _, h := range hashes {
		m.recovery[[2]string{userID, string(h)}] = true
	}
	return nil
}

func (m *memory) UseRecoveryCode(ctx context.Context, userID string, hash []byte) (bool, error) {
	if err := m.lock(ctx); err != nil {
		return false, err
	}
	defer m.mu.Unlock()
	k := [2]string{userID, string(hash)}
	if !m.recovery[k] {
		return false, nil
	}
	delete(m.recovery, k)
	return true, nil
}

func (m *memory) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	if err := m.lock(ctx); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	n := 0
	for k := range m.recovery {
		if k[0] == userID {
			n++
		}
	}
	return n, nil
}

func clonePasskey(p authd.Passkey) *authd.Passkey {
	p.CredentialID, p.Credential = bytes.Clone(p.CredentialID), bytes.Clone(p.Credential)
	return &p
}

func (m *memory) AddPasskey(ctx context.Context, p *authd.Passkey) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.passkeys[p.ID]; ok {
		return authd.ErrConflict
	}
	for _, x := range m.passkeys {
		if bytes.Equal(x.CredentialID, p.CredentialID) {
			return authd.ErrConflict
		}
	}
	m.passkeys[p.ID] = *clonePasskey(*p)
	return nil
}

func (m *memory) Passkeys(ctx context.Context, userID string) ([]*authd.Passkey, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := []*authd.Passkey{}
	for _, p := range m.passkeys {
		if p.UserID == userID {
			out = append(out, clonePasskey(p))
		}
	}
	slices.SortFunc(out, func(a, b *authd.Passkey) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

func (m *memory) PasskeyByCredentialID(ctx context.Context, credentialID []byte) (*authd.Passkey, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	for _, p := range m.passkeys {
		if bytes.Equal(p.CredentialID, credentialID) {
			return clonePasskey(p), nil
		}
	}
	return nil, authd.ErrNotFound
}

func (m *memory) UsePasskey(ctx context.Context, id string, count uint32, at time.Time) (bool, error) {
	if err := m.lock(ctx); err != nil {
		return false, err
	}
	defer m.mu.Unlock()
	p, ok := m.passkeys[id]
	if !ok {
		return false, authd.ErrNotFound
	}
	if count <= p.SignCount && (count != 0 || p.SignCount != 0) {
		return false, nil
	}
	p.SignCount, p.LastUsedAt = count, at
	m.passkeys[id] = p
	return true, nil
}

func (m *memory) RenamePasskey(ctx context.Context, userID, id, name string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	p, ok := m.passkeys[id]
	if !ok || p.UserID != userID {
		return authd.ErrNotFound
	}
	p.Name = name
	m.passkeys[id] = p
	return nil
}

func (m *memory) DeletePasskey(ctx context.Context, userID, id string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	p, ok := m.passkeys[id]
	if !ok || p.UserID != userID {
		return authd.ErrNotFound
	}
	delete(m.passkeys, id)
	return nil
}

func (m *memory) DeleteFactors(ctx context.Context, userID string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	delete(m.totps, userID)
	for k := range m.recovery {
		if k[0] == userID {
			delete(m.recovery, k)
		}
	}
	for id, p := range m.passkeys {
		if p.UserID == userID {
			delete(m.passkeys, id)
		}
	}
	return nil
}

func (m *memory) PutChallenge(ctx context.Context, key string, data []byte, expiresAt time.Time) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.chals[key]; ok {
		return authd.ErrConflict
	}
	m.chals[key] = challenge{bytes.Clone(data), expiresAt}
	return nil
}

func (m *memory) TakeChallenge(ctx context.Context, key string, now time.Time) ([]byte, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	c, ok := m.chals[key]
	if !ok || c.expiresAt.Before(now) {
		return nil, authd.ErrNotFound
	}
	delete(m.chals, key)
	return c.data, nil
}

func (m *memory) DeleteChallengesBefore(ctx context.Context, t time.Time) (int, error) {
	if err := m.lock(ctx); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	n := 0
	for k, c := range m.chals {
		if c.expiresAt.Before(t) {
			delete(m.chals, k)
			n++
		}
	}
	return n, nil
}

var (
	_ authd.LinkStore     = (*memory)(nil)
	_ authd.UserDirectory = (*memory)(nil)
	_ authd.AuditReader   = (*memory)(nil)
)

// issueLocked is IssueLink with m.mu held; it checks every conflict
// before it writes anything.
func (m *memory) issueLocked(l *authd.Link, mails []*authd.OutboxMessage) error {
	if _, ok := m.mails[string(l.Hash)]; ok {
		return authd.ErrConflict
	}
	ids := map[string]bool{}
	for _, x := range mails {
		if _, ok := m.outbox[x.ID]; ok || ids[x.ID] {
			return authd.ErrConflict
		}
		ids[x.ID] = true
	}
	for h, x := range m.mails {
		if x.UserID == l.UserID && x.Purpose == l.Purpose {
			delete(m.mails, h)
		}
	}
	c := *l
	c.Hash = bytes.Clone(l.Hash)
	m.mails[string(l.Hash)] = c
	for _, x := range mails {
		m.outbox[x.ID] = *cloneMessage(*x)
	}
	return nil
}

func (m *memory) IssueLink(ctx context.Context, l *authd.Link, mails []*authd.OutboxMessage) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	return m.issueLocked(l, mails)
}

func (m *memory) CreateUserWithLink(ctx context.Context, u *authd.User, l *authd.Link, mails []*authd.OutboxMessage) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.users[u.ID]; ok {
		return authd.ErrConflict
	}
	for _, v := range m.users {
		if v.Email == u.Email {
			return authd.ErrConflict
		}
	}
	if err := m.issueLocked(l, mails); err != nil {
		return err
	}
	c := *u
	c.Roles = slices.Clone(u.Roles)
	m.users[u.ID] = c
	return nil
}

func (m *memory) TakeLink(ctx context.Context, hash []byte, purposes []string, now time.Time) (*authd.Link, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	l, ok := m.mails[string(hash)]
	if !ok || !slices.Contains(purposes, l.Purpose) || !l.ExpiresAt.After(now) {
		return nil, authd.ErrNotFound
	}
	delete(m.mails, string(hash))
	return &l, nil
}

func (m *memory) DeleteLinksBefore(ctx context.Context, t time.Time) (int, error) {
	if err := m.lock(ctx); err != nil {
		return 0, err
	}
	defer m.mu.Unlock()
	n := 0
	for h, l := range m.mails {
		if l.ExpiresAt.Before(t) {
			delete(m.mails, h)
			n++
		}
	}
	return n, nil
}

func (m *memory) SetEmail(ctx context.Context, id, email string, verified bool, at time.Time) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return authd.ErrNotFound
	}
	for _, v := range m.users {
		if v.Email == email && v.ID != id {
			return authd.ErrConflict
		}
	}
	u.Email, u.EmailVerified, u.UpdatedAt = email, verified, at
	m.users[id] = u
	return nil
}

func (m *memory) SetRoles(ctx context.Context, id string, roles []string, at time.Time) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return authd.ErrNotFound
	}
	u.Roles, u.UpdatedAt = slices.Clone(roles), at
	m.users[id] = u
	return nil
}

func checkLimit(n int) error {
	if n < 1 || n > 1000 {
		return authd.Invalidf("limit", "limit must be 1 to 1000")
	}
	return nil
}

// A user cursor is "u" and the base64url of the last id.
func parseUserCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(c, "u"))
	if err != nil || len(b) == 0 || len(b) > 1024 || "u"+base64.RawURLEncoding.EncodeToString(b) != c {
		return "", authd.Invalidf("cursor", "malformed cursor")
	}
	return string(b), nil
}

func (m *memory) ListUsers(ctx context.Context, q authd.UserQuery) ([]*authd.User, string, error) {
	if err := checkLimit(q.Limit); err != nil {
		return nil, "", err
	}
	after, err := parseUserCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	if err := m.lock(ctx); err != nil {
		return nil, "", err
	}
	defer m.mu.Unlock()
	out := []*authd.User{}
	for _, id := range slices.Sorted(maps.Keys(m.users)) {
		u := m.users[id]
		if id <= after || !strings.Contains(strings.ToLower(u.Email), strings.ToLower(q.Query)) {
			continue
		}
		if len(out) == q.Limit {
			return out, "u" + base64.RawURLEncoding.EncodeToString([]byte(out[len(out)-1].ID)), nil
		}
		u.Roles = slices.Clone(u.Roles)
		out = append(out, &u)
	}
	return out, "", nil
}

func (m *memory) DeleteUser(ctx context.Context, id string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.users[id]; !ok {
		return authd.ErrNotFound
	}
	delete(m.users, id)
	for k, x := range m.sessions {
		if x.UserID == id {
			delete(m.sessions, k)
		}
	}
	for k, f := range m.families {
		if f.UserID == id {
			delete(m.families, k)
			for h, tok := range m.tokens {
				if tok.family == k {
					delete(m.tokens, h)
				}
			}
		}
	}
	delete(m.totps, id)
	for k := range m.recovery {
		if k[0] == id {
			delete(m.recovery, k)
		}
	}
	for k, p := range m.passkeys {
		if p.UserID == id {
			delete(m.passkeys, k)
		}
	}
	for k := range m.consents {
		if k[0] == id {
			delete(m.consents, k)
		}
	}
	for k, c := range m.codes {
		if c.UserID == id {
			delete(m.codes, k)
		}
	}
	for k, l := range m.links {
		if l.userID == id {
			delete(m.links, k)
		}
	}
	for k, l := range m.mails {
		if l.UserID == id {
			delete(m.mails, k)
		}
	}
	for k, x := range m.outbox {
		if x.UserID == id && x.Kind == authd.OutboxMail {
			delete(m.outbox, k)
		}
	}
	for k, x := range m.idents {
		if x.UserID == id {
			delete(m.idents, k)
		}
	}
	return nil
}

// An event cursor is "e" and the decimal position (from 1) of the last
// event of the page in m.events.
func parseEventCursor(c string) (int, error) {
	if c == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(c, "e"))
	if err != nil || n < 1 || "e"+strconv.Itoa(n) != c {
		return 0, authd.Invalidf("cursor", "malformed cursor")
	}
	return n, nil
}

// keepEvent reports whether q's filters keep e.
func keepEvent(q authd.AuditQuery, e authd.AuditEvent) bool {
	return (q.UserID == "" || e.UserID == q.UserID) && (q.Event == "" || e.Event == q.Event) &&
		(q.Since.IsZero() || !e.At.Before(q.Since))
}

func (m *memory) ListEvents(ctx context.Context, q authd.AuditQuery) ([]authd.AuditEvent, string, error) {
	if err := checkLimit(q.Limit); err != nil {
		return nil, "", err
	}
	before, err := parseEventCursor(q.Cursor)
	if err != nil {
		return nil, "", err
	}
	if err := m.lock(ctx); err != nil {
		return nil, "", err
	}
	defer m.mu.Unlock()
	if before == 0 {
		before = len(m.events) + 1
	}
	out, last := []authd.AuditEvent{}, 0
	for pos := min(before, len(m.events)+1) - 1; pos >= 1; pos-- {
		e := m.events[pos-1]
		if !keepEvent(q, e) {
			continue
		}
		if len(out) == q.Limit {
			return out, "e" + strconv.Itoa(last), nil
		}
		out, last = append(out, e), pos
	}
	return out, "", nil
}

var (
	_ authd.UpstreamStore = (*memory)(nil)
	_ authd.IdentityStore = (*memory)(nil)
)

// cloneUpstream copies u and its secret and scopes, so that no caller
// shares the store's.
func cloneUpstream(u authd.Upstream) *authd.Upstream {
	u.SecretSealed = bytes.Clone(u.SecretSealed)
	u.Scopes = slices.Clone(u.Scopes)
	return &u
}

func (m *memory) CreateUpstream(ctx context.Context, u *authd.Upstream) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.ups[u.ID]; ok {
		return authd.ErrConflict
	}
	m.ups[u.ID] = *cloneUpstream(*u)
	return nil
}

func (m *memory) UpstreamByID(ctx context.Context, id string) (*authd.Upstream, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	u, ok := m.ups[id]
	if !ok {
		return nil, authd.ErrNotFound
	}
	return cloneUpstream(u), nil
}

func (m *memory) ListUpstreams(ctx context.Context) ([]*authd.Upstream, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := []*authd.Upstream{}
	for _, id := range slices.Sorted(maps.Keys(m.ups)) {
		out = append(out, cloneUpstream(m.ups[id]))
	}
	return out, nil
}

func (m *memory) DeleteUpstream(ctx context.Context, id string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.ups[id]; !ok {
		return authd.ErrNotFound
	}
	delete(m.ups, id)
	for k := range m.idents {
		if k[0] == id {
			delete(m.idents, k)
		}
	}
	return nil
}

// linkLocked is LinkIdentity with m.mu held.
func (m *memory) linkLocked(i *authd.Identity) error {
	if _, ok := m.idents[[2]string{i.UpstreamID, i.Subject}]; ok {
		return authd.ErrConflict
	}
	for _, x := range m.idents {
		if x.UserID == i.UserID && x.UpstreamID == i.UpstreamID {
			return authd.ErrConflict
		}
	}
	m.idents[[2]string{i.UpstreamID, i.Subject}] = *i
	return nil
}

func (m *memory) LinkIdentity(ctx context.Context, i *authd.Identity) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	return m.linkLocked(i)
}

func (m *memory) CreateUserWithIdentity(ctx context.Context, u *authd.User, i *authd.Identity) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	if _, ok := m.users[u.ID]; ok {
		return authd.ErrConflict
	}
	for _, v := range m.users {
		if v.Email == u.Email {
			return authd.ErrConflict
		}
	}
	if err := m.linkLocked(i); err != nil {
		return err
	}
	c := *u
	c.Roles = slices.Clone(u.Roles)
	m.users[u.ID] = c
	return nil
}

func (m *memory) IdentityBySubject(ctx context.Context, upstreamID, subject string) (*authd.Identity, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	i, ok := m.idents[[2]string{upstreamID, subject}]
	if !ok {
		return nil, authd.ErrNotFound
	}
	return &i, nil
}

func (m *memory) ListIdentities(ctx context.Context, userID string) ([]*authd.Identity, error) {
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.mu.Unlock()
	out := []*authd.Identity{}
	for _, i := range m.idents {
		if i.UserID == userID {
			out = append(out, &i)
		}
	}
	slices.SortFunc(out, func(a, b *authd.Identity) int { return strings.Compare(a.UpstreamID, b.UpstreamID) })
	return out, nil
}

func (m *memory) UnlinkIdentity(ctx context.Context, userID, upstreamID string) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	for k, i := range m.idents {
		if i.UserID == userID && i.UpstreamID == upstreamID {
			delete(m.idents, k)
			return nil
		}
	}
	return authd.ErrNotFound
}

var _ authd.ReplaySet = (*memory)(nil)

func (m *memory) Remember(ctx context.Context, key string, expiresAt, now time.Time) (bool, error) {
	if err := m.lock(ctx); err != nil {
		return false, err
	}
	defer m.mu.Unlock()
	if exp, ok := m.replays[key]; ok && !exp.Before(now) {
		return false, nil
	}
	m.replays[key] = expiresAt
	return true, nil
}

func (m *memory) PruneReplays(ctx context.Context, now time.Time) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.mu.Unlock()
	for k, exp := range m.replays {
		if exp.Before(now) {
			delete(m.replays, k)
		}
	}
	return nil
}
