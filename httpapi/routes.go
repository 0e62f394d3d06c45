package httpapi

import "net/http"

// routes lists every route authd serves.
func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/register", s.handleRegister)
	mux.HandleFunc("POST /v1/login", s.handleLogin)
	mux.HandleFunc("POST /v1/logout", s.handleLogout)
	mux.HandleFunc("GET /v1/me", s.handleMe)
	mux.HandleFunc("GET /v1/sessions", s.withSession(s.handleSessions))
	mux.HandleFunc("DELETE /v1/sessions/{id}", s.withSession(s.handleRevokeSession))
	mux.HandleFunc("DELETE /v1/sessions", s.withSession(s.handleRevokeOthers))
	mux.HandleFunc("POST /v1/password", s.withSession(s.handlePassword))
	mux.HandleFunc("GET /v1/authz", s.handleAuthz)

	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.Handle("GET /metrics", s.metrics.handler)
}
