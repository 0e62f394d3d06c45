package mfa_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol/webauthncbor"

	"github.com/authd/authd"
	"github.com/authd/authd/mfa"
)

// clock is a settable clock for the Service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// auditLog keeps the events recorded.
type auditLog struct {
	mu     sync.Mutex
	events []authd.AuditEvent
}

func (a *auditLog) RecordEvent(_ context.Context, e authd.AuditEvent) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
	return nil
}

// count returns how many events named event the user has.
func (a *auditLog) count(event, userID string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, e := range a.events {
		if e.Event == event && e.UserID == userID {
			n++
		}
	}
	return n
}

// last returns the last event named event.
func (a *auditLog) last(event string) (authd.AuditEvent, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := len(a.events) - 1; i >= 0; i-- {
		if a.events[i].Event == event {
			return a.events[i], true
		}
	}
	return authd.AuditEvent{}, false
}

const (
	testRPID   = "auth.example.com"
	testOrigin = "https://auth.example.com"
)

// fixture is a Service over a fresh store.
type fixture struct {
	svc    *mfa.Service
	store  testStore
	clock  *clock
	audit  *auditLog
	sealer *mfa.Sealer
}

func newFixture(t testing.TB) *fixture {
	return newFixtureConfig(t, mfa.Config{})
}

// newFixtureConfig fills in RPID, RPOrigins, Issuer and Now when unset.
func newFixtureConfig(t testing.TB, cfg mfa.Config) *fixture {
	t.Helper()
	key := make([]byte, mfa.KeySize)
	rand.Read(key)
	sealer, err := mfa.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: newStore(t), clock: &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}, audit: &auditLog{}, sealer: sealer}
	if cfg.RPID == "" && cfg.RPOrigins == nil {
		cfg.RPID, cfg.RPOrigins = testRPID, []string{testOrigin}
	}
	if cfg.Issuer == "" {
		cfg.Issuer = "authd test"
	}
	if cfg.Now == nil {
		cfg.Now = f.clock.Now
	}
	f.svc, err = mfa.New(cfg, f.store, f.store, sealer, f.audit)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// user creates a user in the store.
func (f *fixture) user(t testing.TB, email string) *authd.User {
	t.Helper()
	u := &authd.User{ID: authd.NewID(), Email: email, PasswordHash: "x", CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now()}
	if err := f.store.CreateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// b64 is WebAuthn's base64url without padding.
var b64 = base64.RawURLEncoding

// authenticator is a software WebAuthn authenticator with one ES256
// credential, producing what a browser would send (attestation "none").
type authenticator struct {
	rpID       string // the RP id it hashes (a phishing site would use its own)
	origin     string // the origin the "browser" puts in clientDataJSON
	key        *ecdsa.PrivateKey
	credID     []byte
	userHandle []byte
	counter    uint32
	uv         bool
	noUP       bool // answer without user presence (no touch)
}

func newAuthenticator(t testing.TB) *authenticator {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	rand.Read(id)
	return &authenticator{rpID: testRPID, origin: testOrigin, key: k, credID: id, uv: true}
}

func (a *authenticator) flags(attested bool) byte {
	f := byte(0x01) // UP
	if a.noUP {
		f = 0
	}
	if a.uv {
		f |= 0x04
	}
	if attested {
		f |= 0x40
	}
	return f
}

func (a *authenticator) authData(attested bool) []byte {
	h := sha256.Sum256([]byte(a.rpID))
	var b bytes.Buffer
	b.Write(h[:])
	b.WriteByte(a.flags(attested))
	binary.Write(&b, binary.BigEndian, a.counter)
	if attested {
		b.Write(make([]byte, 16)) // AAGUID
		binary.Write(&b, binary.BigEndian, uint16(len(a.credID)))
		b.Write(a.credID)
		pub, err := a.key.PublicKey.Bytes() // 0x04 || X || Y
		if err != nil {
			panic(err)
		}
		cose, err := webauthncbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pub[1:33], -3: pub[33:65]})
		if err != nil {
			panic(err)
		}
		b.Write(cose)
	}
	return b.Bytes()
}

func (a *authenticator) clientData(typ, challenge string) []byte {
	cd, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": a.origin, "crossOrigin": false})
	return cd
}

// create answers navigator.credentials.create with options.
func (a *authenticator) create(t testing.TB, options []byte) []byte {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			User      struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatalf("creation options: %v\n%s", err, options)
	}
	uh, err := b64.DecodeString(o.PublicKey.User.ID)
	if err != nil {
		t.Fatalf("user.id: %v", err)
	}
	a.userHandle = uh
	att, err := webauthncbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": a.authData(true)})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(a.clientData("webauthn.create", o.PublicKey.Challenge)),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults": map[string]any{},
	})
	return out
}

// get answers navigator.credentials.get with options, advancing the
// counter by one first.
func (a *authenticator) get(t testing.TB, options []byte) []byte {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil {
		t.Fatalf("request options: %v\n%s", err, options)
	}
	a.counter++
	return a.assert(t, o.PublicKey.Challenge)
}

// assert signs an assertion for challenge with the current counter.
func (a *authenticator) assert(t testing.TB, challenge string) []byte {
	t.Helper()
	ad := a.authData(false)
	cd := a.clientData("webauthn.get", challenge)
	h := sha256.Sum256(cd)
	d := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(map[string]any{
		"id": b64.EncodeToString(a.credID), "rawId": b64.EncodeToString(a.credID), "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cd),
			"authenticatorData": b64.EncodeToString(ad),
			"signature":         b64.EncodeToString(sig),
			"userHandle":        b64.EncodeToString(a.userHandle),
		},
		"clientExtensionResults": map[string]any{},
	})
	return out
}

// register adds a's credential to user through the Service.
func (f *fixture) register(t testing.TB, user *authd.User, a *authenticator, name string) (*authd.Passkey, []string) {
	t.Helper()
	ctx := context.Background()
	opts, err := f.svc.BeginRegistration(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	p, codes, err := f.svc.FinishRegistration(ctx, user, name, a.create(t, opts))
	if err != nil {
		t.Fatalf("FinishRegistration: %v", err)
	}
	return p, codes
}
