package token

import (
	"context"
	"errors"
	"fmt"

	"github.com/authd/authd"
)

// IntrospectionResponse is an RFC 7662 §2.2 response. For anything that is
// not a live token only Active (false) is set. Marshal it as it is.
type IntrospectionResponse struct {
	Active    bool     `json:"active"`
	TokenType string   `json:"token_type,omitempty"` // "Bearer" for access tokens
	TokenUse  string   `json:"token_use,omitempty"`  // "access_token" or "refresh_token"
	Subject   string   `json:"sub,omitempty"`
	Username  string   `json:"username,omitempty"` // the user's email
	Audience  []string `json:"aud,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
	ExpiresAt int64    `json:"exp,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	NotBefore int64    `json:"nbf,omitempty"`
	JTI       string   `json:"jti,omitempty"`
	SessionID string   `json:"sid,omitempty"`
	Roles     []string `json:"roles,omitempty"`
	ClientID  string   `json:"client_id,omitempty"` // RFC 7662 §2.2
	Scope     string   `json:"scope,omitempty"`     // RFC 7662 §2.2, space-separated
	// Cnf is the key a DPoP-bound token is bound to (RFC 9449 §6.2).
	Cnf *Confirmation `json:"cnf,omitempty"`
}

// Confirmation is the cnf member of an introspection response.
type Confirmation struct {
	JKT string `json:"jkt"`
}

var errStopIntrospection = errors.New("token: introspection only")

// Introspect reports whether tok (an access or a refresh token) is live, and
// what it carries (RFC 7662). Bad input of any kind is {active:false}, never
// an error; the error is a store failure (for an access token: a stale
// revocation set), which the HTTP layer answers with 503.
func (s *Service) Introspect(ctx context.Context, tok string) (IntrospectionResponse, error) {
	if looksLikeRefreshToken(tok) {
		return s.introspectRefresh(ctx, tok)
	}
	c, err := s.Verify(ctx, tok)
	switch {
	case isInvalidToken(err):
		return IntrospectionResponse{}, nil
	case err != nil:
		return IntrospectionResponse{}, err
	}
	return IntrospectionResponse{
		Active:    true,
		TokenType: tokenType(c.JKT),
		TokenUse:  "access_token",
		Subject:   c.Subject,
		Username:  c.Email,
		Audience:  c.Audience,
		Issuer:    c.Issuer,
		ExpiresAt: c.ExpiresAt.Unix(),
		IssuedAt:  c.IssuedAt.Unix(),
		NotBefore: c.NotBefore.Unix(),
		JTI:       c.ID,
		SessionID: c.SessionID,
		Roles:     c.Roles,
		ClientID:  c.ClientID,
		Scope:     c.Scope,
		Cnf:       confirmation(c.JKT),
	}, nil
}

// tokenType is the token_type of an access token bound to jkt ("" none).
func tokenType(jkt string) string {
	if jkt != "" {
		return "DPoP"
	}
	return "Bearer"
}

func confirmation(jkt string) *Confirmation {
	if jkt == "" {
		return nil
	}
	return &Confirmation{JKT: jkt}
}

// IssuedTo returns the client a token was issued to: the client_id of a
// live access token, the client of a refresh token's family; "" for a
// token of no client (the password grant, a session's token) and for an
// unknown or dead access token. The error is a store failure or a stale
// revocation set.
func (s *Service) IssuedTo(ctx context.Context, tok string) (string, error) {
	if looksLikeRefreshToken(tok) {
		fam, _, err := s.familyOf(ctx, tok)
		if err != nil || fam == nil {
			return "", err
		}
		return fam.ClientID, nil
	}
	c, err := s.Verify(ctx, tok)
	switch {
	case isInvalidToken(err):
		return "", nil
	case err != nil:
		return "", err
	}
	return c.ClientID, nil
}

// familyOf looks a refresh token's family up without changing it: the
// family and the token's generation, or nil when no family issued it.
func (s *Service) familyOf(ctx context.Context, tok string) (*authd.RefreshFamily, int, error) {
	var fam authd.RefreshFamily
	var gen int
	_, err := s.st.Refresh.UpdateFamilyByToken(ctx, hashRefresh(tok), func(f *authd.RefreshFamily, g int) ([]byte, error) {
		fam, gen = *f, g
		return nil, errStopIntrospection // nothing is saved
	})
	switch {
	case errors.Is(err, authd.ErrNotFound):
		return nil, 0, nil
	case err != nil && !errors.Is(err, errStopIntrospection):
		return nil, 0, fmt.Errorf("token: look up refresh token: %w", err)
	}
	return &fam, gen, nil
}

// introspectRefresh looks a refresh token up without changing its family.
func (s *Service) introspectRefresh(ctx context.Context, tok string) (IntrospectionResponse, error) {
	f, gen, err := s.familyOf(ctx, tok)
	if err != nil || f == nil {
		return IntrospectionResponse{}, err
	}
	fam := *f
	now := s.cfg.Now()
	if gen != fam.Generation || s.familyDead(&fam, now) != "" {
		return IntrospectionResponse{}, nil
	}
	user, err := s.st.Users.UserByID(ctx, fam.UserID)
	switch {
	case errors.Is(err, authd.ErrNotFound):
		return IntrospectionResponse{}, nil
	case err != nil:
		return IntrospectionResponse{}, fmt.Errorf("token: introspect: load user: %w", err)
	case user.Locked:
		return IntrospectionResponse{}, nil
	}
	issued := fam.CreatedAt
	if !fam.RotatedAt.IsZero() {
		issued = fam.RotatedAt
	}
	exp := fam.ExpiresAt
	if idle := fam.LastUsedAt.Add(s.cfg.RefreshIdle); idle.Before(exp) {
		exp = idle
	}
	return IntrospectionResponse{
		Active:    true,
		TokenUse:  "refresh_token",
		Subject:   fam.UserID,
		Username:  user.Email,
		Audience:  fam.Audience,
		Issuer:    s.cfg.Issuer,
		ExpiresAt: exp.Unix(),
		IssuedAt:  issued.Unix(),
		SessionID: fam.ID,
		Cnf:       confirmation(fam.JKT),
	}, nil
}
