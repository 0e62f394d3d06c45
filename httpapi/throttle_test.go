package httpapi_test

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/authd/authd/account"
	"github.com/authd/authd/httpapi"
	"github.com/authd/authd/session"
)

// TestParallelGuesses: 40 parallel wrong guesses against
// --login-max-failures 3, through /v1/login and through the password
// grant: at most 3 passwords are checked (SECURITY P5), every other request
// is 429, and none is a 5xx. (No right password among them: a success
// resets the count by contract, and what follows it is a new window.)
func TestParallelGuesses(t *testing.T) {
	const n, limit = 40, 3
	routes := []struct {
		name string
		send func(h *harness, pw string) resp
	}{
		{"/v1/login", func(h *harness, pw string) resp {
			return h.do(nil, "POST", "/v1/login", creds("ann@example.com", pw))
		}},
		{"password grant", func(h *harness, pw string) resp {
			return h.do(nil, "POST", "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"ann@example.com"}, "password": {pw}})
		}},
	}
	for _, rt := range routes {
		t.Run(rt.name, func(t *testing.T) {
			h := newHarness(t, with(func(_ *httpapi.Config, a *account.Config, _ *session.Config) {
				a.MaxFailures, a.MaxFailuresIP = limit, 1000
			}))
			h.register("ann@example.com")
			var (
				wg     sync.WaitGroup
				mu     sync.Mutex
				status = map[int]int{}
			)
			start := make(chan struct{})
			for i := range n {
				pw := fmt.Sprintf("wrong guess number %02d", i)
				wg.Go(func() {
					<-start
					r := rt.send(h, pw)
					mu.Lock()
					status[r.StatusCode]++
					mu.Unlock()
				})
			}
			close(start)
			wg.Wait()
			checked := n - status[429]
			for code, c := range status {
				if code != 400 && code != 401 && code != 429 {
					t.Errorf("%d responses with status %d", c, code)
				}
			}
			// Each checked password is one login_failed or login_succeeded
			// audit event; a throttled request writes neither.
			logs := h.logs.String()
			audited := strings.Count(logs, `"event":"login_failed"`) + strings.Count(logs, `"event":"login_succeeded"`)
			if checked > limit || audited > limit {
				t.Fatalf("%d parallel requests against a limit of %d: statuses %v, %d audited checks; want at most %d passwords checked",
					n, limit, status, audited, limit)
			}
			t.Logf("statuses %v", status)
		})
	}
}
