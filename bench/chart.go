package bench

import (
	"fmt"
	"html"
	"strings"
)

// SVG draws the run's two headline figures as a small hand-written SVG:
// authenticated throughput as a share of the baseline (target 85%), and
// the p99 revocation-to-refusal delay on every other node (target 100 ms).
func SVG(rep *Report) string {
	const (
		labelW = 190
		barW   = 330
		gap    = 40
		rowH   = 18
		top    = 52
	)
	rows := len(rep.Modes)
	width := 2*(labelW+barW) + gap + 60
	height := top + rows*rowH + 50
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#fff"/>`+"\n")
	title := "authd bench: sessions versus JWT"
	if rep.Quick {
		title += " (--quick)"
	}
	fmt.Fprintf(&b, `<text x="10" y="18" font-size="14" font-weight="bold">%s</text>`+"\n", html.EscapeString(title))

	// Panel 1: ratio.
	x0 := labelW
	fmt.Fprintf(&b, `<text x="%d" y="40" font-weight="bold">GET /v1/me as %% of GET /healthz (dark: 1 node, light: 3 nodes)</text>`+"\n", 10)
	scale := func(r float64) float64 { return min(r, 1.2) / 1.2 * barW }
	for i, m := range rep.Modes {
		y := top + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", x0-6, y+12, html.EscapeString(m.Name))
		if m.Status != StatusOK {
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#888">%s</text>`+"\n", x0+4, y+12, m.Status)
			continue
		}
		for k, t := range m.Throughput {
			color, h, dy := "#2b6cb0", 9, 2
			if k > 0 {
				color, h, dy = "#90cdf4", 5, 11
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", x0, y+dy, scale(t.Ratio), h, color)
			if k == 0 {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="9">%.0f%%</text>`+"\n", float64(x0)+scale(t.Ratio)+3, y+10, 100*t.Ratio)
			}
		}
	}
	tx := float64(x0) + scale(0.85)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#c53030" stroke-dasharray="4 3"/>`+"\n", tx, top-4, tx, top+rows*rowH)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#c53030" text-anchor="middle">target 85%%</text>`+"\n", tx, top+rows*rowH+14)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", x0, top-4, x0, top+rows*rowH)

	// Panel 2: revocation p99 on every other node.
	x1 := labelW + barW + gap + labelW
	maxMs := 150.0
	for _, m := range rep.Modes {
		if m.Revocation != nil && m.Revocation.OtherNodes != nil {
			maxMs = max(maxMs, m.Revocation.OtherNodes.P99Ms*1.1)
		}
	}
	sc2 := func(v float64) float64 { return v / maxMs * barW }
	fmt.Fprintf(&b, `<text x="%d" y="40" font-weight="bold">revocation → refusal on every other node, ms (dark: p99, light: p50)</text>`+"\n", x1-labelW+10)
	for i, m := range rep.Modes {
		y := top + i*rowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", x1-6, y+12, html.EscapeString(m.Name))
		if m.Status != StatusOK || m.Revocation == nil || m.Revocation.OtherNodes == nil {
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#888">%s</text>`+"\n", x1+4, y+12, m.Status)
			continue
		}
		o := m.Revocation.OtherNodes
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="12" fill="#2f855a"/>`+"\n", x1, y+2, sc2(o.P99Ms))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="12" fill="#9ae6b4"/>`+"\n", x1, y+2, sc2(o.P50Ms))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="9">%s</text>`+"\n", float64(x1)+sc2(o.P99Ms)+3, y+11, f2(o.P99Ms))
	}
	t2 := float64(x1) + sc2(100)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#c53030" stroke-dasharray="4 3"/>`+"\n", t2, top-4, t2, top+rows*rowH)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" fill="#c53030" text-anchor="middle">target 100 ms</text>`+"\n", t2, top+rows*rowH+14)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", x1, top-4, x1, top+rows*rowH)
	fmt.Fprintf(&b, `<text x="10" y="%d" fill="#555">%d clients; the load generator shares the CPUs with the servers: ratios, not absolute capacity.</text>`+"\n",
		height-10, rep.Settings.Concurrency)
	b.WriteString("</svg>\n")
	return b.String()
}
