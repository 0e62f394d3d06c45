package password_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/authd/authd"
	"github.com/authd/authd/password"
	"golang.org/x/text/unicode/norm"
)

const (
	composedE   = "\u00e9"  // é, one code point
	decomposedE = "e\u0301" // e + combining acute, two code points
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pw      string
		wantMsg string // "" means accepted; else a word of the message
	}{
		{"empty", "", "too short"},
		{"14 ascii", strings.Repeat("ab", 7), "at least 15"},
		{"15 ascii", strings.Repeat("ab", 7) + "c", ""},
		{"14 é composed", strings.Repeat(composedE, 14), "too short"},
		{"15 é composed (30 bytes)", strings.Repeat(composedE, 15), ""},
		// 28 code points as typed, 14 after NFC: counted after NFC.
		{"14 é decomposed", strings.Repeat(decomposedE, 14), "too short"},
		{"15 é decomposed", strings.Repeat(decomposedE, 15), ""},
		{"15 emoji (60 bytes)", strings.Repeat("🔑", 15), ""},
		{"256 code points", strings.Repeat("a", 256), ""},
		{"257 code points", strings.Repeat("a", 257), "too long"},
		{"256 emoji = MaxBytes", strings.Repeat("🔑", 256), ""},
		{"257 emoji > MaxBytes", strings.Repeat("🔑", 257), "too long"},
		{"MaxBytes+1 bytes", strings.Repeat("a", password.MaxBytes+1), "too long"},
		{"1 MB", strings.Repeat("a", 1<<20), "too long"},
		{"invalid UTF-8", "a perfectly long \xff password", "UTF-8"},
		{"blocklisted", "1qaz2wsx3edc4rfv", "too common"},
		{"blocklisted, other case", "1QAZ2wsx3EDC4rfv", "too common"},
		{"blocklisted passwordpassword", "PasswordPassword", "too common"},
		{"blocklisted with space kept exact", "qwertyuiop12345", "too common"},
		{"not exact: blocklisted plus a char", "1qaz2wsx3edc4rfv!", ""},
		{"good passphrase", "violet tractor sings at dawn", ""},
		{"no composition rules: all lower, no digits", "correct horse battery staple", ""},
		{"spaces count", "               ", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := password.Check(tc.pw)
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			var inv *authd.InvalidError
			if !errors.As(err, &inv) {
				t.Fatalf("Check = %#v, want *authd.InvalidError", err)
			}
			if inv.Field != "password" || !strings.Contains(inv.Message, tc.wantMsg) {
				t.Fatalf("Check = %+v, want Field password and a message with %q", inv, tc.wantMsg)
			}
		})
	}
}

func TestCheckHugePasswordIsFast(t *testing.T) {
	huge := strings.Repeat("é", 1<<19) // 1 MiB, valid UTF-8, NFC
	// No normalisation, no copy: at most the one allocation of the error.
	if allocs := testing.AllocsPerRun(10, func() { _ = password.Check(huge) }); allocs > 1 {
		t.Errorf("Check(1 MB) allocates %v times", allocs)
	}
	if password.Check(huge) == nil {
		t.Fatal("accepted")
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"ascii", "ascii"},
		{decomposedE, composedE},
		{"\u1100\u1161\u11a8", "\uac01"}, // Hangul jamo → syllable
		{"\ufb01", "\ufb01"},             // ﬁ ligature: a compatibility form, kept by NFC
		{"\u212b", "\u00c5"},             // ANGSTROM SIGN → Å (canonical)
	} {
		if got := password.Normalize(tc.in); got != tc.want {
			t.Errorf("Normalize(%+q) = %+q, want %+q", tc.in, got, tc.want)
		}
	}
}

// TestBlocklist checks the embedded list: its size (SECURITY P3 wants at
// least the 10,000 most common passwords), its form, and that every entry
// Check can reach is refused.
func TestBlocklist(t *testing.T) {
	entries := password.BlocklistEntries()
	if len(entries) < 10000 {
		t.Fatalf("blocklist has %d entries, want ≥ 10000", len(entries))
	}
	seen := make(map[string]bool, len(entries))
	reachable := 0
	for _, e := range entries {
		if e == "" || e != strings.ToLower(e) || !norm.NFC.IsNormalString(e) || !utf8.ValidString(e) {
			t.Fatalf("entry %q is not NFC lower-case", e)
		}
		if seen[e] {
			t.Fatalf("duplicate entry %q", e)
		}
		seen[e] = true
		n := utf8.RuneCountInString(e)
		if n < password.MinLength {
			continue
		}
		reachable++
		var inv *authd.InvalidError
		if err := password.Check(e); !errors.As(err, &inv) || !strings.Contains(inv.Message, "too common") {
			t.Errorf("Check(%q) = %v, want blocklist refusal", e, err)
		}
		if err := password.Check(strings.ToUpper(e)); err == nil {
			t.Errorf("Check(%q) accepted", strings.ToUpper(e))
		}
	}
	if got := password.BlocklistSetLen(); got != reachable || reachable == 0 {
		t.Errorf("in-memory set holds %d entries, want the %d of ≥ %d code points", got, reachable, password.MinLength)
	}
	t.Logf("%d entries, %d of them ≥ %d code points", len(entries), reachable, password.MinLength)
	// A short entry is refused by the length rule, which comes first.
	var inv *authd.InvalidError
	if err := password.Check(entries[0]); !errors.As(err, &inv) || !strings.Contains(inv.Message, "too short") {
		t.Errorf("Check(%q) = %v", entries[0], err)
	}
}
