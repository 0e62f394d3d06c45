package mfa_test

import (
	"context"
	"errors"
	"math"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/authd/authd/mfa"
)

func TestRecoveryCodes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	format := regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$`)

	t.Run("format and entropy", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		_, codes := f.enrolTOTP(t, u)
		if len(codes) != 10 {
			t.Fatalf("%d codes", len(codes))
		}
		seen := map[string]bool{}
		for _, c := range codes {
			if !format.MatchString(c) {
				t.Errorf("code %q is not xxxxx-xxxxx of the no-confusion alphabet", c)
			}
			seen[c] = true
		}
		if len(seen) != len(codes) {
			t.Fatal("duplicate codes")
		}
		// 10 characters from a 32-letter alphabet, each uniform.
		if bits := 10 * math.Log2(32); bits < 50 {
			t.Fatalf("%v bits", bits)
		}
		if st, _ := f.svc.Status(ctx, u.ID); st.RecoveryCodesLeft != 10 {
			t.Fatalf("%d codes stored", st.RecoveryCodesLeft)
		}
	})
	t.Run("single use", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		_, codes := f.enrolTOTP(t, u)
		left, err := f.svc.UseRecoveryCode(ctx, u.ID, codes[3])
		if err != nil || left != 9 {
			t.Fatalf("UseRecoveryCode = %d, %v", left, err)
		}
		if _, err := f.svc.UseRecoveryCode(ctx, u.ID, codes[3]); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("second use: %v", err)
		}
		if f.audit.count("recovery_code_used", u.ID) != 1 || f.audit.count("mfa_failed", u.ID) != 1 {
			t.Fatal("recovery_code_used / mfa_failed not audited")
		}
		if e, _ := f.audit.last("recovery_code_used"); strings.Contains(e.Detail, codes[3][:5]) {
			t.Fatalf("audit detail %q holds the code", e.Detail)
		}
	})
	t.Run("normalisation", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		_, codes := f.enrolTOTP(t, u)
		variants := []func(string) string{
			strings.ToUpper,
			func(c string) string { return strings.ReplaceAll(c, "-", "") },
			func(c string) string { return " " + strings.ReplaceAll(c, "-", " ") + " " },
			func(c string) string { return strings.ToUpper(c[:2]) + "-" + c[2:] },
		}
		for i, v := range variants {
			if _, err := f.svc.UseRecoveryCode(ctx, u.ID, v(codes[i])); err != nil {
				t.Errorf("variant %d %q: %v", i, v(codes[i]), err)
			}
		}
	})
	t.Run("wrong and malformed", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		f.enrolTOTP(t, u)
		for _, c := range []string{"", "abcde-fghjk", "abcde", "abcde-fghjk-mnpqr", "ünicö-dexyz"} {
			if _, err := f.svc.UseRecoveryCode(ctx, u.ID, c); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Errorf("UseRecoveryCode(%q) = %v", c, err)
			}
		}
	})
	t.Run("another user's code", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		a, b := f.user(t, "a@example.com"), f.user(t, "b@example.com")
		_, codes := f.enrolTOTP(t, a)
		f.enrolTOTP(t, b)
		if _, err := f.svc.UseRecoveryCode(ctx, b.ID, codes[0]); !errors.Is(err, mfa.ErrInvalidCode) {
			t.Fatalf("a's code for b: %v", err)
		}
	})
	t.Run("regenerate voids the old set", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		_, old := f.enrolTOTP(t, u)
		fresh, err := f.svc.NewRecoveryCodes(ctx, u.ID)
		if err != nil || len(fresh) != 10 {
			t.Fatalf("NewRecoveryCodes = %d, %v", len(fresh), err)
		}
		for _, c := range old {
			if _, err := f.svc.UseRecoveryCode(ctx, u.ID, c); !errors.Is(err, mfa.ErrInvalidCode) {
				t.Fatalf("old code %q still works: %v", c, err)
			}
		}
		if left, err := f.svc.UseRecoveryCode(ctx, u.ID, fresh[9]); err != nil || left != 9 {
			t.Fatalf("new code: %d, %v", left, err)
		}
	})
	t.Run("none without a second factor", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		if _, err := f.svc.NewRecoveryCodes(ctx, u.ID); !errors.Is(err, mfa.ErrNotEnrolled) {
			t.Fatalf("NewRecoveryCodes without a factor: %v", err)
		}
	})
	t.Run("concurrent use of one code", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "a@example.com")
		_, codes := f.enrolTOTP(t, u)
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			oks int
		)
		for range 16 {
			wg.Go(func() {
				if _, err := f.svc.UseRecoveryCode(ctx, u.ID, codes[0]); err == nil {
					mu.Lock()
					oks++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if oks != 1 {
			t.Fatalf("%d successes, want 1", oks)
		}
	})
}

func TestResetAndStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	u := f.user(t, "a@example.com")
	if st, err := f.svc.Status(ctx, u.ID); err != nil || len(st.Methods()) != 0 || st.Methods() == nil {
		t.Fatalf("no factors: %+v %#v, %v", st, st.Methods(), err)
	}
	f.enrolTOTP(t, u)
	f.register(t, u, newAuthenticator(t), "Laptop")
	st, err := f.svc.Status(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(st.Methods(), ","); got != "totp,webauthn,recovery_code" {
		t.Fatalf("Methods = %s", got)
	}
	if err := f.svc.Reset(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := f.svc.Status(ctx, u.ID); st.TOTP || len(st.Passkeys) != 0 || st.RecoveryCodesLeft != 0 {
		t.Fatalf("after Reset: %+v", st)
	}
	e, ok := f.audit.last("mfa_removed")
	if !ok || e.UserID != u.ID || e.Detail != "reset by an operator" {
		t.Fatalf("audit %+v", e)
	}
	if err := f.svc.Reset(ctx, u.ID); err != nil {
		t.Fatalf("Reset twice: %v", err)
	}
}
