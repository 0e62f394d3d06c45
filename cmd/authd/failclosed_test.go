package main

import (
	"encoding/json"
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
	if code, _, e := runCmd(t, nodePassword+"\n", env(nil), "user", "add", "--db", db, "--email", "ann@example.com", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %s", e)
	}
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

	// Load: two pollers, one on the session and one on the token.
	var killed atomic.Bool
	var after sync.Map // status → count, after the kill took effect
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, hdr := range [][]string{{"Cookie", cookieHeader(t, cl, n)}, {"Authorization", bearer}} {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				s := status(n.url+"/v1/me", hdr...)
				if killed.Load() {
					v, _ := after.LoadOrStore(s, new(atomic.Int64))
					v.(*atomic.Int64).Add(1)
					if s != 503 {
						t.Logf("%s → %d at %s", hdr[0], s, time.Now().Format("15:04:05.000"))
					}
				}
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	if err := rs.Kill(); err != nil {
		t.Fatal(err)
	}
	// The sessions fail at once; the bearer token fails once its revocation
	// list is older than --revocation-max-staleness (5 s).
	time.Sleep(6 * time.Second)
	killed.Store(true)
	time.Sleep(time.Second)
	res, err := http.Get(n.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready map[string]any
	json.NewDecoder(res.Body).Decode(&ready)
	res.Body.Close()
	if res.StatusCode != 503 || !strings.Contains(ready["checks"].(map[string]any)["redis"].(string), "unavailable") {
		t.Fatalf("readyz with Redis down: %d %v", res.StatusCode, ready)
	}
	killed.Store(false)
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
	close(stop)
	wg.Wait()
	after.Range(func(k, v any) bool {
		t.Logf("with Redis down: %d × %d", v.(*atomic.Int64).Load(), k)
		if k.(int) != 503 {
			t.Errorf("status %d while Redis was down", k)
		}
		return true
	})
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
	if code, _, e := runCmd(t, nodePassword+"\n", env(nil), "user", "add", "--db", db, "--email", "ann@example.com", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %s", e)
	}
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
	var down atomic.Bool
	var seen sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			s := status(n.url+"/v1/me", "Cookie", cookie)
			if down.Load() {
				v, _ := seen.LoadOrStore(s, new(atomic.Int64))
				v.(*atomic.Int64).Add(1)
			}
		}
	})
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	// The cache's change feed breaks with the server: from then on every
	// lookup goes to the (dead) store.
	time.Sleep(500 * time.Millisecond)
	down.Store(true)
	time.Sleep(time.Second)
	code, body := cl.do("POST", n.url+"/v1/login", "application/json", `{"email":"ann@example.com","password":"`+nodePassword+`"}`)
	if code != 503 {
		t.Fatalf("login with PostgreSQL down: %d %s", code, body)
	}
	if code, body := cl.do("GET", n.url+"/readyz", "", ""); code != 503 || !strings.Contains(string(body), `"db":"unavailable`) {
		t.Fatalf("readyz: %d %s", code, body)
	}
	down.Store(false)
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
	close(stop)
	wg.Wait()
	seen.Range(func(k, v any) bool {
		t.Logf("with PostgreSQL down: %d × %d", v.(*atomic.Int64).Load(), k)
		if k.(int) != 503 {
			t.Errorf("status %d while PostgreSQL was down", k)
		}
		return true
	})
}
