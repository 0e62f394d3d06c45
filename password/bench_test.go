package password_test

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"github.com/authd/authd/password"
)

const benchPassword = "violet tractor sings at dawn"

func BenchmarkHashDefault(b *testing.B) {
	h := password.NewHasher(password.DefaultParams, 1)
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Hash(ctx, benchPassword); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyDefault(b *testing.B) {
	h := password.NewHasher(password.DefaultParams, 1)
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
	p := password.DefaultParams
	salt := make([]byte, p.SaltLen)
	pw := []byte(benchPassword)
	for b.Loop() {
		argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	}
}

func BenchmarkCheck(b *testing.B) {
	password.Check("warm the blocklist up") // load the set outside the timings
	for _, bc := range []struct{ name, pw string }{
		{"good", benchPassword},
		{"good decomposed", strings.Repeat(decomposedE, 20)},
		{"too short", "short"},
		{"blocklisted", "1QAZ2WSX3EDC4RFV"},
		{"1MB", strings.Repeat("a", 1<<20)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				_ = password.Check(bc.pw)
			}
		})
	}
}

// BenchmarkBlocklistLoad is the one-time cost of the first Check.
func BenchmarkBlocklistLoad(b *testing.B) {
	for b.Loop() {
		password.LoadBlocklistForBench()
	}
}
