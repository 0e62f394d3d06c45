package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// TestSecondFactorEndToEnd: serve makes the encryption key (0600) when it
// is missing and says that passkeys are off for an IP issuer; a user sets
// up an authenticator app, the password then asks for its code, the
// secret is nowhere in the database file, and `authd user mfa reset` takes
// the factor away, so the password alone signs in again.
func TestSecondFactorEndToEnd(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "authd.db")
	key := filepath.Join(dir, "secrets", "authd.key")
	if err := os.Mkdir(filepath.Dir(key), 0o700); err != nil {
		t.Fatal(err)
	}
	const pw = "correct horse battery staple"
	addUser(t, db, "ann@example.com", pw)
	base, stop, logs := startServer(t, env(map[string]string{"AUTHD_DB": db, "AUTHD_DEV": "true"}), "--encryption-key-file", key)
	defer stop()
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
		t.Fatalf("encryption key: %v %v", fi, err)
	}
	if !strings.Contains(logs.String(), "passkeys are off") {
		t.Errorf("serve did not say that passkeys are off for an IP issuer:\n%s", logs)
	}
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	call := func(method, path, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		if res.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
		return m
	}
	call("POST", "/v1/login", `{"email":"ann@example.com","password":"`+pw+`"}`)
	secret := call("POST", "/v1/mfa/totp", "{}")["secret"].(string)
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	call("POST", "/v1/mfa/totp/confirm", `{"code":"`+code+`"}`)
	call("POST", "/v1/logout", "")
	if m := call("POST", "/v1/login", `{"email":"ann@example.com","password":"`+pw+`"}`); m["mfa_required"] != true {
		t.Fatalf("login with an authenticator app set up: %v", m)
	}
	raw, err := os.ReadFile(strings.TrimPrefix(db, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), secret) {
		t.Fatal("the authenticator app's secret is in the database file in the clear")
	}

	if code, out, e := runCmd(t, "", env(nil), "user", "mfa", "reset", "--db", db, "--email", "Ann@Example.com"); code != 0 || !strings.Contains(out, "removed") {
		t.Fatalf("user mfa reset: %d %q %q", code, out, e)
	}
	if m := call("POST", "/v1/login", `{"email":"ann@example.com","password":"`+pw+`"}`); m["mfa_required"] != nil {
		t.Fatalf("login after mfa reset: %v", m)
	}
	if code, _, e := runCmd(t, "", env(nil), "user", "mfa", "reset", "--db", db, "--email", "nobody@example.com"); code == 0 || !strings.Contains(e, "no user with email") {
		t.Fatalf("mfa reset of an unknown user: %d %q", code, e)
	}
}
