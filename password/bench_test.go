package password_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/authd/authd/password"
)

const benchPassword = "violet tractor sings at dawn"

func BenchmarkHashDefault(b *testing.B) {
	h := password.NewHasher(password.DefaultParams(), 1)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, benchPassword); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyDefault(b *testing.B) {
	h := password.NewHasher(password.DefaultParams(), 1)
	ctx := context.Background()
	enc := mustHash(b, h, benchPassword)
	for b.Loop() {
		if ok, _, err := h.Verify(ctx, enc, benchPassword); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkRawArgon2idDefault is argon2.IDKey alone at DefaultParams: the
// difference from BenchmarkHashDefault is the Hasher's own overhead.
func BenchmarkRawArgon2idDefault(b *testing.B) {
	p := password.DefaultParams()
	salt := make([]byte, p.SaltLen)
	pw := []byte(benchPassword)
	for b.Loop() {
		argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	}
}

// BenchmarkCheck includes long passwords: Check runs on every registration
// and password change, and zxcvbn's cost grows faster than the square of
// the length, so the pattern rule must stay bounded at MaxLength/MaxBytes
// (see chunkBytes). The worst cases are long, l33t-heavy inputs (every
// l33t table zxcvbn tries repeats its dictionary look-ups) and weak or
// strong answers that are only known late.
func BenchmarkCheck(b *testing.B) {
	password.Check("warm the blocklist up") // load the set outside the timings
	l33t := "4@8({[<369|!75$+%02"           // every character of zxcvbn's l33t table
	for _, bc := range []struct{ name, pw string }{
		{"good", benchPassword},
		{"good decomposed", "the cafe\u0301 serves cre\u0300me bru\u0302le\u0301e at noon"},
		{"too short", "short"},
		{"blocklisted", "1QAZ2WSX3EDC4RFV"},
		{"repeated", "abcabcabcabcabc"},
		{"1MB", strings.Repeat("a", 1<<20)},
		{"256 random ASCII", randomString(256, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#$%^&*()")},
		{"256 random l33t", randomString(256, l33t)},
		{"256 l33t repeated", strings.Repeat(l33t, 14)[:256]},
		{"256 third random then l33t repeated", randomString(86, "abcdefghijklmnopqrstuvwxyz") + strings.Repeat(l33t, 10)[:170]},
		{"256 words", strings.Repeat("violet tractor sings at dawn ", 9)[:256]},
		{"256 a", strings.Repeat("a", 256)},
		{"256 digits run", strings.Repeat("1234567890", 26)[:256]},
		{"256 emoji (MaxBytes)", randomString(256, "🔑🌍🎸🍕🚲🌵🎲🐙🦊🍩🎈🧩")},
		{"256 CJK", randomString(256, "日本語中文漢字書道山川雨雪風花月星海空")},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				_ = password.Check(bc.pw)
			}
		})
	}
}

// randomString returns n code points drawn from set by a fixed-seed PRNG.
func randomString(n int, set string) string {
	r := rand.New(rand.NewPCG(1, 2))
	runes := []rune(set)
	out := make([]rune, n)
	for i := range out {
		out[i] = runes[r.IntN(len(runes))]
	}
	return string(out)
}

// BenchmarkBlocklistLoad is the one-time cost of the first Check.
func BenchmarkBlocklistLoad(b *testing.B) {
	for b.Loop() {
		password.LoadBlocklistForBench()
	}
}
