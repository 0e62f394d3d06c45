package upstream_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/upstream"
)

func TestRegisterValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ok := upstream.Spec{ID: "corp", Issuer: "https://id.example.com", ClientID: "authd"}
	with := func(f func(s *upstream.Spec)) upstream.Spec { s := ok; f(&s); return s }
	tests := []struct {
		name  string
		spec  upstream.Spec
		field string // "" for accepted
	}{
		{"minimal", with(func(s *upstream.Spec) { s.ID = "min" }), ""},
		{"issuer with a path", with(func(s *upstream.Spec) { s.ID = "p"; s.Issuer = "https://id.example.com/realms/x" }), ""},
		{"http localhost", with(func(s *upstream.Spec) { s.ID = "l1"; s.Issuer = "http://localhost:8080" }), ""},
		{"http 127.0.0.1", with(func(s *upstream.Spec) { s.ID = "l2"; s.Issuer = "http://127.0.0.1:8080" }), ""},
		{"http [::1]", with(func(s *upstream.Spec) { s.ID = "l3"; s.Issuer = "http://[::1]:8080" }), ""},
		{"id 64", with(func(s *upstream.Spec) { s.ID = strings.Repeat("a", 64) }), ""},
		{"id digits and dash", with(func(s *upstream.Spec) { s.ID = "git-lab-2" }), ""},
		{"no id", with(func(s *upstream.Spec) { s.ID = "" }), "id"},
		{"id 65", with(func(s *upstream.Spec) { s.ID = strings.Repeat("a", 65) }), "id"},
		{"id upper", with(func(s *upstream.Spec) { s.ID = "Corp" }), "id"},
		{"id slash", with(func(s *upstream.Spec) { s.ID = "a/b" }), "id"},
		{"id underscore", with(func(s *upstream.Spec) { s.ID = "a_b" }), "id"},
		{"id dot dot", with(func(s *upstream.Spec) { s.ID = ".." }), "id"},
		{"no issuer", with(func(s *upstream.Spec) { s.Issuer = "" }), "issuer"},
		{"issuer http", with(func(s *upstream.Spec) { s.Issuer = "http://id.example.com" }), "issuer"},
		{"issuer http 10.0.0.1", with(func(s *upstream.Spec) { s.Issuer = "http://10.0.0.1" }), "issuer"},
		{"issuer ftp", with(func(s *upstream.Spec) { s.Issuer = "ftp://id.example.com" }), "issuer"},
		{"issuer relative", with(func(s *upstream.Spec) { s.Issuer = "id.example.com" }), "issuer"},
		{"issuer query", with(func(s *upstream.Spec) { s.Issuer = "https://id.example.com?x=1" }), "issuer"},
		{"issuer fragment", with(func(s *upstream.Spec) { s.Issuer = "https://id.example.com#x" }), "issuer"},
		{"issuer user", with(func(s *upstream.Spec) { s.Issuer = "https://u:p@id.example.com" }), "issuer"},
		{"issuer no host", with(func(s *upstream.Spec) { s.Issuer = "https:///x" }), "issuer"},
		{"issuer space", with(func(s *upstream.Spec) { s.Issuer = "https://id.example.com/a b" }), "issuer"},
		{"no client id", with(func(s *upstream.Spec) { s.ClientID = "" }), "client_id"},
		{"client id newline", with(func(s *upstream.Spec) { s.ClientID = "a\nb" }), "client_id"},
		{"client id 256", with(func(s *upstream.Spec) { s.ClientID = strings.Repeat("c", 256) }), "client_id"},
		{"secret too long", with(func(s *upstream.Spec) { s.Secret = strings.Repeat("s", 1025) }), "secret"},
		{"name too long", with(func(s *upstream.Spec) { s.Name = strings.Repeat("n", 101) }), "name"},
		{"name control", with(func(s *upstream.Spec) { s.Name = "a\x00b" }), "name"},
		{"scopes without openid", with(func(s *upstream.Spec) { s.Scopes = []string{"email"} }), "scopes"},
		{"scope empty", with(func(s *upstream.Spec) { s.Scopes = []string{"openid", ""} }), "scopes"},
		{"scope space", with(func(s *upstream.Spec) { s.Scopes = []string{"openid email"} }), "scopes"},
		{"scope quote", with(func(s *upstream.Spec) { s.Scopes = []string{"openid", `a"b`} }), "scopes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := e.svc.Register(t.Context(), tt.spec)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Register: %v", err)
				}
				if u.ID != tt.spec.ID || u.Issuer != tt.spec.Issuer {
					t.Fatalf("Register = %+v", u)
				}
				return
			}
			var ie *authd.InvalidError
			if !errors.As(err, &ie) || ie.Field != tt.field {
				t.Fatalf("Register err = %v, want an *authd.InvalidError for %s", err, tt.field)
			}
			if _, err := e.svc.Get(t.Context(), tt.spec.ID); !errors.Is(err, authd.ErrNotFound) && tt.field != "id" {
				t.Fatalf("a refused provider was stored: %v", err)
			}
		})
	}
}

func TestRegisterDefaultsAndStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	before := time.Now().Add(-time.Second)
	u, err := e.svc.Register(t.Context(), upstream.Spec{ID: "corp", Issuer: "https://id.example.com", ClientID: "authd", TrustEmail: true})
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "corp" || !slices.Equal(u.Scopes, []string{"openid", "email"}) || u.SecretSealed != nil ||
		!u.TrustEmail || u.CreatedAt.Before(before) {
		t.Errorf("Register = %+v", u)
	}
	got, err := e.svc.Get(t.Context(), "corp")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != u.Name || !slices.Equal(got.Scopes, u.Scopes) || !got.CreatedAt.Equal(u.CreatedAt) || got.SecretSealed != nil {
		t.Errorf("Get = %+v, want %+v", got, u)
	}

	u, err = e.svc.Register(t.Context(), upstream.Spec{ID: "git", Issuer: "https://gitlab.example.com", ClientID: "authd",
		Name: "  GitLab  ", Scopes: []string{"openid", "profile", "openid", "email"}})
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "GitLab" || !slices.Equal(u.Scopes, []string{"openid", "profile", "email"}) {
		t.Errorf("Register = %+v", u)
	}

	_, err = e.svc.Register(t.Context(), upstream.Spec{ID: "corp", Issuer: "https://other.example.com", ClientID: "x"})
	wantErr(t, err, authd.ErrConflict, "Register with a taken id")

	list, err := e.svc.List(t.Context())
	if err != nil || len(list) != 2 || list[0].ID != "corp" || list[1].ID != "git" {
		t.Fatalf("List = %v, %v", list, err)
	}
	if p := e.svc.Providers(); len(p) != 2 || p[0].ID != "corp" || p[1].ID != "git" {
		t.Fatalf("Providers after Register = %v", p)
	}
	if err := e.svc.Delete(t.Context(), "corp"); err != nil {
		t.Fatal(err)
	}
	wantErr(t, e.svc.Delete(t.Context(), "corp"), authd.ErrNotFound, "Delete again")
	_, err = e.svc.Get(t.Context(), "corp")
	wantErr(t, err, authd.ErrNotFound, "Get after Delete")
	if p := e.svc.Providers(); len(p) != 1 || p[0].ID != "git" {
		t.Fatalf("Providers after Delete = %v", p)
	}
}

// F3: the secret is sealed: the stored bytes do not hold it, they open
// (for this provider only) to it.
func TestRegisterSealsSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const secret = "the-client-secret-42"
	if _, err := e.svc.Register(t.Context(), upstream.Spec{ID: "corp", Issuer: "https://id.example.com", ClientID: "authd", Secret: secret}); err != nil {
		t.Fatal(err)
	}
	u, err := e.db.UpstreamByID(t.Context(), "corp")
	if err != nil {
		t.Fatal(err)
	}
	if len(u.SecretSealed) == 0 || bytes.Contains(u.SecretSealed, []byte(secret)) {
		t.Fatalf("stored secret %q", u.SecretSealed)
	}
	got, err := e.sealer.OpenUpstreamSecret("corp", u.SecretSealed)
	if err != nil || string(got) != secret {
		t.Fatalf("OpenUpstreamSecret = %q, %v", got, err)
	}
	if _, err := e.sealer.OpenUpstreamSecret("other", u.SecretSealed); err == nil {
		t.Fatal("the sealed secret opened for another provider")
	}
}

// Every node sees a provider another node registers or deletes within
// Config.Reload.
func TestRunReloads(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.register(t, upstream.Spec{ID: "a", Issuer: "https://a.example.com", ClientID: "authd"})
	node := upstream.New(upstream.Config{Site: site, Reload: 20 * time.Millisecond}, e.db, e.db, e.sealer)
	if p := node.Providers(); len(p) != 0 {
		t.Fatalf("Providers before Run = %v", p)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { node.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor := func(want ...string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			var ids []string
			for _, u := range node.Providers() {
				ids = append(ids, u.ID)
			}
			if slices.Equal(ids, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Providers = %v, want %v", ids, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("a")
	e.register(t, upstream.Spec{ID: "b", Issuer: "https://b.example.com", ClientID: "authd"})
	waitFor("a", "b")
	if err := e.svc.Delete(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	waitFor("b")
}
