package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/authd/authd/password"
)

// BenchmarkLogin is one POST /v1/login through the whole handler stack at
// the production argon2id parameters: throttle check, user read, verify,
// session write, audit write. BenchmarkRawArgon2id is the bare hash at the
// same parameters in the same run; the ratio is what login adds to it.
//
//	go test -run '^$' -bench 'Login|RawArgon2id' -benchmem ./httpapi
func BenchmarkLogin(b *testing.B) {
	h := newHarness(b, func(o *options) { o.params = password.DefaultParams() })
	h.register("ann@example.com")
	handler := h.srv.Config.Handler
	body := creds("ann@example.com", goodPassword)
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest("POST", "/v1/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("login: %d %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkRawArgon2id(b *testing.B) {
	p := password.DefaultParams()
	salt := make([]byte, p.SaltLen)
	for b.Loop() {
		argon2.IDKey([]byte(goodPassword), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	}
}
