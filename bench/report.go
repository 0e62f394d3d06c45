package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// ReportVersion is the version of the results.json schema
// (docs/BENCHMARKS.md describes it).
const ReportVersion = 1

// Status of a mode.
const (
	StatusOK      = "ok"
	StatusSkipped = "skipped"
	StatusFailed  = "failed"
)

// Report is everything one run measured: results.json.
type Report struct {
	Version    int          `json:"version"`
	StartedAt  time.Time    `json:"started_at"`
	FinishedAt time.Time    `json:"finished_at"`
	Quick      bool         `json:"quick"`
	Command    string       `json:"command"`
	Machine    Machine      `json:"machine"`
	Settings   Settings     `json:"settings"`
	Argon2     Argon2       `json:"argon2"`
	Modes      []ModeResult `json:"modes"`
	Targets    []Target     `json:"targets"`
}

// Machine describes where the run ran.
type Machine struct {
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	MemBytes  int64  `json:"mem_bytes"`
	Kernel    string `json:"kernel"`
	GoVersion string `json:"go_version"`
}

// Settings are the run's parameters.
type Settings struct {
	Concurrency   int     `json:"concurrency"`
	PhaseSeconds  float64 `json:"phase_seconds"`
	WarmupSeconds float64 `json:"warmup_seconds"`
	Revocations   int     `json:"revocations"`
	Nodes         int     `json:"nodes"`
}

// ModeResult is one mode's figures. Only Mode, Status and Reason are set
// when Status is not "ok".
type ModeResult struct {
	Mode
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`

	// Throughput holds the load phases on 1 node and spread over 3.
	Throughput []Throughput `json:"throughput,omitempty"`
	Revocation *Revocation  `json:"revocation,omitempty"`
	Credential *Credential  `json:"credential,omitempty"`
	// Logins: LoginEndpoint at the run's concurrency on one node.
	LoginEndpoint string `json:"login_endpoint,omitempty"`
	Logins        *Stats `json:"logins,omitempty"`
	// Issuance (POST /v1/session/token) and Refresh (grant_type=
	// refresh_token, each client rotating its own family): JWT modes only.
	Issuance *Stats `json:"issuance,omitempty"`
	Refresh  *Stats `json:"refresh,omitempty"`
	// CodeFlow: the oidc modes' figures (they have none of the above).
	CodeFlow *CodeFlow `json:"code_flow,omitempty"`
	// StartMs is the time from starting the first node (`authd serve` on
	// the fresh store: it migrates it) to its "authd listening on" line.
	StartMs float64 `json:"start_ms,omitempty"`
	// Logs are the children's stderr files.
	Logs []string `json:"logs,omitempty"`
}

// Throughput compares GET /v1/me with GET /healthz on Nodes nodes.
type Throughput struct {
	Nodes   int   `json:"nodes"`
	Me      Stats `json:"me"`
	Healthz Stats `json:"healthz"`
	// Ratio is Me.RPS / Healthz.RPS: 1 means authentication is free.
	Ratio float64 `json:"ratio"`
	// PeakRSSBytes is the peak resident set size (VmHWM) of each of the
	// Nodes nodes over the phase, node0 first; PeakRSSSince is "load" when
	// their peaks were reset at its start, "start" when they could not be
	// (the peak since the process started). Absent where /proc is not
	// readable. In the benchmark node0 served the logins before: its RSS
	// still holds their argon2id garbage (see loadRSS).
	PeakRSSBytes []int64 `json:"peak_rss_bytes,omitempty"`
	PeakRSSSince string  `json:"peak_rss_since,omitempty"`
	// FileRSSBytes is each node's file-backed resident memory (RssFile) at
	// the end of the phase: mostly the binary's code, counted in the peak.
	FileRSSBytes []int64 `json:"file_rss_bytes,omitempty"`
}

// Revocation is the revocation-to-refusal delay.
type Revocation struct {
	Trials int    `json:"trials"`
	Revoke string `json:"revoke"`
	// SameNode: from the revoking response to the first refusal by the node
	// that revoked; OtherNodes: to the refusal by every other node (the
	// slowest of them), absent with one node.
	SameNode   Delay  `json:"same_node"`
	OtherNodes *Delay `json:"other_nodes,omitempty"`
	// NotRefused counts credentials some node still accepted 5 s after
	// their revocation; RefusedEarly, refusals before the revocation was
	// sent; Errors, answers that were neither 200 nor 401.
	NotRefused   int `json:"not_refused"`
	RefusedEarly int `json:"refused_early"`
	Errors       int `json:"errors"`
}

// Delay is a distribution of delays.
type Delay struct {
	Samples int     `json:"samples"`
	P50Ms   float64 `json:"p50_ms"`
	P99Ms   float64 `json:"p99_ms"`
	MaxMs   float64 `json:"max_ms"`
}

// Credential is the size of the credential on the wire.
type Credential struct {
	Header      string `json:"header"`       // Cookie or Authorization
	HeaderBytes int    `json:"header_bytes"` // the whole header line with CRLF
	ValueBytes  int    `json:"value_bytes"`  // the header's value
}

// Target is one of issue #7's targets, met or not.
type Target struct {
	Name     string  `json:"name"`
	Mode     string  `json:"mode"`
	Goal     string  `json:"goal"`
	Measured float64 `json:"measured"`
	Unit     string  `json:"unit"`
	Met      bool    `json:"met"`
}

// Issue #19's footprint targets: peak RSS of a node under GET /v1/me load,
// and the time from starting `authd serve` to its "authd listening on"
// line.
const (
	RSSGoalBytes = 50_000_000 // 50 MB
	StartGoalMs  = 100
)

// loadRSS is the largest peak RSS under the load phase of the nodes that
// served only GET /healthz and /v1/me (every node but node0, which served
// the logins: Go keeps their argon2id garbage in its heap until a later
// collection and returns it to the system slowly), 0 if none was read.
func loadRSS(m ModeResult) int64 {
	var peak int64
	for _, t := range m.Throughput {
		for _, b := range t.PeakRSSBytes[min(1, len(t.PeakRSSBytes)):] {
			peak = max(peak, b)
		}
	}
	return peak
}

// ThroughputGoal is the share of GET /healthz's throughput that GET /v1/me
// must keep on one node with the caches on: 90% since issue #19 (85% in
// issue #7).
const ThroughputGoal = 0.90

// evaluateTargets checks the targets on every measured mode: with the
// cache on, /v1/me at ≥ ThroughputGoal of /healthz on one node; revocation seen by
// every other node within 100 ms at p99; with the public client, full
// OIDC code flows at CodeFlowGoal per second on one node.
func evaluateTargets(rep *Report) []Target {
	var ts []Target
	for _, m := range rep.Modes {
		if m.Status != StatusOK {
			continue
		}
		if m.Cache && len(m.Throughput) > 0 {
			t := m.Throughput[0]
			ts = append(ts, Target{Name: "authenticated throughput", Mode: m.Name, Goal: fmt.Sprintf("≥ %.0f%% of /healthz (1 node)", 100*ThroughputGoal),
				Measured: round1(100 * t.Ratio), Unit: "%", Met: t.Ratio >= ThroughputGoal})
		}
		if cf := m.CodeFlow; cf != nil && cf.Client == clientPublic && len(cf.Runs) > 0 {
			r := cf.Runs[0].Flows
			ts = append(ts, Target{Name: "OIDC code flows (authorize + token)", Mode: m.Name, Goal: fmt.Sprintf("≥ %s flows/s on SQLite (1 node)", thousands(cf.Goal)),
				Measured: r.RPS, Unit: "flows/s", Met: r.RPS >= cf.Goal && r.Errors == 0})
		}
		if b := loadRSS(m); b > 0 {
			ts = append(ts, Target{Name: "peak RSS under /v1/me load", Mode: m.Name, Goal: "≤ 50 MB (a node that served no login)",
				Measured: round1(float64(b) / 1e6), Unit: "MB", Met: b <= RSSGoalBytes})
		}
		if m.StartMs > 0 {
			ts = append(ts, Target{Name: "start to listening, fresh database", Mode: m.Name, Goal: "≤ 100 ms",
				Measured: round1(m.StartMs), Unit: "ms", Met: m.StartMs <= StartGoalMs})
		}
		if rv := m.Revocation; rv != nil && rv.OtherNodes != nil {
			ts = append(ts, Target{Name: "revocation seen by every node", Mode: m.Name, Goal: "p99 ≤ 100 ms",
				Measured: rv.OtherNodes.P99Ms, Unit: "ms", Met: rv.OtherNodes.P99Ms <= 100 && rv.NotRefused == 0})
		}
	}
	return ts
}

// writeReport writes results.json, results.md and results.svg into dir.
func writeReport(dir string, rep *Report) error {
	if err := writeJSON(filepath.Join(dir, "results.json"), rep); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(Markdown(rep)), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "results.svg"), []byte(SVG(rep)), 0o644)
}

// writeJSON writes v to path as indented JSON ending in a newline.
func writeJSON(path string, v any) error {
	j, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(j, '\n'), 0o644)
}

// Markdown renders the report as the tables of docs/BENCHMARKS.md.
func Markdown(rep *Report) string {
	var b strings.Builder
	markdownIntro(&b, rep)
	markdownThroughput(&b, rep)
	markdownRevocation(&b, rep)
	markdownFootprint(&b, rep)
	markdownCodeFlow(&b, rep)
	markdownTargets(&b, rep)
	return b.String()
}

// markdownIntro says when, where and how the run was made.
func markdownIntro(b *strings.Builder, rep *Report) {
	mc := rep.Machine
	fmt.Fprintf(b, "Run %s, %s. Machine: %d × %s, %s RAM, %s/%s, Linux %s, %s. ",
		rep.StartedAt.Format("2006-01-02 15:04 MST"), rep.FinishedAt.Sub(rep.StartedAt).Round(time.Second),
		mc.CPUs, mc.CPUModel, gib(mc.MemBytes), mc.OS, mc.Arch, mc.Kernel, mc.GoVersion)
	s := rep.Settings
	fmt.Fprintf(b, "%d authd nodes per mode, %d keep-alive clients, %gs measured after %gs warm-up per phase, %d revocations per mode",
		s.Nodes, s.Concurrency, s.PhaseSeconds, s.WarmupSeconds, s.Revocations)
	if rep.Quick {
		b.WriteString(" (--quick: indicative only)")
	}
	b.WriteString(". The load generator shares the CPUs with the servers: compare the ratios, not the absolute rates.\n\n")
	if rep.Command != "" {
		fmt.Fprintf(b, "Command: `%s`\n\n", rep.Command)
	}
}

// markdownThroughput is the table of /v1/me against /healthz.
func markdownThroughput(b *strings.Builder, rep *Report) {
	if !hasMode(rep, notOIDC) {
		return
	}
	b.WriteString("### Throughput: GET /v1/me against GET /healthz\n\n")
	modeTable(b, rep, notOIDC, 2, "| mode | nodes | /v1/me req/s | p50 / p99 ms | CPU µs/req | /healthz req/s | p50 / p99 ms | CPU µs/req | me ÷ healthz |\n"+
		"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n", func(m ModeResult) {
		for _, t := range m.Throughput {
			fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", m.Name, t.Nodes,
				rate(t.Me), lat(t.Me), cpu(t.Me), rate(t.Healthz), lat(t.Healthz), cpu(t.Healthz), pct(t.Ratio))
		}
	})
}

// markdownRevocation is the argon2id rate and the table of revocation
// delays, credential sizes, logins and tokens.
func markdownRevocation(b *strings.Builder, rep *Report) {
	argon := fmt.Sprintf("Raw argon2id in process (m=%d KiB, t=%d, p=%d) on %d workers: **%.1f hashes/s**.\n\n",
		rep.Argon2.MemoryKiB, rep.Argon2.Time, rep.Argon2.Threads, rep.Argon2.Workers, rep.Argon2.PerSecond)
	if !hasMode(rep, notOIDC) {
		b.WriteString(argon)
		return
	}
	b.WriteString("\n### Revocation, credential size, logins and tokens\n\n")
	b.WriteString(argon)
	modeTable(b, rep, notOIDC, 1, "| mode | revoked by | refused by same node p50 / p99 ms | by every other node p50 / p99 ms | not refused | credential header | bytes | logins/s | issuance/s | refresh/s |\n"+
		"| --- | --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |\n", func(m ModeResult) {
		rv, other, notRef, by := "—", "—", "—", "—"
		if m.Revocation != nil {
			by = m.Revocation.Revoke
			rv = fmt.Sprintf("%s / %s", f2(m.Revocation.SameNode.P50Ms), f2(m.Revocation.SameNode.P99Ms))
			if o := m.Revocation.OtherNodes; o != nil {
				other = fmt.Sprintf("%s / %s", f2(o.P50Ms), f2(o.P99Ms))
			}
			notRef = strconv.Itoa(m.Revocation.NotRefused)
		}
		hdr, hb := "—", "—"
		if c := m.Credential; c != nil {
			hdr, hb = c.Header, strconv.Itoa(c.HeaderBytes)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", m.Name, by, rv, other, notRef, hdr, hb,
			ratePtr(m.Logins), ratePtr(m.Issuance), ratePtr(m.Refresh))
	})
}

// markdownFootprint is the table of start times and peak RSS.
func markdownFootprint(b *strings.Builder, rep *Report) {
	if !hasMode(rep, notOIDC) {
		return
	}
	b.WriteString("\n### Footprint: start time and peak RSS\n\n")
	b.WriteString("Start: from starting `authd serve` on the mode's fresh store (it migrates it) to its \"authd listening on\" line (goal ≤ 100 ms). " +
		"Peak RSS: each node's `VmHWM` over the GET /healthz and /v1/me phases, reset through `/proc/PID/clear_refs` at their start. " +
		"node0 served the logins before them and still holds their argon2id garbage (19 MiB a hash; Go returns freed memory to the system slowly): " +
		"the goal (≤ 50 MB) is read on node1 and node2, which served only the load (a third of the clients each in the 3-node phase). " +
		"`authd bench --sessions` measures a node serving all the clients and no login.\n\n")
	modeTable(b, rep, notOIDC, 1, "| mode | start ms | goal ≤ 100 ms | node0 (after the logins), 1 node | node0 / node1 / node2, 3 nodes | under load (node1, node2) | goal ≤ 50 MB |\n"+
		"| --- | ---: | --- | ---: | ---: | ---: | --- |\n", func(m ModeResult) {
		start, startMet := "—", "—"
		if m.StartMs > 0 {
			start, startMet = f2(m.StartMs), met(m.StartMs <= StartGoalMs)
		}
		rss1, rss3, load, loadMet := "—", "—", "—", "—"
		for _, t := range m.Throughput {
			if len(t.PeakRSSBytes) == 0 {
				continue
			}
			var each []string
			for _, p := range t.PeakRSSBytes {
				each = append(each, fmt.Sprintf("%.1f", float64(p)/(1<<20)))
			}
			s := strings.Join(each, " / ") + " MiB"
			if t.PeakRSSSince == "start" {
				s += " since start"
			}
			if t.Nodes == 1 {
				rss1 = s
			} else {
				rss3 = s
			}
		}
		if p := loadRSS(m); p > 0 {
			load, loadMet = rssMiB(p, ""), met(p <= RSSGoalBytes)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", m.Name, start, startMet, rss1, rss3, load, loadMet)
	})
}

// rssMiB is a peak RSS in MiB and MB, noting a peak that counts from the
// process's start.
func rssMiB(b int64, since string) string {
	s := fmt.Sprintf("%.1f MiB (%.1f MB)", float64(b)/(1<<20), float64(b)/1e6)
	if since == "start" {
		s += " since start"
	}
	return s
}

// markdownTargets is the table of the targets, when any was evaluated.
func markdownTargets(b *strings.Builder, rep *Report) {
	if len(rep.Targets) == 0 {
		return
	}
	b.WriteString("\n### Targets\n\n| target | mode | goal | measured | met |\n| --- | --- | --- | ---: | --- |\n")
	for _, t := range rep.Targets {
		met := "**missed**"
		if t.Met {
			met = "met"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %g %s | %s |\n", t.Name, t.Mode, t.Goal, t.Measured, t.Unit, met)
	}
}

// modeTable writes a table with head (its header and alignment lines) and
// the rows of every mode that keep keeps: those row writes for a measured
// mode, one with its status and reason in column statusCol for any other.
func modeTable(b *strings.Builder, rep *Report, keep func(Mode) bool, statusCol int, head string, row func(m ModeResult)) {
	b.WriteString(head)
	header, _, _ := strings.Cut(head, "\n")
	cols := strings.Count(header, " | ") + 1
	for _, m := range rep.Modes {
		if !keep(m.Mode) {
			continue
		}
		if m.Status != StatusOK {
			b.WriteString(unmeasuredRow(m, statusCol, cols))
			continue
		}
		row(m)
	}
}

// hasMode reports whether rep has a mode that keep keeps.
func hasMode(rep *Report, keep func(Mode) bool) bool {
	for _, m := range rep.Modes {
		if keep(m.Mode) {
			return true
		}
	}
	return false
}

// notOIDC keeps the session and JWT modes; isOIDC the code-flow modes.
func notOIDC(m Mode) bool { return m.Model != "oidc" }
func isOIDC(m Mode) bool  { return m.Model == "oidc" }

// unmeasuredRow is the table row of a mode that was not measured, of cols
// columns: its name, then its status and reason in column col.
func unmeasuredRow(m ModeResult, col, cols int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s |", m.Name)
	for i := 1; i < cols; i++ {
		if i == col {
			fmt.Fprintf(&b, " %s: %s |", m.Status, mdEscape(m.Reason))
		} else {
			b.WriteString(" |")
		}
	}
	b.WriteString("\n")
	return b.String()
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

func rate(s Stats) string { return fmt.Sprintf("%.0f", s.RPS) + errNote(s) }

func ratePtr(s *Stats) string {
	if s == nil {
		return "—"
	}
	if s.RPS < 100 {
		return fmt.Sprintf("%.1f", s.RPS) + errNote(*s)
	}
	return fmt.Sprintf("%.0f", s.RPS) + errNote(*s)
}

func errNote(s Stats) string {
	if s.Errors > 0 {
		return fmt.Sprintf(" (%d errors)", s.Errors)
	}
	return ""
}

func lat(s Stats) string { return fmt.Sprintf("%s / %s", f2(s.P50Ms), f2(s.P99Ms)) }

func cpu(s Stats) string {
	if s.CPUPerReqUs == nil {
		return "—"
	}
	return fmt.Sprintf("%.0f", *s.CPUPerReqUs)
}

func pct(r float64) string { return fmt.Sprintf("%.0f%%", 100*r) }

func f2(x float64) string {
	if x >= 100 {
		return fmt.Sprintf("%.0f", x)
	}
	if x >= 10 {
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}

func gib(b int64) string {
	if b <= 0 {
		return "? GiB"
	}
	return fmt.Sprintf("%.0f GiB", float64(b)/(1<<30))
}

// readMachine describes this machine from /proc where it can.
func readMachine() Machine {
	m := Machine{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if m.CPUModel == "" {
		m.CPUModel = "unknown CPU"
	}
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				m.MemBytes = kb << 10
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// markdownCodeFlow is the table of the OIDC code flow and of the ID-token
// verifications, when an oidc mode was selected.
func markdownCodeFlow(b *strings.Builder, rep *Report) {
	if !hasMode(rep, isOIDC) {
		return
	}
	fmt.Fprintf(b, "\n### OpenID Connect code flow (SQLite)\n\n"+
		"A flow is what a signed-in user whose consent is remembered costs: `GET /oauth2/authorize` (302 with the code; "+
		"session cookie, fresh PKCE S256 challenge, state and nonce) then `POST /oauth2/token` `grant_type=authorization_code` "+
		"with the verifier (200 with the access and ID tokens), scope `%s`. Consent was given once per user through the consent form. "+
		"Over several nodes each client redeems its code at the next node. "+
		"The **public** client (PKCE only, no secret) is the measure: no argon2id secret check is in it. "+
		"The **confidential** client authenticates with `client_secret_basic`: its secret's argon2id verification runs once per node, "+
		"then the verified secret is remembered as its SHA-256 (wrong secrets always pay argon2id). Anchor: Ory Hydra, **%g token issuances/s** on this kind of machine; goal **≥ %s flows/s**.\n\n",
		codeFlowScope, HydraAnchor, thousands(CodeFlowGoal))
	b.WriteString("CPU µs/flow is the authd nodes' CPU time per flow; load CPU µs/flow is the load generator's (this process), which shares the machine's CPUs.\n\n")
	modeTable(b, rep, isOIDC, 1, "| mode | client auth | nodes | flows/s | p50 / p99 ms | authorize p50 / p99 ms | token p50 / p99 ms | CPU µs/flow | load CPU µs/flow | × Hydra (77/s) | goal 1,000/s |\n"+
		"| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n", func(m ModeResult) {
		cf := m.CodeFlow
		if cf == nil {
			return
		}
		for _, r := range cf.Runs {
			goal := "**missed**"
			if r.Flows.RPS >= cf.Goal && r.Flows.Errors == 0 {
				goal = "met"
			}
			steps := func(p50, p99 float64) string {
				if p50 == 0 {
					return "—"
				}
				return f2(p50) + " / " + f2(p99)
			}
			fmt.Fprintf(b, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %.1f× | %s |\n", m.Name, cf.ClientAuth, r.Nodes,
				ratePtr(&r.Flows), lat(r.Flows), steps(r.AuthorizeP50Ms, r.AuthorizeP99Ms), steps(r.TokenP50Ms, r.TokenP99Ms),
				cpu(r.Flows), cpu(Stats{CPUPerReqUs: r.LoadCPUPerFlowUs}), r.Flows.RPS/cf.HydraAnchor, goal)
		}
	})
	b.WriteString("\nID-token verification by a relying party in this process (signature with the JWKS key, `iss`, `aud`, `exp`, `nonce`):\n\n")
	modeTable(b, rep, isOIDC, 1, "| mode | library | alg | ID token bytes | verifications/s, 1 CPU | µs each | verifications/s, all CPUs | workers |\n"+
		"| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |\n", func(m ModeResult) {
		if m.CodeFlow == nil || m.CodeFlow.IDToken == nil {
			return
		}
		v := m.CodeFlow.IDToken
		fmt.Fprintf(b, "| %s | %s | %s | %d | %.0f | %s | %.0f | %d |\n", m.Name, v.Library, v.Alg, v.Bytes,
			v.OneCPU.PerSecond, f2(v.OneCPU.UsEach), v.AllCPUs.PerSecond, v.AllCPUs.Workers)
	})
}

// thousands writes x rounded with a comma between thousands: 1,000.
func thousands(x float64) string {
	s := strconv.FormatInt(int64(x+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
