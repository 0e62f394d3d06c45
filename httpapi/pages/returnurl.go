package pages

import (
	"net/url"
	"strings"
)

// MaxReturnLen bounds a return URL; a longer one is refused.
// It is above the longest authorization request (/oauth2/authorize takes a
// query of up to 4 KiB), which comes back through the sign-in page.
const MaxReturnLen = 4200

// SafeReturn reports whether raw is a safe place to send the browser after
// it signs in, and returns it unchanged when it is.
//
// NOTE: only a relative path on this site is accepted (open redirects,
// CWE-601): it must start with exactly one "/" and hold no "//" anywhere, no
// backslash (browsers read "/\evil.example" as "//evil.example"), no
// control character, space or non-ASCII byte (browsers strip tabs and
// newlines, so "/\t/evil.example" would become "//evil.example"), and parse
// with no scheme, host or user. Anything else falls back to /account.
func SafeReturn(raw string) (string, bool) {
	if raw == "" || len(raw) > MaxReturnLen || raw[0] != '/' {
		return "", false
	}
	if strings.Contains(raw, "//") {
		return "", false
	}
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c <= ' ' || c >= 0x7f || c == '\\' {
			return "", false
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "", false
	}
	// A percent-encoded slash or backslash right after the leading slash is
	// harmless to browsers, but a server or proxy behind us that decodes it
	// could turn it into "//host": refuse it too.
	if p := strings.ToLower(u.EscapedPath()); strings.HasPrefix(p, "/%2f") || strings.HasPrefix(p, "/%5c") {
		return "", false
	}
	return raw, true
}
