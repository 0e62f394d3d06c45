package examples_test

// Single sign-on across two services, end to end: authd, examples/orders
// and examples/billing run as real processes.

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
	email    = "ann@example.com"
	password = "correct horse battery staple 42"
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
	ordersBin := authdtest.Build(t, "github.com/authd/authd/examples/orders")
	billingBin := authdtest.Build(t, "github.com/authd/authd/examples/billing")
	orders := "http://" + authdtest.StartProcess(t, ordersBin, "orders listening on ", "--addr", "127.0.0.1:0", "--issuer", authd.URL) + "/orders"
	billing := "http://" + authdtest.StartProcess(t, billingBin, "billing listening on ", "--addr", "127.0.0.1:0", "--issuer", authd.URL) + "/invoices"

	both := authd.PasswordGrant(t, email, password, "orders", "billing").AccessToken
	onlyOrders := authd.PasswordGrant(t, email, password, "orders").AccessToken
	onlyBilling := authd.PasswordGrant(t, email, password, "billing").AccessToken

	t.Run("ready", func(t *testing.T) {
		for _, u := range []string{orders, billing} {
			resp, err := client.Get(u[:strings.LastIndex(u, "/")] + "/readyz")
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /readyz of %s: %v %v", u, resp, err)
			}
			resp.Body.Close()
		}
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
		if status, _, _ := get(t, billing+"/all", both); status != http.StatusForbidden {
			t.Fatalf("GET /invoices/all without the admin role: %d, want 403", status)
		}
	})

	t.Run("revoked token refused by both within 1s", func(t *testing.T) {
		start := time.Now() // the delay counts the revocation request itself
		authd.Revoke(t, both)
		d := refusedByBoth(t, start, both, orders, billing)
		t.Logf("a token revoked with POST /oauth2/revoke was refused by both services after %s", d)
		if d >= revocationBound {
			t.Fatalf("refused after %s, want under %s", d, revocationBound)
		}
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
		d := refusedByBoth(t, start, tok, orders, billing)
		t.Logf("the token of a logged-out session was refused by both services after %s", d)
		if d >= revocationBound {
			t.Fatalf("refused after %s, want under %s", d, revocationBound)
		}
	})

	t.Run("other tokens unaffected", func(t *testing.T) {
		if status, _, _ := get(t, orders, onlyOrders); status != http.StatusOK {
			t.Fatalf("another token of the user: %d", status)
		}
	})
}

// refusedByBoth polls both services with tok until both answer 401 and
// returns how long that took from start (just before the revocation was
// asked for). It gives up after 5 s.
func refusedByBoth(t *testing.T, start time.Time, tok string, urls ...string) time.Duration {
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
	return time.Since(start)
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
