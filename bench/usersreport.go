package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// writeUsers writes scale-users.json, scale-users.csv and scale-users.md
// into dir.
func writeUsers(dir string, rep *UsersReport) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "scale-users.json"), rep); err != nil {
		return err
	}
	for name, text := range map[string]string{"scale-users.csv": UsersCSV(rep), "scale-users.md": UsersMarkdown(rep)} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// UsersCSV is one line per store and size.
func UsersCSV(rep *UsersReport) string {
	var b strings.Builder
	b.WriteString("store,users,load_avg_1m,argon2_per_s,login_rps,login_p50_ms,login_p99_ms,login_cpu_us,logins_per_hash,login_errors," +
		"refresh_rps,refresh_p50_ms,refresh_p99_ms,refresh_cpu_us,refresh_errors,start_ms,store_bytes\n")
	for _, s := range rep.Stores {
		for _, st := range s.Steps {
			load := ""
			if len(st.LoadAvg) > 0 {
				load = fmt.Sprintf("%.2f", st.LoadAvg[0])
			}
			l, f := st.Logins, st.Refreshes
			fmt.Fprintf(&b, "%s,%d,%s,%.1f,%.1f,%.3f,%.3f,%s,%.3f,%d,%.1f,%.3f,%.3f,%s,%d,%.1f,%d\n", s.Store, st.Users, load,
				st.Argon2.PerSecond, l.RPS, l.P50Ms, l.P99Ms, cpuCSV(l), st.LoginsPerHash, l.Errors,
				f.RPS, f.P50Ms, f.P99Ms, cpuCSV(f), f.Errors, st.StartMs, st.StoreBytes)
		}
	}
	return b.String()
}

// UsersMarkdown is scale-users.md: the fill, the figures at each size and
// their growth as tables.
func UsersMarkdown(rep *UsersReport) string {
	var b strings.Builder
	b.WriteString("# authd bench: logins and refresh rotations against users in the store\n\n")
	fmt.Fprintf(&b, "`%s`, %s, %d CPUs (%s), %s; %d clients on 1 node, %g s measured per phase after %g s of warm-up.\n\n",
		rep.Command, rep.StartedAt.Format("2006-01-02 15:04 UTC"), rep.Machine.CPUs, rep.Machine.CPUModel, rep.Machine.GoVersion,
		rep.Settings.Concurrency, rep.Settings.PhaseSeconds, rep.Settings.WarmupSeconds)
	b.WriteString("Each login is `POST /v1/login` as a filler user picked uniformly at random from the whole population; " +
		"each refresh is `POST /oauth2/token grant_type=refresh_token` rotating a filler family picked uniformly at random " +
		"(one family per user; each client draws from its own share of them, so no token is ever presented twice). " +
		"argon2id/s is the in-process rate of serve's hasher in windows alternating with the logins' (rounds of argon2id, logins, refreshes, each adding up to the phase); logins per hash near a constant " +
		"across sizes means the table's size does not reach the login. CPU is the authd node's only.\n\n")
	if rep.FillerHash != "" {
		fmt.Fprintf(&b, "Filler users' password: %s.\n\n", rep.FillerHash)
	}
	b.WriteString("Redis and Redis Cluster keep sessions, the revocation list and rate-limit counters only; " +
		"users and refresh families live in SQLite or PostgreSQL whatever `--redis` says, so those are the stores measured here.\n\n")

	b.WriteString("## Filling the stores (CreateUser, CreateFamily through the store package)\n\n" +
		"| store | users | inserted | users s | users/s | families s | families/s | store bytes |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, s := range rep.Stores {
		if s.Status != StatusOK && len(s.Steps) == 0 {
			fmt.Fprintf(&b, "| %s | %s: %s | | | | | | |\n", s.Store, s.Status, mdEscape(s.Reason))
			continue
		}
		for _, st := range s.Steps {
			sz := "—"
			if st.StoreBytes > 0 {
				sz = fmt.Sprintf("%.1f MiB", float64(st.StoreBytes)/(1<<20))
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %.1f | %.0f | %.1f | %.0f | %s |\n", s.Store, st.Users, st.Inserted,
				st.UsersSeconds, st.UsersPerSecond, st.FamiliesSeconds, st.FamiliesPerSecond, sz)
		}
		if s.Status != StatusOK {
			fmt.Fprintf(&b, "| %s | %s: %s | | | | | | |\n", s.Store, s.Status, mdEscape(s.Reason))
		}
	}

	b.WriteString("\n## Logins and refresh rotations, 1 node\n\n" +
		"| store | users | load avg (1 min) | argon2id/s | logins/s | p50 / p99 ms | CPU µs/login | logins per hash | refreshes/s | p50 / p99 ms | CPU µs/refresh | start ms |\n" +
		"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, s := range rep.Stores {
		for _, st := range s.Steps {
			load := "—"
			if len(st.LoadAvg) > 0 {
				load = fmt.Sprintf("%.2f", st.LoadAvg[0])
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %.1f | %s | %s | %s | %.2f | %s | %s | %s | %s |\n", s.Store, st.Users, load,
				st.Argon2.PerSecond, ratePtr(&st.Logins), lat(st.Logins), cpu(st.Logins), st.LoginsPerHash,
				rate(st.Refreshes), lat(st.Refreshes), cpu(st.Refreshes), f2(st.StartMs))
		}
	}

	fmt.Fprintf(&b, "\n## Growth, largest size over smallest (goal: CPU per request ≤ %g×)\n\n", ScaleGoal)
	b.WriteString("| store | from → to | CPU/login | login p99 | slower (login rate) | logins per hash | CPU/refresh | refresh p99 | slower (refresh rate) | goal |\n" +
		"| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |\n")
	for _, s := range rep.Stores {
		if g := s.Growth; g != nil {
			fmt.Fprintf(&b, "| %s | %d → %d | %.2f× | %.2f× | %.2f× | %.2f× | %.2f× | %.2f× | %.2f× | %s |\n", s.Store, g.From, g.To,
				g.LoginCPU, g.LoginP99, g.LoginRate, g.LoginsPerHash, g.RefreshCPU, g.RefreshP99, g.RefreshRate, met(g.MeetsGoal))
		}
	}
	return b.String()
}
