package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP returns the address of the client. NOTE: X-Forwarded-For is
// believed only when the peer is a configured trusted proxy, and then the
// rightmost address that is not itself a trusted proxy is taken: anything
// left of it was written by the client and could be forged (P5).
func (s *Server) clientIP(r *http.Request) string {
	peer, host, ok := peerAddr(r)
	if !ok {
		return host
	}
	if !s.trusted(peer) {
		return peer.String()
	}
	xff := r.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		parts := strings.Split(xff[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return peer.String()
			}
			a = a.Unmap()
			if !s.trusted(a) {
				return a.String()
			}
			peer = a
		}
	}
	return peer.String()
}

// peerAddr is the address of the connection's peer (IPv4-mapped
// addresses unmapped); ok is false when RemoteAddr holds no address, and
// host is then what it holds.
func peerAddr(r *http.Request) (peer netip.Addr, host string, ok bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err = netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, host, false
	}
	return peer.Unmap(), host, true
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
