package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/sqlite"
)

const adminPW = "correct horse battery staple"

// usersJSON runs user list --json with args and decodes its lines.
func usersJSON(t *testing.T, db string, args ...string) []map[string]any {
	t.Helper()
	out := mustRun(t, "", append([]string{"user", "list", "--json", "--db", db}, args...)...)
	return jsonLines(t, out)
}

func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var l []map[string]any
	for line := range strings.Lines(out) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", line, err)
		}
		l = append(l, m)
	}
	return l
}

func keysOf(m map[string]any) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return sorted(k)
}

// failsWith runs a command that must fail with one "authd: " line saying want.
func failsWith(t *testing.T, stdin string, want string, args ...string) {
	t.Helper()
	code, out, errOut := runCmd(t, stdin, env(nil), args...)
	if code == 0 || out != "" {
		t.Fatalf("%v: exit %d, stdout %q; want a failure", args, code, out)
	}
	if !strings.HasPrefix(errOut, "authd: ") || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, want) {
		t.Fatalf("%v: stderr %q; want one 'authd: ' line saying %q", args, errOut, want)
	}
}

// TestUserList: one user a line or JSON lines, filtered by --query, every
// user printed however many pages the directory takes.
func TestUserList(t *testing.T) {
	db := migrated(t)
	ids := map[string]string{}
	for _, e := range []string{"ann@example.com", "bob@example.com", "Hannah@Example.org"} {
		ids[strings.ToLower(e)] = addUser(t, db, e, adminPW)
	}
	mustRun(t, "", "user", "role", "add", "--db", db, "--email", "ann@example.com", "--role", "admin")
	mustRun(t, "", "user", "lock", "--db", db, "--email", "bob@example.com")

	out := mustRun(t, "", "user", "list", "--db", db)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID ") {
		t.Fatalf("user list: want a header and 3 lines:\n%s", out)
	}
	for _, want := range [][]string{
		{ids["ann@example.com"], "active", "ann@example.com", "no", "admin"},
		{ids["bob@example.com"], "locked", "bob@example.com", "no", "-"},
		{ids["hannah@example.org"], "active", "hannah@example.org", "no", "-"},
	} {
		if !slices.ContainsFunc(lines[1:], func(l string) bool { return slices.Equal(strings.Fields(l), want) }) {
			t.Errorf("no line %v in:\n%s", want, out)
		}
	}

	all := usersJSON(t, db)
	if len(all) != 3 {
		t.Fatalf("--json: %d lines, want 3", len(all))
	}
	wantKeys := []string{"created_at", "email", "email_verified", "id", "locked", "roles"}
	for _, u := range all {
		if !slices.Equal(keysOf(u), wantKeys) {
			t.Errorf("--json keys %v, want %v", keysOf(u), wantKeys)
		}
		if u["id"] != ids[u["email"].(string)] {
			t.Errorf("--json: %v", u)
		}
		if _, err := time.Parse(time.RFC3339, u["created_at"].(string)); err != nil {
			t.Errorf("created_at: %v", err)
		}
		roles, ok := u["roles"].([]any)
		if !ok {
			t.Errorf("roles %v: want a list, [] when none", u["roles"])
		}
		switch u["email"] {
		case "ann@example.com":
			if len(roles) != 1 || roles[0] != "admin" || u["locked"] != false {
				t.Errorf("ann: %v", u)
			}
		case "bob@example.com":
			if len(roles) != 0 || u["locked"] != true {
				t.Errorf("bob: %v", u)
			}
		}
	}

	for _, tt := range []struct {
		query string
		want  []string
	}{
		{"AN", []string{"ann@example.com", "hannah@example.org"}},
		{"example.org", []string{"hannah@example.org"}},
		{"nobody", nil},
	} {
		var got []string
		for _, u := range usersJSON(t, db, "--query", tt.query) {
			got = append(got, u["email"].(string))
		}
		if !slices.Equal(sorted(got), tt.want) {
			t.Errorf("--query %s: %v, want %v", tt.query, got, tt.want)
		}
		text := mustRun(t, "", "user", "list", "--db", db, "--query", tt.query)
		if n := strings.Count(text, "\n") - 1; n != len(tt.want) {
			t.Errorf("--query %s: %d text lines, want %d:\n%s", tt.query, n, len(tt.want), text)
		}
	}

	// Pages smaller than the user base: every user once, in id order.
	defer func(n int) { userPageSize = n }(userPageSize)
	for _, size := range []int{1, 2} {
		userPageSize = size
		var got []string
		for _, u := range usersJSON(t, db) {
			got = append(got, u["id"].(string))
		}
		want := []string{ids["ann@example.com"], ids["bob@example.com"], ids["hannah@example.org"]}
		if !slices.Equal(got, sorted(want)) {
			t.Errorf("page size %d: %v, want %v", size, got, sorted(want))
		}
	}
}

// login signs in at base and returns the client holding the session.
func login(t *testing.T, base, email, userAgent string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	req, _ := http.NewRequest("POST", base+"/v1/login", strings.NewReader(`{"email":"`+email+`","password":"`+adminPW+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("login as %s: %d", email, res.StatusCode)
	}
	return c
}

func meStatus(t *testing.T, c *http.Client, base string) int {
	t.Helper()
	res, err := c.Get(base + "/v1/me")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// untilSignedOut waits (up to 5 s) for the session of c to stop working.
func untilSignedOut(t *testing.T, c *http.Client, base, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for meStatus(t, c, base) != 401 {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the session still works after 5 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// showJSON runs user show --json.
func showJSON(t *testing.T, db, email string) map[string]any {
	t.Helper()
	l := jsonLines(t, mustRun(t, "", "user", "show", "--json", "--db", db, "--email", email))
	if len(l) != 1 {
		t.Fatalf("user show --json: %d lines, want one object", len(l))
	}
	return l[0]
}

// TestUserShowRolesSessions: show prints the account, second factors and
// live sessions; a change of roles and sessions revoke end the sessions;
// a role already there (or not there) changes nothing.
func TestUserShowRolesSessions(t *testing.T) {
	db := migrated(t)
	id := addUser(t, db, "ann@example.com", adminPW)
	addUser(t, db, "bob@example.com", adminPW)
	// Cat has second factors, put straight into the store (so a sign-in of
	// hers would be pending: she does not sign in).
	catID := addUser(t, db, "cat@example.com", adminPW)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, strings.TrimPrefix(db, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, err := range []error{
		st.PutTOTP(ctx, &authd.TOTP{UserID: catID, Sealed: []byte("x"), CreatedAt: now}),
		st.ConfirmTOTP(ctx, catID, 1),
		st.AddPasskey(ctx, &authd.Passkey{ID: authd.NewID(), UserID: catID, Name: "Work laptop", CredentialID: []byte("cred"), Credential: []byte("c"), CreatedAt: now}),
		st.SetRecoveryCodes(ctx, catID, [][]byte{[]byte("h1"), []byte("h2"), []byte("h3")}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	base, _, _ := startServer(t, env(nil), "--db", db, "--dev")
	ann := login(t, base, "ann@example.com", "Firefox on the test")
	bob := login(t, base, "bob@example.com", "curl/8")

	out := mustRun(t, "", "user", "show", "--db", db, "--email", "ANN@example.com")
	for _, want := range []string{"id:  ", id, "ann@example.com (unverified)", "state:", "active", "authenticator app:    no", "passkeys:",
		"recovery codes left:  0", "live sessions:", "Firefox on the test", "127.0.0.1"} {
		if !strings.Contains(out, want) {
			t.Errorf("user show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "curl/8") {
		t.Errorf("user show shows another user's session:\n%s", out)
	}
	out = mustRun(t, "", "user", "show", "--db", db, "--email", "cat@example.com")
	for _, want := range []string{catID, "authenticator app:    yes", "Work laptop (added ", "never used", "recovery codes left:  3", "live sessions:        0"} {
		if !strings.Contains(out, want) {
			t.Errorf("user show lacks %q:\n%s", want, out)
		}
	}
	cat := showJSON(t, db, "cat@example.com")
	mfa := cat["mfa"].(map[string]any)
	pk := mfa["passkeys"].([]any)
	if mfa["totp"] != true || mfa["recovery_codes_left"] != 3.0 || len(pk) != 1 || pk[0].(map[string]any)["name"] != "Work laptop" ||
		pk[0].(map[string]any)["last_used_at"] != nil {
		t.Errorf("show --json mfa: %v", mfa)
	}
	if ss, ok := cat["sessions"].([]any); !ok || len(ss) != 0 {
		t.Errorf("cat's sessions %v, want []", cat["sessions"])
	}

	m := showJSON(t, db, "ann@example.com")
	wantKeys := []string{"created_at", "email", "email_verified", "id", "locked", "mfa", "roles", "sessions"}
	if !slices.Equal(keysOf(m), wantKeys) {
		t.Fatalf("show --json keys %v, want %v", keysOf(m), wantKeys)
	}
	if mfa := m["mfa"].(map[string]any); mfa["totp"] != false || mfa["recovery_codes_left"] != 0.0 || mfa["passkeys"] == nil {
		t.Errorf("ann's mfa: %v (no factors: false, 0 and [])", mfa)
	}
	ss := m["sessions"].([]any)
	if len(ss) != 1 {
		t.Fatalf("show --json sessions: %v", ss)
	}
	s := ss[0].(map[string]any)
	if s["ip"] != "127.0.0.1" || s["user_agent"] != "Firefox on the test" || s["id"] == "" || s["created_at"] == nil || s["last_seen_at"] == nil {
		t.Errorf("show --json session: %v", s)
	}

	// Roles: a change ends the sessions; no change ends nothing.
	for _, tt := range []struct {
		args  []string
		want  string
		roles []any
		ends  bool
	}{
		{[]string{"add", "--role", "admin"}, "role admin granted to ann@example.com", []any{"admin"}, true},
		{[]string{"add", "--role", "admin"}, "ann@example.com already has the role admin: nothing changed", []any{"admin"}, false},
		{[]string{"add", "--role", "ops"}, "role ops granted to ann@example.com (roles now: admin, ops)", []any{"admin", "ops"}, true},
		{[]string{"remove", "--role", "admin"}, "role admin taken from ann@example.com (roles now: ops)", []any{"ops"}, true},
		{[]string{"remove", "--role", "admin"}, "ann@example.com does not have the role admin: nothing changed", []any{"ops"}, false},
	} {
		t.Run("role "+strings.Join(tt.args, " "), func(t *testing.T) {
			if meStatus(t, ann, base) != 200 {
				ann = login(t, base, "ann@example.com", "Firefox on the test")
			}
			out := mustRun(t, "", append([]string{"user", "role", tt.args[0], "--db", db, "--email", "ann@example.com"}, tt.args[1:]...)...)
			if strings.Count(out, "\n") != 1 || !strings.Contains(out, tt.want) {
				t.Fatalf("stdout %q, want one line saying %q", out, tt.want)
			}
			if tt.ends != strings.Contains(out, "sessions and refresh tokens are ended") {
				t.Errorf("stdout %q: says the sessions end: %v, want %v", out, !tt.ends, tt.ends)
			}
			m := showJSON(t, db, "ann@example.com")
			if !slices.Equal(m["roles"].([]any), tt.roles) {
				t.Errorf("roles %v, want %v", m["roles"], tt.roles)
			}
			if n := len(m["sessions"].([]any)); tt.ends != (n == 0) {
				t.Errorf("%d sessions left", n)
			}
			if tt.ends {
				untilSignedOut(t, ann, base, "role change")
			} else if meStatus(t, ann, base) != 200 {
				t.Error("the session ended though nothing changed")
			}
		})
	}
	if meStatus(t, bob, base) != 200 {
		t.Fatal("bob's session ended with ann's roles")
	}

	out = mustRun(t, "", "user", "sessions", "revoke", "--db", db, "--email", "bob@example.com")
	if out != "every session and refresh token family of bob@example.com is ended\n" {
		t.Errorf("sessions revoke: %q", out)
	}
	untilSignedOut(t, bob, base, "sessions revoke")
	if n := len(showJSON(t, db, "bob@example.com")["sessions"].([]any)); n != 0 {
		t.Errorf("%d sessions left after sessions revoke", n)
	}
}

// TestUserDelete: --yes deletes the user and frees the email; without it
// and without a terminal, nothing is deleted.
func TestUserDelete(t *testing.T) {
	db := migrated(t)
	id := addUser(t, db, "ann@example.com", adminPW)
	addUser(t, db, "bob@example.com", adminPW)

	failsWith(t, "ann@example.com\n", "pass --yes", "user", "delete", "--db", db, "--email", "ann@example.com")
	if len(usersJSON(t, db, "--query", "ann")) != 1 {
		t.Fatal("deleted without --yes")
	}
	failsWith(t, "", "no user with email carol@example.com", "user", "delete", "--db", db, "--email", "carol@example.com", "--yes")

	out := mustRun(t, "", "user", "delete", "--db", db, "--email", "Ann@Example.com", "--yes")
	if strings.Count(out, "\n") != 1 || !strings.Contains(out, "ann@example.com ("+id+") is deleted") {
		t.Fatalf("delete: %q", out)
	}
	if l := usersJSON(t, db); len(l) != 1 || l[0]["email"] != "bob@example.com" {
		t.Fatalf("after delete: %v", l)
	}
	failsWith(t, "", "no user with email ann@example.com", "user", "show", "--db", db, "--email", "ann@example.com")
	// The audit log keeps the id; the email is free again.
	events := jsonLines(t, mustRun(t, "", "audit", "--json", "--db", db, "--event", "account_deleted"))
	if len(events) != 1 || events[0]["user_id"] != id {
		t.Fatalf("account_deleted events: %v", events)
	}
	if newID := addUser(t, db, "ann@example.com", adminPW); newID == id {
		t.Fatal("the new account has the old id")
	}
}

// TestAudit: newest first, filtered by --event, --email and --since, cut
// at --limit, as text or JSON lines.
func TestAudit(t *testing.T) {
	db := migrated(t)
	annID := addUser(t, db, "ann@example.com", adminPW)
	bobID := addUser(t, db, "bob@example.com", adminPW)
	base, _, _ := startServer(t, env(nil), "--db", db, "--dev")
	login(t, base, "ann@example.com", "audit-test")
	res, err := http.Post(base+"/v1/login", "application/json", strings.NewReader(`{"email":"bob@example.com","password":"wrong password here"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	mustRun(t, "", "user", "sessions", "revoke", "--db", db, "--email", "bob@example.com")
	mustRun(t, "", "user", "role", "add", "--db", db, "--email", "ann@example.com", "--role", "ops")

	all := jsonLines(t, mustRun(t, "", "audit", "--json", "--db", db))
	if len(all) < 4 {
		t.Fatalf("audit: %d events: %v", len(all), all)
	}
	wantKeys := []string{"at", "detail", "event", "ip", "session_id", "user_agent", "user_id"}
	var prev time.Time
	for i, e := range all {
		if !slices.Equal(keysOf(e), wantKeys) {
			t.Fatalf("keys %v, want %v", keysOf(e), wantKeys)
		}
		at, err := time.Parse(time.RFC3339Nano, e["at"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && at.After(prev) {
			t.Errorf("event %d is newer than the one before it: not newest first", i)
		}
		prev = at
	}
	if all[0]["event"] != "admin_action" || all[0]["user_id"] != annID || !strings.Contains(all[0]["detail"].(string), "roles set to [ops]") {
		t.Errorf("newest event: %v", all[0])
	}

	events := func(args ...string) []map[string]any {
		return jsonLines(t, mustRun(t, "", append([]string{"audit", "--json", "--db", db}, args...)...))
	}
	for _, tt := range []struct {
		name  string
		args  []string
		check func(e map[string]any) bool
		min   int
		max   int
	}{
		{"event", []string{"--event", "login_succeeded"}, func(e map[string]any) bool {
			return e["event"] == "login_succeeded" && e["user_id"] == annID && e["user_agent"] == "audit-test" && e["ip"] == "127.0.0.1" && e["session_id"] != ""
		}, 1, 1},
		{"failed login", []string{"--event", "login_failed"}, func(e map[string]any) bool { return e["user_id"] == bobID }, 1, 1},
		{"email", []string{"--email", "BOB@example.com"}, func(e map[string]any) bool { return e["user_id"] == bobID }, 2, 100},
		{"email and event", []string{"--email", "ann@example.com", "--event", "admin_action"}, func(e map[string]any) bool {
			return e["user_id"] == annID && e["event"] == "admin_action"
		}, 1, 1},
		{"since a duration", []string{"--since", "1h"}, func(map[string]any) bool { return true }, len(all), len(all)},
		{"since a time", []string{"--since", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}, func(map[string]any) bool { return true }, len(all), len(all)},
		{"since the future", []string{"--since", time.Now().Add(time.Hour).Format(time.RFC3339)}, nil, 0, 0},
		{"limit", []string{"--limit", "2"}, func(map[string]any) bool { return true }, 2, 2},
		{"unknown event", []string{"--event", "no_such_event"}, nil, 0, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := events(tt.args...)
			if len(got) < tt.min || len(got) > tt.max {
				t.Fatalf("%d events, want %d to %d: %v", len(got), tt.min, tt.max, got)
			}
			for _, e := range got {
				if !tt.check(e) {
					t.Errorf("event does not fit %v: %v", tt.args, e)
				}
			}
		})
	}
	// --limit cuts the newest.
	if l := events("--limit", "2"); l[0]["at"] != all[0]["at"] || l[1]["at"] != all[1]["at"] {
		t.Errorf("--limit 2: %v, want the two newest", l)
	}

	// Text: a header, then one line an event: time, event, user id, IP, detail.
	out := mustRun(t, "", "audit", "--db", db, "--limit", "3")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "TIME EVENT USER IP DETAIL" {
		t.Fatalf("audit text:\n%s", out)
	}
	f := strings.Fields(lines[1])
	if _, err := time.Parse(time.RFC3339, f[0]); err != nil || f[1] != "admin_action" || f[2] != annID || f[3] != "-" ||
		!strings.Contains(lines[1], "cli: roles set to [ops]") {
		t.Errorf("first line %q", lines[1])
	}
	out = mustRun(t, "", "audit", "--db", db, "--event", "login_succeeded")
	if !strings.Contains(out, "127.0.0.1") || !strings.Contains(out, annID) {
		t.Errorf("login_succeeded text:\n%s", out)
	}
}

// TestAdminCommandErrors: a bad invocation of the new commands is one
// "authd: " line naming what is wrong.
func TestAdminCommandErrors(t *testing.T) {
	db := migrated(t)
	addUser(t, db, "ann@example.com", adminPW)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "show"}, "user show: --email is required"},
		{[]string{"user", "delete", "--yes"}, "user delete: --email is required"},
		{[]string{"user", "role", "add", "--role", "admin"}, "user role add: --email is required"},
		{[]string{"user", "role", "remove", "--email", "ann@example.com"}, "user role remove: --role is required"},
		{[]string{"user", "role", "add", "--email", "ann@example.com", "--role", "not a role"}, `--role: role "not a role": want`},
		{[]string{"user", "sessions", "revoke"}, "user sessions revoke: --email is required"},
		{[]string{"user", "show", "--email", "nobody@example.com"}, "no user with email nobody@example.com"},
		{[]string{"user", "role", "add", "--email", "nobody@example.com", "--role", "admin"}, "no user with email nobody@example.com"},
		{[]string{"user", "sessions", "revoke", "--email", "nobody@example.com"}, "no user with email nobody@example.com"},
		{[]string{"user", "list", "--email", "ann@example.com"}, "unknown flag --email for authd user list"},
		{[]string{"user", "show", "--email", "ann@example.com", "--yes"}, "unknown flag --yes for authd user show"},
		{[]string{"audit", "--email", "nobody@example.com"}, "no user with email nobody@example.com"},
		{[]string{"audit", "--since", "yesterday"}, `--since "yesterday": want a time like`},
		{[]string{"audit", "--since", "-2h"}, `--since "-2h": want`},
		{[]string{"audit", "--limit", "0"}, "--limit 0: want 1 to 1000"},
		{[]string{"audit", "--limit", "1001"}, "--limit 1001: want 1 to 1000"},
		{[]string{"audit", "--limit", "many"}, `--limit "many": want a whole number`},
		{[]string{"audit", "--event", "Login OK"}, `--event "Login OK": want an event name`},
		{[]string{"audit", "extra"}, `unexpected argument "extra" for authd audit`},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			failsWith(t, "", tt.want, append(tt.args, "--db", db)...)
		})
	}
	// A two-word subcommand without its second word, or with a wrong one.
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"user", "role"}, "user role: missing subcommand: want add or remove; run 'authd user role --help'"},
		{[]string{"user", "role", "grant"}, `user role: unknown subcommand "grant": want add or remove`},
		{[]string{"user", "sessions"}, "user sessions: missing subcommand: want revoke"},
		{[]string{"user", "sessions", "list"}, `user sessions: unknown subcommand "list": want revoke`},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			failsWith(t, "", tt.want, tt.args...)
		})
	}
}
