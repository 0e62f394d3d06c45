package bench

import (
	"context"
	"crypto/rand"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/argon2"

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

// argon2Rate computes argon2id.IDKey at password.DefaultParams on
// GOMAXPROCS workers for dur and returns the rate.
func argon2Rate(ctx context.Context, dur time.Duration) Argon2 {
	p := password.DefaultParams
	workers := runtime.GOMAXPROCS(0)
	var n atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			pw := []byte("correct horse battery staple")
			salt := make([]byte, p.SaltLen)
			for !stop.Load() && ctx.Err() == nil {
				rand.Read(salt)
				argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
				n.Add(1)
			}
		})
	}
	sleepCtx(ctx, dur)
	stop.Store(true)
	wg.Wait() // the hashes in flight count: the window is until they end
	el := time.Since(start)
	a := Argon2{MemoryKiB: p.Memory, Time: p.Time, Threads: p.Threads, Workers: workers, Hashes: int(n.Load()), Seconds: round3(el.Seconds())}
	if el > 0 {
		a.PerSecond = round1(float64(a.Hashes) / el.Seconds())
	}
	return a
}
