package oidc_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/oidc"
	"github.com/authd/authd/password"
	"github.com/authd/authd/sqlite"
	"github.com/authd/authd/token"
)

// The code flow in process, without HTTP: what `authd bench`'s
// oidc-code-flow modes measure over HTTP, less the server and the load
// generator. One op is a full flow of a signed-in user whose consent is
// remembered: ParseAuthorize, Authorize (the code), Exchange (the tokens).

const (
	benchIssuer   = "https://id.example.com"
	benchRedirect = "https://app.example.com/cb"
)

// benchFlow is a provider over a real SQLite file with a public client
// "app", a user, a live session and the user's consent to scope.
type benchFlow struct {
	p        *oidc.Provider
	sess     *authd.Session
	verifier string
	query    string
}

func newBenchFlow(b *testing.B, scope string) *benchFlow {
	b.Helper()
	ctx := b.Context()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "authd.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	cheap := password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	clients := oidc.NewClients(db, password.NewHasher(cheap, 2))
	tokens, err := token.New(ctx, token.DefaultConfig(benchIssuer, "authd"),
		token.Stores{Keys: db, Refresh: db, Revocations: db, Users: db, Audit: db})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := clients.Create(ctx, oidc.ClientSpec{ID: "app", Public: true, RedirectURIs: []string{benchRedirect}}); err != nil {
		b.Fatal(err)
	}
	p := oidc.NewProvider(oidc.Config{Issuer: benchIssuer, Audiences: []string{"authd"}}, clients, tokens,
		oidc.Stores{Codes: db, Consents: db, Links: db, Outbox: db, Users: db, Audit: db})

	now := time.Now()
	u := &authd.User{ID: authd.NewID(), Email: "ann@example.com", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	cookie := make([]byte, 32)
	rand.Read(cookie)
	h := sha256.Sum256(cookie)
	sess := &authd.Session{ID: authd.NewID(), Hash: h[:], UserID: u.ID, Email: u.Email, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(24 * time.Hour)}
	if err := db.CreateSession(ctx, sess); err != nil {
		b.Fatal(err)
	}

	verifier := base64.RawURLEncoding.EncodeToString(cookie) // any 43 unreserved characters
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {benchRedirect}, "scope": {scope},
		"state": {"st"}, "nonce": {"n"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}}.Encode()
	f := &benchFlow{p: p, sess: sess, verifier: verifier, query: q}

	// Consent, once: the first request asks for it.
	r, err := p.ParseAuthorize(ctx, q)
	if err != nil {
		b.Fatal(err)
	}
	if out, err := p.Authorize(ctx, r, sess); err != nil || out.Step != oidc.StepConsent {
		b.Fatalf("first authorization: %+v, %v; want the consent step", out, err)
	}
	if _, err := p.Approve(ctx, r, sess); err != nil {
		b.Fatal(err)
	}
	if _, err := f.flow(ctx); err != nil {
		b.Fatal(err)
	}
	return f
}

// flow runs one full flow and returns the tokens.
func (f *benchFlow) flow(ctx context.Context) (token.Pair, error) {
	r, err := f.p.ParseAuthorize(ctx, f.query)
	if err != nil {
		return token.Pair{}, err
	}
	out, err := f.p.Authorize(ctx, r, f.sess)
	if err != nil {
		return token.Pair{}, err
	}
	if out.Step != oidc.StepRedirect {
		return token.Pair{}, fmt.Errorf("authorize: step %d, want a redirect", out.Step)
	}
	loc, err := url.Parse(out.Redirect)
	if err != nil {
		return token.Pair{}, err
	}
	code := loc.Query().Get("code")
	if code == "" {
		return token.Pair{}, fmt.Errorf("authorize: no code in %s", out.Redirect)
	}
	// The token endpoint reads the client (a public one: client_id alone).
	cl, err := f.p.Clients().Get(ctx, "app")
	if err != nil {
		return token.Pair{}, err
	}
	pair, err := f.p.Exchange(ctx, cl, code, benchRedirect, f.verifier)
	if err != nil {
		return token.Pair{}, err
	}
	if pair.IDToken == "" {
		return token.Pair{}, fmt.Errorf("exchange: no ID token")
	}
	return pair, nil
}

// BenchmarkCodeFlow is a full flow with remembered consent, on one
// goroutine and on GOMAXPROCS of them, with the scope `authd bench` asks
// for and with offline_access (a refresh family more per flow).
func BenchmarkCodeFlow(b *testing.B) {
	for _, scope := range []string{"openid email", "openid email offline_access"} {
		b.Run(scopeName(scope)+"/serial", func(b *testing.B) {
			f := newBenchFlow(b, scope)
			ctx := b.Context()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.flow(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "flows/s")
		})
		b.Run(scopeName(scope)+"/parallel", func(b *testing.B) {
			f := newBenchFlow(b, scope)
			ctx := b.Context()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := f.flow(ctx); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "flows/s")
		})
	}
}

func scopeName(scope string) string {
	if scope == "openid email" {
		return "openid_email"
	}
	return "offline_access"
}
