package bench

import (
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

func TestSelectModes(t *testing.T) {
	if n := len(selectModes(nil)); n != 16 {
		t.Errorf("all modes: %d, want 16", n)
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
				Throughput: []Throughput{{Nodes: 1, Me: st(900), Healthz: st(1000), Ratio: 0.9}, {Nodes: 3, Me: st(800), Healthz: st(1000), Ratio: 0.8}},
				Revocation: &Revocation{Trials: 500, Revoke: "POST /v1/logout", SameNode: Delay{Samples: 500, P99Ms: 1}, OtherNodes: &Delay{Samples: 500, P99Ms: 140}},
				Credential: &Credential{Header: "Cookie", HeaderBytes: 67}, Logins: &Stats{RPS: 40}},
			{Mode: Mode{Name: "session/redis/cache"}, Status: StatusSkipped, Reason: "no Redis | here"},
			{Mode: Mode{Name: "jwt/EdDSA/cache"}, Status: StatusFailed, Reason: "node0 exited at start"},
		}}
	rep.Targets = evaluateTargets(rep)
	if len(rep.Targets) != 2 || !rep.Targets[0].Met || rep.Targets[1].Met {
		t.Errorf("targets = %+v, want throughput met and revocation missed", rep.Targets)
	}
	md := Markdown(rep)
	for _, want := range []string{"| session/sqlite/cache | 1 | 900 |", "skipped: no Redis \\| here", "failed: node0 exited at start", "**missed**", "90%"} {
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
