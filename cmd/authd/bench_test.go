package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/authd/authd/bench"
)

// benchChild marks a process started by the bench from this test binary:
// `authd bench` starts os.Executable() as `serve …`, which here is the
// test binary, so TestMain runs it as authd itself. The name has no
// AUTHD_ prefix because the bench strips those from its children.
const benchChild = "AUTHDBENCH_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(benchChild) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	code := m.Run()
	// The real-process tests' binary (44 MB) goes with the run.
	if err := removeBinary(); err != nil {
		fmt.Fprintf(os.Stderr, "removing the test binary: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// TestBenchQuick is CI's smoke run of `authd bench --quick`: the files are
// written, the JSON parses and every mode is there, measured where its
// store is available. No figure is asserted: the machine is shared.
func TestBenchQuick(t *testing.T) {
	if testing.Short() {
		t.Skip("the quick benchmark starts real authd processes; skipped under -short")
	}
	t.Setenv(benchChild, "1") // inherited by the nodes the bench starts
	out := t.TempDir()
	getenv := env(map[string]string{
		"AUTHD_TEST_POSTGRES": os.Getenv("AUTHD_TEST_POSTGRES"),
		"AUTHD_TEST_REDIS":    os.Getenv("AUTHD_TEST_REDIS"),
	})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(ctx, []string{"bench", "--quick", "--out", out}, getenv, strings.NewReader(""), &stdout, &stderr)
	t.Logf("bench --quick took %s", time.Since(start).Round(time.Millisecond))
	if code != 0 {
		t.Fatalf("bench --quick exited %d\nstderr:\n%s", code, stderr.String())
	}
	for _, f := range []string{"results.md", "results.json", "results.svg"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", f, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(out, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("results.json does not parse: %v", err)
	}
	if rep.Version != bench.ReportVersion || !rep.Quick {
		t.Errorf("version %d quick %v, want %d true", rep.Version, rep.Quick, bench.ReportVersion)
	}
	got := map[string]bench.ModeResult{}
	for _, m := range rep.Modes {
		got[m.Name] = m
	}
	for _, m := range bench.AllModes() {
		res, ok := got[m.Name]
		if !ok {
			t.Errorf("mode %s missing from results.json", m.Name)
			continue
		}
		available := m.Store == "sqlite" ||
			(m.Store == "postgres" && os.Getenv("AUTHD_TEST_POSTGRES") != "") ||
			(m.Store == "redis" && os.Getenv("AUTHD_TEST_REDIS") != "")
		switch {
		case available && res.Status != bench.StatusOK:
			t.Errorf("mode %s: %s: %s", m.Name, res.Status, res.Reason)
		case !available && res.Status != bench.StatusSkipped:
			t.Errorf("mode %s: status %s, want skipped (its store is not configured)", m.Name, res.Status)
		case res.Status == bench.StatusOK && m.Model == "oidc":
			checkCodeFlow(t, m, res.CodeFlow)
		case res.Status == bench.StatusOK:
			if len(res.Throughput) != 2 || res.Revocation == nil || res.Credential == nil || res.Logins == nil {
				t.Errorf("mode %s: figures missing: %+v", m.Name, res)
			} else if rv := res.Revocation; rv.NotRefused != 0 || rv.RefusedEarly != 0 {
				t.Errorf("mode %s: %d revoked credentials were never refused, %d were refused before their revocation", m.Name, rv.NotRefused, rv.RefusedEarly)
			}
			if res.StartMs <= 0 {
				t.Errorf("mode %s: no start time", m.Name)
			}
			if runtime.GOOS == "linux" && len(res.Throughput) == 2 && (len(res.Throughput[0].PeakRSSBytes) != 1 || len(res.Throughput[1].PeakRSSBytes) != 3) {
				t.Errorf("mode %s: peak RSS of 1 and 3 nodes missing: %+v", m.Name, res.Throughput)
			}
			if m.Model == "jwt" && (res.Issuance == nil || res.Refresh == nil) {
				t.Errorf("mode %s: token issuance or refresh figures missing", m.Name)
			}
		}
	}
	if md, _ := os.ReadFile(filepath.Join(out, "results.md")); !bytes.Contains(md, []byte("| session/sqlite/cache | 1 |")) {
		t.Errorf("results.md lacks the session/sqlite/cache row:\n%s", md)
	}
	if !strings.Contains(stdout.String(), "### Throughput") || !strings.Contains(stdout.String(), "### Footprint") || !strings.Contains(stdout.String(), "### OpenID Connect code flow") {
		t.Errorf("stdout lacks the results tables:\n%s", stdout.String())
	}
}

// checkCodeFlow: an oidc mode made full code flows on 1 node and on 3,
// none of them failed, and go-oidc verified the ID token.
func checkCodeFlow(t *testing.T, m bench.Mode, cf *bench.CodeFlow) {
	t.Helper()
	if cf == nil || len(cf.Runs) != 2 || cf.IDToken == nil {
		t.Errorf("mode %s: code-flow figures missing: %+v", m.Name, cf)
		return
	}
	for _, r := range cf.Runs {
		if r.Flows.Errors != 0 {
			t.Errorf("mode %s, %d node(s): %d flows failed (%d with 5xx)", m.Name, r.Nodes, r.Flows.Errors, r.Flows.ServerErrors)
		}
	}
	if cf.Runs[0].Flows.Requests == 0 {
		t.Errorf("mode %s: no flow completed on 1 node", m.Name)
	}
	if v := cf.IDToken; v.OneCPU.Verifications == 0 || v.AllCPUs.Verifications == 0 {
		t.Errorf("mode %s: no ID-token verification: %+v", m.Name, v)
	}
}

// TestBenchSessions runs the scale measurement on SQLite at two small
// sizes with short phases: both sizes measured with the cache on and off,
// and the four files written.
func TestBenchSessions(t *testing.T) {
	if testing.Short() {
		t.Skip("the scale run starts real authd processes; skipped under -short")
	}
	t.Setenv(benchChild, "1")
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"bench", "--sessions", "200,1k", "--modes", "session/sqlite", "--phase", "300ms", "--concurrency", "8", "--out", out},
		env(nil), strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("bench --sessions exited %d\nstderr:\n%s", code, stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "scale.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.ScaleReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("scale.json does not parse: %v", err)
	}
	if len(rep.Stores) != 1 || rep.Stores[0].Status != bench.StatusOK || len(rep.Stores[0].Steps) != 2 || rep.Stores[0].Steps[1].Sessions != 1000 {
		t.Fatalf("stores = %+v", rep.Stores)
	}
	if f := rep.Stores[0]; f.FreshStartMs <= 0 || len(f.Steps[0].StartMs) == 0 || f.Steps[1].StartMedianMs <= 0 {
		t.Errorf("start times missing: %+v", f)
	}
	if len(rep.Modes) != 2 {
		t.Fatalf("%d modes, want session/sqlite/cache and nocache", len(rep.Modes))
	}
	for _, m := range rep.Modes {
		if m.Status != bench.StatusOK || len(m.Points) != 2 || m.Growth == nil {
			t.Errorf("mode %s: %s %s, %d points", m.Name, m.Status, m.Reason, len(m.Points))
			continue
		}
		for _, p := range m.Points {
			if p.Run.Me.Requests == 0 || p.Run.Me.Errors != 0 {
				t.Errorf("mode %s at %d: %d requests, %d errors", m.Name, p.Sessions, p.Run.Me.Requests, p.Run.Me.Errors)
			}
			if p.StartMs <= 0 || (runtime.GOOS == "linux" && len(p.Run.PeakRSSBytes) != 1) {
				t.Errorf("mode %s at %d: start %g ms, peak RSS %v", m.Name, p.Sessions, p.StartMs, p.Run.PeakRSSBytes)
			}
		}
	}
	for _, f := range []string{"scale.md", "scale.csv", "scale.svg"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", f, err)
		}
	}
	if code := run(ctx, []string{"bench", "--sessions", "0"}, env(nil), strings.NewReader(""), &stdout, &stderr); code == 0 {
		t.Error("--sessions 0 accepted")
	}
}

// TestBenchUsers runs the users measurement on SQLite at two small sizes
// with short phases: logins and refresh rotations measured at both, none
// refused, and the three files written. No figure is asserted.
func TestBenchUsers(t *testing.T) {
	if testing.Short() {
		t.Skip("the users run starts real authd processes; skipped under -short")
	}
	t.Setenv(benchChild, "1")
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	// --phase 3s: six windows of 500 ms, each long enough for logins at
	// serve's argon2id parameters to finish in a node built with -race
	// (a 50 ms window saw none under CI's load).
	code := run(ctx, []string{"bench", "--users", "100,300", "--modes", "users/sqlite", "--phase", "3s", "--concurrency", "8", "--out", out},
		env(nil), strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("bench --users exited %d\nstderr:\n%s", code, stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "scale-users.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.UsersReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("scale-users.json does not parse: %v", err)
	}
	if len(rep.Stores) != 1 || rep.Stores[0].Status != bench.StatusOK || len(rep.Stores[0].Steps) != 2 || rep.Stores[0].Growth == nil {
		t.Fatalf("stores = %+v", rep.Stores)
	}
	for _, st := range rep.Stores[0].Steps {
		// The second size's rotations also reach families rotated at the
		// first: a token presented twice would be refused as reuse.
		if st.Logins.Requests == 0 || st.Logins.Errors != 0 || st.Refreshes.Requests == 0 || st.Refreshes.Errors != 0 {
			t.Errorf("at %d users: logins %+v, refreshes %+v", st.Users, st.Logins, st.Refreshes)
		}
		if st.Argon2.Hashes == 0 || st.Inserted == 0 {
			t.Errorf("at %d users: %d hashes, %d inserted", st.Users, st.Argon2.Hashes, st.Inserted)
		}
	}
	for _, f := range []string{"scale-users.md", "scale-users.csv"} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", f, err)
		}
	}
}

// The users run's flag errors come before anything starts.
func TestBenchUsersFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--users", "0"},
		{"bench", "--users", "1x"},
		{"bench", "--users", "10k", "--sessions", "10k"},
		{"bench", "--users", "10k", "--soak", "1m"},
		{"bench", "--users", "10", "--concurrency", "32", "--out", t.TempDir()},
		{"bench", "--users", "10k", "--modes", "session/redis", "--out", t.TempDir()},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, env(nil), strings.NewReader(""), &stdout, &stderr); code == 0 {
			t.Errorf("%v accepted", args)
		}
	}
}

// TestBenchSoakShort runs the soak for a few seconds on SQLite: every
// check must pass.
func TestBenchSoakShort(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak starts real authd processes; skipped under -short")
	}
	t.Setenv(benchChild, "1")
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, []string{"bench", "--soak", "4s", "--out", out}, env(nil), strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("bench --soak 4s exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "soak.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.SoakReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("soak.json does not parse: %v", err)
	}
	if !rep.Passed || rep.Requests == 0 || rep.FinalLiveChecked == 0 || len(rep.NodeMetrics) != 3 {
		t.Errorf("soak: passed %v, %d requests, %d live checked, %d nodes' metrics\n%s", rep.Passed, rep.Requests, rep.FinalLiveChecked, len(rep.NodeMetrics), stdout.String())
	}
}
