package password

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/authd/authd"
)

// The password policy of SECURITY P2. Lengths are in Unicode code points of
// the NFC form, except MaxBytes, which bounds the raw input before anything
// else is done with it.
const (
	MinLength = 15   // NIST SP 800-63B-4, single-factor passwords
	MaxLength = 256  // well above the 64 that NIST asks to allow
	MaxBytes  = 1024 // 4 bytes × MaxLength: any 256 code points in UTF-8
)

// Messages of Check, shown to the user as they are.
var (
	msgTooLong   = fmt.Sprintf("Password is too long: use at most %d characters.", MaxLength)
	msgNotUTF8   = "Password contains bytes that are not valid text (UTF-8)."
	msgBlocklist = "This password is too common: it is on a list of passwords that attackers try first. Please choose another one; a few unrelated words make a strong password that is easy to remember."
)

// Check applies the password policy (SECURITY P2–P3) to pw and returns
// *authd.InvalidError{Field: "password", Message: …} with a reason a user
// understands, or nil. In order:
//
//   - P2: at most MaxBytes bytes (checked first and cheaply), valid UTF-8,
//     and after NFC normalisation MinLength..MaxLength Unicode code points;
//     no composition rules, no truncation.
//   - P3: not on the blocklist of common and breached passwords (compared
//     case-insensitively after NFC; see blocklist_SOURCE.md).
//   - P3: not mostly (two thirds of its code points or more) one
//     character or a short pattern repeated ("abcabcabcabcabc"), a run of
//     sequential characters ("123456789012345"), a row of keys on the
//     keyboard ("qwertyuiopasdfgh"), or the user's own words: the
//     userInputs and the service's name, "authd", which is always among
//     them; and not a password that zxcvbn (github.com/trustelem/zxcvbn)
//     guesses in fewer than a million tries (very common words or
//     passwords put together: "iloveyou sunshine").
//
// Each rule has its own message; a blocklisted password that is also a
// repeat, a run, a row of keys or the user's own words gets that reason
// rather than "too common".
//
// userInputs are words specific to the user, such as the user's email
// address. A password made mostly of one of them, of an email's local part
// or domain, or of their pieces (for "ann.example@example.com":
// "annexample", "ann", "example", "example.com", …) is refused, compared
// case-insensitively. Callers without any pass none.
//
// Check is safe for any input (fuzzed) and its cost is bounded: at most
// MaxBytes bytes reach the pattern rule, in chunks (BenchmarkCheck).
//
// NOTE: invalid UTF-8 is refused: it cannot come from a form or from JSON,
// and it would make "characters" meaningless.
func Check(pw string, userInputs ...string) error {
	if len(pw) > MaxBytes {
		return invalid(msgTooLong)
	}
	if !utf8.ValidString(pw) {
		return invalid(msgNotUTF8)
	}
	n := Normalize(pw)
	count := utf8.RuneCountInString(n)
	if count < MinLength {
		return invalid(fmt.Sprintf("Password is too short: use at least %d characters (this one has %d). A few unrelated words make a long password that is easy to remember.", MinLength, count))
	}
	if count > MaxLength {
		return invalid(msgTooLong)
	}
	// NOTE: a blocklisted password that is also one of the patterns is
	// refused with the pattern's reason ("aaaaaaaaaaaaaaa": one character
	// repeated), which tells the user more than "too common".
	msg := patternReason(n, userInputs)
	if blocklisted(n) && !isFamilyMessage(msg) {
		msg = msgBlocklist
	}
	if msg != "" {
		return invalid(msg)
	}
	return nil
}

// Normalize returns the NFC form (golang.org/x/text/unicode/norm).
func Normalize(pw string) string { return norm.NFC.String(pw) }

func invalid(msg string) error {
	return &authd.InvalidError{Field: "password", Message: msg}
}

// blocklistKey is how an NFC-normalised password and a blocklist entry are
// compared: exactly, after lower-casing.
func blocklistKey(nfc string) string { return strings.ToLower(nfc) }
