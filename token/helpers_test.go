package token_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authd/authd"
	"github.com/authd/authd/token"
)

// fakeClock is the injected clock of the tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Now().UTC().Truncate(time.Second)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// storeAll is every store interface the token package uses, as one store
// (the sqlite.DB) implements them.
type storeAll interface {
	authd.KeyStore
	authd.IDKeyStore
	authd.RefreshStore
	authd.RevocationList
	authd.UserStore
	authd.AuditLog
}

// auditRecorder forwards events to the store and keeps a copy to assert on.
type auditRecorder struct {
	next   authd.AuditLog
	mu     sync.Mutex
	events []authd.AuditEvent
}

func (a *auditRecorder) RecordEvent(ctx context.Context, e authd.AuditEvent) error {
	a.mu.Lock()
	a.events = append(a.events, e)
	a.mu.Unlock()
	return a.next.RecordEvent(ctx, e)
}

func (a *auditRecorder) count(event string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, e := range a.events {
		if e.Event == event {
			n++
		}
	}
	return n
}

// testKeys holds the keys generated once per test binary (RSA generation
// is slow), by alg and index.
var testKeys sync.Map

func testKey(t testing.TB, alg string, i int) *authd.Key {
	t.Helper()
	id := fmt.Sprintf("%s/%d", alg, i)
	if k, ok := testKeys.Load(id); ok {
		c := *k.(*authd.Key)
		return &c
	}
	k, err := token.NewKey(alg, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	k2, _ := testKeys.LoadOrStore(id, k)
	c := *k2.(*authd.Key)
	return &c
}

const testIssuer = "https://authd.test"

type env struct {
	t     testing.TB
	ctx   context.Context
	clock *fakeClock
	db    storeAll
	audit *auditRecorder
	cfg   token.Config
	svc   *token.Service
	user  *authd.User
	key   *authd.Key // the current key at start, with its private part
}

// newEnv opens a fresh store seeded with the per-binary key of alg (index
// keyIndex) and starts a Service on it.
func newEnv(t testing.TB, alg string, opts ...func(*token.Config)) *env {
	return newEnvKey(t, alg, 0, opts...)
}

func newEnvKey(t testing.TB, alg string, keyIndex int, opts ...func(*token.Config)) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, ctx: ctx, clock: newClock(), db: openStore(t)}
	e.audit = &auditRecorder{next: e.db}
	e.key = testKey(t, alg, keyIndex)
	e.key.CreatedAt = e.clock.Now()
	if _, err := e.db.EnsureKey(ctx, e.key); err != nil {
		t.Fatal(err)
	}
	e.cfg = token.DefaultConfig(testIssuer, "api", "other")
	e.cfg.Alg = alg
	e.cfg.Now = e.clock.Now
	for _, o := range opts {
		o(&e.cfg)
	}
	e.svc = e.newService()
	e.user = e.newUser("alice")
	return e
}

func (e *env) stores() token.Stores {
	return token.Stores{Keys: e.db, IDKeys: e.db, Refresh: e.db, Revocations: e.db, Users: e.db, Audit: e.audit}
}

// newService starts another Service on the same store: another node.
func (e *env) newService() *token.Service {
	e.t.Helper()
	svc, err := token.New(e.ctx, e.cfg, e.stores())
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

func (e *env) newUser(name string) *authd.User {
	e.t.Helper()
	u := &authd.User{ID: "u-" + name + "-" + randHex(4), Email: name + "@example.com", PasswordHash: "x",
		Roles: []string{"admin", "dev"}, CreatedAt: e.clock.Now(), UpdatedAt: e.clock.Now()}
	if err := e.db.CreateUser(e.ctx, u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = cryptoRandRead(b)
	return fmt.Sprintf("%x", b)
}

// issue returns a fresh access token for the env's user.
func (e *env) issue() (string, *authd.Claims) {
	e.t.Helper()
	p, err := e.svc.IssueForSession(e.ctx, &authd.Session{ID: "sess-" + randHex(6), UserID: e.user.ID, Email: e.user.Email, Roles: e.user.Roles})
	if err != nil {
		e.t.Fatal(err)
	}
	return p.AccessToken, p.Claims
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// privateOf returns the signing key of k as golang-jwt takes it.
func privateOf(t testing.TB, k *authd.Key) any {
	t.Helper()
	if k.Alg == authd.AlgHS256 {
		return k.Private
	}
	p, err := x509.ParsePKCS8PrivateKey(k.Private)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// signRaw signs header and payload JSON exactly as given with alg and key.
func signRaw(t testing.TB, alg string, key any, header, payload string) string {
	t.Helper()
	in := b64([]byte(header)) + "." + b64([]byte(payload))
	sig, err := jwt.GetSigningMethod(alg).Sign(in, key)
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + b64(sig)
}

// header returns the JSON of a valid header for the env's key, changed by mod.
func (e *env) header(mod func(m map[string]any)) string {
	m := map[string]any{"alg": e.key.Alg, "kid": e.key.ID, "typ": "at+jwt"}
	if mod != nil {
		mod(m)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// payload returns the JSON of valid claims, changed by mod.
func (e *env) payload(mod func(m map[string]any)) string {
	now := e.clock.Now().Unix()
	m := map[string]any{"iss": testIssuer, "sub": e.user.ID, "aud": []string{"api"}, "exp": now + 600,
		"iat": now, "nbf": now, "jti": "jti-" + randHex(8), "sid": "sid-1", "email": e.user.Email, "roles": []string{"dev"}}
	if mod != nil {
		mod(m)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// forge signs header and payload with the env's real key.
func (e *env) forge(header, payload string) string {
	return signRaw(e.t, e.key.Alg, privateOf(e.t, e.key), header, payload)
}
