package password_test

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/password"
)

// testParams keep tests fast: 64 KiB, one pass.
var testParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newTestHasher(t testing.TB) *password.Hasher {
	t.Helper()
	return password.NewHasher(testParams, 2)
}

func mustHash(t testing.TB, h *password.Hasher, pw string) string {
	t.Helper()
	enc, err := h.Hash(context.Background(), pw)
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return enc
}

var phcTestRE = regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashVerifyRoundTrip(t *testing.T) {
	h := newTestHasher(t)
	for _, tc := range []struct{ name, pw string }{
		{"ascii", "correct horse battery staple"},
		{"unicode", "日本語のパスフレーズ🔑 with ünïcödé"},
		{"empty", ""},
		{"spaces kept", "  leading and trailing  "},
		{"MaxBytes", strings.Repeat("x", password.MaxBytes)},
		{"beyond MaxBytes is not truncated", strings.Repeat("y", 4*password.MaxBytes)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enc := mustHash(t, h, tc.pw)
			if !phcTestRE.MatchString(enc) {
				t.Fatalf("Hash = %q, not the PHC form", enc)
			}
			ok, rehash, err := h.Verify(context.Background(), enc, tc.pw)
			if err != nil || !ok || rehash {
				t.Fatalf("Verify(own hash) = %v, %v, %v; want true, false, nil", ok, rehash, err)
			}
			if enc2 := mustHash(t, h, tc.pw); enc2 == enc {
				t.Fatal("two hashes of one password are equal: salt not random")
			}
			// No truncation: one more byte is another password.
			if ok, _, _ := h.Verify(context.Background(), enc, tc.pw+"x"); ok {
				t.Fatal("pw+\"x\" verifies")
			}
		})
	}
}

func TestHashAtDefaultParams(t *testing.T) {
	h := password.NewHasher(password.DefaultParams(), 1)
	enc := mustHash(t, h, "a passphrase at default parameters")
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(enc) {
		t.Fatalf("Hash = %q", enc)
	}
}

func TestDefaultParamsMeetOWASP(t *testing.T) {
	p := password.DefaultParams()
	if p.Memory < 19456 || p.Time < 2 || p.Threads < 1 || p.SaltLen < 16 || p.KeyLen < 32 {
		t.Fatalf("DefaultParams = %+v, below OWASP m=19456 KiB, t=2, p=1, 16-byte salt (32-byte key)", p)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if got := password.NewHasher(p, 0).Params(); got != p {
		t.Fatalf("Params() = %+v", got)
	}
}

func TestVerifyNFC(t *testing.T) {
	h := newTestHasher(t)
	composed := "caf\u00e9 au lait, s'il vous pla\u00eet"     // é, î as single code points
	decomposed := "cafe\u0301 au lait, s'il vous plai\u0302t" // e + U+0301, i + U+0302
	if composed == decomposed || password.Normalize(decomposed) != composed {
		t.Fatal("test strings are not two forms of one text")
	}
	for _, tc := range []struct{ name, hashed, typed string }{
		{"composed verifies decomposed", composed, decomposed},
		{"decomposed verifies composed", decomposed, composed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, _, err := h.Verify(context.Background(), mustHash(t, h, tc.hashed), tc.typed)
			if err != nil || !ok {
				t.Fatalf("Verify = %v, %v", ok, err)
			}
		})
	}
}

func TestVerifyWrongPassword(t *testing.T) {
	h := newTestHasher(t)
	const pw = "Tr0ub4dor&3 is not a passphrase"
	enc := mustHash(t, h, pw)
	for _, tc := range []struct{ name, pw string }{
		{"other", "something else entirely"},
		{"case", strings.ToUpper(pw)},
		{"prefix", pw[:len(pw)-1]},
		{"trailing space", pw + " "},
		{"empty", ""},
		{"NFKC is not NFC", "ﬁ" + pw}, // U+FB01 stays itself under NFC
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(context.Background(), enc, tc.pw)
			if err != nil || ok || rehash {
				t.Fatalf("Verify = %v, %v, %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

func TestVerifyNeedsRehash(t *testing.T) {
	weak := testParams
	stronger := func(f func(*password.Params)) password.Params {
		p := weak
		f(&p)
		return p
	}
	const pw = "the stored password of a user"
	enc := mustHash(t, password.NewHasher(weak, 1), pw)
	for _, tc := range []struct {
		name   string
		hasher password.Params
		want   bool
	}{
		{"equal params", weak, false},
		{"memory rises", stronger(func(p *password.Params) { p.Memory = 128 }), true},
		{"time rises", stronger(func(p *password.Params) { p.Time = 2 }), true},
		{"threads rise", stronger(func(p *password.Params) { p.Threads = 2 }), true},
		{"salt longer", stronger(func(p *password.Params) { p.SaltLen = 32 }), true},
		{"key longer", stronger(func(p *password.Params) { p.KeyLen = 64 }), true},
		{"defaults", password.DefaultParams(), true},
		{"hasher key shorter: no downgrade", stronger(func(p *password.Params) { p.KeyLen = 16 }), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := password.NewHasher(tc.hasher, 1)
			ok, rehash, err := h.Verify(context.Background(), enc, pw)
			if err != nil || !ok || rehash != tc.want {
				t.Fatalf("Verify = %v, %v, %v; want true, %v, nil", ok, rehash, err, tc.want)
			}
			// Never ask to rehash a wrong password.
			if ok, rehash, err := h.Verify(context.Background(), enc, "wrong"); ok || rehash || err != nil {
				t.Fatalf("Verify(wrong) = %v, %v, %v", ok, rehash, err)
			}
		})
	}
	t.Run("stored stronger than hasher", func(t *testing.T) {
		strong := stronger(func(p *password.Params) { p.Memory, p.Time = 256, 2 })
		enc := mustHash(t, password.NewHasher(strong, 1), pw)
		ok, rehash, err := password.NewHasher(weak, 1).Verify(context.Background(), enc, pw)
		if err != nil || !ok || rehash {
			t.Fatalf("Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
		}
	})
}

func TestConcurrencyBound(t *testing.T) {
	for _, max := range []int{1, 2} {
		h := password.NewHasher(testParams, max)
		if h.MaxConcurrent() != max {
			t.Fatalf("MaxConcurrent = %d", h.MaxConcurrent())
		}
		enc := mustHash(t, h, "warm up")
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Go(func() {
				if i%2 == 0 {
					_, _ = h.Hash(context.Background(), "concurrent password")
				} else {
					h.VerifyDummy(context.Background(), "concurrent password")
					_, _, _ = h.Verify(context.Background(), enc, "x")
				}
			})
		}
		wg.Wait()
		if peak := h.PeakInFlight(); peak < 1 || peak > int64(max) {
			t.Errorf("maxConcurrent=%d: peak in flight %d", max, peak)
		}
	}
}

func TestNewHasherDefaultConcurrency(t *testing.T) {
	for _, n := range []int{0, -1} {
		if got, want := password.NewHasher(testParams, n).MaxConcurrent(), runtime.GOMAXPROCS(0); got != want {
			t.Errorf("NewHasher(p, %d): MaxConcurrent = %d, want GOMAXPROCS %d", n, got, want)
		}
	}
}

// TestConcurrencyFor: a memory budget allows budget ÷ Params.Memory hashes
// at once, rounded down, at least one; 0 is no bound.
func TestConcurrencyFor(t *testing.T) {
	const MiB = 1 << 20
	def := password.DefaultParams() // 19 MiB
	tests := []struct {
		p      password.Params
		budget uint64
		want   int
	}{
		{def, 0, 0},
		{def, 1, 1},
		{def, 19*MiB - 1, 1},
		{def, 19 * MiB, 1},
		{def, 38 * MiB, 2},
		{def, 64 * MiB, 3}, // serve's default
		{def, 128 * MiB, 6},
		{def, 1 << 30, 53},
		{password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1 << 20, 16},
		{password.Params{Memory: 1 << 20, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1 << 40, 1024},
	}
	for _, tt := range tests {
		if got := password.ConcurrencyFor(tt.p, tt.budget); got != tt.want {
			t.Errorf("ConcurrencyFor(m=%d KiB, %d) = %d, want %d", tt.p.Memory, tt.budget, got, tt.want)
		}
	}
	// The bound holds: a hasher made for a budget never runs more.
	h := password.NewHasher(testParams, password.ConcurrencyFor(testParams, 2*64*1024))
	if h.MaxConcurrent() != 2 {
		t.Fatalf("MaxConcurrent = %d, want 2", h.MaxConcurrent())
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() { _, _ = h.Hash(context.Background(), "budget") })
	}
	wg.Wait()
	if peak := h.PeakInFlight(); peak > 2 {
		t.Errorf("peak in flight %d, want at most 2", peak)
	}
}

func TestContextEndsWhileWaiting(t *testing.T) {
	h := password.NewHasher(testParams, 1)
	enc := mustHash(t, h, "pw")
	release, err := h.HoldSlot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Hash(ctx, "pw"); err != context.DeadlineExceeded {
		t.Errorf("Hash while slot held = %v, want context.DeadlineExceeded", err)
	}
	if ok, _, err := h.Verify(ctx, enc, "pw"); ok || err != context.DeadlineExceeded {
		t.Errorf("Verify while slot held = %v, %v", ok, err)
	}
	done := make(chan struct{})
	go func() { h.VerifyDummy(ctx, "pw"); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("VerifyDummy did not return when its context ended")
	}

	cctx, ccancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); ccancel() }()
	if _, err := h.Hash(cctx, "pw"); err != context.Canceled {
		t.Errorf("Hash cancelled while waiting = %v, want context.Canceled", err)
	}
	release()

	// An ended context starts no work even when a slot is free.
	if _, err := h.Hash(cctx, "pw"); err != context.Canceled {
		t.Errorf("Hash with ended context = %v, want context.Canceled", err)
	}
	if _, err := h.Hash(context.Background(), "pw"); err != nil {
		t.Errorf("Hash after release: %v", err)
	}
}

func TestVerifyDummy(t *testing.T) {
	h := newTestHasher(t)
	// It verifies against a hash at h's own parameters, through Verify.
	p, _, _, err := password.ParsePHC(h.DummyHash())
	if err != nil || p != h.Params() {
		t.Fatalf("dummy hash params = %+v, %v; want %+v", p, err, h.Params())
	}
	if password.NewHasher(testParams, 1).DummyHash() == h.DummyHash() {
		t.Fatal("dummy hash is not random per Hasher")
	}
	// It waits for a slot like Verify (it does the argon2id work).
	h1 := password.NewHasher(testParams, 1)
	release, _ := h1.HoldSlot(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start := time.Now()
	h1.VerifyDummy(ctx, "pw")
	if time.Since(start) < 25*time.Millisecond {
		t.Error("VerifyDummy did not wait for a slot")
	}
	release()
	if h1.PeakInFlight() != 1 {
		t.Fatalf("peak = %d", h1.PeakInFlight())
	}
}

// BenchmarkVerifyDummy and BenchmarkVerifyWrong show that an unknown email
// costs what a wrong password costs (P4); compare their ns/op. Speed is
// shown by benchmarks, not asserted by timed tests.
func BenchmarkVerifyDummy(b *testing.B) {
	h := password.NewHasher(password.DefaultParams(), 1)
	ctx := context.Background()
	for b.Loop() {
		h.VerifyDummy(ctx, "a wrong password")
	}
}

func BenchmarkVerifyWrong(b *testing.B) {
	h := password.NewHasher(password.DefaultParams(), 1)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "the real password")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_, _, _ = h.Verify(ctx, enc, "a wrong password")
	}
}

func TestNewHasherInvalidParams(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    password.Params
	}{
		{"zero", password.Params{}},
		{"time 0", password.Params{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{"threads 0", password.Params{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32}},
		{"memory below 8p", password.Params{Memory: 15, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}},
		{"memory above 1 GiB", password.Params{Memory: 1<<20 + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{"time 65", password.Params{Memory: 64, Time: 65, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{"threads 65", password.Params{Memory: 1024, Time: 1, Threads: 65, SaltLen: 16, KeyLen: 32}},
		{"salt 8", password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 32}},
		{"key 8", password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8}},
		{"key 65", password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 65}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.p.Validate() == nil {
				t.Fatal("Validate accepted it")
			}
			defer func() {
				if recover() == nil {
					t.Fatal("NewHasher did not panic")
				}
			}()
			password.NewHasher(tc.p, 1)
		})
	}
}

func TestErrorsAreDistinct(t *testing.T) {
	_, _, err := newTestHasher(t).Verify(context.Background(), "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA", "pw")
	if !errors.Is(err, password.ErrMalformedHash) || errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "c2FsdHNhbHRzYWx0c2FsdA") {
		t.Fatalf("error %q quotes the hash", err)
	}
}
