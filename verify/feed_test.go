package verify_test

import (
	"errors"
	"testing"
	"time"

	"github.com/authd/authd/verify"
)

// TestRevocation: a revoked jti or sid is refused as soon as the feed
// reports it, cached or not.
func TestRevocation(t *testing.T) {
	ed := newKey(t, "EdDSA")
	is := newIssuer(t, ed)
	v := newVerifier(t, is)
	for _, kind := range []string{"jti", "sid"} {
		t.Run(kind, func(t *testing.T) {
			c := is.claims(time.Now())
			tok := ed.token(t, c)
			sibling := is.claims(time.Now()) // same session, another token
			sibling["sid"] = c["sid"]
			sib := ed.token(t, sibling)
			for _, tk := range []string{tok, sib} { // both cached now
				if _, err := v.Verify(ctx, tk); err != nil {
					t.Fatal(err)
				}
			}
			is.revoke(kind, c[kind].(string), time.Now().Add(15*time.Minute))
			d := eventually(t, time.Second, "revoked token refused", func() bool {
				_, err := v.Verify(ctx, tok)
				return errors.Is(err, verify.ErrInvalidToken)
			})
			t.Logf("refused %s after revocation", d)
			_, err := v.Verify(ctx, sib)
			if kind == "sid" && !errors.Is(err, verify.ErrInvalidToken) {
				t.Fatalf("a token of the revoked session: %v", err)
			}
			if kind == "jti" && err != nil {
				t.Fatalf("another token of the session: %v", err)
			}
		})
	}
}

// TestInitialLoad: entries revoked before New are refused from the start;
// expired entries are not kept.
func TestInitialLoad(t *testing.T) {
	ed := newKey(t, "EdDSA")
	is := newIssuer(t, ed)
	c := is.claims(time.Now())
	is.revoke("jti", c["jti"].(string), time.Now().Add(time.Minute))
	is.revoke("sid", "long-gone", time.Now().Add(-time.Hour))
	v := newVerifier(t, is)
	if _, err := v.Verify(ctx, ed.token(t, c)); !errors.Is(err, verify.ErrInvalidToken) {
		t.Fatalf("token revoked before New: %v", err)
	}
}

// TestFailClosed is the default failure mode: once the feed has not
// answered for longer than the staleness bound, every token gets
// ErrUnavailable (cached ones too), and the verifier recovers by itself.
func TestFailClosed(t *testing.T) {
	ed := newKey(t, "EdDSA")
	is := newIssuer(t, ed)
	clk := newClock()
	v := newVerifier(t, is, verify.WithClock(clk.Now))
	if v.FeedWait() != 5*time.Second/3 {
		t.Fatalf("long-poll wait %s, want max staleness / 3", v.FeedWait())
	}
	tok := ed.token(t, is.claims(clk.Now()))
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	is.setFeedDown(true)
	clk.Advance(verify.DefaultMaxStaleness + time.Millisecond)
	_, err := v.Verify(ctx, tok)
	if !errors.Is(err, verify.ErrUnavailable) || errors.Is(err, verify.ErrInvalidToken) {
		t.Fatalf("Verify with a stale list: %v; want ErrUnavailable", err)
	}
	if err := v.Ready(); !errors.Is(err, verify.ErrUnavailable) {
		t.Fatalf("Ready with a stale list: %v", err)
	}
	// A bad token is still a bad token: 401, not 503.
	if _, err := v.Verify(ctx, "garbage"); !errors.Is(err, verify.ErrInvalidToken) {
		t.Fatalf("Verify garbage with a stale list: %v", err)
	}
	is.setFeedDown(false) // the follower retries from its cursor
	eventually(t, 5*time.Second, "recovery", func() bool {
		_, err := v.Verify(ctx, tok)
		return err == nil
	})
	if err := v.Ready(); err != nil {
		t.Fatalf("Ready after recovery: %v", err)
	}
}

// TestFailOpen: WithFailOpen accepts tokens for a bounded time past the
// staleness bound, revocations known before the outage still apply, then
// fails closed.
func TestFailOpen(t *testing.T) {
	ed := newKey(t, "EdDSA")
	is := newIssuer(t, ed)
	clk := newClock()
	v := newVerifier(t, is, verify.WithClock(clk.Now), verify.WithMaxStaleness(2*time.Second), verify.WithFailOpen(10*time.Second))
	good, revoked := is.claims(clk.Now()), is.claims(clk.Now())
	is.revoke("jti", revoked["jti"].(string), clk.Now().Add(time.Hour))
	eventually(t, time.Second, "revocation seen", func() bool { return v.RevokedLen() == 1 })
	is.setFeedDown(true)

	steps := []struct {
		after time.Duration // since the outage
		want  error         // for the good token
	}{
		{time.Second, nil},
		{2*time.Second + time.Millisecond, nil}, // stale: failing open
		{11 * time.Second, nil},
		{12*time.Second + time.Millisecond, verify.ErrUnavailable}, // fail-open time used up
	}
	start := clk.Now()
	for _, s := range steps {
		clk.Advance(start.Add(s.after).Sub(clk.Now()))
		_, err := v.Verify(ctx, ed.token(t, good))
		if !errors.Is(err, s.want) || (s.want == nil && err != nil) {
			t.Fatalf("%s into the outage: %v; want %v", s.after, err, s.want)
		}
		if s.want == nil {
			if _, err := v.Verify(ctx, ed.token(t, revoked)); !errors.Is(err, verify.ErrInvalidToken) {
				t.Fatalf("%s into the outage, a token revoked before it: %v", s.after, err)
			}
		}
	}
}

// TestFeedResumesFromCursor: after an outage the follower asks for what it
// missed, from its cursor, and sees revocations made during the outage.
func TestFeedResumesFromCursor(t *testing.T) {
	ed := newKey(t, "EdDSA")
	is := newIssuer(t, ed)
	v := newVerifier(t, is)
	c := is.claims(time.Now())
	tok := ed.token(t, c)
	is.setFeedDown(true)
	time.Sleep(50 * time.Millisecond)
	is.mu.Lock() // revoke while the feed is down, without waking anyone
	is.revoked = append(is.revoked, map[string]string{"jti": c["jti"].(string), "exp": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	is.mu.Unlock()
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("before the feed is back: %v", err)
	}
	is.setFeedDown(false)
	eventually(t, 5*time.Second, "revocation made during the outage seen", func() bool {
		_, err := v.Verify(ctx, tok)
		return errors.Is(err, verify.ErrInvalidToken)
	})
}

// TestFeedReloadsOnUnknownCursor: a 400 for the cursor (authd's list was
// reset) makes the follower load the whole list again, dropping what is no
// longer on it.
func TestFeedReloadsOnUnknownCursor(t *testing.T) {
	ed := newKey(t, "EdDSA")
	is := newIssuer(t, ed)
	old, fresh := is.claims(time.Now()), is.claims(time.Now())
	is.revoke("jti", old["jti"].(string), time.Now().Add(time.Hour))
	is.revoke("sid", "s1", time.Now().Add(time.Hour))
	v := newVerifier(t, is)
	if v.RevokedLen() != 2 {
		t.Fatalf("%d entries, want 2", v.RevokedLen())
	}
	is.mu.Lock() // a new list, shorter than our cursor
	is.revoked = []map[string]string{{"jti": fresh["jti"].(string), "exp": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}}
	is.wake()
	is.mu.Unlock()
	eventually(t, 5*time.Second, "the new list loaded", func() bool {
		_, errOld := v.Verify(ctx, ed.token(t, old))
		_, errFresh := v.Verify(ctx, ed.token(t, fresh))
		return errOld == nil && errors.Is(errFresh, verify.ErrInvalidToken)
	})
}

// TestNoNetworkOnVerify: once New has returned, verifying tokens of known
// keys — revocation check included — makes no request to the issuer.
func TestNoNetworkOnVerify(t *testing.T) {
	ed, es := newKey(t, "EdDSA"), newKey(t, "ES256")
	is := newIssuer(t, ed, es)
	for _, cache := range []int{verify.DefaultCacheSize, 0} {
		feed := is.feedHits.Load()
		v := newVerifier(t, is, verify.WithMaxStaleness(time.Minute), verify.WithCacheSize(cache)) // wait 20 s: no poll ends during the test
		// The whole list at New, then the first long-poll under way.
		eventually(t, 5*time.Second, "long-poll sent", func() bool { return is.feedHits.Load() >= feed+2 })
		before := is.requests.Load()
		for i := range 500 {
			k := ed
			if i%2 == 1 {
				k = es
			}
			if _, err := v.Verify(ctx, k.token(t, is.claims(time.Now()))); err != nil {
				t.Fatal(err)
			}
		}
		if n := is.requests.Load() - before; n != 0 {
			t.Fatalf("cache=%d: %d requests to the issuer during 500 verifications", cache, n)
		}
	}
}
