package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/redis/rueidis"
	_ "modernc.org/sqlite"

	"github.com/authd/authd/redis/redistest"
)

// TestDeleteLeavesNothing deletes a user who has something in every store
// — sessions and throttle counters in Redis; refresh families, a mailed
// link and audit events in SQLite — and then reads every table and every
// Redis key under the deployment's prefix: nothing names the user but the
// audit events, and those by id only.
func TestDeleteLeavesNothing(t *testing.T) {
	redisURL, prefix := redistest.URL(t)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "authd.db")
	base, _, _ := startServer(t, env(nil), "--db", "sqlite:"+dbPath, "--redis", redisURL, "--redis-prefix", prefix,
		"--dev", "--password-grant", "--log-level", "error")
	const email, pw = "erase.me@example.com", "correct horse battery staple"
	c := newClient(t)
	form := "application/x-www-form-urlencoded"
	if code, b := c.do("POST", base+"/v1/register", "application/json", `{"email":"`+email+`","password":"`+pw+`"}`); code != http.StatusCreated {
		t.Fatalf("register: %d %s", code, b)
	}
	// A failed sign-in (a throttle counter), a session, a refresh family,
	// a recovery link (written to the log under --dev).
	c.do("POST", base+"/v1/login", "application/json", `{"email":"`+email+`","password":"wrong, wrong, wrong"}`)
	if code, b := c.do("POST", base+"/v1/login", "application/json", `{"email":"`+email+`","password":"`+pw+`"}`); code != http.StatusOK {
		t.Fatalf("login: %d %s", code, b)
	}
	if code, b := c.do("POST", base+"/oauth2/token", form, url.Values{"grant_type": {"password"}, "username": {email}, "password": {pw}}.Encode()); code != http.StatusOK {
		t.Fatalf("password grant: %d %s", code, b)
	}
	if code, b := c.do("POST", base+"/v1/recovery", "application/json", `{"email":"`+email+`"}`); code != http.StatusAccepted {
		t.Fatalf("recovery: %d %s", code, b)
	}
	var me struct{ ID string }
	code, b := c.do("GET", base+"/v1/me", "", "")
	if code != http.StatusOK {
		t.Fatalf("me: %d %s", code, b)
	}
	mustUnmarshal(t, b, &me)
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	opt, err := rueidis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	opt.DisableCache = true
	rc, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()

	// Before: the user is in both stores (the scans can see them).
	if n := len(sqlHits(t, db, me.ID, email)); n == 0 {
		t.Fatal("the SQLite scan finds nothing of the user before the deletion: the scan is broken")
	}
	if n := len(redisHits(t, rc, prefix, me.ID, email)); n == 0 {
		t.Fatal("the Redis scan finds nothing of the user before the deletion: the scan is broken")
	}

	if code, b := c.do("DELETE", base+"/v1/account", "application/json", `{"current_password":"`+pw+`"}`); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, b)
	}
	for _, h := range sqlHits(t, db, me.ID, email) {
		if !strings.HasPrefix(h, "audit_events.user_id") {
			t.Errorf("left in SQLite: %s", h)
		}
	}
	for _, h := range redisHits(t, rc, prefix, me.ID, email) {
		t.Errorf("left in Redis: %s", h)
	}
}

func mustUnmarshal(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

// sqlHits lists "table.column" for every value of every table that
// contains one of needles.
func sqlHits(t *testing.T, db *sql.DB, needles ...string) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		tables = append(tables, n)
	}
	rows.Close()
	var hits []string
	for _, tb := range tables {
		rows, err := db.QueryContext(ctx, `SELECT * FROM "`+tb+`"`)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				s := fmt.Sprint(v)
				if bs, ok := v.([]byte); ok {
					s = string(bs)
				}
				for _, n := range needles {
					if strings.Contains(s, n) {
						hits = append(hits, tb+"."+cols[i]+" = "+s)
					}
				}
			}
		}
		rows.Close()
	}
	return hits
}

// redisHits lists every key under prefix whose name or value contains one
// of needles.
func redisHits(t *testing.T, rc rueidis.Client, prefix string, needles ...string) []string {
	t.Helper()
	ctx := context.Background()
	var hits []string
	var cursor uint64
	for {
		e, err := rc.Do(ctx, rc.B().Scan().Cursor(cursor).Match(prefix+"*").Count(1000).Build()).AsScanEntry()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range e.Elements {
			typ, err := rc.Do(ctx, rc.B().Type().Key(k).Build()).ToString()
			if err != nil {
				t.Fatal(err)
			}
			var vals []string
			switch typ {
			case "string":
				v, _ := rc.Do(ctx, rc.B().Get().Key(k).Build()).ToString()
				vals = []string{v}
			case "hash":
				m, _ := rc.Do(ctx, rc.B().Hgetall().Key(k).Build()).AsStrMap()
				for f, v := range m {
					vals = append(vals, f, v)
				}
			case "set":
				vals, _ = rc.Do(ctx, rc.B().Smembers().Key(k).Build()).AsStrSlice()
			case "zset":
				vals, _ = rc.Do(ctx, rc.B().Zrange().Key(k).Min("0").Max("-1").Build()).AsStrSlice()
			case "list":
				vals, _ = rc.Do(ctx, rc.B().Lrange().Key(k).Start(0).Stop(-1).Build()).AsStrSlice()
			case "stream":
				xs, _ := rc.Do(ctx, rc.B().Xrange().Key(k).Start("-").End("+").Build()).AsXRange()
				for _, x := range xs {
					for f, v := range x.FieldValues {
						vals = append(vals, f, v)
					}
				}
			default:
				t.Fatalf("key %s has type %s, which this test does not read: teach it", k, typ)
			}
			for _, n := range needles {
				if strings.Contains(k, n) || strings.Contains(strings.Join(vals, "\x00"), n) {
					hits = append(hits, typ+" "+k)
				}
			}
		}
		if e.Cursor == 0 {
			break
		}
		cursor = e.Cursor
	}
	return hits
}
