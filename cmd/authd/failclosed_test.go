package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/postgres/pgtest"
	"github.com/authd/authd/redis/redistest"
)

// TestRedisFailsClosed kills a test-owned Redis under load: authd answers
// 503 (never 200 for a session it cannot check, never 500), /readyz says
// why, and when Redis returns (with its AOF) authd serves the same session
// again within 5 s, without a restart.
func TestRedisFailsClosed(t *testing.T) {
	authdBinary(t)
	rs := redistest.StartServer(t, "--appendonly", "yes", "--appendfsync", "always")
	db := pgtest.Schema(t)
	addUser(t, db, "ann@example.com", nodePassword)
	n := startNode(t, "--db", db, "--redis", rs.URL())
	cl := newClient(t)
	if code, body := cl.do("POST", n.url+"/v1/login", "application/json", `{"email":"ann@example.com","password":"`+nodePassword+`"}`); code != 200 {
		t.Fatalf("login: %d %s", code, body)
	}
	form := "grant_type=password&username=ann%40example.com&password=" + strings.ReplaceAll(nodePassword, " ", "+")
	code, body := cl.do("POST", n.url+"/oauth2/token", "application/x-www-form-urlencoded", form)
	if code != 200 {
		t.Fatalf("password grant: %d %s", code, body)
	}
	var pair map[string]any
	json.Unmarshal(body, &pair)
	bearer := "Bearer " + pair["access_token"].(string)

	// Load: two probes, one on the session and one on the token.
	o := startOutageProbes(t, n.url+"/v1/me", map[string][]string{
		"session": {"Cookie", cookieHeader(t, cl, n)},
		"bearer":  {"Authorization", bearer},
	})
	time.Sleep(200 * time.Millisecond)
	if err := rs.Kill(); err != nil {
		t.Fatal(err)
	}
	// The sessions fail at once; the bearer token fails once its revocation
	// list is older than --revocation-max-staleness (5 s).
	time.Sleep(6 * time.Second)
	o.open()
	o.await(t, 5, 10*time.Second)
	res, err := o.hc.Get(n.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready map[string]any
	json.NewDecoder(res.Body).Decode(&ready)
	res.Body.Close()
	if checks, _ := ready["checks"].(map[string]any); res.StatusCode != 503 || !strings.Contains(fmt.Sprint(checks["redis"]), "unavailable") {
		t.Fatalf("readyz with Redis down: %d %v", res.StatusCode, ready)
	}
	o.close()
	t.Logf("restarting Redis at %s", time.Now().Format("15:04:05.000"))
	if err := rs.Restart(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for status(n.url+"/v1/me", "Cookie", cookieHeader(t, cl, n)) != 200 || status(n.url+"/v1/me", "Authorization", bearer) != 200 {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("authd did not recover within 5 s of Redis coming back:\n%s", n.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("serving again %v after Redis came back; the session survived (AOF)", time.Since(start))
	o.check(t, "Redis")
}

func cookieHeader(t *testing.T, cl *client, n *node) string {
	t.Helper()
	u, _ := http.NewRequest("GET", n.url, nil)
	cs := cl.c.Jar.Cookies(u.URL)
	if len(cs) == 0 {
		t.Fatal("no session cookie")
	}
	return cs[0].Name + "=" + cs[0].Value
}

// TestPostgresFailsClosed stops a test-owned PostgreSQL (initdb + pg_ctl)
// under load: authd answers 503 for sessions and logins (never 200, never
// 500), /readyz says why, and after the server returns authd serves the same
// session again within 5 s, without a restart.
func TestPostgresFailsClosed(t *testing.T) {
	authdBinary(t)
	pg := pgtest.StartServer(t)
	db := pg.URL()
	addUser(t, db, "ann@example.com", nodePassword)
	n := startNode(t, "--db", db)
	cl := newClient(t)
	if code, body := cl.do("POST", n.url+"/v1/login", "application/json", `{"email":"ann@example.com","password":"`+nodePassword+`"}`); code != 200 {
		t.Fatalf("login: %d %s", code, body)
	}
	cookie := cookieHeader(t, cl, n)
	for range 3 {
		if s := status(n.url+"/v1/me", "Cookie", cookie); s != 200 {
			t.Fatalf("me: %d", s)
		}
	}
	o := startOutageProbes(t, n.url+"/v1/me", map[string][]string{"session": {"Cookie", cookie}})
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	// The cache's change feed breaks with the server: from then on every
	// lookup goes to the (dead) store.
	time.Sleep(500 * time.Millisecond)
	o.open()
	o.await(t, 5, 10*time.Second)
	code, body := cl.do("POST", n.url+"/v1/login", "application/json", `{"email":"ann@example.com","password":"`+nodePassword+`"}`)
	if code != 503 {
		t.Fatalf("login with PostgreSQL down: %d %s", code, body)
	}
	if code, body := cl.do("GET", n.url+"/readyz", "", ""); code != 503 || !strings.Contains(string(body), `"db":"unavailable`) {
		t.Fatalf("readyz: %d %s", code, body)
	}
	o.close()
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for status(n.url+"/v1/me", "Cookie", cookie) != 200 {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("authd did not recover within 5 s:\n%s", n.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("serving again %v after PostgreSQL came back; the session survived", time.Since(start))
	o.check(t, "PostgreSQL")
}

// outageProbes poll one URL in a loop, one goroutine per credential, and
// count the statuses of the requests that began and ended while the outage
// window was open (open to close). check then asserts that every probe
// observed requests in the window and that each got 503: a probe whose
// requests hang, or a window that saw nothing, fails instead of passing
// having checked nothing.
type outageProbes struct {
	hc     *http.Client // with a timeout: a hanging request ends as -1
	phase  atomic.Int32 // 0 before the window, 1 inside, 2 after
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	names  []string
	during map[string]map[int]int // probe → status → count, inside the window
}

// probeTimeout bounds each probe request: well under the window, so that
// a request that hangs is seen as one (status -1), not as silence.
const probeTimeout = 2 * time.Second

func startOutageProbes(t *testing.T, u string, creds map[string][]string) *outageProbes {
	o := &outageProbes{hc: &http.Client{Timeout: probeTimeout}, stop: make(chan struct{}), during: map[string]map[int]int{}}
	for name, hdr := range creds {
		o.names = append(o.names, name)
		o.during[name] = map[int]int{}
		o.wg.Go(func() {
			for {
				select {
				case <-o.stop:
					return
				default:
				}
				began := o.phase.Load()
				s := statusWith(o.hc, u, hdr...)
				if began != 1 || o.phase.Load() != 1 {
					continue
				}
				o.mu.Lock()
				o.during[name][s]++
				o.mu.Unlock()
				if s != 503 {
					t.Logf("%s → %d at %s", name, s, time.Now().Format("15:04:05.000"))
				}
			}
		})
	}
	t.Cleanup(o.halt)
	return o
}

func (o *outageProbes) open()  { o.phase.Store(1) }
func (o *outageProbes) close() { o.phase.Store(2) }

func (o *outageProbes) halt() {
	select {
	case <-o.stop:
	default:
		close(o.stop)
	}
	o.wg.Wait()
}

// counted is how many requests of probe name the window has counted.
func (o *outageProbes) counted(name string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, c := range o.during[name] {
		n += c
	}
	return n
}

// await waits, inside the window, at least a second and until every probe
// has n requests counted, or at most max.
func (o *outageProbes) await(t *testing.T, n int, max time.Duration) {
	start := time.Now()
	for time.Since(start) < max {
		enough := time.Since(start) >= time.Second
		for _, name := range o.names {
			enough = enough && o.counted(name) >= n
		}
		if enough {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// check stops the probes and asserts what they saw with store down.
func (o *outageProbes) check(t *testing.T, store string) {
	t.Helper()
	o.halt()
	for _, name := range o.names {
		n := o.counted(name)
		t.Logf("%s with %s down: %d requests observed: %v", name, store, n, o.during[name])
		if n == 0 {
			t.Errorf("%s: no request was observed while %s was down: the test checked nothing", name, store)
		}
		for s, c := range o.during[name] {
			if s != 503 {
				t.Errorf("%s: status %d (%d times) while %s was down, want only 503 (-1: no answer within %s)", name, s, c, store, probeTimeout)
			}
		}
	}
}
