package password_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/authd/authd/password"
)

// A valid hash at testParams: salt "saltsaltsaltsalt", key 32 bytes.
const (
	validSalt = "c2FsdHNhbHRzYWx0c2FsdA"                      // 16 bytes
	validKey  = "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U" // 32 bytes
	validPHC  = "$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$" + validKey
)

func TestParsePHCValid(t *testing.T) {
	p, salt, key, err := password.ParsePHC(validPHC)
	if err != nil {
		t.Fatal(err)
	}
	if p != testParams || string(salt) != "saltsaltsaltsalt" || len(key) != 32 {
		t.Fatalf("ParsePHC = %+v, %q, %d bytes", p, salt, len(key))
	}
	if got := password.EncodePHC(p, salt, key); got != validPHC {
		t.Fatalf("round trip: %q", got)
	}
	// A real hash at the bounds parses too.
	maxed := password.EncodePHC(password.Params{Memory: 1 << 20, Time: 64, Threads: 64, SaltLen: 64, KeyLen: 64},
		make([]byte, 64), make([]byte, 64))
	if _, _, _, err := password.ParsePHC(maxed); err != nil || len(maxed) > password.MaxPHCLen {
		t.Fatalf("longest valid hash (%d bytes): %v", len(maxed), err)
	}
}

func TestVerifyMalformedHash(t *testing.T) {
	h := newTestHasher(t)
	replace := func(old, new string) string { return strings.Replace(validPHC, old, new, 1) }
	for _, tc := range []struct{ name, enc string }{
		{"empty", ""},
		{"dollar only", "$"},
		{"bcrypt", "$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"},
		{"argon2i", replace("argon2id", "argon2i")},
		{"argon2d", replace("argon2id", "argon2d")},
		{"upper-case algorithm", replace("argon2id", "ARGON2ID")},
		{"version 16", replace("v=19", "v=16")},
		{"version missing", strings.Replace(validPHC, "$v=19", "", 1)},
		{"version 019", replace("v=19", "v=019")},
		{"no leading dollar", validPHC[1:]},
		{"missing hash", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt},
		{"missing salt and hash", "$argon2id$v=19$m=64,t=1,p=1"},
		{"empty salt", "$argon2id$v=19$m=64,t=1,p=1$$" + validKey},
		{"empty hash", "$argon2id$v=19$m=64,t=1,p=1$" + validSalt + "$"},
		{"extra field", validPHC + "$AAAA"},
		{"trailing dollar", validPHC + "$"},
		{"params reordered", replace("m=64,t=1,p=1", "t=1,m=64,p=1")},
		{"param missing", replace("m=64,t=1,p=1", "m=64,t=1")},
		{"param extra", replace("m=64,t=1,p=1", "m=64,t=1,p=1,keyid=AAAA")},
		{"data param", replace("m=64,t=1,p=1", "m=64,t=1,p=1,data=AAAA")},
		{"param no value", replace("m=64", "m=")},
		{"param sign", replace("t=1", "t=+1")},
		{"param negative", replace("t=1", "t=-1")},
		{"param leading zero", replace("m=64", "m=064")},
		{"param hex", replace("m=64", "m=0x40")},
		{"param space", replace("m=64", "m= 64")},
		{"huge m", replace("m=64", "m=4294967295")},
		{"m overflows uint32", replace("m=64", "m=99999999999999999999")},
		{"m above 1 GiB", replace("m=64", "m=1048577")},
		{"m below 8p", replace("m=64,t=1,p=1", "m=15,t=1,p=2")},
		{"t zero", replace("t=1", "t=0")},
		{"t above 64", replace("t=1", "t=65")},
		{"p zero", replace("p=1", "p=0")},
		{"p above 64", replace("m=64,t=1,p=1", "m=65536,t=1,p=65")},
		{"p 256 overflows uint8", replace("m=64,t=1,p=1", "m=65536,t=1,p=256")},
		{"salt bad base64", replace(validSalt, "c2FsdHNhbHRz!Wx0c2FsdA")},
		{"salt padded", replace(validSalt, validSalt+"==")},
		{"salt url alphabet", replace(validSalt, "c2FsdHNhbHRz-_x0c2FsdA")},
		{"salt with newline", replace(validSalt, "c2FsdHNhbHRz\nYWx0c2FsdA")},
		{"salt with CR", replace(validSalt, "c2FsdHNhbHRz\rYWx0c2FsdA")},
		{"salt trailing bits", replace(validSalt, "c2FsdHNhbHRzYWx0c2FsdB")},
		{"salt impossible length", replace(validSalt, validSalt+"AAA")},
		{"salt too short", replace(validSalt, "c2FsdHNhbHQ")},
		{"salt too long", replace(validSalt, strings.Repeat("A", 88))},
		{"hash too short", replace(validKey, "a2V5a2V5")},
		{"hash too long", replace(validKey, strings.Repeat("A", 90))},
		{"hash bad base64", replace(validKey, strings.Repeat("*", 43))},
		{"too long overall", validPHC + strings.Repeat("A", 300)},
		{"1 MB", strings.Repeat("$", 1<<20)},
		{"NUL", replace("argon2id", "argon2id\x00")},
		{"invalid UTF-8", replace("argon2id", "argon2id\xff")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, _, err := password.ParsePHC(tc.enc); !errors.Is(err, password.ErrMalformedHash) {
				t.Fatalf("ParsePHC err = %v", err)
			}
			ok, rehash, err := h.Verify(context.Background(), tc.enc, "pw")
			if ok || rehash || !errors.Is(err, password.ErrMalformedHash) {
				t.Fatalf("Verify = %v, %v, %v; want false, false, ErrMalformedHash", ok, rehash, err)
			}
		})
	}
}
