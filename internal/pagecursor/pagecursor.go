// Package pagecursor is the keyset paging that the SQL stores share: the
// cursors of ListUsers and ListEvents, the bound on a page, and the LIKE
// pattern of a substring search. One rule, so that a cursor one store
// writes reads the same in the other.
package pagecursor

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/authd/authd"
)

// The cursors of ListUsers and ListEvents name the last row of the page
// before: "u" and the base64url of a user id, "e" and the decimal id of
// an audit event. Paging continues after that row by the ordering column
// (keyset paging), so rows inserted or deleted meanwhile move no other row
// to another page. Both encodings are canonical: a cursor parses only if
// it is exactly what this package would have written, so that a mangled
// one is refused rather than read as some other position.

// MaxLimit is the largest UserQuery.Limit and AuditQuery.Limit.
const MaxLimit = 1000

// maxCursorID bounds the user id a cursor may name: ids are far shorter,
// and a long cursor is refused before it reaches the database.
const maxCursorID = 1024

// CheckLimit refuses a page size outside 1..MaxLimit (*authd.InvalidError).
func CheckLimit(n int) error {
	if n < 1 || n > MaxLimit {
		return authd.Invalidf("limit", "limit must be 1 to %d", MaxLimit)
	}
	return nil
}

// User is the cursor after the user id.
func User(id string) string { return "u" + base64.RawURLEncoding.EncodeToString([]byte(id)) }

// ParseUser returns the id after which the page starts ("" for the
// first page), or an *authd.InvalidError.
func ParseUser(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	rest, ok := strings.CutPrefix(c, "u")
	if ok && len(rest) <= base64.RawURLEncoding.EncodedLen(maxCursorID) {
		if b, err := base64.RawURLEncoding.DecodeString(rest); err == nil && len(b) > 0 && User(string(b)) == c {
			return string(b), nil
		}
	}
	return "", authd.Invalidf("cursor", "malformed cursor")
}

// Event is the cursor before the audit event id.
func Event(id int64) string { return "e" + strconv.FormatInt(id, 10) }

// ParseEvent returns the id before which the page starts (0 for the
// first page), or an *authd.InvalidError.
func ParseEvent(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	if rest, ok := strings.CutPrefix(c, "e"); ok && len(rest) <= 19 {
		if id, err := strconv.ParseInt(rest, 10, 64); err == nil && id > 0 && Event(id) == c {
			return id, nil
		}
	}
	return 0, authd.Invalidf("cursor", "malformed cursor")
}

// Contains is the LIKE pattern (ESCAPE '\') of the strings that
// contain s: s's own %, _ and \ match only themselves.
func Contains(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}
