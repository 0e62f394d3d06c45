// Package redact hides the secrets in what authd prints: the one rule for
// a store URL's password, used by the stores' errors, the command line's
// messages and the benchmark's report.
package redact

import "strings"

// URL returns raw with the password of its userinfo replaced by "xxxxx":
// "postgres://ann:s3cret@db/authd" becomes "postgres://ann:xxxxx@db/authd".
// Anything without "scheme://user:password@" is returned as it is.
//
// NOTE: it works on the string, not through net/url: a URL that url.Parse
// refuses (a password with a stray '%', as in "postgres://ann:p%zz@db")
// must not reach a message with its password because it could not be
// parsed. An unencoded '/' in a password is hidden too: the userinfo ends
// at the last '@' before the query, on the safe side.
func URL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	end := strings.IndexAny(rest, "?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndexByte(rest[:end], '@')
	if at < 0 {
		return raw
	}
	user, _, hasPass := strings.Cut(rest[:at], ":")
	if !hasPass {
		return raw
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}
