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

// Check applies the password policy (SECURITY P2-P3): after NFC
// normalisation at least MinLength Unicode code points, at most MaxLength
// code points, and at most MaxBytes bytes, checked first and cheaply; no
// composition rules; not on the blocklist (compared case-insensitively after
// NFC). It returns *authd.InvalidError{Field: "password", Message: …} with a
// reason a user understands, or nil.
//
// NOTE: invalid UTF-8 is refused: it cannot come from a form or from JSON,
// and it would make "characters" meaningless.
func Check(pw string) error {
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
	if blocklisted(n) {
		return invalid(msgBlocklist)
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
