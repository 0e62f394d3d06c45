package dpop

import (
	"net/url"
	"strings"
)

// normalizeURL returns raw as "scheme://host[:port]path" once normalized
// as RFC 9449 §4.3 asks of htu (syntax-based and scheme-based
// normalization, RFC 3986 §6.2.2 and §6.2.3), query and fragment dropped:
// scheme and host in lower case, the scheme's default port and an empty
// port dropped, an empty path made "/", percent-encoded unreserved
// characters decoded and other percent-encodings in upper case, dot
// segments removed. ok is false unless raw is an absolute http or https
// URL with a host and no userinfo.
//
// NOTE: %2F stays %2F: a reserved character percent-encoded is not the
// character (RFC 3986 §2.2), so "/a%2Fb" and "/a/b" differ.
func normalizeURL(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.User != nil || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	switch {
	case scheme != "http" && scheme != "https", host == "":
		return "", false
	case scheme == "http" && port == "80", scheme == "https" && port == "443":
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host + removeDotSegments(normalizePercent(u.EscapedPath())), true
}

// normalizePercent decodes the percent-encoded unreserved characters of p
// and puts the hex digits of the others in upper case (RFC 3986 §6.2.2.1,
// §6.2.2.2). p is url.URL.EscapedPath's, so every % starts a valid triplet.
func normalizePercent(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		if p[i] != '%' || i+2 >= len(p) {
			b.WriteByte(p[i])
			continue
		}
		c := unhex(p[i+1])<<4 | unhex(p[i+2])
		if unreserved(c) {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(p[i+1:i+3]))
		}
		i += 2
	}
	return b.String()
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10
	}
	return 0
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// removeDotSegments is RFC 3986 §5.2.4 on the path of a URL with a host
// (empty or starting with "/"); an empty path is "/" (§6.2.3).
func removeDotSegments(p string) string {
	if p == "" || p == "/" {
		return "/"
	}
	if !strings.Contains(p, ".") {
		return p
	}
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
			continue
		}
		if last {
			out = append(out, "")
		}
	}
	return "/" + strings.Join(out, "/")
}
