package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/internal/mailtest"
)

var recoverTokenRE = regexp.MustCompile(`/recover\?token=([A-Za-z0-9_-]{43})`)

// TestMailAcrossNodesAndOutage runs two authd processes on one database
// with a real SMTP server (Mailpit): mail requested while the server is
// down arrives once it is back, and with several nodes sending from one
// outbox every mail is sent exactly once.
func TestMailAcrossNodesAndOutage(t *testing.T) {
	mp := mailtest.Start(t)
	db := "sqlite:" + filepath.Join(t.TempDir(), "authd.db")
	n1 := startNode(t, "--db", db, "--smtp", mp.SMTPURL())
	n2 := startNode(t, "--db", db, "--smtp", mp.SMTPURL())
	c := newClient(t)
	const ctype = "application/json"
	body := func(kv ...string) string {
		var parts []string
		for i := 0; i+1 < len(kv); i += 2 {
			parts = append(parts, fmt.Sprintf("%q:%q", kv[i], kv[i+1]))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	if code, b := c.do("POST", n1.url+"/v1/register", ctype, body("email", "ann@example.com", "password", nodePassword)); code != http.StatusCreated {
		t.Fatalf("register: %d %s", code, b)
	}
	mp.WaitFor(t, "ann@example.com", 1, 20*time.Second) // the verification link

	// The outage: the request is answered at once, the mail waits.
	mp.Stop()
	start := time.Now()
	if code, b := c.do("POST", n2.url+"/v1/recovery", ctype, body("email", "ann@example.com")); code != http.StatusAccepted {
		t.Fatalf("recovery during the outage: %d %s", code, b)
	}
	t.Logf("recovery answered in %s with the SMTP server down", time.Since(start))
	time.Sleep(2500 * time.Millisecond) // a poll or two: both nodes try and fail
	mp.Restart()
	ms := mp.WaitFor(t, "ann@example.com", 2, 60*time.Second)
	m := recoverTokenRE.FindStringSubmatch(ms[0].Text)
	if m == nil {
		t.Fatalf("the mail after the outage has no recovery link: %s", ms[0].Text)
	}
	const newPW = "a new passphrase after the outage"
	if code, b := c.do("POST", n1.url+"/v1/recovery/complete", ctype, body("token", m[1], "new_password", newPW)); code != http.StatusNoContent {
		t.Fatalf("complete: %d %s", code, b)
	}
	if code, b := c.do("POST", n2.url+"/v1/login", ctype, body("email", "ann@example.com", "password", newPW)); code != http.StatusOK {
		t.Fatalf("sign-in with the new password on the other node: %d %s", code, b)
	}

	// Many mails from two nodes: each arrives once.
	const users = 20
	for i := range users {
		n := []*node{n1, n2}[i%2]
		email := fmt.Sprintf("user%02d@example.com", i)
		if code, b := c.do("POST", n.url+"/v1/register", ctype, body("email", email, "password", nodePassword)); code != http.StatusCreated {
			t.Fatalf("register %s: %d %s", email, code, b)
		}
	}
	want := users + 3 // ann: verification, recovery, the reset notice
	deadline := time.Now().Add(60 * time.Second)
	var all []mailtest.Mail
	for {
		all = mp.Messages(t)
		if len(all) >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // a duplicate, if any, has time to arrive
	all = mp.Messages(t)
	seen := map[string]bool{}
	for _, x := range all {
		id := x.MessageID
		if seen[id] {
			t.Errorf("mail %s (%s to %v) arrived twice", id, x.Subject, x.ToAddresses())
		}
		seen[id] = true
	}
	if len(all) != want {
		t.Fatalf("%d mails arrived, want %d", len(all), want)
	}
}
