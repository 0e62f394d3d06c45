package bench

import (
	"encoding/xml"
	"strings"
	"testing"
	"time"
)

func TestScaleGrowthAndRender(t *testing.T) {
	c := func(v float64) *float64 { return &v }
	pts := []ScalePoint{
		{Sessions: 10_000, Run: Throughput{Nodes: 1, Me: Stats{RPS: 1000, P99Ms: 10, CPUPerReqUs: c(40)}, Ratio: 0.5}},
		{Sessions: 100_000, Run: Throughput{Nodes: 1, Me: Stats{RPS: 900, P99Ms: 12, CPUPerReqUs: c(44)}, Ratio: 0.45}},
		{Sessions: 1_000_000, Run: Throughput{Nodes: 1, Me: Stats{RPS: 800, P99Ms: 15, CPUPerReqUs: c(70)}, Ratio: 0.4, PeakRSSBytes: []int64{40 << 20}, PeakRSSSince: "load", FileRSSBytes: []int64{20 << 20}}, StartMs: 25.5},
	}
	g := scaleGrowth(pts)
	if g.From != 10_000 || g.To != 1_000_000 || g.CPU != 1.75 || g.P99 != 1.5 || g.RPSRatio != 1.25 || g.MeetsGoal {
		t.Fatalf("growth = %+v", g)
	}
	if scaleGrowth(pts[:1]) != nil {
		t.Error("growth of one point")
	}
	rep := &ScaleReport{Sizes: []int{10_000, 100_000, 1_000_000}, Settings: Settings{Concurrency: 32},
		Stores: []ScaleFill{{Store: "sqlite", Status: StatusOK, Steps: []ScaleStep{{Sessions: 10_000, Inserted: 10_000, Seconds: 1, PerSecond: 10_000, StoreBytes: 5 << 20,
			StartMs: []float64{40, 90, 30, 50, 20}, StartMedianMs: 40, StartMaxMs: 90}}, FreshStartMs: 130},
			{Store: "redis", Status: StatusSkipped, Reason: "no Redis"}},
		Modes: []ScaleMode{{Mode: Mode{Name: "session/sqlite/nocache", Model: "session", Store: "sqlite"}, Status: StatusOK, Points: pts, Growth: g},
			{Mode: Mode{Name: "session/redis/cache", Model: "session", Store: "redis", Cache: true}, Status: StatusSkipped, Reason: "no Redis"}}}
	svg := ScaleSVG(rep)
	if err := xml.Unmarshal([]byte(svg), new(struct{})); err != nil {
		t.Fatalf("the SVG is not XML: %v", err)
	}
	md := ScaleMarkdown(rep)
	for _, want := range []string{"| session/sqlite/nocache | 1000000 | 800 |", "| session/sqlite/nocache | 10000 → 1000000 | 1.75× | 1.50× | 1.25× | **missed** |", "skipped: no Redis",
		"| sqlite | 0 | 130 | — | **missed** |", "| sqlite | 10000 | 40.0 | 90.0 | met |", "| session/sqlite/nocache | 1000000 | 25.5 | met | 40.0 MiB (41.9 MB) | met | 20.0 MiB |",
		"| session/sqlite/nocache | 10000 | — | — | — | — | — |"} {
		if !strings.Contains(md, want) {
			t.Errorf("scale.md lacks %q:\n%s", want, md)
		}
	}
	if csv := ScaleCSV(rep); !strings.Contains(csv, "session/sqlite/nocache,sqlite,false,1000000,800.0,0.000,15.000,70.0,0.0,0.400,25.5,41943040\n") {
		t.Errorf("scale.csv:\n%s", csv)
	}
	for n, want := range map[int]string{1_000_000: "1M", 10_000: "10k", 1500: "1500"} {
		if got := sessionsLabel(n); got != want {
			t.Errorf("sessionsLabel(%d) = %s, want %s", n, got, want)
		}
	}
}

// The start time of the scale run is the median of several starts.
func TestTimeStarts(t *testing.T) {
	var step ScaleStep
	i, stopped := 0, 0
	times := []time.Duration{40, 90, 30, 50, 20}
	start := func() (*cluster, error) {
		n := &node{started: times[i] * time.Millisecond}
		i++
		return &cluster{nodes: []*node{n}}, nil
	}
	if err := timeStarts(&step, len(times), start, func(*cluster) { stopped++ }); err != nil {
		t.Fatal(err)
	}
	if stopped != len(times) || len(step.StartMs) != len(times) || step.StartMedianMs != 40 || step.StartMaxMs != 90 {
		t.Errorf("step = %+v, %d stopped", step, stopped)
	}
}
