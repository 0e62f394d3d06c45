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

	if s.deps.Tokens != nil {
		mux.HandleFunc("POST /v1/session/token", s.withSession(s.handleSessionToken))
		mux.HandleFunc("GET /v1/revocations", s.handleRevocations)
		mux.HandleFunc("POST /oauth2/token", s.handleToken)
		mux.HandleFunc("POST /oauth2/revoke", s.handleRevoke)
		mux.HandleFunc("POST /oauth2/introspect", s.handleIntrospect)
		mux.HandleFunc("GET /.well-known/jwks.json", s.handleJWKS)
		mux.HandleFunc("GET /.well-known/openid-configuration", s.handleMetadata)
		mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.handleMetadata)
	}

	mux.HandleFunc("GET /healthz", s.handleHealthz)
	mux.HandleFunc("GET /readyz", s.handleReadyz)
	mux.Handle("GET /metrics", s.metrics.handler)
}
