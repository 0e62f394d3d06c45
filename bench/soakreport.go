package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// writeSoak writes soak.json and soak.md into dir.
func writeSoak(dir string, rep *SoakReport) error {
	if err := writeJSON(filepath.Join(dir, "soak.json"), rep); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "soak.md"), []byte(SoakMarkdown(rep)), 0o644)
}

// SoakMarkdown renders a soak report.
func SoakMarkdown(rep *SoakReport) string {
	var b strings.Builder
	verdict := "**PASSED**"
	if !rep.Passed {
		verdict = "**FAILED**: " + strings.Join(rep.Failures, "; ")
	}
	fmt.Fprintf(&b, "Soak %s: %s of mixed load on %d nodes (store: %s), %d workers over %d users, %d × %s. %s\n\n",
		rep.StartedAt.Format("2006-01-02 15:04 MST"), (time.Duration(rep.Seconds) * time.Second).String(), rep.Nodes, rep.Store,
		rep.Workers, rep.Users, rep.Machine.CPUs, rep.Machine.CPUModel, verdict)
	kinds := make([]string, 0, len(rep.Ops))
	total := 0
	for k, v := range rep.Ops {
		kinds = append(kinds, k)
		total += v
	}
	slices.Sort(kinds)
	b.WriteString("| check | result |\n| --- | ---: |\n")
	fmt.Fprintf(&b, "| HTTP requests | %d (%.0f/s) |\n", rep.Requests, float64(rep.Requests)/max(rep.Seconds, 1))
	fmt.Fprintf(&b, "| operations | %d: ", total)
	for i, k := range kinds {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", k, rep.Ops[k])
	}
	b.WriteString(" |\n")
	fmt.Fprintf(&b, "| 5xx answers | %d |\n| requests without an answer | %d |\n", rep.ServerErrors, rep.TransportErrors)
	fmt.Fprintf(&b, "| live credentials refused (lost) | %d |\n| revoked credentials accepted > %s after revocation | %d |\n", rep.Lost, soakSettle, rep.RevokedAccepted)
	fmt.Fprintf(&b, "| other unexpected answers | %d |\n", rep.Unexpected)
	fmt.Fprintf(&b, "| final check: live credentials × nodes tried | %d |\n| final check: revoked credentials × nodes tried | %d |\n", rep.FinalLiveChecked, rep.FinalRevokedChecked)
	for _, nm := range rep.NodeMetrics {
		fmt.Fprintf(&b, "| %s goroutines start → end | %d → %d |\n| %s heap in use start → end | %s → %s |\n",
			nm.Node, nm.Start.Goroutines, nm.End.Goroutines, nm.Node, mib(nm.Start.HeapInuse), mib(nm.End.HeapInuse))
	}
	if len(rep.UnexpectedSamples) > 0 {
		b.WriteString("\nSamples of what went wrong:\n\n")
		for _, s := range rep.UnexpectedSamples {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	return b.String()
}
