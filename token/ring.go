package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/periodic"
)

// unknownKIDReloadEvery rate-limits the reloads an unknown kid triggers, so
// that tokens with random kids cannot hammer the key store.
const unknownKIDReloadEvery = time.Second

// ring is the in-memory key ring: the current signing key and every key
// whose tokens may still be live, reloaded from the KeyStore.
type ring struct {
	ks   authd.KeyStore
	idks authd.IDKeyStore
	// idKey is the ID-token key of an HS256 ring, loaded once: it never
	// changes.
	idKey     *ringKey
	accessTTL time.Duration
	alg       string
	now       func() time.Time
	log       *slog.Logger
	onChange  func()

	state      atomic.Pointer[ringState]
	reloadMu   sync.Mutex
	lastReload atomic.Int64 // time.Now().UnixNano() of the last unknown-kid reload
}

// ringState is one immutable snapshot of the ring.
type ringState struct {
	current     *ringKey
	byKID       map[string]*ringKey
	keys        []*ringKey // current first, then newest first
	jwks        []byte
	algs        []string
	fingerprint string
}

// ensure makes sure the store has a current key, generating one of r.alg
// only when there is none (RSA generation is slow), then loads the ring.
func (r *ring) ensure(ctx context.Context) error {
	now := r.now()
	keys, err := r.ks.Keys(ctx, now.Add(-r.accessTTL))
	if err != nil {
		return fmt.Errorf("token: load keys: %w", err)
	}
	if len(keys) == 0 || !keys[0].RetiredAt.IsZero() {
		k, err := NewKey(r.alg, now)
		if err != nil {
			return err
		}
		if _, err := r.ks.EnsureKey(ctx, k); err != nil {
			return fmt.Errorf("token: ensure key: %w", err)
		}
	}
	return r.load(ctx)
}

// load reads the key ring from the store and swaps it in. An unreadable
// current key is an error (the old ring stays); an unreadable retired key is
// logged and left out.
func (r *ring) load(ctx context.Context) error {
	now := r.now()
	keys, err := r.ks.Keys(ctx, now.Add(-r.accessTTL))
	if err != nil {
		return fmt.Errorf("token: load keys: %w", err)
	}
	if len(keys) == 0 || !keys[0].RetiredAt.IsZero() {
		return errors.New("token: the key store has no current key")
	}
	st := &ringState{byKID: make(map[string]*ringKey, len(keys))}
	var fp strings.Builder
	for i, k := range keys {
		rk, err := parseKey(k, r.accessTTL)
		if err == nil && i == 0 && rk.signer == nil {
			err = fmt.Errorf("token: current key %s has no private part", k.ID)
		}
		if err != nil {
			if i == 0 {
				return err
			}
			r.log.Error("token: skipping unreadable retired key", "kid", k.ID, "err", err)
			continue
		}
		if !rk.usable(now) || st.byKID[rk.kid] != nil {
			continue
		}
		if i == 0 {
			st.current = rk
		}
		st.byKID[rk.kid] = rk
		st.keys = append(st.keys, rk)
		fmt.Fprintf(&fp, "%s/%s/%d;", rk.kid, rk.alg, rk.retiredAt.UnixNano())
		if !slices.Contains(st.algs, rk.alg) {
			st.algs = append(st.algs, rk.alg)
		}
	}
	if st.current.alg == authd.AlgHS256 && r.idks != nil {
		if err := r.loadIDKey(ctx); err != nil {
			return err
		}
		st.byKID[r.idKey.kid] = r.idKey
		st.keys = append(st.keys, r.idKey)
		fmt.Fprintf(&fp, "id:%s;", r.idKey.kid)
	}
	st.jwks = jwksJSON(st.keys)
	st.fingerprint = fp.String()
	old := r.state.Swap(st)
	if old != nil && old.fingerprint != st.fingerprint {
		if old.current.kid != st.current.kid {
			r.log.Info("token: new signing key", "kid", st.current.kid, "alg", st.current.alg)
		}
		if r.onChange != nil {
			r.onChange()
		}
	}
	return nil
}

// lookup returns the key named kid, reloading the ring once (rate-limited,
// never concurrently) when the kid is unknown: a node that has not yet
// seen a rotation done elsewhere accepts the new key's tokens at once.
func (r *ring) lookup(ctx context.Context, kid []byte) *ringKey {
	if k := r.state.Load().byKID[string(kid)]; k != nil {
		return k
	}
	last := r.lastReload.Load()
	nowNS := time.Now().UnixNano()
	if nowNS-last < int64(unknownKIDReloadEvery) || !r.lastReload.CompareAndSwap(last, nowNS) {
		return nil
	}
	if !r.reloadMu.TryLock() {
		return nil
	}
	defer r.reloadMu.Unlock()
	if err := r.load(ctx); err != nil {
		r.log.Warn("token: key reload on unknown kid failed", "err", err)
	}
	return r.state.Load().byKID[string(kid)]
}

// run reloads the ring every interval until ctx is done.
func (r *ring) run(ctx context.Context, every time.Duration) {
	repeat(ctx, every, r.log, "token: key reload failed", "token: key reload recovered", func(ctx context.Context) error {
		r.reloadMu.Lock()
		defer r.reloadMu.Unlock()
		return r.load(ctx)
	})
}

// repeat calls f every interval until ctx is done. The first failure of an
// outage is logged as failed (an error), the first success after it as
// recovered, once each: an outage is one line, not one a tick.
func repeat(ctx context.Context, every time.Duration, log *slog.Logger, failed, recovered string, f func(context.Context) error) {
	failing := false
	periodic.Every(ctx, every, func(ctx context.Context) {
		err := f(ctx)
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			log.Error(failed, "err", err)
			failing = true
		case err == nil && failing:
			log.Info(recovered)
			failing = false
		}
	})
}

// loadIDKey makes sure the store has the ID-token key (an ES256 key made
// only when there is none) and keeps it in r.idKey.
func (r *ring) loadIDKey(ctx context.Context) error {
	if r.idKey != nil {
		return nil
	}
	k, err := NewKey(authd.AlgES256, r.now())
	if err != nil {
		return err
	}
	stored, err := r.idks.EnsureIDKey(ctx, k)
	if err != nil {
		return fmt.Errorf("token: ensure the ID-token key: %w", err)
	}
	rk, err := parseKey(stored, r.accessTTL)
	if err != nil {
		return err
	}
	if rk.alg == authd.AlgHS256 || rk.signer == nil {
		return fmt.Errorf("token: the ID-token key %s is not an asymmetric key with a private part", stored.ID)
	}
	rk.idOnly = true
	r.idKey = rk
	return nil
}
