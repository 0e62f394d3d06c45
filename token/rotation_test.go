package token_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/jws"
	"github.com/authd/authd/token"
)

// eventually polls cond every 10 ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func run(t *testing.T, svc *token.Service) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

func jwksKIDs(t *testing.T, svc *token.Service) []string {
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			Alg string `json:"alg"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(svc.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

func TestKeyRotation(t *testing.T) {
	e := newEnv(t, authd.AlgEdDSA, func(c *token.Config) { c.KeyReload = 20 * time.Millisecond })
	run(t, e.svc)
	oldKID := e.key.ID
	before, _ := e.issue()
	// a token of the old key whose exp lies beyond the key's retirement
	// window: only the key's retirement can refuse it.
	long := e.forge(e.header(nil), e.payload(func(m map[string]any) { m["exp"] = e.clock.Now().Add(2 * time.Hour).Unix() }))
	if _, err := e.svc.Verify(e.ctx, long); err != nil {
		t.Fatal(err) // and now it is in the verify cache
	}

	e.clock.Advance(time.Minute)
	rotatedAt := e.clock.Now()
	k, err := token.RotateKey(e.ctx, e.db, authd.AlgES256, rotatedAt)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "new key picked up", func() bool { return e.svc.CurrentKID() == k.ID })
	after, c := e.issue()
	if _, kid := mustKID(t, after); kid != k.ID {
		t.Fatalf("new token kid %s, want %s", kid, k.ID)
	}
	for _, raw := range []string{before, after, long} {
		if _, err := e.svc.Verify(e.ctx, raw); err != nil {
			t.Fatalf("after rotation: %v", err)
		}
	}
	if kids := jwksKIDs(t, e.svc); len(kids) != 2 || kids[0] != k.ID || kids[1] != oldKID {
		t.Fatalf("JWKS kids = %v, want [%s %s]", kids, k.ID, oldKID)
	}
	if algs := e.svc.SigningAlgs(); len(algs) != 2 || algs[0] != authd.AlgES256 {
		t.Errorf("SigningAlgs = %v", algs)
	}

	// Just before RetiredAt+AccessTTL the old key still verifies.
	e.clock.Advance(e.cfg.AccessTTL - time.Second)
	if _, err := e.svc.Verify(e.ctx, long); err != nil {
		t.Fatalf("old key inside its window: %v", err)
	}
	// At RetiredAt+AccessTTL it is refused, from the cache as from the store...
	e.clock.Advance(time.Second)
	if _, err := e.svc.Verify(e.ctx, long); !errors.Is(err, authd.ErrUnauthenticated) {
		t.Fatalf("retired key past its window: err = %v", err)
	}
	// ...and dropped from the JWKS at the next reload.
	eventually(t, 5*time.Second, "old key dropped from JWKS", func() bool { return len(jwksKIDs(t, e.svc)) == 1 })
	if _, err := e.svc.Verify(e.ctx, long); !errors.Is(err, authd.ErrUnauthenticated) {
		t.Fatalf("retired key after reload: err = %v", err)
	}
	if _, err := e.svc.Verify(e.ctx, after); err != nil {
		t.Fatalf("new key: %v (claims %+v)", err, c)
	}
}

// A node whose reload loop has not yet run accepts a token of a key rotated
// in elsewhere at once: an unknown kid triggers one (rate-limited) reload.
func TestUnknownKIDReload(t *testing.T) {
	e := newEnv(t, authd.AlgEdDSA, func(c *token.Config) { c.KeyReload = time.Hour })
	k, err := token.RotateKey(e.ctx, e.db, "", e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if k.Alg != authd.AlgEdDSA {
		t.Errorf("RotateKey(\"\") alg = %s", k.Alg)
	}
	node2 := e.newService()
	raw, _, err := issueWith(e, node2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Verify(e.ctx, raw); err != nil {
		t.Fatalf("token of a key rotated elsewhere: %v", err)
	}
	if e.svc.CurrentKID() != k.ID {
		t.Error("the reload did not switch the signing key")
	}
}

func issueWith(e *env, svc *token.Service) (string, *authd.Claims, error) {
	p, err := svc.IssueForSession(e.ctx, &authd.Session{ID: "s", UserID: e.user.ID})
	return p.AccessToken, p.Claims, err
}

func mustKID(t *testing.T, raw string) (alg, kid string) {
	t.Helper()
	p, err := jws.ParseAccessToken(raw)
	if err != nil {
		t.Fatal(err)
	}
	return string(p.Alg), string(p.KID)
}

// Private key material never reaches the logs or fmt output.
func TestKeysNeverLogged(t *testing.T) {
	var logs strings.Builder
	var mu sync.Mutex
	e := newEnv(t, authd.AlgEdDSA, func(c *token.Config) {
		c.KeyReload = 10 * time.Millisecond
		c.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	run(t, e.svc)
	k, err := token.RotateKey(e.ctx, e.db, authd.AlgHS256, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "rotation", func() bool { return e.svc.CurrentKID() == k.ID })
	out := fmt.Sprintf("%v %+v %#v", e.svc, e.svc, e.svc)
	mu.Lock()
	out += logs.String()
	mu.Unlock()
	for _, key := range []*authd.Key{e.key, k} {
		for _, enc := range []string{b64(key.Private), hex.EncodeToString(key.Private), base64.StdEncoding.EncodeToString(key.Private), string(key.Private)} {
			if strings.Contains(out, enc) {
				t.Fatalf("private key of %s found in output", key.ID)
			}
		}
	}
	if !strings.Contains(out, k.ID) {
		t.Errorf("the rotation was not logged: %s", out)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
