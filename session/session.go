// Package session holds the rules of server-side sessions: creation with a
// fresh random ID on every login, lookup by cookie value, idle and absolute
// expiry, throttled last-seen updates, and revocation of one, all-but-one or
// all of a user's sessions. It depends on the root interfaces only, so the
// rules hold the same over every store.
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/authd/authd"
)

// TokenLen is the length of a cookie value: 32 random bytes, base64url without padding.
const TokenLen = 43

// Revoker puts entries on the revocation list. authd.RevocationList is one;
// so is *token.Revocations, which also updates the node's own copy at once.
type Revoker interface {
	Revoke(ctx context.Context, r authd.Revocation) error
}

// Manager applies the session rules over a SessionStore.
type Manager struct {
	store       authd.SessionStore
	revocations Revoker
	idle        time.Duration
	max         time.Duration
	touchEvery  time.Duration
	tokenTTL    time.Duration
	now         func() time.Time
	log         *slog.Logger
	ended       []func(ctx context.Context, userID string, ids []string)
}

// Config configures a Manager.
type Config struct {
	Idle time.Duration // a session unused this long is dead
	Max  time.Duration // a session older than this is dead, used or not
	// TouchEvery is the least time between two last-seen writes of one
	// session; 0 means min(Idle/10, 1 minute).
	TouchEvery time.Duration
	// AccessTTL is the lifetime of access tokens exchanged from a session:
	// revoking a session lists its id as a revoked sid for that long.
	AccessTTL time.Duration
	Now       func() time.Time
	Logger    *slog.Logger
}

// NewManager returns a Manager. revocations may be nil when no tokens are
// ever exchanged from sessions.
func NewManager(store authd.SessionStore, revocations Revoker, cfg Config) *Manager {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.TouchEvery <= 0 {
		cfg.TouchEvery = min(cfg.Idle/10, time.Minute)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{
		store: store, revocations: revocations,
		idle: cfg.Idle, max: cfg.Max, touchEvery: cfg.TouchEvery, tokenTTL: cfg.AccessTTL,
		now: cfg.Now, log: cfg.Logger,
	}
}

// Meta is what is recorded about the client that logs in.
type Meta struct {
	IP        string
	UserAgent string
	// AMR are the authentication methods of the sign-in (RFC 8176); nil
	// means a password alone.
	AMR []string
}

// PendingTTL is how long a pending sign-in (password done, second factor
// due) may be finished.
const PendingTTL = 5 * time.Minute

// Create starts a new session for u and returns the cookie value and the
// session. NOTE: the value is 256 bits from crypto/rand and is never stored:
// only its SHA-256 is, so a leaked database gives no live session (S1, S2).
// Every login calls Create, so every login gets a new ID (no fixation, S4).
func (m *Manager) Create(ctx context.Context, u *authd.User, meta Meta) (string, *authd.Session, error) {
	return m.create(ctx, u, meta, false)
}

// CreatePending starts a pending sign-in for u: a session that is good for
// PendingTTL and only for finishing the sign-in (LookupPending); Lookup
// refuses it everywhere else.
//
// NOTE: the pending sign-in is a session with a cookie of its own, and
// finishing it creates another (a new ID: SECURITY M4, S4); it never
// becomes a full session itself.
func (m *Manager) CreatePending(ctx context.Context, u *authd.User, meta Meta) (string, *authd.Session, error) {
	return m.create(ctx, u, meta, true)
}

func (m *Manager) create(ctx context.Context, u *authd.User, meta Meta, pending bool) (string, *authd.Session, error) {
	raw := make([]byte, 32)
	rand.Read(raw)
	token := base64.RawURLEncoding.EncodeToString(raw)
	now := m.now()
	s := &authd.Session{
		ID:                authd.NewID(),
		Hash:              Hash(token),
		UserID:            u.ID,
		Email:             u.Email,
		Roles:             u.Roles,
		CreatedAt:         now,
		LastSeenAt:        now,
		AbsoluteExpiresAt: now.Add(m.max),
		IP:                truncate(meta.IP, 64),
		UserAgent:         truncate(meta.UserAgent, 512),
		AMR:               meta.AMR,
		Pending:           pending,
	}
	if s.AMR == nil {
		s.AMR = []string{authd.AMRPassword}
	}
	if pending {
		s.AbsoluteExpiresAt = now.Add(min(PendingTTL, m.max))
	}
	s.ExpiresAt = m.expiry(s, now)
	if err := m.store.CreateSession(ctx, s); err != nil {
		return "", nil, fmt.Errorf("session: create: %w", err)
	}
	return token, s, nil
}

// Lookup returns the live session whose cookie value is token. A value of
// the wrong shape, an unknown, deleted or expired session is
// authd.ErrUnauthenticated; a store failure is authd.ErrUnavailable. A
// successful lookup extends the idle deadline, writing to the store at most
// once per TouchEvery.
//
// A pending sign-in is authd.ErrUnauthenticated here: it grants nothing
// (SECURITY M4).
func (m *Manager) Lookup(ctx context.Context, token string) (*authd.Session, error) {
	s, err := m.find(ctx, token)
	if err != nil {
		return nil, err
	}
	if s.Pending {
		return nil, authd.ErrUnauthenticated
	}
	now := m.now()
	// NOTE: last-seen is written at most once per touchEvery, not on every
	// request: the idle deadline moves by at least idle-touchEvery, which is
	// what ASVS asks, without a store write per request.
	if now.Sub(s.LastSeenAt) >= m.touchEvery {
		s.LastSeenAt = now
		s.ExpiresAt = m.expiry(s, now)
		if err := m.store.TouchSession(ctx, s.ID, s.LastSeenAt, s.ExpiresAt); err != nil {
			if errors.Is(err, authd.ErrNotFound) {
				return nil, authd.ErrUnauthenticated
			}
			// A failed touch does not make a valid session invalid; the
			// next request tries again.
			m.log.WarnContext(ctx, "session touch failed", "session_id", s.ID, "err", err)
		}
	}
	return s, nil
}

// LookupPending returns the pending sign-in whose cookie value is token;
// anything else (a full session included) is authd.ErrUnauthenticated.
func (m *Manager) LookupPending(ctx context.Context, token string) (*authd.Session, error) {
	s, err := m.find(ctx, token)
	if err != nil {
		return nil, err
	}
	if !s.Pending {
		return nil, authd.ErrUnauthenticated
	}
	return s, nil
}

// LookupAny returns the unexpired session or pending sign-in of the cookie
// value token, without touching it: for ending it.
func (m *Manager) LookupAny(ctx context.Context, token string) (*authd.Session, error) {
	return m.find(ctx, token)
}

// find returns the unexpired session of the cookie value token.
func (m *Manager) find(ctx context.Context, token string) (*authd.Session, error) {
	if !WellFormed(token) {
		return nil, authd.ErrUnauthenticated
	}
	s, err := m.store.SessionByHash(ctx, Hash(token))
	if errors.Is(err, authd.ErrNotFound) {
		return nil, authd.ErrUnauthenticated
	}
	if err != nil {
		return nil, fmt.Errorf("session: lookup: %w", err)
	}
	now := m.now()
	if !now.Before(s.ExpiresAt) || !now.Before(s.AbsoluteExpiresAt) {
		return nil, authd.ErrUnauthenticated
	}
	return s, nil
}

// expiry is the earlier of the idle and the absolute deadline.
func (m *Manager) expiry(s *authd.Session, lastSeen time.Time) time.Time {
	idle := lastSeen.Add(m.idle)
	if idle.After(s.AbsoluteExpiresAt) {
		return s.AbsoluteExpiresAt
	}
	return idle
}

// List returns the user's live sessions, newest first.
func (m *Manager) List(ctx context.Context, userID string) ([]*authd.Session, error) {
	ss, err := m.store.ListSessions(ctx, userID, m.now())
	if err != nil {
		return nil, fmt.Errorf("session: list: %w", err)
	}
	// A pending sign-in is no place the user is signed in.
	return slices.DeleteFunc(ss, func(s *authd.Session) bool { return s.Pending }), nil
}

// Revoke ends the user's session with public id id. Another user's id, or
// an unknown one, is authd.ErrNotFound.
func (m *Manager) Revoke(ctx context.Context, userID, id string) error {
	if err := m.store.DeleteSession(ctx, userID, id); err != nil {
		return fmt.Errorf("session: revoke: %w", err)
	}
	return m.endedSessions(ctx, userID, []string{id})
}

// OnEnd adds f to what runs after sessions end by Revoke or RevokeAll
// (every end but expiry), with the public ids of the ended sessions; the
// authorization server tells the clients that got tokens through them
// (back-channel logout). Call it before the Manager is used.
func (m *Manager) OnEnd(f func(ctx context.Context, userID string, ids []string)) {
	m.ended = append(m.ended, f)
}

// endedSessions revokes the tokens of ended sessions and runs the OnEnd
// functions.
func (m *Manager) endedSessions(ctx context.Context, userID string, ids []string) error {
	err := m.revokeTokens(ctx, ids)
	if len(ids) > 0 {
		for _, f := range m.ended {
			f(ctx, userID, ids)
		}
	}
	return err
}

// RevokeAll ends every session of the user except the one with public id
// except ("" ends them all) and returns the ids it ended.
func (m *Manager) RevokeAll(ctx context.Context, userID, except string) ([]string, error) {
	ids, err := m.store.DeleteUserSessions(ctx, userID, except)
	if err != nil {
		return nil, fmt.Errorf("session: revoke all: %w", err)
	}
	return ids, m.endedSessions(ctx, userID, ids)
}

// revokeTokens lists the ended sessions' ids as revoked sids, so that access
// tokens exchanged from them (POST /v1/session/token) die with them.
func (m *Manager) revokeTokens(ctx context.Context, ids []string) error {
	if m.revocations == nil || m.tokenTTL <= 0 {
		return nil
	}
	exp := m.now().Add(m.tokenTTL)
	for _, id := range ids {
		if err := m.revocations.Revoke(ctx, authd.Revocation{Kind: authd.RevokeSID, ID: id, ExpiresAt: exp}); err != nil {
			return fmt.Errorf("session: revoke tokens of %s: %w", id, err)
		}
	}
	return nil
}

// Hash is the store key of a cookie value.
func Hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// WellFormed reports whether token has the shape of a cookie value authd
// issues: exactly TokenLen base64url characters. Anything else is refused
// before it reaches the store.
func WellFormed(token string) bool {
	if len(token) != TokenLen {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so stored text stays valid UTF-8.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
