package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Times are stored as INTEGER unix microseconds. UnixMicro covers every year
// from -290307 to 294246, the zero time.Time included, so no time needs
// clamping; microseconds are what PostgreSQL keeps, so every backend holds
// the same values.

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// nullMicros stores the zero time as NULL: "never" (not retired, not
// revoked, not yet rotated).
func nullMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

// encodeList stores a list of strings as a JSON array; nil and empty are
// both "[]".
func encodeList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, err := json.Marshal(l)
	if err != nil { // cannot happen for []string
		panic(err)
	}
	return string(b)
}

// decodeList reads a JSON array of strings. The common case, strings without
// escapes, is parsed in place: the returned strings share s's memory, so a
// session lookup does not allocate a string per role. Anything else goes
// through encoding/json.
func decodeList(s string) ([]string, error) {
	if s == "[]" {
		return []string{}, nil
	}
	if len(s) >= 4 && s[0] == '[' && s[len(s)-1] == ']' && !strings.ContainsAny(s, "\\ \t\r\n") {
		n := strings.Count(s, ",") + 1
		out := make([]string, 0, n)
		rest := s[1 : len(s)-1]
		ok := true
		for rest != "" {
			if len(rest) < 2 || rest[0] != '"' {
				ok = false
				break
			}
			end := strings.IndexByte(rest[1:], '"')
			if end < 0 {
				ok = false
				break
			}
			out = append(out, rest[1:1+end])
			rest = rest[2+end:]
			if rest == "" {
				break
			}
			if rest[0] != ',' || len(rest) == 1 {
				ok = false
				break
			}
			rest = rest[1:]
		}
		if ok {
			return out, nil
		}
	}
	var out []string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("malformed JSON list %q: %w", s, err)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// nullString stores "" as NULL (audit_events).
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
