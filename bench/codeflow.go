package bench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// The OpenID Connect code flow (API.md "Signing users in to other apps"):
// a signed-in user whose consent is remembered goes through
// GET /oauth2/authorize (302 with a code) and the client redeems the code
// at POST /oauth2/token with its PKCE verifier; then the ID token it got
// is verified, as a relying party does, with github.com/coreos/go-oidc.

// Kinds of client of the oidc modes.
const (
	// clientPublic has no secret (token_endpoint_auth_method none): PKCE
	// is its only proof, so no argon2id check is in the exchange.
	clientPublic = "public"
	// clientConfidential authenticates with client_secret_basic: an
	// argon2id verification of its secret in every exchange.
	clientConfidential = "confidential"
)

// The code flow's figures of comparison.
const (
	// HydraAnchor is Ory Hydra's rate of token issuances per second,
	// measured on this kind of machine (2 shared cores).
	HydraAnchor = 77.0
	// CodeFlowGoal is the goal: full code flows per second on SQLite.
	CodeFlowGoal = 1000.0
)

// The client and request of the code flow.
const (
	benchClientID  = "authd-bench-app"
	benchRedirect  = "http://127.0.0.1:9/cb" // loopback http: allowed, never contacted
	codeFlowScope  = "openid email"
	goOIDCModule   = "github.com/coreos/go-oidc/v3"
	consentTimeout = 30 * time.Second
)

// CodeFlow is an oidc mode's figures.
type CodeFlow struct {
	Client     string `json:"client"`      // public or confidential
	ClientAuth string `json:"client_auth"` // how the client authenticates at /oauth2/token
	Scope      string `json:"scope"`
	// Users is how many users (one session each, consent given once)
	// the clients share, round robin.
	Users int       `json:"users"`
	Runs  []FlowRun `json:"runs"` // on 1 node, then spread over every node
	// IDToken is the verification of the ID token by a relying party.
	IDToken     *IDTokenVerify `json:"id_token_verify,omitempty"`
	HydraAnchor float64        `json:"hydra_anchor_per_second"`
	Goal        float64        `json:"goal_per_second"`
}

// FlowRun is one closed-loop phase of full code flows.
type FlowRun struct {
	Nodes int `json:"nodes"`
	// Flows: one request is a whole flow, GET /oauth2/authorize (302
	// with the code) then POST /oauth2/token (200 with the ID token).
	Flows Stats `json:"flows"`
	// LoadCPUPerFlowUs is this process's (the load generator's) CPU
	// time per flow, warm-up included, in µs: what the servers did not
	// get of the machine's CPUs. Null where /proc is not readable.
	LoadCPUPerFlowUs *float64 `json:"load_cpu_us_per_flow"`
	// The two steps' latencies within the measured window.
	AuthorizeP50Ms float64 `json:"authorize_p50_ms"`
	AuthorizeP99Ms float64 `json:"authorize_p99_ms"`
	TokenP50Ms     float64 `json:"token_p50_ms"`
	TokenP99Ms     float64 `json:"token_p99_ms"`
}

// IDTokenVerify is the rate of ID-token verifications in this process.
type IDTokenVerify struct {
	Library string     `json:"library"` // go-oidc and its version
	Alg     string     `json:"alg"`
	Bytes   int        `json:"bytes"`
	OneCPU  VerifyRate `json:"one_cpu"`
	AllCPUs VerifyRate `json:"all_cpus"`
}

// VerifyRate is a closed loop of verifications on Workers goroutines.
type VerifyRate struct {
	Workers       int     `json:"workers"`
	Verifications int     `json:"verifications"`
	Seconds       float64 `json:"seconds"`
	PerSecond     float64 `json:"per_second"`
	// UsEach is the time of one verification on one worker, in µs.
	UsEach float64 `json:"us_each"`
}

// codeFlowRun is one oidc mode being measured.
type codeFlowRun struct {
	*runner
	m      Mode
	cl     *cluster
	secret string // the confidential client's
	creds  []cred // one session per user
}

// measure registers the client and the users, gives consent once per
// user through the consent form, then measures full flows on one node and
// over every node, and ID-token verifications.
func (cf *codeFlowRun) measure(ctx context.Context, res *ModeResult) error {
	nodes := cf.cl.nodes
	base := nodes[0].base
	cf.prog.step(cf.m.Name+": client, users, consent", 2)
	if err := cf.addClient(ctx); err != nil {
		return err
	}
	users := min(cf.cfg.Concurrency, 8)
	if cf.cfg.Quick {
		users = min(cf.cfg.Concurrency, 4)
	}
	emails, pw, err := cf.users(ctx, base, users, "oidc")
	if err != nil {
		return err
	}
	out := &CodeFlow{Client: cf.m.Client, ClientAuth: "none: PKCE only", Scope: codeFlowScope, Users: users,
		HydraAnchor: HydraAnchor, Goal: CodeFlowGoal}
	if cf.m.Client == clientConfidential {
		out.ClientAuth = "client_secret_basic: argon2id once, then SHA-256"
	}
	res.CodeFlow = out
	var first flowResult
	for i, email := range emails {
		c, _, err := cf.api.login(ctx, base, email, pw)
		if err != nil {
			return err
		}
		cf.creds = append(cf.creds, c)
		fr, err := cf.consent(ctx, base, c)
		if err != nil {
			return fmt.Errorf("consent of %s: %w", email, err)
		}
		if i == 0 {
			first = fr
		}
	}
	// Consent is remembered: the next authorization goes straight to
	// the code.
	if _, st, err := cf.flow(ctx, base, base, cf.creds[0], nil); err != nil {
		return fmt.Errorf("a flow with remembered consent: HTTP %d: %w", st, err)
	}
	for _, k := range []int{1, len(nodes)} {
		warmup, window := cf.windows()
		cf.prog.step(fmt.Sprintf("%s: code flows, %d node(s)", cf.m.Name, k), (warmup + window).Seconds())
		out.Runs = append(out.Runs, cf.flows(ctx, nodes[:k]))
	}
	cf.prog.step(cf.m.Name+": ID-token verifications", 2*cf.cfg.Phase.Seconds())
	if out.IDToken, err = idTokenRates(ctx, base, first, max(cf.cfg.Phase, 250*time.Millisecond)); err != nil {
		return err
	}
	for _, n := range nodes {
		if n.exited() {
			return fmt.Errorf("%s died during the run: %s", n.name, lastLine(n.log))
		}
	}
	return ctx.Err()
}

// addClient registers the bench's client with `authd client add` on the
// mode's store, as an operator would.
func (cf *codeFlowRun) addClient(ctx context.Context) error {
	args := []string{"client", "add", "--id", benchClientID, "--name", "authd bench", "--redirect-uri", benchRedirect}
	cmd := exec.CommandContext(ctx, cf.cfg.Exe, append(args, cf.cl.storeArgs...)...)
	if cf.m.Client == clientConfidential {
		cf.secret = randomHex(24)
		cmd.Args = append(cmd.Args, "--secret-stdin")
		cmd.Stdin = strings.NewReader(cf.secret + "\n")
	} else {
		cmd.Args = append(cmd.Args, "--public")
	}
	cmd.Env = childEnv(cf.cfg.Env)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("authd client add: %v: %s", err, oneLine(string(out)))
	}
	return nil
}

// flowResult is what a flow brought back.
type flowResult struct {
	IDToken     string `json:"id_token"`
	AccessToken string `json:"access_token"`
	nonce       string
}

// flowRequest is a fresh authorization request: its query and what the
// client keeps to redeem the code (RFC 7636 verifier, state, nonce).
type flowRequest struct {
	query                  string
	verifier, state, nonce string
}

func newFlowRequest() flowRequest {
	var b [32]byte
	rand.Read(b[:])
	verifier := base64.RawURLEncoding.EncodeToString(b[:])
	sum := sha256.Sum256([]byte(verifier))
	fr := flowRequest{verifier: verifier, state: randomHex(8), nonce: randomHex(8)}
	fr.query = url.Values{"response_type": {"code"}, "client_id": {benchClientID}, "redirect_uri": {benchRedirect},
		"scope": {codeFlowScope}, "state": {fr.state}, "nonce": {fr.nonce},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}.Encode()
	return fr
}

var (
	consentRequest = regexp.MustCompile(`name="request" value="([^"]*)"`)
	consentCSRF    = regexp.MustCompile(`name="csrf" value="([^"]*)"`)
)

// consent gives the user of c's consent to the client once, through the
// consent page and form as a browser does, and redeems the code it gets.
func (cf *codeFlowRun) consent(ctx context.Context, base string, c cred) (flowResult, error) {
	ctx, cancel := context.WithTimeout(ctx, consentTimeout)
	defer cancel()
	fr := newFlowRequest()
	st, body, _, err := cf.api.call(ctx, "GET", base+"/oauth2/authorize?"+fr.query, nil, &c)
	if err != nil {
		return flowResult{}, err
	}
	rq, csrf := consentRequest.FindSubmatch(body), consentCSRF.FindSubmatch(body)
	if st != http.StatusOK || rq == nil || csrf == nil {
		return flowResult{}, statusError("GET /oauth2/authorize: no consent form", st, body)
	}
	form := url.Values{"request": {html.UnescapeString(string(rq[1]))}, "csrf": {html.UnescapeString(string(csrf[1]))}, "decision": {"approve"}}
	st, body, resp, err := cf.api.call(ctx, "POST", base+"/oauth2/consent", form, &c)
	if err != nil {
		return flowResult{}, err
	}
	if st != http.StatusSeeOther {
		return flowResult{}, statusError("POST /oauth2/consent", st, body)
	}
	code, err := codeFrom(resp.Header.Get("Location"), fr.state)
	if err != nil {
		return flowResult{}, err
	}
	out, st, err := cf.redeem(ctx, base, code, fr.verifier)
	if err != nil {
		return flowResult{}, fmt.Errorf("POST /oauth2/token: HTTP %d: %w", st, err)
	}
	out.nonce = fr.nonce
	return out, nil
}

// codeFrom reads the code from the redirect to the client.
func codeFrom(location, state string) (string, error) {
	u, err := url.Parse(location)
	if err != nil {
		return "", fmt.Errorf("redirect %q: %v", location, err)
	}
	q := u.Query()
	if e := q.Get("error"); e != "" {
		return "", fmt.Errorf("redirected with error %s: %s", e, q.Get("error_description"))
	}
	if q.Get("code") == "" || q.Get("state") != state || !strings.HasPrefix(location, benchRedirect+"?") {
		return "", fmt.Errorf("redirect %q: no code for state %s", location, state)
	}
	return q.Get("code"), nil
}

// flowTimes receives the latencies of a flow's two steps.
type flowTimes func(authorize, tok time.Duration)

// flow runs one code flow for the session c: the authorization at
// authBase, the code redeemed at tokenBase.
func (cf *codeFlowRun) flow(ctx context.Context, authBase, tokenBase string, c cred, times flowTimes) (flowResult, int, error) {
	fr := newFlowRequest()
	req, err := http.NewRequestWithContext(ctx, "GET", authBase+"/oauth2/authorize?"+fr.query, nil)
	if err != nil {
		return flowResult{}, 0, err
	}
	req.Header.Set(c.header, c.value)
	t0 := time.Now()
	resp, err := cf.hc.Do(req)
	if err != nil {
		return flowResult{}, 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return flowResult{}, resp.StatusCode, fmt.Errorf("GET /oauth2/authorize: HTTP %d, want 302", resp.StatusCode)
	}
	code, err := codeFrom(resp.Header.Get("Location"), fr.state)
	if err != nil {
		return flowResult{}, resp.StatusCode, err
	}
	t1 := time.Now()
	out, st, err := cf.redeem(ctx, tokenBase, code, fr.verifier)
	if times != nil && err == nil {
		times(t1.Sub(t0), time.Since(t1))
	}
	out.nonce = fr.nonce
	return out, st, err
}

// redeem exchanges code at base: client_id alone for the public client,
// HTTP Basic for the confidential one.
func (cf *codeFlowRun) redeem(ctx context.Context, base, code, verifier string) (flowResult, int, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {benchRedirect}, "code_verifier": {verifier}}
	if cf.secret == "" {
		form.Set("client_id", benchClientID)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return flowResult{}, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cf.secret != "" {
		req.SetBasicAuth(url.QueryEscape(benchClientID), url.QueryEscape(cf.secret))
	}
	resp, err := cf.hc.Do(req)
	if err != nil {
		return flowResult{}, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return flowResult{}, resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return flowResult{}, resp.StatusCode, statusError("POST /oauth2/token", resp.StatusCode, body)
	}
	var out flowResult
	if err := json.Unmarshal(body, &out); err != nil || out.IDToken == "" || out.AccessToken == "" {
		return flowResult{}, resp.StatusCode, fmt.Errorf("POST /oauth2/token: no access and ID token in %.200s", body)
	}
	return out, resp.StatusCode, nil
}

// flows measures full code flows with the clients spread over nodes: a
// client authorizes at one node and redeems the code at the next one.
// CPU time is counted on every node of the mode.
func (cf *codeFlowRun) flows(ctx context.Context, nodes []*node) FlowRun {
	conc := cf.cfg.Concurrency
	warmup, window := cf.windows()
	// The steps' latencies are kept for the flows that start and end
	// within the measured window (closedLoop's, give or take its start).
	from := time.Now().Add(warmup)
	until := from.Add(window)
	auth := make([][]time.Duration, conc)
	tok := make([][]time.Duration, conc)
	var done atomic.Int64
	self0, ok0 := cpuTime(os.Getpid())
	st := closedLoop(ctx, conc, warmup, window, cf.cl.nodes, func(ctx context.Context, w int) (bool, int) {
		a, t := nodes[w%len(nodes)].base, nodes[(w+1)%len(nodes)].base
		t0 := time.Now()
		_, status, err := cf.flow(ctx, a, t, cf.creds[w%len(cf.creds)], func(da, dt time.Duration) {
			if t0.After(from) && time.Now().Before(until) {
				auth[w], tok[w] = append(auth[w], da), append(tok[w], dt)
			}
		})
		if err == nil {
			done.Add(1)
		}
		return err == nil, status
	})
	run := FlowRun{Nodes: len(nodes), Flows: st}
	if self1, ok1 := cpuTime(os.Getpid()); ok0 && ok1 && done.Load() > 0 {
		us := round1(float64((self1 - self0).Microseconds()) / float64(done.Load()))
		run.LoadCPUPerFlowUs = &us
	}
	a, t := summarize(flatten(auth), window, Stats{}), summarize(flatten(tok), window, Stats{})
	run.AuthorizeP50Ms, run.AuthorizeP99Ms, run.TokenP50Ms, run.TokenP99Ms = a.P50Ms, a.P99Ms, t.P50Ms, t.P99Ms
	return run
}

// windows are the warm-up and measured window of a phase of flows: the
// run's, but at least 1 s (after 200 ms) with the confidential client,
// whose flows take an argon2id hash each (tens of milliseconds).
func (cf *codeFlowRun) windows() (warmup, window time.Duration) {
	if cf.m.Client == clientConfidential {
		return max(cf.cfg.Warmup, 200*time.Millisecond), max(cf.cfg.Phase, time.Second)
	}
	return cf.cfg.Warmup, cf.cfg.Phase
}

func flatten(ds [][]time.Duration) []time.Duration {
	var out []time.Duration
	for _, d := range ds {
		out = append(out, d...)
	}
	return out
}

// idTokenRates verifies the ID token of fr as a relying party does with
// go-oidc — signature by the key of the JWKS, iss, aud, exp, and the
// nonce — in a closed loop on one goroutine, then on GOMAXPROCS of them,
// dur each.
func idTokenRates(ctx context.Context, base string, fr flowResult, dur time.Duration) (*IDTokenVerify, error) {
	algs, err := idTokenAlgs(ctx, base)
	if err != nil {
		return nil, err
	}
	// NOTE: the keys are fetched once from this node (the issuer's host
	// is not resolvable) and cached by the key set, as by any relying
	// party: the loop measures verification, not HTTP.
	keys := oidc.NewRemoteKeySet(ctx, base+"/.well-known/jwks.json")
	v := oidc.NewVerifier(benchIssuer, keys, &oidc.Config{ClientID: benchClientID, SupportedSigningAlgs: algs})
	verify := func() error {
		t, err := v.Verify(ctx, fr.IDToken)
		if err != nil {
			return err
		}
		if t.Nonce != fr.nonce {
			return errors.New("the ID token's nonce is not the request's")
		}
		return nil
	}
	if err := verify(); err != nil {
		return nil, fmt.Errorf("go-oidc refuses the ID token: %w", err)
	}
	out := &IDTokenVerify{Library: goOIDCModule + " " + moduleVersion(goOIDCModule), Alg: jwtAlg(fr.IDToken), Bytes: len(fr.IDToken)}
	if out.OneCPU, err = verifyRate(ctx, 1, dur, verify); err != nil {
		return nil, err
	}
	if out.AllCPUs, err = verifyRate(ctx, runtime.GOMAXPROCS(0), dur, verify); err != nil {
		return nil, err
	}
	return out, nil
}

// idTokenAlgs reads id_token_signing_alg_values_supported from base's
// discovery document.
func idTokenAlgs(ctx context.Context, base string) ([]string, error) {
	st, body, _, err := api{http.DefaultClient}.call(ctx, "GET", base+"/.well-known/openid-configuration", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	var d struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	if st != http.StatusOK || json.Unmarshal(body, &d) != nil || len(d.Algs) == 0 {
		return nil, statusError("discovery: no id_token_signing_alg_values_supported", st, body)
	}
	return d.Algs, nil
}

// jwtAlg is the alg of a JWT's header, or "?".
func jwtAlg(raw string) string {
	h, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	var hd struct {
		Alg string `json:"alg"`
	}
	if err != nil || json.Unmarshal(b, &hd) != nil || hd.Alg == "" {
		return "?"
	}
	return hd.Alg
}

// moduleVersion is the version of module path built into this binary.
func moduleVersion(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Version
			}
		}
	}
	return "(unknown version)"
}

// verifyRate runs f on workers goroutines for dur; the first error stops
// it.
func verifyRate(ctx context.Context, workers int, dur time.Duration, f func() error) (VerifyRate, error) {
	var stop atomic.Bool
	counts := make([]int, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range workers {
		wg.Go(func() {
			for !stop.Load() && ctx.Err() == nil {
				if errs[w] = f(); errs[w] != nil {
					stop.Store(true)
					return
				}
				counts[w]++
			}
		})
	}
	sleepCtx(ctx, dur)
	stop.Store(true)
	wg.Wait()
	el := time.Since(start)
	vr := VerifyRate{Workers: workers, Seconds: round3(el.Seconds())}
	for _, c := range counts {
		vr.Verifications += c
	}
	if err := errors.Join(errs...); err != nil {
		return vr, fmt.Errorf("ID-token verification: %w", err)
	}
	if vr.Verifications > 0 {
		vr.PerSecond = round1(float64(vr.Verifications) / el.Seconds())
		vr.UsEach = round1(float64(workers) * el.Seconds() * 1e6 / float64(vr.Verifications))
	}
	return vr, nil
}
