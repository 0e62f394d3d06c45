package bench

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestUsersGrowthAndRender(t *testing.T) {
	c := func(v float64) *float64 { return &v }
	steps := []UsersStep{
		{Users: 100_000, Inserted: 100_000, UsersSeconds: 5, UsersPerSecond: 20_000, FamiliesSeconds: 10, FamiliesPerSecond: 10_000, StoreBytes: 50 << 20,
			LoadAvg: []float64{3.5, 2, 1}, Argon2: Argon2{PerSecond: 40}, LoginsPerHash: 0.8,
			Logins: Stats{RPS: 32, P50Ms: 900, P99Ms: 1200, CPUPerReqUs: c(30_000)}, Refreshes: Stats{RPS: 1000, P50Ms: 20, P99Ms: 60, CPUPerReqUs: c(500)}, StartMs: 40},
		{Users: 1_000_000, Inserted: 900_000, UsersSeconds: 50, UsersPerSecond: 18_000, FamiliesSeconds: 100, FamiliesPerSecond: 9_000,
			Argon2: Argon2{PerSecond: 40}, LoginsPerHash: 0.8,
			Logins: Stats{RPS: 32, P50Ms: 900, P99Ms: 1500, CPUPerReqUs: c(31_500)}, Refreshes: Stats{RPS: 800, P99Ms: 90, CPUPerReqUs: c(800), Errors: 3}},
	}
	g := usersGrowth(steps)
	if g.From != 100_000 || g.To != 1_000_000 || g.LoginCPU != 1.05 || g.LoginP99 != 1.25 || g.LoginRate != 1 || g.LoginsPerHash != 1 ||
		g.RefreshCPU != 1.6 || g.RefreshP99 != 1.5 || g.RefreshRate != 1.25 || g.MeetsGoal {
		t.Fatalf("growth = %+v", g)
	}
	if usersGrowth(steps[:1]) != nil {
		t.Error("growth of one step")
	}
	rep := &UsersReport{Sizes: []int{100_000, 1_000_000}, Settings: Settings{Concurrency: 32}, FillerHash: "one hash",
		Stores: []UsersStore{{Store: "sqlite", Status: StatusOK, Steps: steps, Growth: g},
			{Store: "postgres", Status: StatusSkipped, Reason: "no PostgreSQL | here"}}}
	md := UsersMarkdown(rep)
	for _, want := range []string{
		"| sqlite | 100000 | 100000 | 5.0 | 20000 | 10.0 | 10000 | 50.0 MiB |",
		"| sqlite | 100000 | 3.50 | 40.0 | 32.0 | 900 / 1200 | 30000 | 0.80 | 1000 | 20.0 / 60.0 | 500 | 40.0 |",
		"| sqlite | 1000000 | — | 40.0 | 32.0 | 900 / 1500 | 31500 | 0.80 | 800 (3 errors) |",
		"| sqlite | 100000 → 1000000 | 1.05× | 1.25× | 1.00× | 1.00× | 1.60× | 1.50× | 1.25× | **missed** |",
		`| postgres | skipped: no PostgreSQL \| here |`, "Filler users' password: one hash.",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("scale-users.md lacks %q:\n%s", want, md)
		}
	}
	csv := UsersCSV(rep)
	if want := "sqlite,100000,3.50,40.0,32.0,900.000,1200.000,30000.0,0.800,0,1000.0,20.000,60.000,500.0,0,40.0,52428800\n"; !strings.Contains(csv, want) {
		t.Errorf("scale-users.csv lacks %q:\n%s", want, csv)
	}
	if n := strings.Count(csv, "\n"); n != 3 {
		t.Errorf("scale-users.csv has %d lines, want a header and 2", n)
	}
}

// UsersSVG is well-formed XML naming both stores, with a line per store
// and panel and the goal's ceiling, and names a store with no steps too.
func TestUsersSVG(t *testing.T) {
	c := func(v float64) *float64 { return &v }
	step := func(users int, login, refresh float64) UsersStep {
		return UsersStep{Users: users, Logins: Stats{RPS: 50, CPUPerReqUs: c(login)}, Refreshes: Stats{RPS: 1000, CPUPerReqUs: c(refresh)}}
	}
	sq := []UsersStep{step(100_000, 29_000, 600), step(1_000_000, 27_000, 670)}
	pg := []UsersStep{step(100_000, 34_000, 450), step(1_000_000, 36_000, 540)}
	rep := &UsersReport{Sizes: []int{100_000, 1_000_000}, Settings: Settings{Concurrency: 32}, Machine: Machine{CPUs: 2},
		Stores: []UsersStore{{Store: "sqlite", Status: StatusOK, Steps: sq, Growth: usersGrowth(sq)},
			{Store: "postgres", Status: StatusOK, Steps: pg, Growth: usersGrowth(pg)},
			{Store: "other<store>", Status: StatusSkipped, Reason: "not & here"}}}
	svg := UsersSVG(rep)
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("the SVG is not well-formed: %v\n%s", err, svg)
		}
	}
	for _, want := range []string{"SQLite —", "PostgreSQL —", "100k", "1M", "goal ≤ 1.5×", "CPU/login ×0.93", "other&lt;store&gt; — skipped: not &amp; here"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q:\n%s", want, svg)
		}
	}
	if n := strings.Count(svg, "<polyline"); n != 4 {
		t.Errorf("%d lines, want 2 stores × 2 panels", n)
	}
	// No panic and still XML without sizes or steps.
	if err := xml.Unmarshal([]byte(UsersSVG(&UsersReport{})), new(struct{})); err != nil {
		t.Errorf("empty report: %v", err)
	}
}

// The filler families are what token.IssuePair would have stored: a
// 43-character base64url token of 32 bytes, kept as its SHA-256, of the
// filler user of the same number.
func TestFillerFamily(t *testing.T) {
	now := time.Now().UTC()
	f, h := fillerFamily(7, now)
	tok := fillerToken(7)
	b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if len(tok) != 43 || err != nil || len(b) != 32 {
		t.Fatalf("token %q: %d bytes, %v", tok, len(b), err)
	}
	if sum := sha256.Sum256([]byte(tok)); string(h) != string(sum[:]) {
		t.Error("the stored hash is not the token's SHA-256")
	}
	u := fillerUser(7, "$argon2id$…", now)
	if f.UserID != u.ID || f.Generation != 1 || len(f.Secret) != 32 || !f.ExpiresAt.After(now) || fillerToken(8) == tok {
		t.Errorf("family %+v of user %+v", f, u)
	}
	if u.Email != strings.ToLower(u.Email) || !u.EmailVerified || u.Locked {
		t.Errorf("user %+v", u)
	}
}

func TestUsersStoresOf(t *testing.T) {
	for _, tc := range []struct {
		filters []string
		want    []string
	}{
		{nil, []string{"sqlite", "postgres"}},
		{[]string{"users/sqlite"}, []string{"sqlite"}},
		{[]string{"postgres"}, []string{"postgres"}},
		{[]string{"session/redis"}, nil},
	} {
		if got := usersStoresOf(tc.filters); !slices.Equal(got, tc.want) {
			t.Errorf("usersStoresOf(%q) = %q, want %q", tc.filters, got, tc.want)
		}
	}
	a := addArgon2(Argon2{}, Argon2{Workers: 2, Hashes: 30, Seconds: 1, PerSecond: 30})
	a = addArgon2(a, Argon2{Workers: 2, Hashes: 50, Seconds: 1, PerSecond: 50})
	if a.Hashes != 80 || a.Seconds != 2 || a.PerSecond != 40 || a.Workers != 2 {
		t.Errorf("addArgon2 = %+v", a)
	}
}
