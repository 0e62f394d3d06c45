package bench

import (
	"context"
	"encoding/xml"
	"io"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := percentile(ds, c.p); got != c.want {
			t.Errorf("percentile(1..100 ms, %v) = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("percentile(empty) = %v, want 0", got)
	}
	if got := percentile([]time.Duration{7}, 0.99); got != 7 {
		t.Errorf("percentile(one) = %v, want 7", got)
	}
}

func TestSummarize(t *testing.T) {
	st := summarize([]time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond}, 2*time.Second, Stats{Errors: 1})
	if st.Requests != 3 || st.RPS != 1.5 || st.P50Ms != 2 || st.MaxMs != 3 || st.Errors != 1 {
		t.Errorf("summarize = %+v", st)
	}
}

func TestCPUTimeOfSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc here")
	}
	deadline := time.Now().Add(50 * time.Millisecond)
	for time.Now().Before(deadline) { // burn some CPU
	}
	d, ok := cpuTime(os.Getpid())
	if !ok || d <= 0 {
		t.Errorf("cpuTime(self) = %v, %v; want > 0, true", d, ok)
	}
}

// Peak RSS is VmHWM of /proc/PID/status, in kB; this process has one, and
// resetting it is allowed to its owner (or reported as not done).
func TestPeakRSS(t *testing.T) {
	if b, ok := parseVmHWM("Name:\tauthd\nVmPeak:\t  9000 kB\nVmHWM:\t   31744 kB\nVmRSS:\t 20000 kB\n"); !ok || b != 31744<<10 {
		t.Errorf("parseVmHWM = %d, %t", b, ok)
	}
	if _, ok := parseVmHWM("Name:\tauthd\n"); ok {
		t.Error("parseVmHWM without VmHWM: ok")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	pid := os.Getpid()
	b, ok := peakRSS(pid)
	if !ok || b < 1<<20 {
		t.Fatalf("peakRSS(self) = %d, %t", b, ok)
	}
	if resetPeakRSS(pid) {
		if after, ok := peakRSS(pid); !ok || after > b+(64<<20) {
			t.Errorf("peak after reset = %d, before %d", after, b)
		}
	}
}

func TestSelectModes(t *testing.T) {
	if n := len(selectModes(nil)); n != 18 {
		t.Errorf("all modes: %d, want 18", n)
	}
	var oidcModes []string
	for _, m := range selectModes([]string{"oidc-code-flow"}) {
		oidcModes = append(oidcModes, m.Name+":"+m.Store+":"+m.Client)
	}
	if want := "oidc-code-flow/public:sqlite:public oidc-code-flow/confidential:sqlite:confidential"; strings.Join(oidcModes, " ") != want {
		t.Errorf("selectModes(oidc-code-flow) = %v, want %s", oidcModes, want)
	}
	got := selectModes([]string{"jwt/ES256", "sqlite/nocache"})
	var names []string
	for _, m := range got {
		names = append(names, m.Name)
	}
	if want := "session/sqlite/nocache jwt/ES256/cache jwt/ES256/nocache"; strings.Join(names, " ") != want {
		t.Errorf("selectModes = %v, want %s", names, want)
	}
}

func TestCredentialWireBytes(t *testing.T) {
	c := cookieCred(strings.Repeat("x", 43)) // 256 bits, base64url
	if got, want := c.wireBytes(), len("Cookie: authd_session=")+43+2; got != want {
		t.Errorf("wireBytes = %d, want %d", got, want)
	}
}

// A report with one measured, one skipped and one failed mode renders as
// markdown with every mode and the targets, and as well-formed SVG.
func TestRender(t *testing.T) {
	cpu := 12.5
	st := func(rps float64) Stats { return Stats{Requests: 100, RPS: rps, P50Ms: 1, P99Ms: 4, CPUPerReqUs: &cpu} }
	rep := &Report{Version: ReportVersion, StartedAt: time.Now(), FinishedAt: time.Now().Add(time.Minute),
		Machine: readMachine(), Settings: Settings{Concurrency: 32, PhaseSeconds: 5, Revocations: 500, Nodes: 3},
		Modes: []ModeResult{
			{Mode: Mode{Name: "session/sqlite/cache", Model: "session", Store: "sqlite", Cache: true}, Status: StatusOK,
				Throughput: []Throughput{{Nodes: 1, Me: st(900), Healthz: st(1000), Ratio: 0.9, PeakRSSBytes: []int64{140 << 20}, PeakRSSSince: "load"},
					{Nodes: 3, Me: st(800), Healthz: st(1000), Ratio: 0.8, PeakRSSBytes: []int64{60 << 20, 31 << 20, 30 << 20}, PeakRSSSince: "start"}},
				StartMs:    140,
				Revocation: &Revocation{Trials: 500, Revoke: "POST /v1/logout", SameNode: Delay{Samples: 500, P99Ms: 1}, OtherNodes: &Delay{Samples: 500, P99Ms: 140}},
				Credential: &Credential{Header: "Cookie", HeaderBytes: 67}, Logins: &Stats{RPS: 40}},
			{Mode: Mode{Name: "session/redis/cache"}, Status: StatusSkipped, Reason: "no Redis | here"},
			{Mode: Mode{Name: "jwt/EdDSA/cache"}, Status: StatusFailed, Reason: "node0 exited at start"},
		}}
	rep.Targets = evaluateTargets(rep)
	if len(rep.Targets) != 4 || !rep.Targets[0].Met || !rep.Targets[1].Met || rep.Targets[1].Measured != 32.5 ||
		rep.Targets[2].Met || rep.Targets[2].Measured != 140 || rep.Targets[3].Met {
		t.Errorf("targets = %+v, want throughput and peak RSS (32.5 MB) met, start (140 ms) and revocation missed", rep.Targets)
	}
	md := Markdown(rep)
	for _, want := range []string{"| session/sqlite/cache | 1 | 900 |", "skipped: no Redis \\| here", "failed: node0 exited at start", "**missed**", "90%",
		"| session/sqlite/cache | 140 | **missed** | 140.0 MiB | 60.0 / 31.0 / 30.0 MiB since start | 31.0 MiB (32.5 MB) | met |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	d := xml.NewDecoder(strings.NewReader(SVG(rep)))
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("SVG is not well-formed: %v", err)
		}
	}
}

// The code flow has its own table and target (≥ 1,000 flows/s with the
// public client on one node), beside the Hydra anchor, and stays out of
// the session and JWT tables and of the SVG's panels.
func TestRenderCodeFlow(t *testing.T) {
	cpu := 900.0
	run := func(nodes int, rps float64) FlowRun {
		load := 300.0
		return FlowRun{Nodes: nodes, Flows: Stats{Requests: 100, RPS: rps, P50Ms: 30, P99Ms: 90, CPUPerReqUs: &cpu}, LoadCPUPerFlowUs: &load,
			AuthorizeP50Ms: 12, AuthorizeP99Ms: 40, TokenP50Ms: 15, TokenP99Ms: 50}
	}
	idt := &IDTokenVerify{Library: "go-oidc", Alg: "EdDSA", Bytes: 600, OneCPU: VerifyRate{Workers: 1, PerSecond: 9000, UsEach: 111}, AllCPUs: VerifyRate{Workers: 2, PerSecond: 17000}}
	pub := Mode{Name: "oidc-code-flow/public", Model: "oidc", Store: "sqlite", Cache: true, Client: clientPublic}
	conf := Mode{Name: "oidc-code-flow/confidential", Model: "oidc", Store: "sqlite", Cache: true, Client: clientConfidential}
	rep := &Report{Version: ReportVersion, StartedAt: time.Now(), FinishedAt: time.Now(), Machine: readMachine(),
		Modes: []ModeResult{
			{Mode: Mode{Name: "session/sqlite/cache", Model: "session", Store: "sqlite", Cache: true}, Status: StatusOK,
				Throughput: []Throughput{{Nodes: 1, Me: Stats{RPS: 900}, Healthz: Stats{RPS: 1000}, Ratio: 0.9}}},
			{Mode: pub, Status: StatusOK, CodeFlow: &CodeFlow{Client: clientPublic, ClientAuth: "none: PKCE only", Scope: codeFlowScope,
				Runs: []FlowRun{run(1, 1200), run(3, 800)}, IDToken: idt, HydraAnchor: HydraAnchor, Goal: CodeFlowGoal}},
			{Mode: conf, Status: StatusOK, CodeFlow: &CodeFlow{Client: clientConfidential, ClientAuth: "client_secret_basic: argon2id once, then SHA-256",
				Runs: []FlowRun{run(1, 20)}, HydraAnchor: HydraAnchor, Goal: CodeFlowGoal}},
		}}
	rep.Targets = evaluateTargets(rep)
	var flowTargets []Target
	for _, tg := range rep.Targets {
		if strings.HasPrefix(tg.Name, "OIDC") {
			flowTargets = append(flowTargets, tg)
		}
	}
	if len(flowTargets) != 1 || flowTargets[0].Mode != pub.Name || !flowTargets[0].Met || flowTargets[0].Measured != 1200 {
		t.Errorf("code-flow targets = %+v, want one, met, for the public client's 1 node", flowTargets)
	}
	md := Markdown(rep)
	for _, want := range []string{"### OpenID Connect code flow", "| oidc-code-flow/public | none: PKCE only | 1 | 1200 | 30.0 / 90.0 | 12.0 / 40.0 | 15.0 / 50.0 | 900 | 300 | 15.6× | met |",
		"| oidc-code-flow/public | none: PKCE only | 3 | 800 |", "**missed**", "| 0.3× | **missed** |", "77 token issuances/s", "1,000",
		"| oidc-code-flow/public | go-oidc | EdDSA | 600 | 9000 | 111 | 17000 | 2 |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	thr, _, _ := strings.Cut(md, "### OpenID Connect")
	if strings.Contains(thr, "oidc-code-flow") {
		t.Errorf("an oidc mode is in the session and JWT tables:\n%s", thr)
	}
	svg := SVG(rep)
	if !strings.Contains(svg, "oidc-code-flow/public: 1200 flows/s") || strings.Contains(svg, `text-anchor="end">oidc-code-flow`) {
		t.Errorf("SVG: want the code flow as a line, not a panel row:\n%s", svg)
	}
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("SVG is not well-formed: %v", err)
		}
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 77: "77", 1000: "1,000", 1234567: "1,234,567", 999.6: "1,000"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestCodeFrom(t *testing.T) {
	tests := []struct {
		loc, state, want string
		ok               bool
	}{
		{benchRedirect + "?code=abc&state=s1&iss=x", "s1", "abc", true},
		{benchRedirect + "?code=abc&state=s2", "s1", "", false},
		{benchRedirect + "?error=access_denied&state=s1", "s1", "", false},
		{"https://evil.example/cb?code=abc&state=s1", "s1", "", false},
	}
	for _, tt := range tests {
		got, err := codeFrom(tt.loc, tt.state)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("codeFrom(%q, %q) = %q, %v; want %q, ok %v", tt.loc, tt.state, got, err, tt.want, tt.ok)
		}
	}
}

// TestNodeArgs: the benchmark and the soak sign in with the password
// grant, which authd enables only under --password-grant, so every node
// of every mode has it; the mode's algorithm and the soak's access token
// lifetime are passed on.
func TestNodeArgs(t *testing.T) {
	type tc struct {
		name string
		m    Mode
		ns   nodeSettings
	}
	var tests []tc
	for _, m := range AllModes() {
		tests = append(tests, tc{m.Name, m, nodeSettings{}})
	}
	tests = append(tests, tc{"soak", Mode{Name: "soak", Model: "jwt", Store: "sqlite", Cache: true}, nodeSettings{accessTTL: "3s"}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := nodeArgs(tt.m, tt.ns)
			has := func(want ...string) bool {
				for i := 0; i+len(want) <= len(args); i++ {
					if slices.Equal(args[i:i+len(want)], want) {
						return true
					}
				}
				return false
			}
			if !has("--password-grant") {
				t.Errorf("args %v lack --password-grant", args)
			}
			if tt.m.Alg != "" && !has("--jwt-alg", tt.m.Alg) {
				t.Errorf("args %v lack --jwt-alg %s", args, tt.m.Alg)
			}
			if tt.ns.accessTTL != "" && !has("--access-ttl", tt.ns.accessTTL) {
				t.Errorf("args %v lack --access-ttl %s", args, tt.ns.accessTTL)
			}
		})
	}
}

// A soak fails on every count that must stay 0, in a fixed order.
func TestCountFailures(t *testing.T) {
	tests := []struct {
		name string
		rep  SoakReport
		want []string
	}{
		{"clean", SoakReport{}, nil},
		{"one", SoakReport{Lost: 2}, []string{"2 live credentials were refused"}},
		{"all", SoakReport{ServerErrors: 1, TransportErrors: 2, Lost: 3, RevokedAccepted: 4, Unexpected: 5}, []string{
			"1 answers were 5xx", "2 requests got no answer", "3 live credentials were refused",
			"4 revoked credentials were accepted more than 1s after their revocation", "5 unexpected answers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := countFailures(&tt.rep); !slices.Equal(got, tt.want) {
				t.Errorf("countFailures = %q, want %q", got, tt.want)
			}
		})
	}
}

// A node may end with soakGoroutineSlack more goroutines, and a heap of
// soakHeapFactor × its start or its start + soakHeapSlack, whichever is more.
func TestGrowth(t *testing.T) {
	const mb = 1 << 20
	use := func(g int, heap int64) RuntimeUse { return RuntimeUse{Goroutines: g, HeapInuse: heap} }
	tests := []struct {
		name       string
		start, end RuntimeUse
		want       int // failures
	}{
		{"steady", use(14, 50*mb), use(14, 50*mb), 0},
		{"goroutines at the slack", use(14, 50*mb), use(14+soakGoroutineSlack, 50*mb), 0},
		{"goroutines past the slack", use(14, 50*mb), use(15+soakGoroutineSlack, 50*mb), 1},
		{"small heap: start + slack", use(14, 10*mb), use(14, 10*mb+soakHeapSlack), 0},
		{"small heap past start + slack", use(14, 10*mb), use(14, 10*mb+soakHeapSlack+1), 1},
		{"large heap: factor", use(14, 100*mb), use(14, 200*mb), 0},
		{"large heap past the factor", use(14, 100*mb), use(14, 200*mb+1), 1},
		{"both", use(14, 100*mb), use(100, 300*mb), 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := growth(NodeMetrics{Node: "node0", Start: tt.start, End: tt.end})
			if len(got) != tt.want {
				t.Errorf("growth = %q, want %d failure(s)", got, tt.want)
			}
		})
	}
}

// pickOp draws each operation in proportion to its weight.
func TestPickOp(t *testing.T) {
	counts := map[string]int{}
	for k := range soakOpsWeight {
		counts[pickOp(k).name]++
	}
	for _, o := range soakOps {
		if counts[o.name] != o.weight {
			t.Errorf("%s drawn %d times in %d, want its weight %d", o.name, counts[o.name], soakOpsWeight, o.weight)
		}
	}
	if loginOp.weight != counts["login"] {
		t.Errorf("loginOp is not in soakOps with its weight")
	}
}

func TestKeepLatest(t *testing.T) {
	tests := []struct{ in, want []string }{
		{nil, nil},
		{[]string{"a"}, []string{"a"}},
		{[]string{"a", "b", "c", "d"}, []string{"a", "b", "c", "d"}},
		{[]string{"a", "b", "c", "d", "e"}, []string{"b", "c", "d", "e"}},
	}
	for _, tt := range tests {
		if got := keepLatest(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("keepLatest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUnmeasuredRow(t *testing.T) {
	m := ModeResult{Mode: Mode{Name: "session/redis/cache"}, Status: StatusSkipped, Reason: "no Redis | here"}
	tests := []struct {
		col, cols int
		want      string
	}{
		{1, 3, "| session/redis/cache | skipped: no Redis \\| here | |\n"},
		{2, 4, "| session/redis/cache | | skipped: no Redis \\| here | |\n"},
	}
	for _, tt := range tests {
		if got := unmeasuredRow(m, tt.col, tt.cols); got != tt.want {
			t.Errorf("unmeasuredRow(%d, %d) = %q, want %q", tt.col, tt.cols, got, tt.want)
		}
	}
}

// The argon2id figure is taken, and reported, at the parameters of the
// hasher serve makes.
func TestArgon2RateAtServeParams(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a := argon2Rate(ctx, 50*time.Millisecond)
	p := newServeHasher().Params()
	if a.MemoryKiB != p.Memory || a.Time != p.Time || a.Threads != p.Threads {
		t.Errorf("argon2Rate at m=%d t=%d p=%d, want serve's m=%d t=%d p=%d", a.MemoryKiB, a.Time, a.Threads, p.Memory, p.Time, p.Threads)
	}
	if a.Hashes < 1 || a.PerSecond <= 0 {
		t.Errorf("argon2Rate = %+v, want at least one hash", a)
	}
}

// The command recorded in the reports keeps everything but URL passwords.
func TestRedactCommand(t *testing.T) {
	tests := []struct{ in, want string }{
		{"authd bench --quick", "authd bench --quick"},
		{"authd bench --postgres postgres://ann:s3cret@db/x?sslmode=disable --redis redis://:pw@127.0.0.1:6379/0",
			"authd bench --postgres postgres://ann:xxxxx@db/x?sslmode=disable --redis redis://:xxxxx@127.0.0.1:6379/0"},
		{"authd bench --postgres=postgres://ann:s3cret@db/x", "authd bench --postgres=postgres://ann:xxxxx@db/x"},
		{"authd bench  --out  dir", "authd bench  --out  dir"},
	}
	for _, tt := range tests {
		if got := redactCommand(tt.in); got != tt.want {
			t.Errorf("redactCommand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
