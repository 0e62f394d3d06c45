package mfa_test

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/authd/authd"
	"github.com/authd/authd/mfa"
)

// code returns the TOTP code of secret at t.
func code(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrolTOTP enrols and confirms an authenticator app for user and returns
// its secret and the recovery codes ConfirmTOTP gave.
func (f *fixture) enrolTOTP(t testing.TB, user *authd.User) (string, []string) {
	t.Helper()
	ctx := context.Background()
	e, err := f.svc.BeginTOTP(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	codes, err := f.svc.ConfirmTOTP(ctx, user.ID, code(t, e.Secret, f.clock.Now()))
	if err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	// The confirming code's step is spent: move two steps on, so that
	// now-1 is fresh too.
	f.clock.Add(time.Minute)
	return e.Secret, codes
}

func TestBeginTOTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	u := f.user(t, "alice@example.com")
	e, err := f.svc.BeginTOTP(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil || len(secret) != 20 {
		t.Fatalf("secret %q: %d bytes, %v; want 20 (160 bits)", e.Secret, len(secret), err)
	}
	uri, err := url.Parse(e.URI)
	if err != nil || uri.Scheme != "otpauth" || uri.Host != "totp" {
		t.Fatalf("URI %q", e.URI)
	}
	q := uri.Query()
	if q.Get("secret") != e.Secret || q.Get("issuer") != "authd test" || q.Get("digits") != "6" ||
		q.Get("period") != "30" || q.Get("algorithm") != "SHA1" || !strings.Contains(uri.Path, "alice@example.com") {
		t.Fatalf("URI %q", e.URI)
	}
	if !strings.HasPrefix(e.QR, "data:image/png;base64,") || len(e.QR) < 200 {
		t.Fatalf("QR %.60q…", e.QR)
	}
	stored, err := f.store.TOTPOf(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Confirmed {
		t.Fatal("TOTP confirmed before ConfirmTOTP")
	}
	if bytes.Contains(stored.Sealed, secret) || bytes.Contains(stored.Sealed, []byte(e.Secret)) {
		t.Fatal("the stored value holds the secret")
	}
	if got, err := f.sealer.Open(u.ID, stored.Sealed); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("stored value does not open to the secret: %v", err)
	}
	if st, _ := f.svc.Status(ctx, u.ID); st.TOTP || len(st.Methods()) != 0 {
		t.Fatalf("unconfirmed TOTP in status: %+v %v", st, st.Methods())
	}
	// An unconfirmed enrolment starts over; the old secret is void.
	e2, err := f.svc.BeginTOTP(ctx, u)
	if err != nil || e2.Secret == e.Secret {
		t.Fatalf("second BeginTOTP: %v (same secret: %v)", err, e2.Secret == e.Secret)
	}
	if _, err := f.svc.ConfirmTOTP(ctx, u.ID, code(t, e.Secret, f.clock.Now())); !errors.Is(err, mfa.ErrInvalidCode) {
		t.Fatalf("confirm with the replaced secret: %v", err)
	}
}

func TestConfirmTOTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("first factor comes with recovery codes", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		_, codes := f.enrolTOTP(t, u)
		if len(codes) != 10 {
			t.Fatalf("%d recovery codes, want 10", len(codes))
		}
		st, err := f.svc.Status(ctx, u.ID)
		if err != nil || !st.TOTP || st.RecoveryCodesLeft != 10 {
			t.Fatalf("status %+v, %v", st, err)
		}
		if got := st.Methods(); strings.Join(got, ",") != "totp,recovery_code" {
			t.Fatalf("Methods = %v", got)
		}
		if f.audit.count("mfa_enrolled", u.ID) != 1 {
			t.Fatal("mfa_enrolled not audited")
		}
	})
	t.Run("ErrAlreadyEnrolled", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		f.enrolTOTP(t, u)
		if _, err := f.svc.BeginTOTP(ctx, u); !errors.Is(err, mfa.ErrAlreadyEnrolled) {
			t.Fatalf("BeginTOTP over a confirmed TOTP: %v", err)
		}
		if _, err := f.svc.ConfirmTOTP(ctx, u.ID, "123456"); !errors.Is(err, mfa.ErrAlreadyEnrolled) {
			t.Fatalf("ConfirmTOTP twice: %v", err)
		}
	})
	t.Run("ErrNotEnrolled", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		if _, err := f.svc.ConfirmTOTP(ctx, "nobody", "123456"); !errors.Is(err, mfa.ErrNotEnrolled) {
			t.Fatalf("ConfirmTOTP without BeginTOTP: %v", err)
		}
	})
	t.Run("wrong code", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		e, _ := f.svc.BeginTOTP(ctx, u)
		wrong := code(t, e.Secret, f.clock.Now().Add(-2*time.Minute))
		if _, err := f.svc.ConfirmTOTP(ctx, u.ID, wrong); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("ConfirmTOTP(wrong) = %v", err)
		}
		if st, _ := f.svc.Status(ctx, u.ID); st.TOTP {
			t.Fatal("confirmed with a wrong code")
		}
	})
	t.Run("no codes when a passkey came first", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		_, codes := f.register(t, u, newAuthenticator(t), "")
		if len(codes) != 10 {
			t.Fatalf("first passkey: %d codes", len(codes))
		}
		if _, codes := f.enrolTOTP(t, u); codes != nil {
			t.Fatalf("second factor came with %d codes, want none", len(codes))
		}
		if st, _ := f.svc.Status(ctx, u.ID); st.RecoveryCodesLeft != 10 {
			t.Fatalf("%d codes left", st.RecoveryCodesLeft)
		}
	})
}

func TestCheckTOTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name   string
		offset time.Duration // of the code's time from now
		ok     bool
	}{
		{"now", 0, true},
		{"previous step", -30 * time.Second, true},
		{"next step", 30 * time.Second, true},
		{"two steps back", -60 * time.Second, false},
		{"two steps ahead", 60 * time.Second, false},
		{"an hour back", -time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			u := f.user(t, "a@example.com")
			secret, _ := f.enrolTOTP(t, u)
			err := f.svc.CheckTOTP(ctx, u.ID, code(t, secret, f.clock.Now().Add(tt.offset)))
			if tt.ok != (err == nil) {
				t.Fatalf("CheckTOTP = %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok {
				if !errors.Is(err, mfa.ErrInvalidCode) {
					t.Fatalf("err = %v, want ErrInvalidCode", err)
				}
				e, ok := f.audit.last("mfa_failed")
				if !ok || e.UserID != u.ID {
					t.Fatal("mfa_failed not audited")
				}
			}
		})
	}

	t.Run("malformed", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		f.enrolTOTP(t, u)
		for _, c := range []string{"", "12345", "1234567", "abcdef", "１２３４５６"} {
			if err := f.svc.CheckTOTP(ctx, u.ID, c); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Errorf("CheckTOTP(%q) = %v", c, err)
			}
		}
	})
	t.Run("spaces allowed", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		secret, _ := f.enrolTOTP(t, u)
		c := code(t, secret, f.clock.Now())
		if err := f.svc.CheckTOTP(ctx, u.ID, c[:3]+" "+c[3:]); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("replay refused", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		secret, _ := f.enrolTOTP(t, u)
		c := code(t, secret, f.clock.Now())
		if err := f.svc.CheckTOTP(ctx, u.ID, c); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.CheckTOTP(ctx, u.ID, c); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("replay in the same step: %v", err)
		}
		// A code of an earlier step than the one used is refused too.
		if err := f.svc.CheckTOTP(ctx, u.ID, code(t, secret, f.clock.Now().Add(-30*time.Second))); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("earlier step after a use: %v", err)
		}
		// The next step's code works.
		f.clock.Add(30 * time.Second)
		if err := f.svc.CheckTOTP(ctx, u.ID, code(t, secret, f.clock.Now())); err != nil {
			t.Fatalf("next step: %v", err)
		}
	})
	t.Run("the confirming code is spent", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		e, _ := f.svc.BeginTOTP(ctx, u)
		c := code(t, e.Secret, f.clock.Now())
		if _, err := f.svc.ConfirmTOTP(ctx, u.ID, c); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.CheckTOTP(ctx, u.ID, c); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("confirming code reused at sign-in: %v", err)
		}
	})
	t.Run("unconfirmed refused", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		e, _ := f.svc.BeginTOTP(ctx, u)
		if err := f.svc.CheckTOTP(ctx, u.ID, code(t, e.Secret, f.clock.Now())); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("unconfirmed TOTP: %v", err)
		}
	})
	t.Run("removed refused", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		secret, _ := f.enrolTOTP(t, u)
		if err := f.svc.RemoveTOTP(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.CheckTOTP(ctx, u.ID, code(t, secret, f.clock.Now())); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("code of a removed TOTP: %v", err)
		}
		if f.audit.count("mfa_removed", u.ID) != 1 {
			t.Fatal("mfa_removed not audited")
		}
		st, _ := f.svc.Status(ctx, u.ID)
		if st.TOTP || st.RecoveryCodesLeft != 0 || len(st.Methods()) != 0 {
			t.Fatalf("after removing the only factor: %+v", st)
		}
		if err := f.svc.RemoveTOTP(ctx, u.ID); !errors.Is(err, authd.ErrNotFound) {
			t.Fatalf("RemoveTOTP twice: %v", err)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		secret, _ := f.enrolTOTP(t, u)
		other, err := mfa.New(mfa.Config{Now: f.clock.Now}, f.store, f.store, newSealer(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		err = other.CheckTOTP(ctx, u.ID, code(t, secret, f.clock.Now()))
		if !errors.Is(err, mfa.ErrSealed) {
			t.Fatalf("CheckTOTP under another key = %v, want ErrSealed", err)
		}
	})
	t.Run("concurrent use of one code", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		secret, _ := f.enrolTOTP(t, u)
		c := code(t, secret, f.clock.Now())
		const n = 16
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			oks  int
			errs []error
		)
		for range n {
			wg.Go(func() {
				err := f.svc.CheckTOTP(ctx, u.ID, c)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					oks++
				} else if !errors.Is(err, mfa.ErrInvalidCode) {
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
		if oks != 1 || len(errs) != 0 {
			t.Fatalf("%d successes (want 1), errors %v", oks, errs)
		}
	})
}
