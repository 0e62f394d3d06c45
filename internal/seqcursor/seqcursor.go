// Package seqcursor is the revocation feed's cursor format shared by the
// SQL stores: "r" and the decimal sequence number read up to.
package seqcursor

import (
	"strconv"

	"github.com/authd/authd"
)

// A revocation cursor is "r" followed by the decimal seq of the last entry
// the reader has seen: "r0" before the first. The empty cursor is the
// beginning. The encoding is canonical (no sign, no leading zero, at most
// 19 digits and within int64), so every cursor string names one position
// and parses back to itself.

const maxCursorLen = 1 + 19

// Format returns the cursor of seq.
func Format(seq int64) string { return "r" + strconv.FormatInt(seq, 10) }

// Parse returns the seq a cursor names, or an *authd.InvalidError.
func Parse(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	bad := func() (int64, error) {
		return 0, authd.Invalidf("cursor", "malformed revocation cursor")
	}
	if len(c) < 2 || len(c) > maxCursorLen || c[0] != 'r' {
		return bad()
	}
	digits := c[1:]
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return bad()
		}
	}
	if len(digits) > 1 && digits[0] == '0' {
		return bad()
	}
	seq, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return bad()
	}
	return seq, nil
}
