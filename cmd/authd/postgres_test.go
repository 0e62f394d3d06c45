package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/authd/authd/postgres/pgtest"
)

func TestServeOnPostgres(t *testing.T) {
	db := pgtest.Schema(t)
	const pw = "correct horse battery staple"
	addUser(t, db, "ann@example.com", pw)
	base, stop, logs := startServer(t, env(nil), "--db", db, "--dev")
	res, err := http.Post(base+"/v1/login", "application/json", strings.NewReader(`{"email":"ann@example.com","password":"`+pw+`"}`))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("login: %v %v", err, res)
	}
	res.Body.Close()
	ready, err := http.Get(base + "/readyz")
	if err != nil || ready.StatusCode != 200 {
		t.Fatalf("readyz: %v %v", err, ready)
	}
	ready.Body.Close()
	if code := stop(); code != 0 {
		t.Fatalf("exit %d: %s", code, logs)
	}
}

func TestUnreachablePostgres(t *testing.T) {
	code, _, errOut := runCmd(t, "", env(nil), "serve", "--db", "postgres://authd:secret@127.0.0.1:1/authd")
	if code == 0 || strings.Count(errOut, "\n") != 1 || !strings.HasPrefix(errOut, "authd: ") || !strings.Contains(errOut, "--db") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if strings.Contains(errOut, "secret") {
		t.Fatalf("the password leaked into the error: %q", errOut)
	}
}
