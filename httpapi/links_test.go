package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/account"
	"github.com/authd/authd/internal/mailtest"
)

// linkRE finds a mailed link of the harness issuer in a mail's text.
var linkRE = regexp.MustCompile(`http://authd\.test/(recover|verify)\?token=[A-Za-z0-9_%-]+`)

// mailHarness is a harness whose mail goes to a private Mailpit.
func mailHarness(t *testing.T, v account.Verification, opts ...option) (*harness, *mailtest.Server) {
	t.Helper()
	mp := mailtest.Start(t)
	return newHarness(t, append([]option{withMail(mp, v)}, opts...)...), mp
}

// tokenOf returns the token of the link of page ("recover", "verify") in
// m's text; it fails the test when there is none.
func tokenOf(t *testing.T, m mailtest.Mail, page string) string {
	t.Helper()
	for _, l := range linkRE.FindAllString(m.Text, -1) {
		u, err := url.Parse(l)
		if err != nil {
			t.Fatal(err)
		}
		if u.Path == "/"+page {
			return u.Query().Get("token")
		}
	}
	t.Fatalf("no /%s link in the mail %q: %s", page, m.Subject, m.Text)
	return ""
}

// lastToken waits for the n-th mail to to and returns the token of its
// link of page.
func lastToken(t *testing.T, mp *mailtest.Server, to string, n int, page string) string {
	t.Helper()
	ms := mp.WaitFor(t, to, n, 10*time.Second)
	return tokenOf(t, ms[0], page) // newest first
}

func jsonBody(kv ...string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// withoutRequestID is a problem body without its per-request id.
func withoutRequestID(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	delete(m, "request_id")
	return m
}

// TestRecoveryAnswersAlike: a recovery request answers the same status and
// body whether the account exists, and only an account gets a mail (E1).
// The time it takes is measured by BenchmarkRecoveryRequest, not asserted.
func TestRecoveryAnswersAlike(t *testing.T) {
	h, mp := mailHarness(t, account.VerificationOff)
	h.register("ann@example.com")
	h.register("bob@example.com")
	if err := h.lock("bob@example.com"); err != nil {
		t.Fatal(err)
	}
	known := h.do(nil, "POST", "/v1/recovery", jsonBody("email", "ann@example.com"))
	unknown := h.do(nil, "POST", "/v1/recovery", jsonBody("email", "nobody@example.com"))
	locked := h.do(nil, "POST", "/v1/recovery", jsonBody("email", "bob@example.com"))
	spelled := h.do(nil, "POST", "/v1/recovery", jsonBody("email", " ANN@Example.com"))
	for _, r := range []resp{known, unknown, locked, spelled} {
		if r.StatusCode != http.StatusAccepted || string(r.body) != string(known.body) {
			t.Fatalf("recovery answered %d %s; want 202 and the same body as for a known address (%s)", r.StatusCode, r.body, known.body)
		}
	}
	h.accounts.Wait()
	mp.WaitFor(t, "ann@example.com", 2, 10*time.Second)
	for _, m := range mp.Messages(t) {
		if to := m.ToAddresses(); len(to) != 1 || to[0] != "ann@example.com" {
			t.Fatalf("a mail went to %v", to)
		}
	}
	assertProblem(t, h.do(nil, "POST", "/v1/recovery", jsonBody("email", "not an address")), http.StatusBadRequest)
	assertProblem(t, h.do(nil, "POST", "/v1/recovery", url.Values{"email": {"ann@example.com"}}), http.StatusUnsupportedMediaType)
}

// BenchmarkRecoveryRequest measures how long POST /v1/recovery takes to
// answer for an account's address and for an unknown one, alternating
// the two so that drift of the machine touches both alike (E1: the same;
// compare the ns/account and ns/unknown metrics). The mail stays in the
// outbox.
func BenchmarkRecoveryRequest(b *testing.B) {
	h := newHarness(b, func(o *options) { o.mailQueueOnly = true })
	h.register("ann@example.com")
	bodies := [2]string{jsonBody("email", "ann@example.com"), jsonBody("email", "nobody@example.com")}
	var spent [2]time.Duration
	var n [2]int
	i := 0
	for b.Loop() {
		k := i % 2
		i++
		start := time.Now()
		r := h.do(nil, "POST", "/v1/recovery", bodies[k])
		spent[k] += time.Since(start)
		n[k]++
		if r.StatusCode != http.StatusAccepted {
			b.Fatalf("%d %s", r.StatusCode, r.body)
		}
	}
	h.accounts.Wait()
	for k, name := range []string{"ns/account", "ns/unknown"} {
		if n[k] > 0 {
			b.ReportMetric(float64(spent[k].Nanoseconds())/float64(n[k]), name)
		}
	}
}

// TestRecoveryResetsPassword: the link sets a new password, ends every
// session and refresh family, and keeps second factors (E2).
func TestRecoveryResetsPassword(t *testing.T) {
	h, mp := mailHarness(t, account.VerificationOff)
	c, _, _ := mfaUser(t, h) // ann, with an authenticator app
	newPW := "a brand new passphrase for ann"
	recover := func(email string, n int) {
		t.Helper()
		if r := h.do(nil, "POST", "/v1/recovery", jsonBody("email", email)); r.StatusCode != http.StatusAccepted {
			t.Fatalf("recovery: %d %s", r.StatusCode, r.body)
		}
		token := lastToken(t, mp, email, n, "recover")
		// A weak password is refused and the link still works.
		m := assertProblem(t, h.do(nil, "POST", "/v1/recovery/complete", jsonBody("token", token, "new_password", "short")), http.StatusBadRequest)
		if m["field"] != "new_password" {
			t.Fatalf("weak password problem %v", m)
		}
		if r := h.do(nil, "POST", "/v1/recovery/complete", jsonBody("token", token, "new_password", newPW)); r.StatusCode != http.StatusNoContent {
			t.Fatalf("complete: %d %s", r.StatusCode, r.body)
		}
	}
	recover("ann@example.com", 1)
	if r := h.do(c, "GET", "/v1/me", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a session from before the reset: %d, want 401", r.StatusCode)
	}
	assertProblem(t, h.do(h.client(), "POST", "/v1/login", creds("ann@example.com", goodPassword)), http.StatusUnauthorized)
	// The new password opens a pending sign-in: the second factor stays.
	r := h.do(h.client(), "POST", "/v1/login", creds("ann@example.com", newPW))
	if r.StatusCode != http.StatusOK || r.json(t)["mfa_required"] != true {
		t.Fatalf("sign-in after the reset: %d %s; want a pending sign-in (second factors kept)", r.StatusCode, r.body)
	}
	// The reset is told to the address, without a link.
	mails := mp.WaitFor(t, "ann@example.com", 2, 10*time.Second)
	if last := mails[0]; linkRE.MatchString(last.Text) {
		t.Fatalf("the reset notice carries a link: %s", last.Text)
	}

	// Refresh families end too.
	h.register("bob@example.com")
	tr := h.do(nil, "POST", "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {"bob@example.com"}, "password": {goodPassword}})
	refresh, _ := tr.json(t)["refresh_token"].(string)
	if refresh == "" {
		t.Fatalf("password grant: %d %s", tr.StatusCode, tr.body)
	}
	recover("bob@example.com", 1)
	rr := h.do(nil, "POST", "/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if rr.StatusCode != http.StatusBadRequest || rr.json(t)["error"] != "invalid_grant" {
		t.Fatalf("a refresh token from before the reset: %d %s", rr.StatusCode, rr.body)
	}
}

// TestLinkTokensRefusedAlike: bad, spent, expired and other-purpose
// tokens get the same 400; a new link voids the previous one of its
// purpose (E1).
func TestLinkTokensRefusedAlike(t *testing.T) {
	h, mp := mailHarness(t, account.VerificationOptional)
	h.register("ann@example.com")
	verify := lastToken(t, mp, "ann@example.com", 1, "verify")
	h.do(nil, "POST", "/v1/recovery", jsonBody("email", "ann@example.com"))
	first := lastToken(t, mp, "ann@example.com", 2, "recover")
	h.do(nil, "POST", "/v1/recovery", jsonBody("email", "ann@example.com"))
	second := lastToken(t, mp, "ann@example.com", 3, "recover")
	newPW := "another good passphrase here"

	complete := func(tok string) resp {
		return h.do(nil, "POST", "/v1/recovery/complete", jsonBody("token", tok, "new_password", newPW))
	}
	want := withoutRequestID(t, assertProblem(t, complete("not-a-token"), http.StatusBadRequest))
	cases := []struct {
		name string
		r    func() resp
	}{
		{"empty", func() resp { return complete("") }},
		{"unknown", func() resp { return complete(strings.Repeat("A", 43)) }},
		{"voided by a newer link", func() resp { return complete(first) }},
		{"verification token at recovery", func() resp { return complete(verify) }},
		{"recovery token at verification", func() resp {
			return h.do(nil, "POST", "/v1/email/verify", jsonBody("token", second))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := withoutRequestID(t, assertProblem(t, tc.r(), http.StatusBadRequest)); jsonOf(got) != jsonOf(want) {
				t.Fatalf("answer %v, want the same as for a malformed token %v", got, want)
			}
		})
	}
	// The recovery token presented for verification is still good for
	// its own purpose; once used it is spent.
	if r := complete(second); r.StatusCode != http.StatusNoContent {
		t.Fatalf("complete: %d %s", r.StatusCode, r.body)
	}
	if got := withoutRequestID(t, assertProblem(t, complete(second), http.StatusBadRequest)); jsonOf(got) != jsonOf(want) {
		t.Fatalf("a spent token: %v", got)
	}
	// The verification link still verifies (it is of its own purpose).
	if r := h.do(nil, "POST", "/v1/email/verify", jsonBody("token", verify)); r.StatusCode != http.StatusNoContent {
		t.Fatalf("verify: %d %s", r.StatusCode, r.body)
	}

	// Expiry: a link is dead after --recovery-ttl (30m in the harness).
	h.do(nil, "POST", "/v1/recovery", jsonBody("email", "ann@example.com"))
	h.accounts.Wait()
	late := lastToken(t, mp, "ann@example.com", 5, "recover")
	h.clock.Add(31 * time.Minute)
	if got := withoutRequestID(t, assertProblem(t, complete(late), http.StatusBadRequest)); jsonOf(got) != jsonOf(want) {
		t.Fatalf("an expired token: %v", got)
	}
}

// TestRecoveryLimited: three recovery mails per address per window; more
// requests answer the same and send nothing.
func TestRecoveryLimited(t *testing.T) {
	h, mp := mailHarness(t, account.VerificationOff)
	h.register("ann@example.com")
	for i := range 5 {
		if r := h.do(nil, "POST", "/v1/recovery", jsonBody("email", "ann@example.com")); r.StatusCode != http.StatusAccepted {
			t.Fatalf("request %d: %d %s", i, r.StatusCode, r.body)
		}
	}
	h.accounts.Wait()
	mp.WaitFor(t, "ann@example.com", 3, 10*time.Second)
	// Give a fourth mail, if one was queued, time to arrive.
	time.Sleep(300 * time.Millisecond)
	if n := len(mp.Messages(t)); n != 3 {
		t.Fatalf("%d mails, want 3", n)
	}
	// After the window, a new one is sent.
	h.clock.Add(16 * time.Minute)
	h.do(nil, "POST", "/v1/recovery", jsonBody("email", "ann@example.com"))
	mp.WaitFor(t, "ann@example.com", 4, 10*time.Second)
}

// TestEmailVerification: the registration mail verifies the address;
// /v1/me shows it; resend is for the signed-in.
func TestEmailVerification(t *testing.T) {
	h, mp := mailHarness(t, account.VerificationOptional)
	c := h.login("ann@example.com")
	if v := h.do(c, "GET", "/v1/me", nil).json(t)["email_verified"]; v != false {
		t.Fatalf("email_verified %v before the link", v)
	}
	first := lastToken(t, mp, "ann@example.com", 1, "verify")
	assertProblem(t, h.do(nil, "POST", "/v1/email/verify/resend", nil), http.StatusUnauthorized)
	if r := h.do(c, "POST", "/v1/email/verify/resend", nil); r.StatusCode != http.StatusAccepted {
		t.Fatalf("resend: %d %s", r.StatusCode, r.body)
	}
	second := lastToken(t, mp, "ann@example.com", 2, "verify")
	assertProblem(t, h.do(nil, "POST", "/v1/email/verify", jsonBody("token", first)), http.StatusBadRequest)
	if r := h.do(nil, "POST", "/v1/email/verify", jsonBody("token", second)); r.StatusCode != http.StatusNoContent {
		t.Fatalf("verify: %d %s", r.StatusCode, r.body)
	}
	if v := h.do(c, "GET", "/v1/me", nil).json(t)["email_verified"]; v != true {
		t.Fatalf("email_verified %v after the link", v)
	}
}

// TestEmailVerificationRequired: sign-in is refused until the link is used.
func TestEmailVerificationRequired(t *testing.T) {
	h, mp := mailHarness(t, account.VerificationRequired)
	h.register("ann@example.com")
	m := assertProblem(t, h.do(h.client(), "POST", "/v1/login", creds("ann@example.com", goodPassword)), http.StatusForbidden)
	if !strings.Contains(m["detail"].(string), "verify") {
		t.Fatalf("refusal %v", m)
	}
	// The wrong password is still the usual 401.
	assertProblem(t, h.do(h.client(), "POST", "/v1/login", creds("ann@example.com", "wrong password, clearly")), http.StatusUnauthorized)
	// The refused sign-in mailed a new link; it voided the first.
	tok := lastToken(t, mp, "ann@example.com", 2, "verify")
	if r := h.do(nil, "POST", "/v1/email/verify", jsonBody("token", tok)); r.StatusCode != http.StatusNoContent {
		t.Fatalf("verify: %d %s", r.StatusCode, r.body)
	}
	if r := h.do(h.client(), "POST", "/v1/login", creds("ann@example.com", goodPassword)); r.StatusCode != http.StatusOK {
		t.Fatalf("sign-in after verification: %d %s", r.StatusCode, r.body)
	}
}

// TestChangeEmail: the current password is asked; a link goes to the new
// address and a notice without one to the old; the change happens when
// the link is used, and ends the sessions (they carry the old address).
func TestChangeEmail(t *testing.T) {
	h, mp := mailHarness(t, account.VerificationOff)
	c := h.login("ann@example.com")
	h.register("bob@example.com")
	assertProblem(t, h.do(c, "POST", "/v1/email", jsonBody("new_email", "ann@new.example", "current_password", "wrong")), http.StatusForbidden)
	assertProblem(t, h.do(c, "POST", "/v1/email", jsonBody("new_email", "nope", "current_password", goodPassword)), http.StatusBadRequest)
	assertProblem(t, h.do(nil, "POST", "/v1/email", jsonBody("new_email", "ann@new.example", "current_password", goodPassword)), http.StatusUnauthorized)
	// A taken address answers the same and sends nothing.
	if r := h.do(c, "POST", "/v1/email", jsonBody("new_email", "bob@example.com", "current_password", goodPassword)); r.StatusCode != http.StatusAccepted {
		t.Fatalf("change to a taken address: %d %s", r.StatusCode, r.body)
	}
	if r := h.do(c, "POST", "/v1/email", jsonBody("new_email", "ann@new.example", "current_password", goodPassword)); r.StatusCode != http.StatusAccepted {
		t.Fatalf("change: %d %s", r.StatusCode, r.body)
	}
	notice := mp.WaitFor(t, "ann@example.com", 1, 10*time.Second)[0]
	if linkRE.MatchString(notice.Text) || !strings.Contains(notice.Text, "ann@new.example") {
		t.Fatalf("the notice to the old address: %s", notice.Text)
	}
	tok := lastToken(t, mp, "ann@new.example", 1, "verify")
	if n := len(mp.Messages(t)); n != 2 {
		t.Fatalf("%d mails, want 2 (nothing to bob's taken address)", n)
	}
	if me := h.do(c, "GET", "/v1/me", nil).json(t); me["email"] != "ann@example.com" {
		t.Fatalf("the address changed before the link was used: %v", me)
	}
	if r := h.do(nil, "POST", "/v1/email/verify", jsonBody("token", tok)); r.StatusCode != http.StatusNoContent {
		t.Fatalf("verify: %d %s", r.StatusCode, r.body)
	}
	if r := h.do(c, "GET", "/v1/me", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a session from before the change: %d", r.StatusCode)
	}
	c2 := h.client()
	if r := h.do(c2, "POST", "/v1/login", creds("ann@new.example", goodPassword)); r.StatusCode != http.StatusOK {
		t.Fatalf("sign-in with the new address: %d %s", r.StatusCode, r.body)
	}
	if me := h.do(c2, "GET", "/v1/me", nil).json(t); me["email"] != "ann@new.example" || me["email_verified"] != true {
		t.Fatalf("me after the change: %v", me)
	}
	assertProblem(t, h.do(h.client(), "POST", "/v1/login", creds("ann@example.com", goodPassword)), http.StatusUnauthorized)
}

// TestDeleteAccount: the password is asked; the user and their sessions
// are gone, and the cookie is cleared.
func TestDeleteAccount(t *testing.T) {
	h := newHarness(t)
	c := h.login("ann@example.com")
	other := h.client()
	h.do(other, "POST", "/v1/login", creds("ann@example.com", goodPassword))
	assertProblem(t, h.do(c, "DELETE", "/v1/account", jsonBody("current_password", "wrong")), http.StatusForbidden)
	assertProblem(t, h.do(nil, "DELETE", "/v1/account", jsonBody("current_password", goodPassword)), http.StatusUnauthorized)
	r := h.do(c, "DELETE", "/v1/account", jsonBody("current_password", goodPassword))
	if r.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.StatusCode, r.body)
	}
	if h.cookie(c) != "" {
		t.Fatal("the session cookie was not cleared")
	}
	if r := h.do(other, "GET", "/v1/me", nil); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("another session of the deleted user: %d", r.StatusCode)
	}
	assertProblem(t, h.do(h.client(), "POST", "/v1/login", creds("ann@example.com", goodPassword)), http.StatusUnauthorized)
	// The address is free again.
	h.register("ann@example.com")
}

// TestExport: everything held about the caller, no secrets.
func TestExport(t *testing.T) {
	h := newHarness(t)
	c, _, _ := mfaUser(t, h)
	assertProblem(t, h.do(nil, "GET", "/v1/account/export", nil), http.StatusUnauthorized)
	r := h.do(c, "GET", "/v1/account/export", nil)
	if r.StatusCode != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("export: %d %s", r.StatusCode, r.body)
	}
	var out struct {
		User struct {
			Email string `json:"email"`
		} `json:"user"`
		Sessions []map[string]any `json:"sessions"`
		Factors  struct {
			TOTP bool `json:"totp"`
			Left int  `json:"recovery_codes_left"`
		} `json:"second_factors"`
		Events []map[string]any `json:"audit_events"`
	}
	mustJSON(t, r, &out)
	if out.User.Email != "ann@example.com" || len(out.Sessions) != 1 || !out.Factors.TOTP || out.Factors.Left != 10 || len(out.Events) == 0 {
		t.Fatalf("export %s", r.body)
	}
	for _, secret := range []string{"argon2id", "password_hash", "secret", "sealed", h.cookie(c)} {
		if strings.Contains(string(r.body), secret) {
			t.Fatalf("the export holds %q: %s", secret, r.body)
		}
	}
}

// TestMailUnavailable: without a way to send mail, the requests that
// exist to send it are 503; registration works.
func TestMailUnavailable(t *testing.T) {
	h := newHarness(t)
	c := h.login("ann@example.com")
	m := assertProblem(t, h.do(nil, "POST", "/v1/recovery", jsonBody("email", "ann@example.com")), http.StatusServiceUnavailable)
	if !strings.Contains(m["detail"].(string), "--smtp") {
		t.Fatalf("the problem does not say what to do: %v", m)
	}
	assertProblem(t, h.do(c, "POST", "/v1/email/verify/resend", nil), http.StatusServiceUnavailable)
	assertProblem(t, h.do(c, "POST", "/v1/email", jsonBody("new_email", "a@b.example", "current_password", goodPassword)), http.StatusServiceUnavailable)
	assertProblem(t, h.do(nil, "POST", "/v1/email/verify", jsonBody("token", strings.Repeat("A", 43))), http.StatusBadRequest)
}

// TestLinkSpentOnce: of concurrent uses of one link exactly one succeeds.
func TestLinkSpentOnce(t *testing.T) {
	h, mp := mailHarness(t, account.VerificationOff)
	h.register("ann@example.com")
	h.do(nil, "POST", "/v1/recovery", jsonBody("email", "ann@example.com"))
	token := lastToken(t, mp, "ann@example.com", 1, "recover")
	const n = 8
	codes := make(chan int, n)
	for i := range n {
		go func() {
			r := h.do(nil, "POST", "/v1/recovery/complete", jsonBody("token", token, "new_password", fmt.Sprintf("new passphrase number %d here", i)))
			codes <- r.StatusCode
		}()
	}
	ok := 0
	for range n {
		switch c := <-codes; c {
		case http.StatusNoContent:
			ok++
		case http.StatusBadRequest:
		default:
			t.Errorf("status %d", c)
		}
	}
	if ok != 1 {
		t.Fatalf("%d uses of one link succeeded, want 1", ok)
	}
}
