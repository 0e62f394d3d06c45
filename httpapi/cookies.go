package httpapi

import (
	"net/http"
	"time"
)

// Session cookie names. NOTE: the __Host- prefix makes browsers refuse the
// cookie unless it is Secure, has Path=/ and no Domain, so no sibling
// subdomain can plant or shadow it (RFC 6265bis §4.1.3, S3).
const (
	CookieNameSecure = "__Host-authd_session"
	CookieNameDev    = "authd_session"
)

// CookieName returns the session cookie name for the mode.
func CookieName(dev bool) string {
	if dev {
		return CookieNameDev
	}
	return CookieNameSecure
}

// sessionCookie returns the cookie value from r. NOTE: the name is compared
// exactly (a "__host-authd_session" is not ours), and two cookies of our
// name are ambiguous (one may have been planted), so both are refused (S3).
// The value never comes from the URL (S4).
func (s *Server) sessionCookie(r *http.Request) (value string, present bool) {
	n := 0
	for _, c := range r.CookiesNamed(s.cookie) {
		value = c.Value
		n++
	}
	if n != 1 {
		return "", n > 1
	}
	return value, true
}

func (s *Server) setSessionCookie(w http.ResponseWriter, value string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookie,
		Value:    value,
		Path:     "/",
		Expires:  expires,
		MaxAge:   max(int(expires.Sub(s.cfg.Now()).Seconds()), 1),
		Secure:   !s.cfg.Dev,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     s.cookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		Secure:   !s.cfg.Dev,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}
