package mfa_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/mfa"
)

func TestNewRPID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name     string
		rpID     string
		origins  []string
		enabled  bool
		wantErr  string
		extraCfg func(*mfa.Config)
	}{
		{name: "host", rpID: "example.com", origins: []string{"https://example.com"}, enabled: true},
		{name: "subdomain origin", rpID: "example.com", origins: []string{"https://auth.example.com", "https://example.com:8443"}, enabled: true},
		{name: "localhost", rpID: "localhost", origins: []string{"http://localhost:8080"}, enabled: true},
		{name: "empty", rpID: "", origins: []string{"https://example.com"}, enabled: false},
		{name: "IPv4", rpID: "127.0.0.1", origins: []string{"http://127.0.0.1:8080"}, enabled: false},
		{name: "IPv6", rpID: "::1", origins: []string{"http://[::1]:8080"}, enabled: false},
		{name: "origin elsewhere", rpID: "example.com", origins: []string{"https://example.org"}, wantErr: "not on the RP id"},
		{name: "suffix is not a subdomain", rpID: "example.com", origins: []string{"https://badexample.com"}, wantErr: "not on the RP id"},
		{name: "no origin", rpID: "example.com", wantErr: "at least one origin"},
		{name: "not an origin", rpID: "example.com", origins: []string{"example.com"}, wantErr: "not an origin"},
		{name: "RP id with a scheme", rpID: "https://example.com", origins: []string{"https://example.com"}, wantErr: "origin"},
		{name: "TTL too long", rpID: "example.com", origins: []string{"https://example.com"}, wantErr: "ChallengeTTL",
			extraCfg: func(c *mfa.Config) { c.ChallengeTTL = 10 * time.Minute }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := mfa.Config{RPID: tt.rpID, RPOrigins: tt.origins}
			if tt.extraCfg != nil {
				tt.extraCfg(&cfg)
			}
			st := newStore(t)
			svc, err := mfa.New(cfg, st, st, newSealer(t), nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if svc.PasskeysEnabled() != tt.enabled {
				t.Fatalf("PasskeysEnabled = %v", svc.PasskeysEnabled())
			}
			if !tt.enabled {
				u := &authd.User{ID: "u1", Email: "a@example.com"}
				if _, err := svc.BeginRegistration(ctx, u); !errors.Is(err, mfa.ErrNoRPID) {
					t.Fatalf("BeginRegistration: %v", err)
				}
				if _, _, err := svc.FinishRegistration(ctx, u, "", []byte("{}")); !errors.Is(err, mfa.ErrNoRPID) {
					t.Fatalf("FinishRegistration: %v", err)
				}
				if _, err := svc.BeginLogin(ctx, nil); !errors.Is(err, mfa.ErrNoRPID) {
					t.Fatalf("BeginLogin: %v", err)
				}
				if _, err := svc.FinishLogin(ctx, nil, []byte("{}")); !errors.Is(err, mfa.ErrNoRPID) {
					t.Fatalf("FinishLogin: %v", err)
				}
				// TOTP still works.
				if _, err := svc.BeginTOTP(ctx, u); err != nil {
					t.Fatalf("BeginTOTP without passkeys: %v", err)
				}
			}
		})
	}
}

func TestRegistrationOptions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	u := f.user(t, "alice@example.com")
	first := newAuthenticator(t)
	f.register(t, u, first, "")
	opts, err := f.svc.BeginRegistration(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			RP        struct {
				ID, Name string
			} `json:"rp"`
			User struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"user"`
			Timeout                int `json:"timeout"`
			AuthenticatorSelection struct {
				ResidentKey      string `json:"residentKey"`
				UserVerification string `json:"userVerification"`
			} `json:"authenticatorSelection"`
			ExcludeCredentials []struct {
				ID string `json:"id"`
			} `json:"excludeCredentials"`
			Attestation string `json:"attestation"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	pk := o.PublicKey
	challenge, err := b64.DecodeString(pk.Challenge)
	if err != nil || len(challenge) < 16 {
		t.Fatalf("challenge %q: %d bytes, want ≥ 16 (128 bits)", pk.Challenge, len(challenge))
	}
	if pk.RP.ID != testRPID || pk.RP.Name != "authd test" || pk.User.Name != "alice@example.com" {
		t.Fatalf("rp %+v user %+v", pk.RP, pk.User)
	}
	if uh, _ := b64.DecodeString(pk.User.ID); string(uh) != u.ID {
		t.Fatalf("user handle %q, want the user id", uh)
	}
	if pk.AuthenticatorSelection.ResidentKey != "preferred" || pk.AuthenticatorSelection.UserVerification != "preferred" {
		t.Fatalf("authenticatorSelection %+v", pk.AuthenticatorSelection)
	}
	if len(pk.ExcludeCredentials) != 1 || pk.ExcludeCredentials[0].ID != b64.EncodeToString(first.credID) {
		t.Fatalf("excludeCredentials %+v", pk.ExcludeCredentials)
	}
	if pk.Timeout != 300000 {
		t.Fatalf("timeout %d", pk.Timeout)
	}
}

func TestPasskeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("register then login", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "alice@example.com")
		a := newAuthenticator(t)
		p, codes := f.register(t, u, a, "  My\x00 laptop  ")
		if p.Name != "My laptop" || p.UserID != u.ID || len(codes) != 10 {
			t.Fatalf("passkey %+v, %d codes", p, len(codes))
		}
		if f.audit.count("mfa_enrolled", u.ID) != 1 {
			t.Fatal("mfa_enrolled not audited")
		}
		opts, err := f.svc.BeginLogin(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		var o struct {
			PublicKey struct {
				RPID             string `json:"rpId"`
				AllowCredentials []struct {
					ID string `json:"id"`
				} `json:"allowCredentials"`
			} `json:"publicKey"`
		}
		json.Unmarshal(opts, &o)
		if o.PublicKey.RPID != testRPID || len(o.PublicKey.AllowCredentials) != 1 || o.PublicKey.AllowCredentials[0].ID != b64.EncodeToString(a.credID) {
			t.Fatalf("assertion options %s", opts)
		}
		f.clock.Add(time.Minute)
		got, err := f.svc.FinishLogin(ctx, u, a.get(t, opts))
		if err != nil {
			t.Fatalf("FinishLogin: %v", err)
		}
		if got != (mfa.Assertion{UserID: u.ID, PasskeyID: p.ID, UserVerified: true}) {
			t.Fatalf("assertion %+v", got)
		}
		pks, _ := f.store.Passkeys(ctx, u.ID)
		if pks[0].SignCount != a.counter || !pks[0].LastUsedAt.Equal(f.clock.Now()) {
			t.Fatalf("stored passkey %+v", pks[0])
		}
	})
	t.Run("discoverable login", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "alice@example.com")
		a := newAuthenticator(t)
		a.uv = false
		p, _ := f.register(t, u, a, "")
		if p.Name != "Passkey" {
			t.Fatalf("default name %q", p.Name)
		}
		opts, err := f.svc.BeginLogin(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(opts), "allowCredentials") {
			t.Fatalf("discoverable options name credentials: %s", opts)
		}
		got, err := f.svc.FinishLogin(ctx, nil, a.get(t, opts))
		if err != nil {
			t.Fatalf("FinishLogin: %v", err)
		}
		if got != (mfa.Assertion{UserID: u.ID, PasskeyID: p.ID, UserVerified: false}) {
			t.Fatalf("assertion %+v", got)
		}
	})
	t.Run("authenticator without a counter", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "alice@example.com")
		a := newAuthenticator(t)
		f.register(t, u, a, "")
		for range 2 {
			opts, _ := f.svc.BeginLogin(ctx, u)
			a.counter = 0
			if _, err := f.svc.FinishLogin(ctx, u, a.assert(t, challengeOf(t, opts))); err != nil {
				t.Fatalf("zero counter: %v", err)
			}
		}
	})

	// Each case registers a passkey for alice, begins a login, and spoils
	// one thing.
	refusals := []struct {
		name  string
		begin func(f *fixture, u *authd.User) []byte
		spoil func(f *fixture, a *authenticator)
		as    func(f *fixture, u *authd.User) *authd.User // the user FinishLogin is given
		want  error
	}{
		{name: "wrong origin", spoil: func(_ *fixture, a *authenticator) { a.origin = "https://evil.example" }, want: mfa.ErrInvalidCredential},
		{name: "sibling origin", spoil: func(_ *fixture, a *authenticator) { a.origin = "https://www.example.com" }, want: mfa.ErrInvalidCredential},
		{name: "wrong RP id", spoil: func(_ *fixture, a *authenticator) { a.rpID = "evil.example" }, want: mfa.ErrInvalidCredential},
		{name: "no user presence", spoil: func(_ *fixture, a *authenticator) { a.noUP = true }, want: mfa.ErrInvalidCredential},
		{name: "expired challenge", spoil: func(f *fixture, _ *authenticator) { f.clock.Add(5*time.Minute + time.Second) }, want: mfa.ErrInvalidCredential},
		{name: "other key", spoil: func(_ *fixture, a *authenticator) { a.key = newAuthenticator(t).key }, want: mfa.ErrInvalidCredential},
		{name: "other user", as: func(f *fixture, _ *authd.User) *authd.User { return f.user(t, "bob@example.com") }, want: mfa.ErrInvalidCredential},
		{name: "discoverable challenge for a known user",
			begin: func(f *fixture, _ *authd.User) []byte { o, _ := f.svc.BeginLogin(ctx, nil); return o }, want: mfa.ErrInvalidCredential},
		{name: "known user's challenge as discoverable",
			as: func(*fixture, *authd.User) *authd.User { return nil }, want: mfa.ErrInvalidCredential},
		{name: "registration challenge",
			begin: func(f *fixture, u *authd.User) []byte { o, _ := f.svc.BeginRegistration(ctx, u); return o }, want: mfa.ErrInvalidCredential},
		{name: "counter regressed", spoil: func(_ *fixture, a *authenticator) { a.counter = 0 }, want: mfa.ErrCounterRegressed},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			u := f.user(t, "alice@example.com")
			a := newAuthenticator(t)
			f.register(t, u, a, "")
			// One good login first, so the counter is above zero.
			opts, _ := f.svc.BeginLogin(ctx, u)
			if _, err := f.svc.FinishLogin(ctx, u, a.get(t, opts)); err != nil {
				t.Fatal(err)
			}
			a.counter += 5
			if tt.begin != nil {
				opts = tt.begin(f, u)
			} else {
				opts, _ = f.svc.BeginLogin(ctx, u)
			}
			if tt.spoil != nil {
				tt.spoil(f, a)
			}
			as := u
			if tt.as != nil {
				as = tt.as(f, u)
			}
			_, err := f.svc.FinishLogin(ctx, as, a.assert(t, challengeOf(t, opts)))
			t.Log(err)
			if !errors.Is(err, tt.want) {
				t.Fatalf("FinishLogin = %v, want %v", err, tt.want)
			}
			event := "mfa_failed"
			if tt.want == mfa.ErrCounterRegressed {
				event = "passkey_counter_regressed"
			}
			if e, ok := f.audit.last(event); !ok {
				t.Fatalf("%s not audited", event)
			} else if tt.want == mfa.ErrCounterRegressed && e.UserID != u.ID {
				t.Fatalf("audited %+v", e)
			}
			// The challenge is spent whatever the outcome: a correct
			// answer to it now fails too.
			a2 := *a
			a2.origin, a2.rpID, a2.counter = testOrigin, testRPID, a.counter+100
			if _, err := f.svc.FinishLogin(ctx, u, a2.assert(t, challengeOf(t, opts))); !errors.Is(err, mfa.ErrInvalidCredential) {
				t.Fatalf("second finish with the challenge: %v", err)
			}
		})
	}

	t.Run("challenge reuse refused", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "alice@example.com")
		a := newAuthenticator(t)
		f.register(t, u, a, "")
		opts, _ := f.svc.BeginLogin(ctx, u)
		cred := a.get(t, opts)
		if _, err := f.svc.FinishLogin(ctx, u, cred); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.FinishLogin(ctx, u, cred); !errors.Is(err, mfa.ErrInvalidCredential) {
			t.Fatalf("replayed assertion: %v", err)
		}
		a.counter += 10 // a fresh signature over the spent challenge
		if _, err := f.svc.FinishLogin(ctx, u, a.assert(t, challengeOf(t, opts))); !errors.Is(err, mfa.ErrInvalidCredential) {
			t.Fatalf("spent challenge: %v", err)
		}
	})
	t.Run("registration challenge reuse and expiry", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "alice@example.com")
		opts, _ := f.svc.BeginRegistration(ctx, u)
		cred := newAuthenticator(t).create(t, opts)
		if _, _, err := f.svc.FinishRegistration(ctx, u, "", cred); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.FinishRegistration(ctx, u, "", newAuthenticator(t).create(t, opts)); !errors.Is(err, mfa.ErrInvalidCredential) {
			t.Fatalf("second registration on one challenge: %v", err)
		}
		opts, _ = f.svc.BeginRegistration(ctx, u)
		f.clock.Add(6 * time.Minute)
		if _, _, err := f.svc.FinishRegistration(ctx, u, "", newAuthenticator(t).create(t, opts)); !errors.Is(err, mfa.ErrInvalidCredential) {
			t.Fatalf("expired registration challenge: %v", err)
		}
		if err := f.svc.DeleteExpiredChallenges(ctx); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("registration refusals", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			name  string
			spoil func(a *authenticator)
		}{
			{"wrong origin", func(a *authenticator) { a.origin = "https://evil.example" }},
			{"wrong RP id", func(a *authenticator) { a.rpID = "evil.example" }},
		} {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				f := newFixture(t)
				u := f.user(t, "alice@example.com")
				opts, _ := f.svc.BeginRegistration(ctx, u)
				a := newAuthenticator(t)
				tt.spoil(a)
				_, _, err := f.svc.FinishRegistration(ctx, u, "", a.create(t, opts))
				t.Log(err)
				if !errors.Is(err, mfa.ErrInvalidCredential) {
					t.Fatalf("FinishRegistration = %v", err)
				}
				if st, _ := f.svc.Status(ctx, u.ID); len(st.Passkeys) != 0 {
					t.Fatal("passkey stored")
				}
			})
		}
		t.Run("another user's challenge", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			alice, bob := f.user(t, "alice@example.com"), f.user(t, "bob@example.com")
			opts, _ := f.svc.BeginRegistration(ctx, alice)
			if _, _, err := f.svc.FinishRegistration(ctx, bob, "", newAuthenticator(t).create(t, opts)); !errors.Is(err, mfa.ErrInvalidCredential) {
				t.Fatalf("FinishRegistration = %v", err)
			}
		})
		t.Run("credential registered twice", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			u := f.user(t, "alice@example.com")
			a := newAuthenticator(t)
			f.register(t, u, a, "")
			opts, _ := f.svc.BeginRegistration(ctx, u)
			if _, _, err := f.svc.FinishRegistration(ctx, u, "", a.create(t, opts)); !errors.Is(err, mfa.ErrInvalidCredential) {
				t.Fatalf("FinishRegistration = %v", err)
			}
		})
		t.Run("garbage", func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			u := f.user(t, "alice@example.com")
			for _, body := range []string{"", "{}", "null", `{"id":"x","type":"public-key"}`} {
				if _, _, err := f.svc.FinishRegistration(ctx, u, "", []byte(body)); !errors.Is(err, mfa.ErrInvalidCredential) {
					t.Errorf("FinishRegistration(%q) = %v", body, err)
				}
				if _, err := f.svc.FinishLogin(ctx, u, []byte(body)); !errors.Is(err, mfa.ErrInvalidCredential) {
					t.Errorf("FinishLogin(%q) = %v", body, err)
				}
			}
		})
	})
	t.Run("no passkey", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "alice@example.com")
		if _, err := f.svc.BeginLogin(ctx, u); !errors.Is(err, mfa.ErrNotEnrolled) {
			t.Fatalf("BeginLogin without passkeys: %v", err)
		}
	})
	t.Run("discoverable login of a removed passkey", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "alice@example.com")
		a := newAuthenticator(t)
		p, _ := f.register(t, u, a, "")
		if err := f.svc.RemovePasskey(ctx, u.ID, p.ID); err != nil {
			t.Fatal(err)
		}
		if st, _ := f.svc.Status(ctx, u.ID); len(st.Passkeys) != 0 || st.RecoveryCodesLeft != 0 {
			t.Fatalf("after removing the only passkey: %+v", st)
		}
		opts, _ := f.svc.BeginLogin(ctx, nil)
		if _, err := f.svc.FinishLogin(ctx, nil, a.get(t, opts)); !errors.Is(err, mfa.ErrInvalidCredential) {
			t.Fatalf("FinishLogin = %v", err)
		}
		if f.audit.count("mfa_removed", u.ID) != 1 {
			t.Fatal("mfa_removed not audited")
		}
	})
	t.Run("rename and remove", func(t *testing.T) {
		t.Parallel()
		f := newFixture(t)
		u := f.user(t, "alice@example.com")
		p, _ := f.register(t, u, newAuthenticator(t), "old")
		f.register(t, u, newAuthenticator(t), "other")
		long := strings.Repeat("é", 100)
		if err := f.svc.RenamePasskey(ctx, u.ID, p.ID, long); err != nil {
			t.Fatal(err)
		}
		pks, _ := f.store.Passkeys(ctx, u.ID)
		i := slices.IndexFunc(pks, func(q *authd.Passkey) bool { return q.ID == p.ID })
		if got := []rune(pks[i].Name); len(got) != 64 || got[0] != 'é' {
			t.Fatalf("name of %d characters", len(got))
		}
		if err := f.svc.RenamePasskey(ctx, "someone else", p.ID, "x"); !errors.Is(err, authd.ErrNotFound) {
			t.Fatalf("rename another's passkey: %v", err)
		}
		if err := f.svc.RemovePasskey(ctx, "someone else", p.ID); !errors.Is(err, authd.ErrNotFound) {
			t.Fatalf("remove another's passkey: %v", err)
		}
		if err := f.svc.RemovePasskey(ctx, u.ID, p.ID); err != nil {
			t.Fatal(err)
		}
		if st, _ := f.svc.Status(ctx, u.ID); len(st.Passkeys) != 1 || st.RecoveryCodesLeft != 10 {
			t.Fatalf("after removing one of two passkeys: %+v", st)
		}
	})
}

// challengeOf returns the challenge of creation or request options.
func challengeOf(t testing.TB, options []byte) string {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &o); err != nil || o.PublicKey.Challenge == "" {
		t.Fatalf("options %s: %v", options, err)
	}
	return o.PublicKey.Challenge
}
