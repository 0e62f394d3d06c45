package bench

import (
	"fmt"
	"html"
	"strings"
)

// Layout of the chart, in pixels.
const (
	svgLabelW = 190 // mode names, right-aligned
	svgBarW   = 330 // the longest bar
	svgGap    = 40  // between the panels
	svgRowH   = 18
	svgTop    = 52 // the first row
)

// SVG draws the run's two headline figures as a small hand-written SVG:
// authenticated throughput as a share of the baseline (ThroughputGoal), and
// the p99 revocation-to-refusal delay on every other node (target 100 ms);
// and the OIDC code flow's rate as a line of text.
func SVG(rep *Report) string {
	// The panels are the session and JWT modes'; the code flow is a line.
	var flows []string
	sub := *rep
	sub.Modes = nil
	for _, m := range rep.Modes {
		if notOIDC(m.Mode) {
			sub.Modes = append(sub.Modes, m)
		} else if cf := m.CodeFlow; m.Status == StatusOK && cf != nil && len(cf.Runs) > 0 {
			flows = append(flows, fmt.Sprintf("%s: %.0f flows/s (1 node)", m.Name, cf.Runs[0].Flows.RPS))
		}
	}
	rep = &sub
	rows := len(rep.Modes)
	width := 2*(svgLabelW+svgBarW) + svgGap + 60
	height := svgTop + rows*svgRowH + 50
	if len(flows) > 0 {
		height += 18
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#fff"/>`+"\n")
	title := "authd bench: sessions versus JWT"
	if rep.Quick {
		title += " (--quick)"
	}
	fmt.Fprintf(&b, `<text x="10" y="18" font-size="14" font-weight="bold">%s</text>`+"\n", html.EscapeString(title))
	svgRatioPanel(&b, rep)
	svgRevocationPanel(&b, rep)
	if len(flows) > 0 {
		fmt.Fprintf(&b, `<text x="10" y="%d">OIDC code flow on SQLite — %s; Hydra %g/s, goal %s/s</text>`+"\n",
			height-28, html.EscapeString(strings.Join(flows, ", ")), HydraAnchor, thousands(CodeFlowGoal))
	}
	fmt.Fprintf(&b, `<text x="10" y="%d" fill="#555">%d clients; the load generator shares the CPUs with the servers: ratios, not absolute capacity.</text>`+"\n",
		height-10, rep.Settings.Concurrency)
	b.WriteString("</svg>\n")
	return b.String()
}

// svgRatioPanel is the left panel: GET /v1/me as a share of GET /healthz.
func svgRatioPanel(b *strings.Builder, rep *Report) {
	x0 := svgLabelW
	fmt.Fprintf(b, `<text x="%d" y="40" font-weight="bold">GET /v1/me as %% of GET /healthz (dark: 1 node, light: 3 nodes)</text>`+"\n", 10)
	scale := func(r float64) float64 { return min(r, 1.2) / 1.2 * svgBarW }
	for i, m := range rep.Modes {
		y := svgTop + i*svgRowH
		if !svgModeLabel(b, x0, y, m, m.Status == StatusOK) {
			continue
		}
		for k, t := range m.Throughput {
			color, h, dy := "#2b6cb0", 9, 2
			if k > 0 {
				color, h, dy = "#90cdf4", 5, 11
			}
			fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", x0, y+dy, scale(t.Ratio), h, color)
			if k == 0 {
				fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="9">%.0f%%</text>`+"\n", float64(x0)+scale(t.Ratio)+3, y+10, 100*t.Ratio)
			}
		}
	}
	svgTargetAndAxis(b, x0, float64(x0)+scale(ThroughputGoal), len(rep.Modes), fmt.Sprintf("target %.0f%%", 100*ThroughputGoal))
}

// svgRevocationPanel is the right panel: revocation to refusal on every
// other node, p99 over p50.
func svgRevocationPanel(b *strings.Builder, rep *Report) {
	x1 := svgLabelW + svgBarW + svgGap + svgLabelW
	maxMs := 150.0
	for _, m := range rep.Modes {
		if m.Revocation != nil && m.Revocation.OtherNodes != nil {
			maxMs = max(maxMs, m.Revocation.OtherNodes.P99Ms*1.1)
		}
	}
	scale := func(v float64) float64 { return v / maxMs * svgBarW }
	fmt.Fprintf(b, `<text x="%d" y="40" font-weight="bold">revocation → refusal on every other node, ms (dark: p99, light: p50)</text>`+"\n", x1-svgLabelW+10)
	for i, m := range rep.Modes {
		y := svgTop + i*svgRowH
		if !svgModeLabel(b, x1, y, m, m.Status == StatusOK && m.Revocation != nil && m.Revocation.OtherNodes != nil) {
			continue
		}
		o := m.Revocation.OtherNodes
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.1f" height="12" fill="#2f855a"/>`+"\n", x1, y+2, scale(o.P99Ms))
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.1f" height="12" fill="#9ae6b4"/>`+"\n", x1, y+2, scale(o.P50Ms))
		fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="9">%s</text>`+"\n", float64(x1)+scale(o.P99Ms)+3, y+11, f2(o.P99Ms))
	}
	svgTargetAndAxis(b, x1, float64(x1)+scale(100), len(rep.Modes), "target 100 ms")
}

// svgModeLabel writes m's name left of the axis at x0, and its status
// right of it when it has no bar (measured is false); it returns measured.
func svgModeLabel(b *strings.Builder, x0, y int, m ModeResult, measured bool) bool {
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", x0-6, y+12, html.EscapeString(m.Name))
	if !measured {
		fmt.Fprintf(b, `<text x="%d" y="%d" fill="#888">%s</text>`+"\n", x0+4, y+12, m.Status)
	}
	return measured
}

// svgTargetAndAxis draws a panel's dashed target line at x with its label
// under the rows, and the panel's axis at x0.
func svgTargetAndAxis(b *strings.Builder, x0 int, x float64, rows int, label string) {
	bottom := svgTop + rows*svgRowH
	fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#c53030" stroke-dasharray="4 3"/>`+"\n", x, svgTop-4, x, bottom)
	fmt.Fprintf(b, `<text x="%.1f" y="%d" fill="#c53030" text-anchor="middle">%s</text>`+"\n", x, bottom+14, label)
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", x0, svgTop-4, x0, bottom)
}
