package account_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/account"
	"github.com/authd/authd/password"
	"github.com/authd/authd/session"
	"github.com/authd/authd/sqlite"
)

func TestValidateEmail(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"ann@example.com", true},
		{"a.b+tag@sub.example.org", true},
		{"", false},
		{"ann", false},
		{"Ann <ann@example.com>", false},
		{"ann@example.com, bob@example.com", false},
		{"ann @example.com", false},
		{string(make([]byte, 300)) + "@example.com", false},
	}
	for _, tt := range tests {
		err := account.ValidateEmail(account.NormalizeEmail(tt.in))
		var inv *authd.InvalidError
		if tt.ok != (err == nil) || (err != nil && !errors.As(err, &inv)) {
			t.Errorf("%q: %v", tt.in, err)
		}
	}
	if got := account.NormalizeEmail("  Ann@Example.COM "); got != "ann@example.com" {
		t.Errorf("normalised %q", got)
	}
}

func newService(t *testing.T) (*account.Service, *sqlite.DB, *session.Manager) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sessions := session.NewManager(db, db, session.Config{Idle: time.Hour, Max: time.Hour, AccessTTL: time.Minute})
	h := password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 2)
	return account.NewService(db, db, db, h, sessions, nil, account.Config{MaxFailures: 3, MaxFailuresIP: 100, Window: time.Minute}), db, sessions
}

const pw = "correct horse battery staple"

func TestRehashOnLogin(t *testing.T) {
	ctx := context.Background()
	svc, db, _ := newService(t)
	u, err := svc.Register(ctx, "ann@example.com", pw)
	if err != nil {
		t.Fatal(err)
	}
	// A hash made at weaker parameters than the service's is upgraded on
	// the next successful login.
	weak := password.NewHasher(password.Params{Memory: 32, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1)
	old, _ := weak.Hash(ctx, pw)
	if err := db.SetPasswordHash(ctx, u.ID, old, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, "ann@example.com", pw, account.Meta{IP: "192.0.2.1"}); err != nil {
		t.Fatal(err)
	}
	got, _ := db.UserByID(ctx, u.ID)
	if got.PasswordHash == old {
		t.Fatal("hash not upgraded after login")
	}
	if _, err := svc.Authenticate(ctx, "ann@example.com", pw, account.Meta{}); err != nil {
		t.Fatalf("upgraded hash does not verify: %v", err)
	}
}

func TestLockEndsSessions(t *testing.T) {
	ctx := context.Background()
	svc, _, sessions := newService(t)
	u, _ := svc.Register(ctx, "ann@example.com", pw)
	tok, _, _ := sessions.Create(ctx, u, session.Meta{})
	if err := svc.Lock(ctx, "ANN@example.com", true); err != nil {
		t.Fatal(err)
	}
	if _, err := sessions.Lookup(ctx, tok); !errors.Is(err, authd.ErrUnauthenticated) {
		t.Fatalf("session after lock: %v", err)
	}
	if _, err := svc.Authenticate(ctx, "ann@example.com", pw, account.Meta{}); !errors.Is(err, authd.ErrInvalidCredentials) {
		t.Fatalf("login while locked: %v", err)
	}
	if err := svc.Lock(ctx, "ann@example.com", false); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, "ann@example.com", pw, account.Meta{}); err != nil {
		t.Fatalf("login after unlock: %v", err)
	}
	if err := svc.Lock(ctx, "nobody@example.com", true); !errors.Is(err, authd.ErrNotFound) {
		t.Fatalf("lock unknown: %v", err)
	}
}

// TestPasswordPolicyKnowsTheUser: a password that is mostly the user's own
// email is refused at registration, on a change and when set by an
// administrator (SECURITY P3), with a reason that says so.
func TestPasswordPolicyKnowsTheUser(t *testing.T) {
	ctx := context.Background()
	svc, _, _ := newService(t)
	const email = "annabelle.smith@example.com"
	mostlyEmail := "annabellesmith@example.com1"
	wantEmailReason := func(t *testing.T, what string, err error) {
		t.Helper()
		var inv *authd.InvalidError
		if !errors.As(err, &inv) || !strings.Contains(inv.Message, "email") {
			t.Fatalf("%s with a password made of the email: %v, want a refusal that names the email", what, err)
		}
	}
	_, err := svc.Register(ctx, email, mostlyEmail)
	wantEmailReason(t, "Register", err)
	u, err := svc.Register(ctx, email, pw)
	if err != nil {
		t.Fatal(err)
	}
	wantEmailReason(t, "ChangePassword", svc.ChangePassword(ctx, u.ID, pw, mostlyEmail, "", account.Meta{}))
	wantEmailReason(t, "SetPassword", svc.SetPassword(ctx, email, mostlyEmail))
	// Someone else may use it: it is not their email.
	if _, err := svc.Register(ctx, "bob@example.org", mostlyEmail); err != nil {
		t.Fatalf("another user's password that happens to contain an email: %v", err)
	}
}
