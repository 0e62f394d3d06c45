package password_test

import (
	"errors"
	"math/rand/v2"
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

// accented15 is 15 different precomposed letters: 15 code points, 30 bytes
// in UTF-8, 30 code points in NFD; no pattern.
const accented15 = "éèêëàâäîïôöûüçñ"

// varied returns n code points drawn from set by a fixed-seed PRNG: a
// password of a given length without a pattern.
func varied(n int, set string) string {
	r := rand.New(rand.NewPCG(7, 11))
	runes := []rune(set)
	out := make([]rune, n)
	for i := range out {
		out[i] = runes[r.IntN(len(runes))]
	}
	return string(out)
}

const (
	l33tChars        = "4@8({[<369!|1750$+%2" // zxcvbn's l33t table
	lettersAndDigits = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	someEmoji        = "🔑🌍🎸🍕🚲🌵🎲🐙🦊🍩🎈🧩🌈🎻🐢"
)

// TestCheck covers SECURITY P2 (length, bytes, UTF-8) and the blocklist of
// P3; TestCheckPatterns covers the rest of P3.
func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pw      string
		wantMsg string // "" means accepted; else a word of the message
	}{
		{"empty", "", "too short"},
		{"14 ascii", "blue kettle hu", "at least 15"},
		{"15 ascii", "blue kettle hum", ""},
		{"14 é composed", string([]rune(accented15)[:14]), "too short"},
		{"15 é composed (30 bytes)", accented15, ""},
		// 28 code points as typed, 14 after NFC: counted after NFC.
		{"14 é decomposed", norm.NFD.String(string([]rune(accented15)[:14])), "too short"},
		{"15 é decomposed", norm.NFD.String(accented15), ""},
		{"15 emoji (60 bytes)", someEmoji, ""},
		{"256 code points", varied(256, lettersAndDigits), ""},
		{"257 code points", varied(257, lettersAndDigits), "too long"},
		{"256 emoji = MaxBytes", varied(256, someEmoji), ""},
		{"257 emoji > MaxBytes", varied(257, someEmoji), "too long"},
		{"MaxBytes+1 bytes", strings.Repeat("a", password.MaxBytes+1), "too long"},
		{"1 MB", strings.Repeat("a", 1<<20), "too long"},
		{"invalid UTF-8", "a perfectly long \xff password", "UTF-8"},
		{"blocklisted", "1qaz2wsx3edc4rfv", "too common"},
		{"blocklisted, other case", "1QAZ2wsx3EDC4rfv", "too common"},
		{"blocklisted, a pattern: the pattern's reason", "PasswordPassword", repeatedMsg},
		{"blocklisted, a pattern, other case", "QWERTYUIOP12345", keyboardMsg},
		{"blocklisted, long tail of the list", "olegfirstalways", "too common"},
		{"blocklisted, long tail, other case", "OlegFirstAlways", "too common"},
		// Not on the list, but still a common password plus a character.
		{"not exact: blocklisted plus a char", "1qaz2wsx3edc4rfv!", "too easy to guess"},
		{"good passphrase", "violet tractor sings at dawn", ""},
		{"no composition rules: all lower, no digits", "correct horse battery staple", ""},
		{"spaces count", "violet tractor ", ""},
		{"spaces count, 14", "violet tractor", "too short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkResult(t, password.Check(tc.pw), tc.wantMsg)
		})
	}
}

// checkResult fails t unless err is nil (wantMsg "") or a password
// *authd.InvalidError whose message contains wantMsg.
func checkResult(t *testing.T, err error, wantMsg string) {
	t.Helper()
	if wantMsg == "" {
		if err != nil {
			t.Fatalf("Check = %v, want nil", err)
		}
		return
	}
	var inv *authd.InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("Check = %#v, want *authd.InvalidError", err)
	}
	if inv.Field != "password" || !strings.Contains(inv.Message, wantMsg) {
		t.Fatalf("Check = %+v, want Field password and a message with %q", inv, wantMsg)
	}
}

// The distinctive words of each reason of the pattern rule.
const (
	repeatedMsg   = "one character or a short pattern repeated"
	sequentialMsg = "a run of sequential characters"
	keyboardMsg   = "a row of keys on the keyboard"
	personalMsg   = "mostly your email address or the name of this service"
	mixedMsg      = "mostly made of patterns"
	guessableMsg  = "too easy to guess"
)

// TestCheckPatterns: SECURITY P3's patterns (zxcvbn's families), each
// refused with its reason, and passphrases and random strings accepted.
func TestCheckPatterns(t *testing.T) {
	for _, tc := range []struct {
		pw      string
		wantMsg string // "" means accepted
	}{
		// The defect: each of these was accepted.
		{"aaaaaaaaaaaaaaa", repeatedMsg},
		{"111111111111111", repeatedMsg},
		{"123456789012345", sequentialMsg},
		{"abcdefghijklmnop", sequentialMsg},
		{"qwertyuiopasdfgh", keyboardMsg},
		{"iloveyouiloveyou", repeatedMsg},
		{"abcabcabcabcabc", repeatedMsg},

		// One character or a short pattern repeated, also with a little
		// around it, in other cases and scripts.
		{"AAAAAAAAAAAAAAAA", repeatedMsg},
		{"aaaaaaaaaaaaaaab", repeatedMsg},
		{"trustno1trustno1", repeatedMsg},
		{"p@ssw0rdp@ssw0rd", repeatedMsg},
		{"asdfghjklasdfghjkl", repeatedMsg},
		{"dragon dragon dragon", repeatedMsg},
		{"               ", repeatedMsg},
		{strings.Repeat("é", 15), repeatedMsg},
		{strings.Repeat(decomposedE, 15), repeatedMsg},
		{strings.Repeat("🔑", 15), repeatedMsg},
		{"пароль пароль пароль", repeatedMsg},
		{strings.Repeat("a", password.MaxLength), repeatedMsg},
		{strings.Repeat("🔑", password.MaxLength), repeatedMsg},
		{strings.Repeat("abc", 85) + "d", repeatedMsg},

		// Runs of sequential characters.
		{"ZYXWVUTSRQPONMLK", sequentialMsg},
		{"abcdefghijklmnopqrstuvwxy", sequentialMsg},
		{"0123456789abcdefg", sequentialMsg},

		// Rows of keys.
		{"zxcvbnmasdfghjkl", keyboardMsg},
		{"1q2w3e4r5t6y7u8i", keyboardMsg},
		{"0987654321098765", keyboardMsg},
		{"QWERTYUIOPASDFGH", keyboardMsg},

		// The service's name, always refused.
		{"authdauthdauthd1", personalMsg},
		{"AuthdAuthdAuthd!", personalMsg},

		// A mix of patterns.
		{"1234567890abcdefg", mixedMsg},

		// Common passwords and words put together.
		{"password12345678", guessableMsg},
		{"sunshine12345678", guessableMsg},
		{"password password", guessableMsg},
		{"iloveyou sunshine", guessableMsg},
		{"football baseball", guessableMsg},
		{"qwerty12345abcde", guessableMsg},

		// Passphrases, sentences and random strings pass.
		{"correct horse battery staple", ""},
		{"correcthorsebatterystaple", ""},
		{"Tr0ub4dor&3 plus some more", ""},
		{"violet tractor sings at dawn", ""},
		{"purple monkey dishwasher", ""},
		{"four score and seven years", ""},
		{"the quick brown fox", ""},
		{"we were there when it rained", ""},
		{"my cat likes to sleep on the sofa", ""},
		{"I had pancakes for breakfast today", ""},
		{"Monday morning coffee", ""},
		{"summer vacation", ""},
		{"hello world 2024", ""},
		{"my 12345th walk by the river", ""},
		{"authd is my favourite", ""},
		{"xK9#mQ2$vL7@pR4!", ""},
		{"zq8Tn3WfYb6Hs1Ld", ""},
		{"крепкий пароль для почты", ""},
		{"日本語のパスワードです長いです", ""},
		{varied(40, lettersAndDigits+"!@#$%^&*"), ""},
		{varied(password.MaxLength, lettersAndDigits+"!@#$%^&*()"), ""},
		{strings.Repeat("violet tractor sings at dawn, ", 9)[:password.MaxLength], ""},
	} {
		name := []rune(tc.pw)
		t.Run(string(name[:min(len(name), 40)]), func(t *testing.T) {
			checkResult(t, password.Check(tc.pw), tc.wantMsg)
		})
	}
}

// TestCheckUserInputs: a password that is mostly the user's email is
// refused; one that merely contains a part of it is not.
func TestCheckUserInputs(t *testing.T) {
	const email = "ann.example@example.com"
	for _, tc := range []struct {
		pw, input, wantMsg string
	}{
		{"annexample.com12", email, personalMsg},
		{"ann.example@example.com", email, personalMsg},
		{"ANN.EXAMPLE@EXAMPLE.COM", email, personalMsg},
		{"Example.com-Ann.Example", email, personalMsg},
		{"annexampleannexample", email, personalMsg}, // a repeat of it
		{"annexample.com12", "Ann.Example@Example.COM", personalMsg},
		{"elpmaxennaelpmaxe", email, personalMsg}, // reversed
		// Without the email, the same password is only random-looking.
		{"annexample.com12", "", ""},
		{"ann grows tomatoes in the garden", email, ""},
		{"an example of a good passphrase", email, ""},
		// Inputs too short to mean anything are ignored.
		{"joe rides a blue bicycle", "jo@x.io", ""},
	} {
		t.Run(tc.pw+"/"+tc.input, func(t *testing.T) {
			var inputs []string
			if tc.input != "" {
				inputs = []string{tc.input}
			}
			checkResult(t, password.Check(tc.pw, inputs...), tc.wantMsg)
		})
	}
}

// TestCheckPanicFailsClosed: if zxcvbn ever panics, the password is
// refused with a message, not accepted, and the panic does not escape.
func TestCheckPanicFailsClosed(t *testing.T) {
	defer password.SetAnalyse(func(string, []string) string { panic("boom") })()
	checkResult(t, password.Check("violet tractor sings at dawn"), password.MsgUncheckable)
	// The length rules and the blocklist still answer first.
	checkResult(t, password.Check("short"), "too short")
	checkResult(t, password.Check("1qaz2wsx3edc4rfv"), "too common")
}

// TestCutChunk: the chunks of a long password cover it exactly, end
// between code points, and respect both bounds of one zxcvbn run.
func TestCutChunk(t *testing.T) {
	for _, pw := range []string{
		"", "short", varied(256, lettersAndDigits+" "), varied(256, someEmoji),
		varied(256, l33tChars), varied(200, l33tChars+"ab é"), varied(256, "0123456789"),
		strings.Repeat("correct horse battery staple ", 9),
	} {
		var chunks []string
		for rest := pw; rest != ""; {
			c := password.CutChunk(rest)
			if c == "" {
				t.Fatalf("empty chunk of %q", rest)
			}
			if !utf8.ValidString(c) || len(c) > password.ChunkBytes {
				t.Fatalf("chunk %q: %d bytes or invalid UTF-8", c, len(c))
			}
			if n := password.L33tTables(c); n > password.ChunkL33tTables {
				t.Fatalf("chunk %q allows %d l33t tables", c, n)
			}
			chunks = append(chunks, c)
			rest = rest[len(c):]
		}
		if strings.Join(chunks, "") != pw {
			t.Fatalf("chunks %q do not make %q", chunks, pw)
		}
	}
	for in, want := range map[string]string{
		"correct horse battery staple and more": "correct horse battery staple ",
		"0123456789012345678901234567890123":    "01234567890123456789012345678901", // digits: 4 tables
		"(a{b[c<d4e@f6g9h":                      "(a{b[c<d4e@f6g",                   // 4 × 2 tables, then 16
	} {
		if got := password.CutChunk(in); got != want {
			t.Errorf("CutChunk(%q) = %q, want %q", in, got, want)
		}
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
// least the 100,000 most common passwords), its form, that every entry
// Check can reach is in the in-memory set (in any case), and that Check
// refuses a sample of them as too common or, for those that are also a
// pattern, with the pattern's reason.
func TestBlocklist(t *testing.T) {
	entries := password.BlocklistEntries()
	if len(entries) < 100000 {
		t.Fatalf("blocklist has %d entries, want ≥ 100000", len(entries))
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
		if !password.Blocklisted(e) {
			t.Errorf("%q is not in the set", e)
		}
		if up := password.Normalize(strings.ToUpper(e)); strings.ToLower(up) == e && !password.Blocklisted(up) {
			t.Errorf("%q is not in the set", up)
		}
		// Check runs zxcvbn on each (about a millisecond): a sample.
		if reachable <= 20 || reachable%200 == 0 {
			for _, pw := range []string{e, strings.ToUpper(e)} {
				var inv *authd.InvalidError
				if err := password.Check(pw); !errors.As(err, &inv) {
					t.Errorf("Check(%q) = %v, want a refusal", pw, err)
				} else if pw == e && !strings.Contains(inv.Message, "too common") && !strings.Contains(inv.Message, "which attackers try") {
					t.Errorf("Check(%q) = %v, want too common or a pattern", pw, err)
				}
			}
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
