package oidc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/backoff"
	"github.com/authd/authd/token"
)

// SessionsEnded is the session manager's OnEnd hook: for each ended
// session, every client that received tokens through it and has a
// back-channel logout URI gets a logout token (OpenID Connect Back-Channel
// Logout 1.0), through the outbox so that no outage of the client loses
// it.
func (p *Provider) SessionsEnded(ctx context.Context, userID string, ids []string) {
	// NOTE: the request that ended the session may be cancelled right
	// after; the queueing must still happen.
	ctx = context.WithoutCancel(ctx)
	queued := false
	for _, sid := range ids {
		clientIDs, err := p.st.Links.TakeSessionClients(ctx, sid)
		if err != nil {
			p.log.ErrorContext(ctx, "oidc: back-channel logout: cannot read the session's clients", "session_id", sid, "err", err)
			continue
		}
		for _, cid := range clientIDs {
			cl, err := p.clients.Get(ctx, cid)
			if err != nil || cl.BackchannelLogoutURI == "" {
				continue // deleted, or no longer listening
			}
			now := p.cfg.Now()
			m := &authd.OutboxMessage{
				ID: authd.NewID(), Kind: authd.OutboxBackchannelLogout, Target: cl.BackchannelLogoutURI,
				UserID: userID, SessionID: sid, ClientID: cid, CreatedAt: now, NextAt: now,
			}
			if err := p.st.Outbox.Enqueue(ctx, m); err != nil {
				p.log.ErrorContext(ctx, "oidc: back-channel logout: cannot queue", "client_id", cid, "session_id", sid, "err", err)
				continue
			}
			queued = true
		}
	}
	if queued {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// RunBackchannel delivers queued logout tokens until ctx is done: at once
// when this node queued one, and every Config.DeliveryPoll for those queued elsewhere
// or due for a retry.
func (p *Provider) RunBackchannel(ctx context.Context) {
	t := time.NewTicker(p.cfg.DeliveryPoll)
	defer t.Stop()
	for {
		for p.deliverDue(ctx) {
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-t.C:
		}
	}
}

// backchannelLease is how long a claimed message is reserved for the
// node that claimed it: longer than one delivery attempt.
const backchannelLease = 30 * time.Second

// deliverDue delivers one batch of due messages and reports whether the
// batch was full (more may be due).
func (p *Provider) deliverDue(ctx context.Context) bool {
	const batch = 16
	ms, err := p.st.Outbox.Claim(ctx, authd.OutboxBackchannelLogout, p.cfg.Now(), backchannelLease, batch)
	if err != nil {
		if ctx.Err() == nil {
			p.log.WarnContext(ctx, "oidc: back-channel logout: cannot claim messages", "err", err)
		}
		return false
	}
	for _, m := range ms {
		p.deliver(ctx, m)
	}
	return len(ms) == batch
}

// BackchannelDelay is the wait before attempt n+1 after n failed ones:
// 1 s, 2 s, 4 s, … up to 2 minutes.
func BackchannelDelay(n int) time.Duration {
	return backoff.Exponential(n, time.Second, 2*time.Minute)
}

// deliver makes one attempt at m and records its outcome.
func (p *Provider) deliver(ctx context.Context, m *authd.OutboxMessage) {
	err := p.post(ctx, m)
	ev := authd.AuditEvent{UserID: m.UserID, SessionID: m.SessionID}
	if err == nil {
		if derr := p.st.Outbox.DeleteMessage(ctx, m.ID); derr != nil {
			p.log.WarnContext(ctx, "oidc: back-channel logout: cannot delete a delivered message", "err", derr)
		}
		ev.Event, ev.Detail = authd.EventBackchannelLogoutSent, fmt.Sprintf("client %s, attempt %d", m.ClientID, m.Attempts)
		p.audit(ctx, ev)
		return
	}
	now := p.cfg.Now()
	next := now.Add(BackchannelDelay(m.Attempts))
	ev.Event = authd.EventBackchannelLogoutFailed
	if next.Sub(m.CreatedAt) > BackchannelRetryFor {
		if derr := p.st.Outbox.DeleteMessage(ctx, m.ID); derr != nil {
			p.log.WarnContext(ctx, "oidc: back-channel logout: cannot delete a message given up", "err", derr)
		}
		ev.Detail = fmt.Sprintf("client %s, attempt %d: %v; given up", m.ClientID, m.Attempts, err)
	} else {
		if rerr := p.st.Outbox.Reschedule(ctx, m.ID, next, err.Error()); rerr != nil {
			p.log.WarnContext(ctx, "oidc: back-channel logout: cannot reschedule", "err", rerr)
		}
		ev.Detail = fmt.Sprintf("client %s, attempt %d: %v; retrying in %s", m.ClientID, m.Attempts, err, next.Sub(now))
	}
	p.audit(ctx, ev)
}

// post sends one logout token (Back-Channel Logout 1.0 §2.5): a form
// POST, success being a 200 (or any 2xx).
func (p *Provider) post(ctx context.Context, m *authd.OutboxMessage) error {
	// A token is signed per attempt, so that a retry minutes later is not
	// refused as expired.
	tok, err := p.tokens.SignLogoutToken(m.ClientID, m.UserID, m.SessionID)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.Target, strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.http.Do(req)
	if err != nil {
		return errors.New("cannot reach the client") // the error text may hold the URL; keep the log short
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the client answered %d", resp.StatusCode)
	}
	return nil
}

// LogoutRequest is a checked RP-initiated logout request (OpenID Connect
// RP-Initiated Logout 1.0 §2).
type LogoutRequest struct {
	// Hint is the verified id_token_hint; nil when none was sent or it
	// did not verify.
	Hint *token.IDTokenHint
	// Client is the client the request comes from, when it named one
	// (client_id or the hint's aud).
	Client *authd.Client
	// Redirect is where to send the browser once signed out: the
	// registered post_logout_redirect_uri with state; "" for authd's own
	// "signed out" page.
	Redirect string
}

// ParseLogout checks an RP-initiated logout request's parameters. A
// post_logout_redirect_uri that is not exactly registered for the client
// is an error (a *PageError): nothing is redirected to it.
func (p *Provider) ParseLogout(ctx context.Context, q url.Values) (*LogoutRequest, error) {
	lr := &LogoutRequest{}
	if raw := q.Get("id_token_hint"); raw != "" {
		if h, err := p.tokens.VerifyIDTokenHint(ctx, raw); err == nil {
			lr.Hint = h
		}
	}
	clientID := q.Get("client_id")
	if lr.Hint != nil && len(lr.Hint.Audience) == 1 {
		if clientID != "" && clientID != lr.Hint.Audience[0] {
			return nil, &PageError{"client_id is not the audience of id_token_hint"}
		}
		clientID = lr.Hint.Audience[0]
	}
	if clientID != "" {
		cl, err := p.pageClient(ctx, clientID)
		if err != nil {
			return nil, err
		}
		lr.Client = cl
	}
	if uri := q.Get("post_logout_redirect_uri"); uri != "" {
		if lr.Client == nil || !slices.Contains(lr.Client.PostLogoutRedirectURIs, uri) {
			return nil, &PageError{"the post_logout_redirect_uri is not registered for this client"}
		}
		lr.Redirect = uri
		if st := q.Get("state"); st != "" && len(st) <= maxStateLen {
			sep := "?"
			if strings.Contains(uri, "?") {
				sep = "&"
			}
			lr.Redirect += sep + url.Values{"state": {st}}.Encode()
		}
	}
	return lr, nil
}

// ConnectedApp is a client the user approved, for the account page.
type ConnectedApp struct {
	ClientID  string
	Name      string
	Scopes    []string
	GrantedAt time.Time
}

// ConnectedApps lists the user's consents.
func (p *Provider) ConnectedApps(ctx context.Context, userID string) ([]ConnectedApp, error) {
	cs, err := p.st.Consents.ListConsents(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("oidc: list consents: %w", err)
	}
	apps := make([]ConnectedApp, 0, len(cs))
	for _, c := range cs {
		a := ConnectedApp{ClientID: c.ClientID, Name: c.ClientID, Scopes: c.Scopes, GrantedAt: c.GrantedAt}
		if cl, err := p.clients.Get(ctx, c.ClientID); err == nil && cl.Name != "" {
			a.Name = cl.Name
		}
		apps = append(apps, a)
	}
	return apps, nil
}

// RevokeConsent withdraws the user's consent for the client and revokes
// the refresh families the user granted it, with their access tokens.
// An unknown consent is authd.ErrNotFound.
func (p *Provider) RevokeConsent(ctx context.Context, userID, sessionID, clientID string) error {
	if err := p.st.Consents.DeleteConsent(ctx, userID, clientID); err != nil {
		return fmt.Errorf("oidc: revoke consent: %w", err)
	}
	if err := p.tokens.RevokeClient(ctx, userID, clientID); err != nil {
		return err
	}
	p.audit(ctx, authd.AuditEvent{Event: authd.EventConsentRevoked, UserID: userID, SessionID: sessionID, Detail: "client " + clientID})
	return nil
}

// UserInfo answers /oauth2/userinfo for a verified access token that
// carries the openid scope (OpenID Connect Core §5.3): sub, and email,
// email_verified with the email scope, roles with the roles scope. A
// token without openid, a client's own token and a deleted or locked
// user are authd.ErrUnauthenticated.
func (p *Provider) UserInfo(ctx context.Context, c *authd.Claims) (map[string]any, error) {
	scopes := strings.Fields(c.Scope)
	if c.ForClient() || !slices.Contains(scopes, ScopeOpenID) {
		return nil, authd.ErrUnauthenticated
	}
	u, err := p.st.Users.UserByID(ctx, c.Subject)
	switch {
	case errors.Is(err, authd.ErrNotFound):
		return nil, authd.ErrUnauthenticated
	case err != nil:
		return nil, fmt.Errorf("oidc: load user: %w", err)
	case u.Locked:
		return nil, authd.ErrUnauthenticated
	}
	out := map[string]any{"sub": u.ID}
	if slices.Contains(scopes, ScopeEmail) {
		out["email"], out["email_verified"] = u.Email, u.EmailVerified
	}
	if slices.Contains(scopes, ScopeRoles) {
		roles := u.Roles
		if roles == nil {
			roles = []string{}
		}
		out["roles"] = roles
	}
	return out, nil
}
