package bench

import (
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// writeScale writes scale.json, scale.csv, scale.md and scale.svg into dir.
func writeScale(dir string, rep *ScaleReport) error {
	return writeFiles(dir, "scale", rep, ScaleCSV(rep), ScaleMarkdown(rep), ScaleSVG(rep))
}

// writeFiles writes a run's report into dir as name.json (rep), name.csv,
// name.md and name.svg.
func writeFiles(dir, name string, rep any, csv, md, svg string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, name+".json"), rep); err != nil {
		return err
	}
	for ext, text := range map[string]string{".csv": csv, ".md": md, ".svg": svg} {
		if err := os.WriteFile(filepath.Join(dir, name+ext), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ScaleCSV is one line per mode and size.
func ScaleCSV(rep *ScaleReport) string {
	var b strings.Builder
	b.WriteString("mode,store,cache,sessions,me_rps,me_p50_ms,me_p99_ms,me_cpu_us_per_req,healthz_rps,ratio,start_ms,peak_rss_bytes\n")
	for _, m := range rep.Modes {
		for _, p := range m.Points {
			me := p.Run.Me
			fmt.Fprintf(&b, "%s,%s,%t,%d,%.1f,%.3f,%.3f,%s,%.1f,%.3f,%.1f,%d\n", m.Name, m.Store, m.Cache, p.Sessions,
				me.RPS, me.P50Ms, me.P99Ms, cpuCSV(me), p.Run.Healthz.RPS, p.Run.Ratio, p.StartMs, peakOf(p.Run))
		}
	}
	return b.String()
}

func cpuCSV(s Stats) string {
	if s.CPUPerReqUs == nil {
		return ""
	}
	return fmt.Sprintf("%.1f", *s.CPUPerReqUs)
}

// ScaleMarkdown is scale.md: the fill rates and the curve as tables.
func ScaleMarkdown(rep *ScaleReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# authd bench: GET /v1/me against live sessions in the store\n\n")
	fmt.Fprintf(&b, "`%s`, %s, %d CPUs (%s), %s; %d clients on 1 node, %g s per endpoint in 6 alternating windows.\n\n",
		rep.Command, rep.StartedAt.Format("2006-01-02 15:04 UTC"), rep.Machine.CPUs, rep.Machine.CPUModel, rep.Machine.GoVersion,
		rep.Settings.Concurrency, rep.Settings.PhaseSeconds)
	b.WriteString("## Filling the stores (CreateSession through the store package)\n\n| store | sessions | inserted | seconds | inserts/s | store bytes | bytes/session (this step) |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, f := range rep.Stores {
		if f.Status != StatusOK {
			fmt.Fprintf(&b, "| %s | %s: %s | | | | | |\n", f.Store, f.Status, mdEscape(f.Reason))
			continue
		}
		var prev ScaleStep
		for _, s := range f.Steps {
			per := ""
			if s.StoreBytes > 0 && prev.StoreBytes > 0 && s.Inserted > 0 {
				per = fmt.Sprintf("%.0f", float64(s.StoreBytes-prev.StoreBytes)/float64(s.Inserted))
			}
			sz := ""
			if s.StoreBytes > 0 {
				sz = fmt.Sprintf("%.1f MiB", float64(s.StoreBytes)/(1<<20))
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %.1f | %.0f | %s | %s |\n", f.Store, s.Sessions, s.Inserted, s.Seconds, s.PerSecond, sz, per)
			prev = s
		}
	}
	b.WriteString("\n## GET /v1/me, 1 node\n\n| mode | sessions | /v1/me req/s | p50 / p99 ms | CPU µs/req | me ÷ healthz |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
	for _, m := range rep.Modes {
		if m.Status != StatusOK {
			fmt.Fprintf(&b, "| %s | %s: %s | | | | |\n", m.Name, m.Status, mdEscape(m.Reason))
			continue
		}
		for _, p := range m.Points {
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s |\n", m.Name, p.Sessions, rate(p.Run.Me), lat(p.Run.Me), cpu(p.Run.Me), pct(p.Run.Ratio))
		}
	}
	scaleFootprint(&b, rep)
	b.WriteString("\n## Growth, largest size over smallest (goal: ≤ 1.5× slower per request)\n\n| mode | from → to | CPU/req | p99 | slower (rate) | goal |\n| --- | --- | ---: | ---: | ---: | --- |\n")
	for _, m := range rep.Modes {
		if g := m.Growth; g != nil {
			fmt.Fprintf(&b, "| %s | %d → %d | %.2f× | %.2f× | %.2f× | %s |\n", m.Name, g.From, g.To, g.CPU, g.P99, g.RPSRatio, met(g.MeetsGoal))
		}
	}
	return b.String()
}

// scaleFootprint is the table of start times and peak RSS at each size.
func scaleFootprint(b *strings.Builder, rep *ScaleReport) {
	b.WriteString("\n## Footprint: start on the filled store, peak RSS under load\n\n")
	fmt.Fprintf(b, "Start: %d starts of a node (cache on) on the store holding that many sessions, each stopped before the next, "+
		"from starting `authd serve` to its \"authd listening on\" line (0: the first node's start on the empty store, which it migrates).\n\n", startSamples)
	b.WriteString("| store | sessions | start median ms | slowest ms | goal ≤ 100 ms (median) |\n| --- | ---: | ---: | ---: | --- |\n")
	for _, f := range rep.Stores {
		if f.Status != StatusOK {
			continue
		}
		if f.FreshStartMs > 0 {
			fmt.Fprintf(b, "| %s | 0 | %s | — | %s |\n", f.Store, f2(f.FreshStartMs), met(f.FreshStartMs <= StartGoalMs))
		}
		for _, s := range f.Steps {
			if len(s.StartMs) > 0 {
				fmt.Fprintf(b, "| %s | %d | %s | %s | %s |\n", f.Store, s.Sessions, f2(s.StartMedianMs), f2(s.StartMaxMs), met(s.StartMedianMs <= StartGoalMs))
			}
		}
	}
	b.WriteString("\nUnder load: the node that served the load phase at each size (its start time: one sample). Peak RSS: its `VmHWM` over the GET /healthz and /v1/me phase (all the clients, no login on it), " +
		"reset through `/proc/PID/clear_refs` at its start; file-backed: its `RssFile` at the end (mostly the binary's code, part of the peak).\n\n")
	b.WriteString("| mode | sessions | start ms | goal ≤ 100 ms | peak RSS | goal ≤ 50 MB | file-backed (RssFile, end of load) |\n| --- | ---: | ---: | --- | ---: | --- | ---: |\n")
	for _, m := range rep.Modes {
		if m.Status != StatusOK {
			continue
		}
		for _, p := range m.Points {
			rss, rssMet := "—", "—"
			if b := peakOf(p.Run); b > 0 {
				rss, rssMet = rssMiB(b, p.Run.PeakRSSSince), met(b <= RSSGoalBytes)
			}
			start, startMet := "—", "—"
			if p.StartMs > 0 {
				start, startMet = f2(p.StartMs), met(p.StartMs <= StartGoalMs)
			}
			file := "—"
			if len(p.Run.FileRSSBytes) > 0 {
				file = fmt.Sprintf("%.1f MiB", float64(slices.Max(p.Run.FileRSSBytes))/(1<<20))
			}
			fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s |\n", m.Name, p.Sessions, start, startMet, rss, rssMet, file)
		}
	}
}

// peakOf is the largest peak RSS of a run's nodes, 0 if none was read.
func peakOf(t Throughput) int64 {
	var peak int64
	for _, b := range t.PeakRSSBytes {
		peak = max(peak, b)
	}
	return peak
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

// scaleColors are the lines' colours, by store; the cache-off line is dashed.
var scaleColors = map[string]string{"sqlite": "#2b6cb0", "postgres": "#2f855a", "redis": "#c53030", "redis-cluster": "#b7791f"}

// ScaleSVG draws two panels against the number of sessions (log scale):
// CPU µs per GET /v1/me, and its p99 latency; one line per mode.
func ScaleSVG(rep *ScaleReport) string {
	const (
		pw, ph   = 380, 230 // a panel's plot area
		left     = 60
		top      = 50
		gap      = 90
		legendH  = 18
		panelsOf = 2
	)
	var ok []ScaleMode
	for _, m := range rep.Modes {
		if m.Status == StatusOK && len(m.Points) > 0 {
			ok = append(ok, m)
		}
	}
	width := left + panelsOf*pw + gap + 30
	height := top + ph + 50 + legendH*len(ok) + 20
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	b.WriteString(`<rect width="100%" height="100%" fill="#fff"/>` + "\n")
	fmt.Fprintf(&b, `<text x="10" y="18" font-size="14" font-weight="bold">authd bench --sessions: GET /v1/me against live sessions in the store (1 node)</text>`+"\n")
	xmin, xmax := math.Log10(float64(rep.Sizes[0])), math.Log10(float64(rep.Sizes[len(rep.Sizes)-1]))
	if xmax <= xmin {
		xmax = xmin + 1
	}
	panel := func(k int, title string, val func(Stats) float64) {
		x0 := left + k*(pw+gap)
		ymax := 0.0
		for _, m := range ok {
			for _, p := range m.Points {
				ymax = max(ymax, val(p.Run.Me))
			}
		}
		ymax = niceCeil(ymax * 1.1)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", x0, top-12, html.EscapeString(title))
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", x0, top, x0, top+ph)
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", x0, top+ph, x0+pw, top+ph)
		for i := 0; i <= 4; i++ {
			v := ymax * float64(i) / 4
			y := float64(top+ph) - float64(ph)*float64(i)/4
			fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>`+"\n", x0+1, y, x0+pw, y)
			fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" font-size="9">%s</text>`+"\n", x0-4, y+3, trimFloat(v))
		}
		px := func(n int) float64 { return float64(x0) + (math.Log10(float64(n))-xmin)/(xmax-xmin)*pw }
		py := func(v float64) float64 { return float64(top+ph) - v/ymax*ph }
		for _, n := range rep.Sizes {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" font-size="9">%s</text>`+"\n", px(n), top+ph+13, sessionsLabel(n))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">live sessions in the store (log scale)</text>`+"\n", x0+pw/2, top+ph+28)
		for _, m := range ok {
			var pts []string
			for _, p := range m.Points {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(p.Sessions), py(val(p.Run.Me))))
			}
			dash := ""
			if !m.Cache {
				dash = ` stroke-dasharray="5 3"`
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), scaleColors[m.Store], dash)
			for _, p := range pts {
				xy := strings.Split(p, ",")
				fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="2.5" fill="%s"/>`+"\n", xy[0], xy[1], scaleColors[m.Store])
			}
		}
	}
	panel(0, "CPU µs per GET /v1/me (authd node)", func(s Stats) float64 {
		if s.CPUPerReqUs == nil {
			return 0
		}
		return *s.CPUPerReqUs
	})
	panel(1, "p99 latency of GET /v1/me, ms", func(s Stats) float64 { return s.P99Ms })
	ly := top + ph + 50
	for i, m := range ok {
		x, y := left, ly+i*legendH
		dash := ""
		if !m.Cache {
			dash = ` stroke-dasharray="5 3"`
		}
		label := m.Name
		if g := m.Growth; g != nil {
			label += fmt.Sprintf(" — CPU/req ×%.2f, p99 ×%.2f from %s to %s", g.CPU, g.P99, sessionsLabel(g.From), sessionsLabel(g.To))
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>`+"\n", x, y-4, x+24, y-4, scaleColors[m.Store], dash)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", x+30, y, html.EscapeString(label))
	}
	fmt.Fprintf(&b, `<text x="10" y="%d" fill="#555">%d clients; load generator, authd and the store share the machine's %d CPUs: read the growth, not the absolute figures.</text>`+"\n",
		height-8, rep.Settings.Concurrency, rep.Machine.CPUs)
	b.WriteString("</svg>\n")
	return b.String()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func trimFloat(v float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
}

// sessionsLabel is n as 10k, 1M, ….
func sessionsLabel(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1000 && n%1000 == 0:
		return fmt.Sprintf("%dk", n/1000)
	}
	return fmt.Sprint(n)
}
