package examples_test

// Single sign-on across two services, end to end: authd, examples/orders
// (verify's middleware) and examples/billing (Verifier.Verify in its
// handler) run as real processes, and must answer every token alike.

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/examples/authdtest"
)

func TestMain(m *testing.M) { authdtest.Main(m) }

const (
	email      = "ann@example.com"
	password   = "correct horse battery staple 42"
	adminEmail = "bob@example.com" // has the role admin
)

// revocationBound is what the issue asks of a revocation: refused by both
// services within 1 s.
const revocationBound = time.Second

func TestSingleSignOn(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs authd, orders and billing")
	}
	authd := authdtest.Start(t, authdtest.Options{Audiences: []string{"orders", "billing"}})
	uid := authd.AddUser(t, email, password)
	authd.AddUser(t, adminEmail, password, "admin")
	ordersBin := authdtest.Build(t, "github.com/authd/authd/examples/orders")
	billingBin := authdtest.Build(t, "github.com/authd/authd/examples/billing")
	orders := "http://" + authdtest.StartProcess(t, ordersBin, "orders listening on ", "--addr", "127.0.0.1:0", "--issuer", authd.URL) + "/orders"
	billing := "http://" + authdtest.StartProcess(t, billingBin, "billing listening on ", "--addr", "127.0.0.1:0", "--issuer", authd.URL) + "/invoices"

	both := authd.PasswordGrant(t, email, password, "orders", "billing").AccessToken
	onlyOrders := authd.PasswordGrant(t, email, password, "orders").AccessToken
	onlyBilling := authd.PasswordGrant(t, email, password, "billing").AccessToken

	t.Run("ready", func(t *testing.T) {
		resp, err := client.Get(strings.TrimSuffix(billing, "/invoices") + "/readyz")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /readyz of billing: %v %v", resp, err)
		}
		resp.Body.Close()
	})

	t.Run("one token, both services", func(t *testing.T) {
		for _, u := range []string{orders, billing} {
			status, body, _ := get(t, u, both)
			if status != http.StatusOK || body["subject"] != uid || body["email"] != email {
				t.Fatalf("GET %s: %d %v; want 200 for %s", u, status, body, uid)
			}
		}
	})

	t.Run("a token for one is refused by the other", func(t *testing.T) {
		tests := []struct {
			url, token string
			want       int
		}{
			{orders, onlyOrders, http.StatusOK},
			{billing, onlyOrders, http.StatusUnauthorized},
			{billing, onlyBilling, http.StatusOK},
			{orders, onlyBilling, http.StatusUnauthorized},
			{orders, "", http.StatusUnauthorized},
			{billing, "", http.StatusUnauthorized},
			{orders, "not-a-token", http.StatusUnauthorized},
			{billing, "not-a-token", http.StatusUnauthorized},
		}
		for _, tc := range tests {
			status, _, h := get(t, tc.url, tc.token)
			if status != tc.want {
				t.Errorf("GET %s: %d, want %d", tc.url, status, tc.want)
			}
			if status == http.StatusUnauthorized && h.Get("WWW-Authenticate") == "" {
				t.Errorf("GET %s: 401 without WWW-Authenticate", tc.url)
			}
		}
	})

	t.Run("role", func(t *testing.T) {
		if status, _, _ := get(t, orders+"/all", onlyOrders); status != http.StatusForbidden {
			t.Errorf("GET /orders/all without the admin role: %d, want 403", status)
		}
		admin := authd.PasswordGrant(t, adminEmail, password, "orders").AccessToken
		if status, body, _ := get(t, orders+"/all", admin); status != http.StatusOK || body["email"] != adminEmail {
			t.Errorf("GET /orders/all with the admin role: %d %v, want 200", status, body)
		}
	})

	t.Run("revoked token refused by both within 1s", func(t *testing.T) {
		start := time.Now() // the delay counts the revocation request itself
		authd.Revoke(t, both)
		refusedByBoth(t, start, "a token revoked with POST /oauth2/revoke", both, orders, billing)
	})

	t.Run("logout refused by both within 1s", func(t *testing.T) {
		// One sign-in at authd; the session's token works at both.
		cookie := authd.Login(t, email, password)
		tok := authd.SessionToken(t, cookie)
		for _, u := range []string{orders, billing} {
			if status, body, _ := get(t, u, tok); status != http.StatusOK || body["subject"] != uid {
				t.Fatalf("GET %s with the session's token: %d %v", u, status, body)
			}
		}
		start := time.Now()
		authd.Logout(t, cookie)
		refusedByBoth(t, start, "the token of a logged-out session", tok, orders, billing)
	})

	t.Run("other tokens unaffected", func(t *testing.T) {
		if status, _, _ := get(t, orders, onlyOrders); status != http.StatusOK {
			t.Fatalf("another token of the user: %d", status)
		}
	})
}

// refusedByBoth polls both services with tok until both answer 401, logs
// how long that took from start (just before the revocation was asked
// for), and fails t if it was revocationBound or more. It gives up after
// 5 s.
func refusedByBoth(t *testing.T, start time.Time, what, tok string, urls ...string) {
	t.Helper()
	pending := map[string]bool{}
	for _, u := range urls {
		pending[u] = true
	}
	for len(pending) > 0 {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("still accepted after 5 s by %v", pending)
		}
		for u := range pending {
			if status, _, _ := get(t, u, tok); status == http.StatusUnauthorized {
				delete(pending, u)
			}
		}
		if len(pending) > 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	d := time.Since(start)
	t.Logf("%s was refused by both services after %s", what, d)
	if d >= revocationBound {
		t.Fatalf("refused after %s, want under %s", d, revocationBound)
	}
}

var client = &http.Client{Timeout: 10 * time.Second}

// get fetches url with tok as its bearer token (none when empty).
func get(t *testing.T, url, tok string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var body map[string]any
	_ = json.Unmarshal(b, &body)
	return resp.StatusCode, body, resp.Header
}
