package token_test

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/token"
)

func TestRefresh(t *testing.T) {
	t.Run("rotation", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA)
		p0, err := e.svc.IssuePair(e.ctx, e.user, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(p0.RefreshToken) != 43 || p0.TokenType != "Bearer" || p0.ExpiresIn != 900 {
			t.Fatalf("pair = %+v", p0)
		}
		e.clock.Advance(time.Minute)
		p1, err := e.svc.Refresh(e.ctx, p0.RefreshToken, "")
		if err != nil {
			t.Fatal(err)
		}
		if p1.RefreshToken == p0.RefreshToken || len(p1.RefreshToken) != 43 {
			t.Fatalf("successor %q", p1.RefreshToken)
		}
		if p1.Claims.SessionID != p0.Claims.SessionID || p1.Claims.Subject != e.user.ID || p1.Claims.Email != e.user.Email {
			t.Errorf("claims = %+v", p1.Claims)
		}
		if _, err := e.svc.Verify(e.ctx, p1.AccessToken); err != nil {
			t.Fatal(err)
		}
		f, err := e.db.FamilyByID(e.ctx, p0.Claims.SessionID)
		if err != nil {
			t.Fatal(err)
		}
		if f.Generation != 2 || !f.RotatedAt.Equal(e.clock.Now()) || !f.LastUsedAt.Equal(e.clock.Now()) || f.Revoked() {
			t.Errorf("family = %+v", f)
		}
		e.clock.Advance(time.Minute)
		p2, err := e.svc.Refresh(e.ctx, p1.RefreshToken, "")
		if err != nil || p2.RefreshToken == p1.RefreshToken {
			t.Fatalf("second rotation: %v", err)
		}
		if e.audit.count(authd.EventRefreshRotated) != 2 {
			t.Errorf("refresh_rotated events: %d", e.audit.count(authd.EventRefreshRotated))
		}
	})

	t.Run("audience narrowing is kept", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA)
		p0, err := e.svc.IssuePair(e.ctx, e.user, []string{"other"})
		if err != nil {
			t.Fatal(err)
		}
		p1, err := e.svc.Refresh(e.ctx, p0.RefreshToken, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []*authd.Claims{p0.Claims, p1.Claims} {
			if !slices.Equal(c.Audience, []string{"other"}) {
				t.Errorf("aud = %v", c.Audience)
			}
		}
		if _, err := e.svc.IssuePair(e.ctx, e.user, []string{"api", "evil"}); !errors.Is(err, token.ErrInvalidTarget) {
			t.Errorf("unknown resource: err = %v", err)
		}
	})

	t.Run("retry inside grace returns the identical successor", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA)
		p0, _ := e.svc.IssuePair(e.ctx, e.user, nil)
		p1, err := e.svc.Refresh(e.ctx, p0.RefreshToken, "")
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(e.cfg.RefreshGrace)
		p1b, err := e.svc.Refresh(e.ctx, p0.RefreshToken, "")
		if err != nil {
			t.Fatalf("retry inside grace: %v", err)
		}
		if p1b.RefreshToken != p1.RefreshToken {
			t.Fatal("retry got a different successor")
		}
		if p1b.AccessToken == p1.AccessToken || p1b.Claims.ID == p1.Claims.ID {
			t.Error("retry should get a new access token")
		}
		f, _ := e.db.FamilyByID(e.ctx, p0.Claims.SessionID)
		if f.Generation != 2 || f.Revoked() {
			t.Errorf("family = %+v", f)
		}
		// the successor is still live and rotates normally
		if _, err := e.svc.Refresh(e.ctx, p1.RefreshToken, ""); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("reuse after grace kills the family and only that family", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA)
		pA, _ := e.svc.IssuePair(e.ctx, e.user, nil)
		pB, _ := e.svc.IssuePair(e.ctx, e.user, nil) // another device of the same user
		sess, _ := e.svc.IssueForSession(e.ctx, &authd.Session{ID: "sess-x", UserID: e.user.ID, Email: e.user.Email})
		pA1, err := e.svc.Refresh(e.ctx, pA.RefreshToken, "")
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(e.cfg.RefreshGrace + time.Second)
		_, err = e.svc.Refresh(e.ctx, pA.RefreshToken, "")
		if !errors.Is(err, authd.ErrInvalidGrant) || !errors.Is(err, token.ErrReuseDetected) {
			t.Fatalf("reuse: err = %v", err)
		}
		f, _ := e.db.FamilyByID(e.ctx, pA.Claims.SessionID)
		if !f.Revoked() {
			t.Fatal("family not revoked in the store")
		}
		if e.audit.count(authd.EventRefreshReuseDetected) != 1 {
			t.Error("no refresh_reuse_detected event")
		}
		// the live successor is dead too
		if _, err := e.svc.Refresh(e.ctx, pA1.RefreshToken, ""); !errors.Is(err, authd.ErrInvalidGrant) {
			t.Errorf("successor after reuse: err = %v", err)
		}
		// the family's access tokens are refused, on this node at once and
		// on another node after its revocation sync
		other := e.newService()
		for _, raw := range []string{pA.AccessToken, pA1.AccessToken} {
			if _, err := e.svc.Verify(e.ctx, raw); !errors.Is(err, authd.ErrUnauthenticated) {
				t.Errorf("family access token: err = %v", err)
			}
			if _, err := other.Verify(e.ctx, raw); !errors.Is(err, authd.ErrUnauthenticated) {
				t.Errorf("family access token on another node: err = %v", err)
			}
		}
		// the other family and the session token of the same user live on
		if _, err := e.svc.Verify(e.ctx, pB.AccessToken); err != nil {
			t.Errorf("other family's access token: %v", err)
		}
		if _, err := e.svc.Verify(e.ctx, sess.AccessToken); err != nil {
			t.Errorf("session token: %v", err)
		}
		if _, err := e.svc.Refresh(e.ctx, pB.RefreshToken, ""); err != nil {
			t.Errorf("other family refresh: %v", err)
		}
	})

	t.Run("older generation is reuse even inside grace", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA)
		p0, _ := e.svc.IssuePair(e.ctx, e.user, nil)
		p1, _ := e.svc.Refresh(e.ctx, p0.RefreshToken, "")
		if _, err := e.svc.Refresh(e.ctx, p1.RefreshToken, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Refresh(e.ctx, p0.RefreshToken, ""); !errors.Is(err, token.ErrReuseDetected) {
			t.Fatalf("generation-2 token: err = %v", err)
		}
	})

	t.Run("zero grace: any second presentation is reuse", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA, func(c *token.Config) { c.RefreshGrace = 0 })
		p0, _ := e.svc.IssuePair(e.ctx, e.user, nil)
		if _, err := e.svc.Refresh(e.ctx, p0.RefreshToken, ""); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Second)
		if _, err := e.svc.Refresh(e.ctx, p0.RefreshToken, ""); !errors.Is(err, token.ErrReuseDetected) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("20 concurrent refreshes of one token yield one successor", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA)
		p0, _ := e.svc.IssuePair(e.ctx, e.user, nil)
		const n = 20
		var wg sync.WaitGroup
		results := make([]string, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				p, err := e.svc.Refresh(e.ctx, p0.RefreshToken, "")
				results[i], errs[i] = p.RefreshToken, err
			}()
		}
		close(start)
		wg.Wait()
		var successor string
		for i := range n {
			if errs[i] != nil {
				t.Errorf("refresh %d: %v", i, errs[i])
				continue
			}
			if successor == "" {
				successor = results[i]
			} else if results[i] != successor {
				t.Fatalf("two distinct successors: %q and %q", successor, results[i])
			}
		}
		f, _ := e.db.FamilyByID(e.ctx, p0.Claims.SessionID)
		if f.Generation != 2 || f.Revoked() {
			t.Fatalf("family generation %d revoked %v; want 2, live", f.Generation, f.Revoked())
		}
		if _, err := e.svc.Refresh(e.ctx, successor, ""); err != nil {
			t.Fatalf("the successor is not live: %v", err)
		}
	})

	t.Run("expired family", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA, func(c *token.Config) { c.RefreshTTL = time.Hour; c.RefreshIdle = time.Hour })
		p0, _ := e.svc.IssuePair(e.ctx, e.user, nil)
		e.clock.Advance(50 * time.Minute)
		p1, err := e.svc.Refresh(e.ctx, p0.RefreshToken, "")
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(10 * time.Minute) // absolute end, though used 10 min ago
		if _, err := e.svc.Refresh(e.ctx, p1.RefreshToken, ""); !errors.Is(err, authd.ErrInvalidGrant) || errors.Is(err, token.ErrReuseDetected) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("idle family", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA, func(c *token.Config) { c.RefreshIdle = time.Hour })
		p0, _ := e.svc.IssuePair(e.ctx, e.user, nil)
		e.clock.Advance(59 * time.Minute)
		p1, err := e.svc.Refresh(e.ctx, p0.RefreshToken, "")
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Hour + time.Second)
		if _, err := e.svc.Refresh(e.ctx, p1.RefreshToken, ""); !errors.Is(err, authd.ErrInvalidGrant) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("revoked family", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA)
		p0, _ := e.svc.IssuePair(e.ctx, e.user, nil)
		if err := e.svc.RevokeRefreshToken(e.ctx, p0.RefreshToken); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Refresh(e.ctx, p0.RefreshToken, ""); !errors.Is(err, authd.ErrInvalidGrant) {
			t.Fatalf("err = %v", err)
		}
		if _, err := e.svc.Verify(e.ctx, p0.AccessToken); !errors.Is(err, authd.ErrUnauthenticated) {
			t.Errorf("family access token after RFC 7009 revoke: err = %v", err)
		}
		// revoking again and revoking unknown tokens are not errors
		for _, tok := range []string{p0.RefreshToken, strings.Repeat("A", 43), "junk", ""} {
			if err := e.svc.RevokeRefreshToken(e.ctx, tok); err != nil {
				t.Errorf("revoke %q: %v", tok, err)
			}
		}
	})

	t.Run("locked user", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA)
		p0, _ := e.svc.IssuePair(e.ctx, e.user, nil)
		if err := e.db.SetLocked(e.ctx, e.user.ID, true, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Refresh(e.ctx, p0.RefreshToken, ""); !errors.Is(err, authd.ErrInvalidGrant) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("RevokeUser", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA)
		bob := e.newUser("bob")
		pA, _ := e.svc.IssuePair(e.ctx, e.user, nil)
		pB, _ := e.svc.IssuePair(e.ctx, e.user, nil)
		pBob, _ := e.svc.IssuePair(e.ctx, bob, nil)
		if err := e.svc.RevokeUser(e.ctx, e.user.ID); err != nil {
			t.Fatal(err)
		}
		for _, p := range []token.Pair{pA, pB} {
			if _, err := e.svc.Refresh(e.ctx, p.RefreshToken, ""); !errors.Is(err, authd.ErrInvalidGrant) {
				t.Errorf("refresh after RevokeUser: %v", err)
			}
			if _, err := e.svc.Verify(e.ctx, p.AccessToken); !errors.Is(err, authd.ErrUnauthenticated) {
				t.Errorf("verify after RevokeUser: %v", err)
			}
		}
		if _, err := e.svc.Refresh(e.ctx, pBob.RefreshToken, ""); err != nil {
			t.Errorf("another user's family: %v", err)
		}
	})

	t.Run("malformed input", func(t *testing.T) {
		e := newEnv(t, authd.AlgEdDSA)
		p0, _ := e.svc.IssuePair(e.ctx, e.user, nil)
		for _, tok := range []string{
			"", "x", strings.Repeat("A", 42), strings.Repeat("A", 44), strings.Repeat("A", 1<<20),
			p0.RefreshToken + "=", "+" + p0.RefreshToken[1:], p0.RefreshToken[:42] + "B", // non-zero trailing bits
			p0.AccessToken, "\x00\xff" + p0.RefreshToken[2:], strings.ToUpper(p0.RefreshToken),
		} {
			if _, err := e.svc.Refresh(e.ctx, tok, ""); !errors.Is(err, authd.ErrInvalidGrant) {
				t.Errorf("Refresh(%.50q) err = %v", tok, err)
			}
		}
		if _, err := e.svc.Refresh(e.ctx, p0.RefreshToken, ""); err != nil {
			t.Fatalf("the real token after garbage: %v", err)
		}
	})
}

func TestRevokeAccessToken(t *testing.T) {
	e := newEnv(t, authd.AlgES256)
	raw, c := e.issue()
	raw2, _ := e.issue()
	if err := e.svc.Revoke(e.ctx, raw); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Verify(e.ctx, raw); !errors.Is(err, authd.ErrUnauthenticated) {
		t.Fatalf("revoked token: err = %v", err)
	}
	if _, err := e.svc.Verify(e.ctx, raw2); err != nil {
		t.Fatalf("other token: %v", err)
	}
	// the entry lives until the token's exp plus the largest leeway
	entries, _, err := e.db.RevokedSince(e.ctx, "", e.clock.Now())
	if err != nil || len(entries) != 1 || entries[0].Kind != authd.RevokeJTI || entries[0].ID != c.ID || !entries[0].ExpiresAt.Equal(c.ExpiresAt.Add(token.MaxLeeway)) {
		t.Fatalf("revocations = %+v, %v", entries, err)
	}
	// Past exp but inside the leeway the token would verify again if its
	// entry had died at exp: it must stay refused.
	{
		e.clock.Advance(c.ExpiresAt.Sub(e.clock.Now()) + 20*time.Second)
		if err := e.svc.Revocations().Sync(e.ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.Verify(e.ctx, raw); !errors.Is(err, authd.ErrUnauthenticated) {
			t.Fatalf("revoked token inside the leeway after exp: %v", err)
		}
		if _, err := e.svc.Verify(e.ctx, raw2); err != nil {
			t.Fatalf("unrevoked token inside the leeway: %v", err)
		}
	}
	for _, tok := range []string{"", "garbage", raw, flipLastSigByte(raw2), strings.Repeat("a.", 5000)} {
		if err := e.svc.RevokeAccessToken(e.ctx, tok); err != nil {
			t.Errorf("RevokeAccessToken(%.40q) = %v", tok, err)
		}
	}
	if _, err := e.svc.Verify(e.ctx, raw2); err != nil {
		t.Fatalf("a forged copy revoked the real token: %v", err)
	}
	// RevokeSID kills a session's tokens
	sess, _ := e.svc.IssueForSession(e.ctx, &authd.Session{ID: "sess-1", UserID: e.user.ID})
	if err := e.svc.RevokeSID(e.ctx, "sess-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Verify(e.ctx, sess.AccessToken); !errors.Is(err, authd.ErrUnauthenticated) {
		t.Fatalf("session token after RevokeSID: %v", err)
	}
}

func TestIntrospect(t *testing.T) {
	e := newEnv(t, authd.AlgEdDSA)
	p0, _ := e.svc.IssuePair(e.ctx, e.user, nil)
	r, err := e.svc.Introspect(e.ctx, p0.AccessToken)
	if err != nil || !r.Active || r.Subject != e.user.ID || r.Username != e.user.Email || r.TokenType != "Bearer" ||
		r.JTI != p0.Claims.ID || r.SessionID != p0.Claims.SessionID || r.ExpiresAt != p0.Claims.ExpiresAt.Unix() || r.Issuer != testIssuer {
		t.Fatalf("access: %+v %v", r, err)
	}
	r, err = e.svc.Introspect(e.ctx, p0.RefreshToken)
	if err != nil || !r.Active || r.Subject != e.user.ID || r.Username != e.user.Email || r.TokenUse != "refresh_token" || r.SessionID != p0.Claims.SessionID {
		t.Fatalf("refresh: %+v %v", r, err)
	}
	// introspection changes nothing: the token still rotates normally
	p1, err := e.svc.Refresh(e.ctx, p0.RefreshToken, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{p0.RefreshToken, "", "junk", strings.Repeat("A", 43), flipLastSigByte(p0.AccessToken)} {
		r, err := e.svc.Introspect(e.ctx, tok)
		if err != nil || r.Active || r.Subject != "" {
			t.Errorf("Introspect(%.40q) = %+v, %v", tok, r, err)
		}
	}
	if r, _ := e.svc.Introspect(e.ctx, p1.RefreshToken); !r.Active {
		t.Error("successor inactive")
	}
}
