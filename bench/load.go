package bench

import (
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// newHTTPClient is the load generator's client: keep-alive connections,
// enough idle ones per node for every worker, no compression, no proxy.
func newHTTPClient(concurrency int) *http.Client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        4 * (concurrency + 8),
		MaxIdleConnsPerHost: concurrency + 8,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   30 * time.Second,
		// Never follow redirects: every answer is measured as it is.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// do sends req and drains and closes the body, returning the status.
func do(hc *http.Client, req *http.Request) (int, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Stats are the measured figures of one closed-loop phase.
type Stats struct {
	// Requests is how many answers with the expected status arrived within
	// the measured window; Errors how many others (wrong status, transport
	// error). ServerErrors counts the 5xx among Errors.
	Requests     int     `json:"requests"`
	Errors       int     `json:"errors"`
	ServerErrors int     `json:"server_errors"`
	Seconds      float64 `json:"seconds"`
	RPS          float64 `json:"rps"`
	P50Ms        float64 `json:"p50_ms"`
	P99Ms        float64 `json:"p99_ms"`
	MaxMs        float64 `json:"max_ms"`
	// CPUPerReqUs is the authd children's user+system CPU time during the
	// window divided by Requests, in µs; null where /proc is not readable.
	// It does not include the store's own processes (PostgreSQL, Redis).
	CPUPerReqUs *float64 `json:"cpu_us_per_req"`
}

// op is one request of a phase, by worker w; ok reports whether the answer
// was the expected one, status is the HTTP status (0 for a transport error).
type op func(ctx context.Context, w int) (ok bool, status int)

// closedLoop runs workers copies of op back to back: warm-up first, then a
// measured window of dur. Only operations that complete inside the window
// count. CPU time is read from cpuNodes at the window's edges.
func closedLoop(ctx context.Context, workers int, warmup, dur time.Duration, cpuNodes []*node, f op) Stats {
	return closedLoopRaw(ctx, workers, warmup, dur, cpuNodes, f).stats()
}

// interleaved measures a and b in rounds of alternating windows (a b, b a,
// a b, …) that add up to dur each, so that a machine whose speed drifts
// (it is shared) weighs on both alike: their ratio is what counts.
func interleaved(ctx context.Context, rounds, workers int, warmup, dur time.Duration, cpuNodes []*node, a, b op) (Stats, Stats) {
	rounds = max(1, rounds)
	var pa, pb phaseData
	for i := range rounds {
		w := max(warmup/time.Duration(rounds), 50*time.Millisecond)
		d := dur / time.Duration(rounds)
		if i%2 == 0 {
			pa.add(closedLoopRaw(ctx, workers, w, d, cpuNodes, a))
			pb.add(closedLoopRaw(ctx, workers, w, d, cpuNodes, b))
		} else {
			pb.add(closedLoopRaw(ctx, workers, w, d, cpuNodes, b))
			pa.add(closedLoopRaw(ctx, workers, w, d, cpuNodes, a))
		}
	}
	return pa.stats(), pb.stats()
}

// phaseData is what one or more measured windows collected.
type phaseData struct {
	lats               []time.Duration
	errs, serverErrs   int
	elapsed, cpu       time.Duration
	cpuOK, initialized bool
}

func (p *phaseData) add(q phaseData) {
	if !p.initialized {
		*p = q
		return
	}
	p.lats = append(p.lats, q.lats...)
	p.errs += q.errs
	p.serverErrs += q.serverErrs
	p.elapsed += q.elapsed
	p.cpu += q.cpu
	p.cpuOK = p.cpuOK && q.cpuOK
}

func (p phaseData) stats() Stats {
	st := summarize(p.lats, p.elapsed, Stats{Errors: p.errs, ServerErrors: p.serverErrs})
	if p.cpuOK && st.Requests > 0 {
		us := round1(float64(p.cpu.Microseconds()) / float64(st.Requests))
		st.CPUPerReqUs = &us
	}
	return st
}

func closedLoopRaw(ctx context.Context, workers int, warmup, dur time.Duration, cpuNodes []*node, f op) phaseData {
	var measuring, stop atomic.Bool
	lats := make([][]time.Duration, workers)
	errs := make([]int, workers)
	serverErrs := make([]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lats[w] = make([]time.Duration, 0, 4096)
		wg.Go(func() {
			for !stop.Load() && ctx.Err() == nil {
				t0 := time.Now()
				ok, status := f(ctx, w)
				d := time.Since(t0)
				if !measuring.Load() {
					continue
				}
				if ok {
					lats[w] = append(lats[w], d)
				} else {
					errs[w]++
					if status >= 500 {
						serverErrs[w]++
					}
				}
			}
		})
	}
	sleepCtx(ctx, warmup)
	cpu0, cpuOK0 := cpuOf(cpuNodes)
	start := time.Now()
	measuring.Store(true)
	sleepCtx(ctx, dur)
	measuring.Store(false)
	elapsed := time.Since(start)
	cpu1, cpuOK1 := cpuOf(cpuNodes)
	stop.Store(true)
	wg.Wait()

	p := phaseData{elapsed: elapsed, cpu: cpu1 - cpu0, cpuOK: cpuOK0 && cpuOK1, initialized: true}
	for w := range workers {
		p.lats = append(p.lats, lats[w]...)
		p.errs += errs[w]
		p.serverErrs += serverErrs[w]
	}
	return p
}

// summarize fills the request count, rate and percentiles of st from the
// latencies of the successful requests.
func summarize(all []time.Duration, elapsed time.Duration, st Stats) Stats {
	slices.Sort(all)
	st.Requests = len(all)
	st.Seconds = round3(elapsed.Seconds())
	if elapsed > 0 {
		st.RPS = round1(float64(len(all)) / elapsed.Seconds())
	}
	st.P50Ms = ms(percentile(all, 0.50))
	st.P99Ms = ms(percentile(all, 0.99))
	if len(all) > 0 {
		st.MaxMs = ms(all[len(all)-1])
	}
	return st
}

// percentile returns the nearest-rank p-quantile of sorted (0 when empty).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

func ms(d time.Duration) float64 { return round3(float64(d) / float64(time.Millisecond)) }

func round1(x float64) float64 { return math.Round(x*10) / 10 }
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// sleepCtx sleeps for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
