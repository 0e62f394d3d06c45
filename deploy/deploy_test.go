package deploy_test

// Checks of the deployment files against the real authd binary and
// systemd's own analyzer (installed by scripts/test; without it the unit
// test skips, or fails under CI=true).

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/examples/authdtest"
	"github.com/authd/authd/internal/testenv"
)

func TestMain(m *testing.M) { authdtest.Main(m) }

// serveFlags returns the flags `authd serve --help` lists.
func serveFlags(t *testing.T, bin string) []string {
	t.Helper()
	out, err := exec.Command(bin, "serve", "--help").CombinedOutput()
	if err != nil && len(out) == 0 {
		t.Fatalf("authd serve --help: %v", err)
	}
	var flags []string
	for _, m := range regexp.MustCompile(`(?m)^\s+--?([a-z][a-z0-9-]*)`).FindAllStringSubmatch(string(out), -1) {
		flags = append(flags, m[1])
	}
	if len(flags) < 10 {
		t.Fatalf("found only %d flags in:\n%s", len(flags), out)
	}
	return flags
}

func envName(flag string) string {
	return "AUTHD_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// TestEnvExampleCoversEveryFlag: authd.env.example names every variable
// of `authd serve` (set or commented out), and nothing else.
func TestEnvExampleCoversEveryFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("builds authd")
	}
	bin := authdtest.Binary(t)
	b, err := os.ReadFile("authd.env.example")
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#?(AUTHD_[A-Z0-9_]+)=`).FindAllStringSubmatch(string(b), -1) {
		named[m[1]] = true
	}
	var want []string
	for _, f := range serveFlags(t, bin) {
		v := envName(f)
		want = append(want, v)
		if !named[v] {
			t.Errorf("authd.env.example does not mention %s (--%s)", v, f)
		}
	}
	for v := range named {
		if !slices.Contains(want, v) {
			t.Errorf("authd.env.example names %s, which is no flag of authd serve", v)
		}
	}
}

// TestEnvExampleIsValid: authd serve starts with the example's settings
// (database and address moved into the test's directory).
func TestEnvExampleIsValid(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs authd")
	}
	bin := authdtest.Binary(t)
	f, err := os.Open("authd.env.example")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "AUTHD_") {
			env = append(env, e)
		}
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !strings.HasPrefix(line, "AUTHD_") || !strings.Contains(line, "=") {
			t.Fatalf("not a KEY=value line: %q", line)
		}
		if strings.HasPrefix(line, "AUTHD_DB=") || strings.HasPrefix(line, "AUTHD_ADDR=") {
			continue
		}
		env = append(env, line)
	}
	addr := authdtest.FreeAddr(t)
	env = append(env, "AUTHD_DB=sqlite:"+filepath.Join(t.TempDir(), "authd.db"), "AUTHD_ADDR="+addr)
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	cmd.Dir = t.TempDir() // what the example leaves relative (the encryption key) goes there
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	for start := time.Now(); !strings.Contains(stdout.String(), "authd listening on "); time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 20*time.Second {
			t.Fatalf("authd did not start with the example's settings:\n%s", stderr.String())
		}
	}
}

// lockedBuffer is written by exec's copying goroutine and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSystemdUnit: the unit keeps its hardening, passes systemd-analyze
// verify, and systemd-analyze security rates its exposure at most 2.0
// ("OK"; 10 is an unhardened service).
func TestSystemdUnit(t *testing.T) {
	unit, err := os.ReadFile("systemd/authd.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"DynamicUser=yes", "StateDirectory=authd", "ProtectSystem=strict", "NoNewPrivileges=yes",
		"ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet=\n", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
		"SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes", "EnvironmentFile=/etc/authd/authd.env",
		"ExecStart=/usr/local/bin/authd serve", "KillSignal=SIGTERM", "UMask=0077",
	} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("authd.service lacks %q", strings.TrimSpace(want))
		}
	}
	if testing.Short() {
		t.Skip("builds authd")
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		testenv.SkipOrFail(t, "systemd-analyze not found: the unit's syntax and exposure are not checked "+
			"(scripts/test installs it: apt-get install --no-install-recommends systemd)")
	}
	// verify wants ExecStart to exist: point it at the built binary.
	dir := t.TempDir()
	path := filepath.Join(dir, "authd.service")
	unit = bytes.ReplaceAll(unit, []byte("/usr/local/bin/authd"), []byte(authdtest.Binary(t)))
	if err := os.WriteFile(path, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	// security --offline, which needs no running systemd, came in systemd 250.
	version, _ := exec.Command(analyze, "--version").Output()
	if m := regexp.MustCompile(`^systemd (\d+)`).FindSubmatch(version); m == nil {
		t.Fatalf("systemd-analyze --version: no version in %q", version)
	} else if v, _ := strconv.Atoi(string(m[1])); v < 250 {
		testenv.SkipOrFail(t, "systemd-analyze is systemd %d; security --offline needs systemd 250 or later", v)
	}
	out, err := exec.Command(analyze, "security", "--offline=true", path).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security --offline=true: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for authd\.service: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	level, _ := strconv.ParseFloat(string(m[1]), 64)
	t.Logf("systemd-analyze security: exposure %.1f", level)
	if level > 2.0 {
		t.Fatalf("exposure %.1f, want at most 2.0:\n%s", level, out)
	}
}
