package bench

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
)

// writeUsers writes scale-users.json, scale-users.csv, scale-users.md and
// scale-users.svg into dir.
func writeUsers(dir string, rep *UsersReport) error {
	return writeFiles(dir, "scale-users", rep, UsersCSV(rep), UsersMarkdown(rep), UsersSVG(rep))
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

// usersStoreNames are the stores' names in the chart's legend.
var usersStoreNames = map[string]string{"sqlite": "SQLite", "postgres": "PostgreSQL"}

// UsersSVG draws two panels against the number of users (log scale), in
// ScaleSVG's style: CPU µs per login and per refresh rotation, one line
// per store; each store's thin dashed line runs from its figure at the
// smallest size to ScaleGoal times that figure at the largest, the
// ceiling its solid line must stay under.
func UsersSVG(rep *UsersReport) string {
	const (
		pw, ph   = 380, 230 // a panel's plot area
		inset    = 24       // between the y axis and the smallest size
		left     = 60
		top      = 50
		gap      = 90
		legendH  = 18
		panelsOf = 2
	)
	sizes := rep.Sizes
	var ok, others []UsersStore
	for _, s := range rep.Stores {
		if len(s.Steps) > 0 {
			ok = append(ok, s)
			if len(rep.Sizes) == 0 {
				sizes = append(sizes, s.Steps[0].Users, s.Steps[len(s.Steps)-1].Users)
			}
		} else {
			others = append(others, s)
		}
	}
	xmin, xmax := 0.0, 1.0
	if len(sizes) > 0 {
		xmin, xmax = math.Log10(float64(slices.Min(sizes))), math.Log10(float64(slices.Max(sizes)))
	}
	if xmax <= xmin {
		xmax = xmin + 1
	}
	width := left + panelsOf*pw + gap + 30
	height := top + ph + 50 + legendH*(len(ok)+len(others)+1) + 20
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	b.WriteString(`<rect width="100%" height="100%" fill="#fff"/>` + "\n")
	fmt.Fprintf(&b, `<text x="10" y="18" font-size="14" font-weight="bold">authd bench --users: logins and refresh rotations against users in the store (1 node)</text>`+"\n")
	cpuOf := func(s Stats) (float64, bool) {
		if s.CPUPerReqUs == nil || *s.CPUPerReqUs <= 0 {
			return 0, false
		}
		return *s.CPUPerReqUs, true
	}
	panel := func(k int, title string, stats func(UsersStep) Stats) {
		x0 := left + k*(pw+gap)
		px := func(n int) float64 {
			return float64(x0+inset) + (math.Log10(float64(n))-xmin)/(xmax-xmin)*(pw-2*inset)
		}
		// goal is the store's ceiling: ScaleGoal times its figure at its
		// smallest size, at its largest.
		goal := func(s UsersStore) (from, to UsersStep, v float64, has bool) {
			from, to = s.Steps[0], s.Steps[len(s.Steps)-1]
			v, has = cpuOf(stats(from))
			return from, to, ScaleGoal * v, has && len(s.Steps) > 1
		}
		ymax := 0.0
		for _, s := range ok {
			for _, st := range s.Steps {
				if v, has := cpuOf(stats(st)); has {
					ymax = max(ymax, v)
				}
			}
			if _, _, v, has := goal(s); has {
				ymax = max(ymax, v)
			}
		}
		ymax = niceCeil(ymax * 1.1)
		py := func(v float64) float64 { return float64(top+ph) - v/ymax*ph }
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", x0, top-12, html.EscapeString(title))
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", x0, top, x0, top+ph)
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", x0, top+ph, x0+pw, top+ph)
		for i := 0; i <= 4; i++ {
			v := ymax * float64(i) / 4
			y := float64(top+ph) - float64(ph)*float64(i)/4
			fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>`+"\n", x0+1, y, x0+pw, y)
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" font-size="9">%s</text>`+"\n", x0-4, y+3, trimFloat(v))
		}
		for _, n := range sizes {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" font-size="9">%s</text>`+"\n", px(n), top+ph+13, sessionsLabel(n))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">users in the store, one refresh family each (log scale)</text>`+"\n", x0+pw/2, top+ph+28)
		for _, s := range ok {
			color := scaleColors[s.Store]
			if from, to, v, has := goal(s); has {
				fv, _ := cpuOf(stats(from))
				fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1" stroke-dasharray="4 3" opacity="0.6"/>`+"\n",
					px(from.Users), py(fv), px(to.Users), py(v), color)
				fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end" font-size="9" fill="%s">goal ≤ %g×</text>`+"\n", px(to.Users)-4, py(v)-4, color, ScaleGoal)
			}
			var pts []string
			for _, st := range s.Steps {
				if v, has := cpuOf(stats(st)); has {
					pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(st.Users), py(v)))
				}
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), color)
			for _, p := range pts {
				xy := strings.Split(p, ",")
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="2.5" fill="%s"/>`+"\n", xy[0], xy[1], color)
			}
		}
	}
	panel(0, "CPU µs per POST /v1/login (authd node, argon2id included)", func(st UsersStep) Stats { return st.Logins })
	panel(1, "CPU µs per refresh rotation (POST /oauth2/token)", func(st UsersStep) Stats { return st.Refreshes })
	ly := top + ph + 50
	for i, s := range ok {
		x, y := left, ly+i*legendH
		label := usersStoreName(s.Store)
		if g := s.Growth; g != nil {
			label += fmt.Sprintf(" — CPU/login ×%.2f, CPU/refresh ×%.2f, logins/s %s → %s, refreshes/s %s → %s from %s to %s: goal %s",
				g.LoginCPU, g.RefreshCPU, f2(s.Steps[0].Logins.RPS), f2(s.Steps[len(s.Steps)-1].Logins.RPS),
				f2(s.Steps[0].Refreshes.RPS), f2(s.Steps[len(s.Steps)-1].Refreshes.RPS), sessionsLabel(g.From), sessionsLabel(g.To), strings.Trim(met(g.MeetsGoal), "*"))
		}
		if s.Status != StatusOK {
			label += fmt.Sprintf(" (%s: %s)", s.Status, s.Reason)
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", x, y-4, x+24, y-4, scaleColors[s.Store])
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", x+30, y, html.EscapeString(label))
	}
	for i, s := range others {
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#888">%s</text>`+"\n", left+30, ly+(len(ok)+i)*legendH,
			html.EscapeString(fmt.Sprintf("%s — %s: %s", usersStoreName(s.Store), s.Status, s.Reason)))
	}
	y := ly + (len(ok)+len(others))*legendH
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#555" stroke-dasharray="4 3"/>`+"\n", left, y-4, left+24, y-4)
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">goal: CPU per request at the largest size ≤ %g× the smallest's (the dashed line is that ceiling)</text>`+"\n", left+30, y, ScaleGoal)
	fmt.Fprintf(&b, `<text x="10" y="%d" fill="#555">%d clients; load generator, authd and the store share the machine's %d CPUs: read the growth, not the absolute figures.</text>`+"\n",
		height-8, rep.Settings.Concurrency, rep.Machine.CPUs)
	b.WriteString("</svg>\n")
	return b.String()
}

// usersStoreName is store as the legend names it.
func usersStoreName(store string) string {
	if n, ok := usersStoreNames[store]; ok {
		return n
	}
	return store
}
