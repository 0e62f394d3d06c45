package httpapi_test

import (
	"encoding/json"

	"github.com/authd/authd/account"
	"github.com/authd/authd/httpapi"
	"github.com/authd/authd/session"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// mfaUser signs ann in, sets up an authenticator app and returns the
// browser, the app's secret and the recovery codes.
func mfaUser(t *testing.T, h *harness) (*http.Client, string, []string) {
	t.Helper()
	c := h.login("ann@example.com")
	r := h.do(c, "POST", "/v1/mfa/totp", "{}")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("begin totp: %d %s", r.StatusCode, r.body)
	}
	secret, _ := r.json(t)["secret"].(string)
	if !strings.HasPrefix(r.json(t)["otpauth_uri"].(string), "otpauth://totp/") || secret == "" {
		t.Fatalf("enrolment %s", r.body)
	}
	r = h.do(c, "POST", "/v1/mfa/totp/confirm", `{"code":"`+code(t, h, secret, 0)+`"}`)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("confirm totp: %d %s", r.StatusCode, r.body)
	}
	var out struct {
		Codes []string `json:"recovery_codes"`
	}
	json.Unmarshal(r.body, &out)
	if len(out.Codes) != 10 {
		t.Fatalf("recovery codes %s", r.body)
	}
	return c, secret, out.Codes
}

// code is the app's code steps time steps from the harness clock.
func code(t *testing.T, h *harness, secret string, steps int) string {
	t.Helper()
	c, err := totp.GenerateCode(secret, h.clock.Now().Add(time.Duration(steps)*30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// pendingLogin signs in with the password and checks that a second step
// is asked for; the returned browser holds the pending sign-in.
func pendingLogin(t *testing.T, h *harness) *http.Client {
	t.Helper()
	c := h.client()
	r := h.do(c, "POST", "/v1/login", creds("ann@example.com", goodPassword))
	m := r.json(t)
	if r.StatusCode != http.StatusOK || m["mfa_required"] != true || !strings.Contains(jsonOf(m["methods"]), `"totp"`) {
		t.Fatalf("login of a user with a second factor: %d %s", r.StatusCode, r.body)
	}
	return c
}

// TestMFAPendingSignIn: the right password of a user with a second factor
// opens a pending sign-in that grants nothing else; the right code
// finishes it with a new session id, two factors (M4).
func TestMFAPendingSignIn(t *testing.T) {
	h := newHarness(t)
	first, secret, _ := mfaUser(t, h)
	h.do(first, "POST", "/v1/logout", nil)
	c := pendingLogin(t, h)
	pendingCookie := h.cookie(c)
	for _, req := range [][2]string{{"GET", "/v1/me"}, {"GET", "/v1/sessions"}, {"POST", "/v1/session/token"}, {"GET", "/v1/mfa"}, {"GET", "/v1/authz"}} {
		if r := h.do(c, req[0], req[1], nil, "Sec-Fetch-Site", "same-origin"); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s with a pending sign-in: %d, want 401", req[0], req[1], r.StatusCode)
		}
	}
	if r := h.do(h.client(), "GET", "/account", nil, "Cookie", "authd_session="+pendingCookie); r.StatusCode != http.StatusSeeOther {
		t.Errorf("/account with a pending sign-in: %d, want a redirect to sign in", r.StatusCode)
	}
	if r := h.do(c, "POST", "/v1/login/totp", `{"code":"000000"}`); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong code: %d %s", r.StatusCode, r.body)
	}
	r := h.do(c, "POST", "/v1/login/totp", `{"code":"`+code(t, h, secret, 1)+`"}`)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("the right code: %d %s", r.StatusCode, r.body)
	}
	if got := h.cookie(c); got == "" || got == pendingCookie {
		t.Fatal("finishing the sign-in kept the pending sign-in's id")
	}
	me := h.do(c, "GET", "/v1/me", nil).json(t)
	if me["aal"] != float64(2) || jsonOf(me["amr"]) != `["pwd","otp","mfa"]` {
		t.Errorf("me after two factors: %v", me)
	}
	tok := h.do(c, "POST", "/v1/session/token", nil, "Sec-Fetch-Site", "same-origin").json(t)
	_, claims := jwtParts(t, tok["access_token"].(string))
	if claims["acr"] != "aal2" || jsonOf(claims["amr"]) != `["pwd","otp","mfa"]` {
		t.Errorf("access token amr %v acr %v", claims["amr"], claims["acr"])
	}
	// The pending sign-in is gone.
	if r := h.do(nil, "POST", "/v1/login/totp", `{"code":"`+code(t, h, secret, 1)+`"}`, "Cookie", "authd_session="+pendingCookie); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("the pending sign-in after it finished: %d", r.StatusCode)
	}
}

// TestMFATOTPSingleUse: a code works once (M1): the same code at the next
// pending sign-in is refused, one step later is fine.
func TestMFATOTPSingleUse(t *testing.T) {
	h := newHarness(t)
	_, secret, _ := mfaUser(t, h)
	h.clock.Add(30 * time.Second) // past the enrolment's step
	c := pendingLogin(t, h)
	now := code(t, h, secret, 0)
	if r := h.do(c, "POST", "/v1/login/totp", `{"code":"`+now+`"}`); r.StatusCode != http.StatusOK {
		t.Fatalf("first use: %d %s", r.StatusCode, r.body)
	}
	c = pendingLogin(t, h)
	if r := h.do(c, "POST", "/v1/login/totp", `{"code":"`+now+`"}`); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed code: %d %s", r.StatusCode, r.body)
	}
	for _, steps := range []int{-2, 2} {
		if r := h.do(c, "POST", "/v1/login/totp", `{"code":"`+code(t, h, secret, steps)+`"}`); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("a code %d steps away: %d", steps, r.StatusCode)
		}
	}
	if r := h.do(c, "POST", "/v1/login/totp", `{"code":"`+code(t, h, secret, 1)+`"}`); r.StatusCode != http.StatusOK {
		t.Fatalf("the next step's code: %d %s", r.StatusCode, r.body)
	}
}

// TestMFAWrongCodesThrottled: wrong codes count against the login
// throttle like wrong passwords (M1).
func TestMFAWrongCodesThrottled(t *testing.T) {
	h := newHarness(t) // MaxFailures 5
	_, secret, _ := mfaUser(t, h)
	c := pendingLogin(t, h)
	for i := range 5 {
		if r := h.do(c, "POST", "/v1/login/totp", `{"code":"000000"}`); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: %d", i, r.StatusCode)
		}
	}
	r := h.do(c, "POST", "/v1/login/totp", `{"code":"`+code(t, h, secret, 1)+`"}`)
	if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("the right code over the limit: %d %s", r.StatusCode, r.body)
	}
}

// TestMFARecoveryCodes: a recovery code finishes a sign-in once (M2);
// the count goes down; a new set voids the old.
func TestMFARecoveryCodes(t *testing.T) {
	h := newHarness(t)
	_, _, codes := mfaUser(t, h)
	c := pendingLogin(t, h)
	r := h.do(c, "POST", "/v1/login/recovery", `{"code":"`+codes[0]+`"}`)
	if r.StatusCode != http.StatusOK || r.json(t)["recovery_codes_left"] != float64(9) {
		t.Fatalf("recovery code: %d %s", r.StatusCode, r.body)
	}
	c2 := pendingLogin(t, h)
	if r := h.do(c2, "POST", "/v1/login/recovery", `{"code":"`+codes[0]+`"}`); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a used recovery code: %d", r.StatusCode)
	}
	r = h.do(c, "POST", "/v1/mfa/recovery-codes", "{}", "Sec-Fetch-Site", "same-origin")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("new codes: %d %s", r.StatusCode, r.body)
	}
	if r := h.do(c2, "POST", "/v1/login/recovery", `{"code":"`+codes[1]+`"}`); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a code of the old set: %d", r.StatusCode)
	}
	if m := h.do(c, "GET", "/v1/mfa", nil).json(t); m["recovery_codes_left"] != float64(10) || m["totp"] != true {
		t.Fatalf("status %v", m)
	}
}

// TestMFAReauthWindow: changing factors needs a recent sign-in.
func TestMFAReauthWindow(t *testing.T) {
	h := newHarness(t)
	c := h.login("ann@example.com")
	h.clock.Add(11 * time.Minute)
	for _, req := range [][2]string{{"POST", "/v1/mfa/totp"}, {"POST", "/v1/mfa/recovery-codes"}, {"DELETE", "/v1/mfa/totp"}, {"POST", "/v1/mfa/passkeys/begin"}} {
		r := h.do(c, req[0], req[1], "{}", "Sec-Fetch-Site", "same-origin")
		if r.StatusCode != http.StatusForbidden || !strings.HasSuffix(jsonOf(r.json(t)["type"]), `reauthentication-required"`) {
			t.Errorf("%s %s after the window: %d %s", req[0], req[1], r.StatusCode, r.body)
		}
	}
	if r := h.do(c, "GET", "/v1/mfa", nil); r.StatusCode != http.StatusOK {
		t.Errorf("reading the factors needs no recent sign-in: %d", r.StatusCode)
	}
}

// TestMFARemovedTOTPSignsInWithPassword: without a factor the password
// alone signs in again (one factor).
func TestMFARemovedTOTPSignsInWithPassword(t *testing.T) {
	h := newHarness(t)
	c, _, _ := mfaUser(t, h)
	if r := h.do(c, "DELETE", "/v1/mfa/totp", nil, "Sec-Fetch-Site", "same-origin"); r.StatusCode != http.StatusNoContent {
		t.Fatalf("remove: %d %s", r.StatusCode, r.body)
	}
	c2 := h.client()
	r := h.do(c2, "POST", "/v1/login", creds("ann@example.com", goodPassword))
	if r.StatusCode != http.StatusOK || r.json(t)["mfa_required"] != nil {
		t.Fatalf("login without factors: %d %s", r.StatusCode, r.body)
	}
	if me := h.do(c2, "GET", "/v1/me", nil).json(t); me["aal"] != float64(1) {
		t.Errorf("aal %v", me["aal"])
	}
}

// TestMFARequiredRole: a user of a --require-mfa-role role without a
// second factor gets a pending sign-in that may only set one up; setting
// it up finishes the sign-in with two factors.
func TestMFARequiredRole(t *testing.T) {
	h := newHarness(t, with(func(c *httpapi.Config, _ *account.Config, _ *session.Config) { c.RequireMFARoles = []string{"admin"} }))
	if _, err := h.accounts.Create(t.Context(), "ann@example.com", goodPassword, []string{"admin"}); err != nil {
		t.Fatal(err)
	}
	c := h.client()
	r := h.do(c, "POST", "/v1/login", creds("ann@example.com", goodPassword))
	if m := r.json(t); m["mfa_required"] != true || m["enrollment_required"] != true || jsonOf(m["methods"]) != "[]" {
		t.Fatalf("login of an admin without a factor: %s", r.body)
	}
	for _, req := range [][2]string{{"GET", "/v1/me"}, {"GET", "/v1/sessions"}, {"POST", "/v1/mfa/recovery-codes"}, {"DELETE", "/v1/mfa/totp"}} {
		if r := h.do(c, req[0], req[1], nil, "Sec-Fetch-Site", "same-origin"); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s while enrolling: %d, want 401", req[0], req[1], r.StatusCode)
		}
	}
	r = h.do(c, "POST", "/v1/mfa/totp", "{}", "Sec-Fetch-Site", "same-origin")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("begin totp while enrolling: %d %s", r.StatusCode, r.body)
	}
	secret := r.json(t)["secret"].(string)
	r = h.do(c, "POST", "/v1/mfa/totp/confirm", `{"code":"`+code(t, h, secret, 0)+`"}`, "Sec-Fetch-Site", "same-origin")
	if m := r.json(t); r.StatusCode != http.StatusOK || m["user"] == nil || len(m["recovery_codes"].([]any)) != 10 {
		t.Fatalf("confirm while enrolling: %d %s", r.StatusCode, r.body)
	}
	if me := h.do(c, "GET", "/v1/me", nil).json(t); me["aal"] != float64(2) {
		t.Fatalf("me after enrolling: %v", me)
	}
	// From now on the password asks for the factor.
	if r := h.do(h.client(), "POST", "/v1/login", creds("ann@example.com", goodPassword)); r.json(t)["enrollment_required"] != nil {
		t.Fatalf("login after enrolling: %s", r.body)
	}
}

// TestPasskeysOffWithoutRPID: with no WebAuthn relying-party id (an IP
// issuer) the passkey requests answer 503 saying why; the rest works.
func TestPasskeysOffWithoutRPID(t *testing.T) {
	h := newHarness(t) // rpID ""
	c := h.login("ann@example.com")
	for _, req := range []struct {
		c    *http.Client
		path string
	}{{nil, "/v1/passkey/begin"}, {c, "/v1/mfa/passkeys/begin"}} {
		r := h.do(req.c, "POST", req.path, "{}", "Sec-Fetch-Site", "same-origin")
		if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "--webauthn-rp-id") {
			t.Errorf("%s without an RP id: %d %s", req.path, r.StatusCode, r.body)
		}
	}
	if r := h.do(c, "POST", "/v1/mfa/totp", "{}", "Sec-Fetch-Site", "same-origin"); r.StatusCode != http.StatusOK {
		t.Errorf("an authenticator app without an RP id: %d", r.StatusCode)
	}
}
