package examples_test

// DPoP (RFC 9449, #18) with another implementation than authd's own:
// examples/node-rp/dpop.mjs uses openid-client's built-in DPoP support
// (its oauth4webapi underneath, pinned in package-lock.json, used
// unchanged) against a real authd. It gets a sender-constrained token
// by the client_credentials grant (a confidential client) and by the
// password grant (a public client), checks that each access token's
// cnf.jkt is the thumbprint of its key, uses them at GET /v1/me with
// proofs, refreshes with a proof of the same key, and sees authd refuse
// the bound token as a bearer token and proofs of another key. It runs
// twice: without server nonces and with --dpop-nonce, where
// openid-client must answer authd's use_dpop_nonce on its own.
//
// Like TestNodeOpenIDClient it needs node and npm (nodeModules): it
// skips without them, or fails under CI=true, and skips under -short.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/examples/authdtest"
)

func TestNodeDPoP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs authd, installs and runs openid-client under Node")
	}
	nodeModules(t)

	for _, tc := range []struct {
		name  string
		args  []string
		nonce bool // authd asks for server nonces
	}{
		{"without nonces", nil, false},
		{"with --dpop-nonce", []string{"--dpop-nonce"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The password grant is on (authdtest's default), and the
			// issuer is authd's own URL: htu is checked against it.
			authd := authdtest.Start(t, authdtest.Options{Args: tc.args})
			uid := authd.AddUser(t, email, password)
			const clientID, secret = "node-dpop-service", "the DPoP service's secret, 32 characters or more"
			authd.RegisterClient(t, authdtest.Client{ID: clientID, Secret: secret, Name: "Node DPoP service",
				Grants: []string{"client_credentials"}})

			steps := runNodeDPoP(t, map[string]string{
				"issuer":        authd.URL,
				"client_id":     clientID,
				"client_secret": secret,
				// The password grant names no client at authd: a public
				// client whose id authd does not know.
				"public_client_id": "node-dpop-cli",
				"username":         email,
				"password":         password,
			})
			checkNodeDPoP(t, steps, authd.URL, clientID, uid, tc.nonce)
		})
	}
}

// dpopStep is one line of dpop.mjs's output; each step fills what it has.
type dpopStep struct {
	Step string `json:"step"`
	Done bool   `json:"done"`

	// discovery
	Issuer string   `json:"issuer"`
	Algs   []string `json:"dpop_signing_alg_values_supported"`

	// token responses
	TokenType       string `json:"token_type"`
	AccessToken     string `json:"access_token"`
	HasRefreshToken bool   `json:"has_refresh_token"`
	Sub             string `json:"sub"`
	JKT             string `json:"jkt"`        // the access token's cnf.jkt
	Thumbprint      string `json:"thumbprint"` // of the key pair's public key, RFC 7638
	NewAccessToken  bool   `json:"new_access_token"`
	Rotated         bool   `json:"refresh_token_rotated"`
	Refused         bool   `json:"refused"`
	Error           any    `json:"error"` // a string (OAuth error) or openid-client's error

	// resource requests
	Status          int             `json:"status"`
	WWWAuthenticate string          `json:"www_authenticate"`
	Body            json.RawMessage `json:"body"`

	// done
	NonceChallenges int `json:"nonce_challenges"`
	NoncesSeen      int `json:"nonces_seen"`
}

// runNodeDPoP runs node dpop.mjs with params on its stdin and returns its
// steps by name, "done" included.
func runNodeDPoP(t *testing.T, params map[string]string) map[string]dpopStep {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	in, _ := json.Marshal(params)
	cmd := exec.CommandContext(ctx, "node", "dpop.mjs")
	cmd.Dir = nodeRPDir
	cmd.Stdin = bytes.NewReader(append(in, '\n'))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()

	steps := map[string]dpopStep{}
	for line := range strings.Lines(stdout.String()) {
		var s dpopStep
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("dpop.mjs printed %q: %v\nstderr:\n%s", line, err, &stderr)
		}
		switch {
		case s.Done:
			s.Step = "done"
		case s.Step == "":
			t.Fatalf("openid-client failed: %s\nstderr:\n%s", strings.TrimSpace(line), &stderr)
		}
		steps[s.Step] = s
	}
	if runErr != nil {
		t.Fatalf("node dpop.mjs: %v\nstdout:\n%s\nstderr:\n%s", runErr, &stdout, &stderr)
	}
	if _, ok := steps["done"]; !ok {
		t.Fatalf("dpop.mjs ended without finishing:\n%s\nstderr:\n%s", &stdout, &stderr)
	}
	return steps
}

// checkNodeDPoP checks every step of dpop.mjs (see its header).
func checkNodeDPoP(t *testing.T, steps map[string]dpopStep, issuer, clientID, uid string, nonce bool) {
	t.Helper()
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	step := func(name string) dpopStep {
		s, ok := steps[name]
		if !ok {
			bad("%s: no such step in dpop.mjs's output", name)
		}
		return s
	}
	// bound checks a token response: a DPoP token bound to the key whose
	// thumbprint dpop.mjs computed.
	bound := func(name, sub string, refresh bool) dpopStep {
		s := step(name)
		// openid-client lowercases token_type (authd sends "DPoP").
		if !strings.EqualFold(s.TokenType, "DPoP") {
			bad("%s: token_type %q, want DPoP", name, s.TokenType)
		}
		if s.Thumbprint == "" || s.JKT != s.Thumbprint {
			bad("%s: the access token's cnf.jkt is %q, want the key's thumbprint %q", name, s.JKT, s.Thumbprint)
		}
		if s.Sub != sub {
			bad("%s: sub %q, want %s", name, s.Sub, sub)
		}
		if s.HasRefreshToken != refresh {
			bad("%s: refresh token %v, want %v", name, s.HasRefreshToken, refresh)
		}
		return s
	}
	// me checks a GET /v1/me with a bound token and its proof.
	me := func(name string) {
		s := step(name)
		var body struct {
			ID    string `json:"id"`
			Email string `json:"email"`
			Auth  string `json:"auth"`
		}
		_ = json.Unmarshal(s.Body, &body)
		if s.Status != 200 || body.ID != uid || body.Email != email || body.Auth != "token" {
			bad("%s: GET /v1/me with the DPoP token and a proof: %d %s; want 200 with %s, %s, auth token", name, s.Status, s.Body, uid, email)
		}
	}

	if s := step("discovery"); s.Issuer != issuer || len(s.Algs) == 0 {
		bad("discovery: issuer %q, dpop_signing_alg_values_supported %v; want %s and some", s.Issuer, s.Algs, issuer)
	}
	bound("client_credentials", clientID, false)
	// The client's own token names no user: refused for that (403), not
	// for its DPoP proof (401).
	if s := step("client_me"); s.Status != 403 {
		bad("client_me: GET /v1/me with the client's DPoP token and a proof: %d (%s), want 403", s.Status, s.WWWAuthenticate)
	}
	pw := bound("password", uid, true)
	me("me")
	r := bound("refresh", uid, true)
	if !r.NewAccessToken || !r.Rotated {
		bad("refresh: new access token %v, rotated refresh token %v; want both", r.NewAccessToken, r.Rotated)
	}
	if r.Thumbprint != pw.Thumbprint {
		bad("refresh: dpop.mjs used another key (%s) than for the password grant (%s)", r.Thumbprint, pw.Thumbprint)
	}
	me("me_refreshed")
	if s := step("bearer"); s.Status != 401 || !strings.HasPrefix(s.WWWAuthenticate, "DPoP ") || !strings.Contains(s.WWWAuthenticate, `error="invalid_token"`) {
		bad("bearer: the bound token as a bearer token: %d, WWW-Authenticate %q; want 401 with a DPoP invalid_token challenge", s.Status, s.WWWAuthenticate)
	}
	if s := step("other_key"); s.Status != 401 || !strings.HasPrefix(s.WWWAuthenticate, "DPoP ") || !strings.Contains(s.WWWAuthenticate, `error="invalid_dpop_proof"`) {
		bad("other_key: a proof of another key: %d, WWW-Authenticate %q; want 401 with a DPoP invalid_dpop_proof challenge", s.Status, s.WWWAuthenticate)
	}
	if s := step("refresh_other_key"); !s.Refused || s.Error != "invalid_grant" {
		bad("refresh_other_key: refused %v with %v; want invalid_grant (the public client's family is bound to the key)", s.Refused, s.Error)
	}
	if s := bound("refresh_again", uid, true); s.Thumbprint != pw.Thumbprint {
		bad("refresh_again: dpop.mjs used another key")
	}
	done := step("done")
	switch {
	case nonce && done.NonceChallenges == 0:
		bad("under --dpop-nonce authd never answered use_dpop_nonce (%d DPoP-Nonce headers seen)", done.NoncesSeen)
	case !nonce && (done.NonceChallenges != 0 || done.NoncesSeen != 0):
		bad("without --dpop-nonce: %d use_dpop_nonce answers, %d DPoP-Nonce headers; want none", done.NonceChallenges, done.NoncesSeen)
	}

	if len(problems) > 0 {
		dump, _ := json.MarshalIndent(steps, "", "  ")
		t.Fatalf("dpop.mjs's steps:\n%s\n%s", dump, strings.Join(problems, "\n"))
	}
	t.Logf("openid-client's DPoP: client_credentials and password grants bound (cnf.jkt = thumbprint), /v1/me 200 with proofs, refresh bound, bearer use and another key refused; %d use_dpop_nonce answered, %d DPoP-Nonce headers",
		done.NonceChallenges, done.NoncesSeen)
}
