package bench

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authd/authd/password"
)

// Argon2 is the in-process argon2id rate: the ceiling of logins per second
// on this machine with authd's parameters.
type Argon2 struct {
	MemoryKiB uint32  `json:"memory_kib"`
	Time      uint32  `json:"time"`
	Threads   uint8   `json:"threads"`
	Workers   int     `json:"workers"`
	Hashes    int     `json:"hashes"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"per_second"`
}

func argonEstimate(c Config) float64 { return argonWindow(c).Seconds() + 0.1 }

// argonWindow is at least a second: a hash takes tens of milliseconds.
func argonWindow(c Config) time.Duration { return max(c.Phase, time.Second) }

// newServeHasher is the hasher `authd serve` makes (cmd/authd/serve.go):
// the same parameters and the same bound on computations at once, so that
// the rate measured here is the one serve's logins run into.
func newServeHasher() *password.Hasher {
	return password.NewHasher(password.DefaultParams(), 0)
}

// argon2Rate verifies a password with serve's hasher on GOMAXPROCS workers
// for dur and returns the rate. It measures Verify, what every login runs,
// not a bare argon2.IDKey: what is measured is what serve runs.
func argon2Rate(ctx context.Context, dur time.Duration) Argon2 {
	h := newServeHasher()
	p := h.Params()
	workers := runtime.GOMAXPROCS(0)
	a := Argon2{MemoryKiB: p.Memory, Time: p.Time, Threads: p.Threads, Workers: workers}
	const pw = "correct horse battery staple"
	encoded, err := h.Hash(ctx, pw) // made before the window: not counted
	if err != nil {
		return a
	}
	var n atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for !stop.Load() && ctx.Err() == nil {
				if ok, _, err := h.Verify(ctx, encoded, pw); ok && err == nil {
					n.Add(1)
				}
			}
		})
	}
	sleepCtx(ctx, dur)
	stop.Store(true)
	wg.Wait() // the hashes in flight count: the window is until they end
	el := time.Since(start)
	a.Hashes, a.Seconds = int(n.Load()), round3(el.Seconds())
	if el > 0 {
		a.PerSecond = round1(float64(a.Hashes) / el.Seconds())
	}
	return a
}
