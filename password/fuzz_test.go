package password_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/authd/authd"
	"github.com/authd/authd/password"
)

func addPHCSeeds(f *testing.F) {
	for _, s := range []string{
		validPHC,
		"",
		"$argon2id$v=19$m=19456,t=2,p=1$" + validSalt + "$" + validKey,
		"$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$" + validKey + "$",
		"$argon2i$v=19$m=64,t=1,p=1$" + validSalt + "$" + validKey,
		"$argon2id$v=19$m=064,t=1,p=1$" + validSalt + "$" + validKey,
		"$argon2id$v=19$m=4294967295,t=1,p=1$" + validSalt + "$" + validKey,
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRz\nYWx0c2FsdA$" + validKey,
	} {
		f.Add(s)
	}
}

// FuzzParsePHC: the parser never panics, accepts only strings within bounds,
// and what it accepts is canonical (re-encodes to the very same string).
func FuzzParsePHC(f *testing.F) {
	addPHCSeeds(f)
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := password.ParsePHC(s)
		if err != nil {
			if !errors.Is(err, password.ErrMalformedHash) {
				t.Fatalf("error %v does not wrap ErrMalformedHash", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted out-of-bounds params: %v", err)
		}
		if int(p.SaltLen) != len(salt) || int(p.KeyLen) != len(key) {
			t.Fatalf("params %+v vs salt %d key %d", p, len(salt), len(key))
		}
		if got := password.EncodePHC(p, salt, key); got != s {
			t.Fatalf("not canonical: %q re-encodes as %q", s, got)
		}
	})
}

// FuzzVerify: Verify never panics; its error is ErrMalformedHash exactly
// when the parser refuses the string, and no wrong password verifies.
func FuzzVerify(f *testing.F) {
	addPHCSeeds(f)
	h := password.NewHasher(testParams, 0)
	f.Fuzz(func(t *testing.T, s string) {
		p, _, _, perr := password.ParsePHC(s)
		if perr == nil && (p.Memory > 1024 || p.Time > 2 || p.Threads > 2) {
			t.Skip("too costly to compute in a fuzz loop")
		}
		ok, rehash, err := h.Verify(context.Background(), s, "fuzz")
		if (err != nil) != (perr != nil) || (err != nil && !errors.Is(err, password.ErrMalformedHash)) {
			t.Fatalf("Verify err = %v, parse err = %v", err, perr)
		}
		if ok || rehash {
			t.Fatalf("Verify(%q) = %v, %v", s, ok, rehash)
		}
	})
}

// FuzzCheck: Check never panics (nor does zxcvbn inside it: a recovered
// panic would show as MsgUncheckable), always answers nil or a password
// *authd.InvalidError, and accepts only what the policy allows, whatever
// the user input beside the password.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"", "short", "violet tractor sings at dawn", "1qaz2wsx3edc4rfv",
		strings.Repeat(decomposedE, 15), strings.Repeat("🔑", 257), "bad \xff utf-8 but long enough",
		"aaaaaaaaaaaaaaa", "abcabcabcabcabc", "qwertyuiopasdfgh", "123456789012345",
		"annexample.com12", "ééééé🔑🔑🔑🔑🔑ééééé", "4@8({[<369!|1750$+%2 and more", "\u0915\u093c" + strings.Repeat("x\u0301", 10),
	} {
		f.Add(s, "ann.example@example.com")
	}
	f.Add("authdauthdauthd1", "")
	f.Add("éa@éb.éc ééé", "éa@éb.éc")
	f.Fuzz(func(t *testing.T, pw, userInput string) {
		err := password.Check(pw, userInput)
		if err != nil {
			var inv *authd.InvalidError
			if !errors.As(err, &inv) || inv.Field != "password" || inv.Message == "" {
				t.Fatalf("Check = %#v", err)
			}
			if inv.Message == password.MsgUncheckable {
				t.Fatalf("Check(%q, %q): the pattern rule panicked", pw, userInput)
			}
			return
		}
		n := password.Normalize(pw)
		if c := utf8.RuneCountInString(n); len(pw) > password.MaxBytes || !utf8.ValidString(pw) ||
			c < password.MinLength || c > password.MaxLength {
			t.Fatalf("accepted %q (%d bytes, %d code points after NFC)", pw, len(pw), c)
		}
		// The normalised form is the same password (when it fits the byte bound).
		if len(n) <= password.MaxBytes && password.Check(n, userInput) != nil {
			t.Fatalf("Check(%q) accepted, its NFC form refused", pw)
		}
	})
}
