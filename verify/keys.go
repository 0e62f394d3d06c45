package verify

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/authd/authd/internal/jws"
)

const (
	// fetchTimeout bounds a discovery or JWKS request.
	fetchTimeout = 10 * time.Second
	// defaultKeysMaxAge is how long a JWKS is kept when its response has
	// no usable Cache-Control max-age.
	defaultKeysMaxAge = 5 * time.Minute
	// maxKeysMaxAge caps what Cache-Control may ask for.
	maxKeysMaxAge = 24 * time.Hour
	// maxJWKSBytes bounds the JWKS response.
	maxJWKSBytes = 1 << 20
)

// key is one verification key with its single algorithm.
type key struct {
	kid    string
	alg    string
	method jwt.SigningMethod
	pub    any // ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey or []byte (HS256)
}

// keySet is an immutable set of keys by kid.
type keySet struct {
	byKID   map[string]*key
	expires time.Time // when the JWKS should be fetched again (Cache-Control max-age)
}

// fetchKeys fetches the JWKS and makes it the current set. Callers other
// than New hold fetchMu.
func (v *Verifier) fetchKeys(ctx context.Context) error {
	now := v.cfg.now()
	v.lastFetch = now
	body, h, err := v.get(ctx, v.jwksURL, maxJWKSBytes, fetchTimeout)
	if err != nil {
		return fmt.Errorf("verify: JWKS: %w", err)
	}
	old := v.keys.Load()
	set, err := v.parseJWKS(body, old)
	if err != nil {
		return fmt.Errorf("verify: JWKS: %w", err)
	}
	set.expires = now.Add(maxAge(h.Get("Cache-Control")))
	v.keys.Store(set)
	return nil
}

// refetchForKID fetches the JWKS for a kid we do not hold (authd rotated
// its key), at most once per KeyRefetchInterval whatever the kids asked
// for, and returns the key or nil.
//
// NOTE: the rate limit is what keeps a flood of tokens with made-up kids
// from turning into a flood of requests to authd.
func (v *Verifier) refetchForKID(ctx context.Context, kid string) *key {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	if k := v.keys.Load().byKID[kid]; k != nil { // fetched while we waited
		return k
	}
	if v.cfg.now().Sub(v.lastFetch) < KeyRefetchInterval {
		return nil
	}
	// The fetch is shared by every caller waiting on fetchMu: one client
	// giving up must not cancel it for the others.
	if err := v.fetchKeys(context.WithoutCancel(ctx)); err != nil {
		v.cfg.log.Warn("verify: JWKS refetch for an unknown kid failed", "err", err)
		return nil
	}
	return v.keys.Load().byKID[kid]
}

// refreshKeys fetches the JWKS again whenever its max-age has passed, until
// ctx is done. A failure keeps the keys held and is retried with backoff.
func (v *Verifier) refreshKeys(ctx context.Context) {
	failures := 0
	for {
		wait := v.keys.Load().expires.Sub(v.cfg.now())
		if failures > 0 {
			wait = backoff(failures, KeyRefetchInterval, 5*time.Minute)
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		v.fetchMu.Lock()
		var err error
		if failures > 0 || !v.cfg.now().Before(v.keys.Load().expires) {
			err = v.fetchKeys(ctx)
		}
		v.fetchMu.Unlock()
		switch {
		case err != nil && ctx.Err() == nil:
			if failures == 0 {
				v.cfg.log.Warn("verify: JWKS refresh failed; keeping the keys held", "err", err)
			}
			failures++
		case err == nil:
			failures = 0
		}
	}
}

// maxAge reads max-age from a Cache-Control header: the time to keep the
// JWKS, between KeyRefetchInterval and maxKeysMaxAge, defaultKeysMaxAge
// when absent. no-store and no-cache count as 0 (then the floor).
func maxAge(cc string) time.Duration {
	d := defaultKeysMaxAge
	for _, dir := range strings.Split(cc, ",") {
		name, val, _ := strings.Cut(strings.TrimSpace(dir), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return KeyRefetchInterval
		case "max-age":
			n, err := strconv.ParseUint(strings.Trim(val, `"`), 10, 32)
			if err != nil {
				continue
			}
			d = time.Duration(n) * time.Second
		}
	}
	return min(max(d, KeyRefetchInterval), maxKeysMaxAge)
}

// parseJWKS builds a key set from a JWKS document plus the WithHMACSecret
// keys. Keys it cannot use are skipped (and logged): an unknown kty or alg
// is a newer authd's business, not an error. A key equal to one in old is
// kept as the same *key, so that cached tokens stay valid across fetches.
//
// NOTE: the members are parsed one by one rather than as a
// jose.JSONWebKeySet, which would refuse the whole set for one member it
// cannot read (RFC 7517 §5 says to ignore such members).
func (v *Verifier) parseJWKS(body []byte, old *keySet) (*keySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	if doc.Keys == nil {
		return nil, errors.New(`no "keys" array`)
	}
	set := &keySet{byKID: make(map[string]*key, len(doc.Keys)+len(v.cfg.hmac))}
	dup := map[string]bool{}
	for _, raw := range doc.Keys {
		k, err := parseJWK(raw)
		if err != nil {
			var id struct {
				Kid string `json:"kid"`
			}
			_ = json.Unmarshal(raw, &id)
			v.cfg.log.Warn("verify: JWKS member skipped", "kid", id.Kid, "reason", err.Error())
			continue
		}
		if _, ok := v.cfg.hmac[k.kid]; ok {
			v.cfg.log.Warn("verify: JWKS member skipped", "kid", k.kid, "reason", "the kid of a WithHMACSecret key")
			continue
		}
		if set.byKID[k.kid] != nil || dup[k.kid] {
			// NOTE: two keys under one kid make kid ambiguous: use neither.
			delete(set.byKID, k.kid)
			dup[k.kid] = true
			v.cfg.log.Warn("verify: JWKS member skipped", "kid", k.kid, "reason", "duplicate kid")
			continue
		}
		if old != nil {
			if o := old.byKID[k.kid]; o != nil && o.alg == k.alg && sameKey(o.pub, k.pub) {
				k = o
			}
		}
		set.byKID[k.kid] = k
	}
	for kid, secret := range v.cfg.hmac {
		if old != nil && old.byKID[kid] != nil {
			set.byKID[kid] = old.byKID[kid]
			continue
		}
		set.byKID[kid] = &key{kid: kid, alg: "HS256", method: jwt.SigningMethodHS256, pub: secret}
	}
	return set, nil
}

// sameKey reports whether two public keys of one algorithm are equal.
func sameKey(a, b any) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

// parseJWK builds a verification key from one JWKS member. go-jose parses
// the key and checks its material (RFC 7517, 7518, 8037): EC points on
// their curve with coordinates of the curve's size, Ed25519 keys of 32
// bytes and not of low order, RSA moduli of at most 4096 bits, e at least
// 2. What it leaves to us is checked here, each with its reason.
func parseJWK(raw []byte) (*key, error) {
	var j jose.JSONWebKey
	if err := j.UnmarshalJSON(raw); err != nil {
		return nil, err
	}
	// NOTE: go-jose does not read key_ops (RFC 7517 §4.3); a key its
	// publisher restricted to other operations is not used to verify.
	var ops struct {
		KeyOps []string `json:"key_ops"`
	}
	if err := json.Unmarshal(raw, &ops); err != nil {
		return nil, fmt.Errorf("key_ops: %w", err)
	}
	switch {
	case j.KeyID == "" || len(j.KeyID) > jws.MaxKIDLen:
		// NOTE: kid selects the key (SECURITY J2); a key without one, or
		// with one no token could carry, can never be chosen.
		return nil, errors.New("no usable kid")
	case j.Use != "" && j.Use != "sig":
		return nil, errors.New("use is not sig")
	case ops.KeyOps != nil && !slices.Contains(ops.KeyOps, "verify"):
		return nil, errors.New("key_ops lacks verify")
	case !j.IsPublic():
		// NOTE: go-jose parses private and symmetric keys too; a published
		// private or symmetric key is a leak or a trap, never a
		// verification key. HS256 secrets come only through WithHMACSecret
		// (SECURITY J10).
		return nil, errors.New("carries private or symmetric key material")
	}
	// NOTE: each key is pinned to exactly one algorithm, the alg it names,
	// and its material must fit that algorithm exactly, so that a token's
	// alg can never make a key serve another algorithm (SECURITY J1). go-jose
	// leaves alg unchecked: an EC key of any curve or any key under any alg
	// would parse.
	k := &key{kid: j.KeyID, alg: j.Algorithm, method: jws.Method(j.Algorithm), pub: j.Key}
	switch j.Algorithm {
	case "EdDSA":
		if _, ok := j.Key.(ed25519.PublicKey); !ok {
			return nil, errors.New("EdDSA key is not an OKP Ed25519 key")
		}
	case "ES256":
		if pub, ok := j.Key.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
			return nil, errors.New("ES256 key is not an EC P-256 key")
		}
	case "RS256":
		pub, ok := j.Key.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("RS256 key is not an RSA key")
		}
		// NOTE: go-jose caps the modulus (4096 bits, jws.MaxRSABits) but
		// sets no floor; authd's keys have 2048 bits and fewer are weak.
		if bits := pub.N.BitLen(); bits < jws.MinRSABits {
			return nil, fmt.Errorf("RSA modulus of %d bits, under %d", bits, jws.MinRSABits)
		}
		// NOTE: crypto/rsa refuses an even modulus, and an exponent that is
		// even, under 3 or over 2^31-1, at every verification; refusing
		// such a key here skips it (logged) instead of holding a key that
		// fails every token.
		if pub.E < 3 || pub.E%2 == 0 || pub.E > 1<<31-1 || pub.N.Bit(0) == 0 {
			return nil, errors.New("RSA exponent or modulus is not usable")
		}
	case "":
		return nil, errors.New("no alg (the algorithm is pinned to the key: it must be named)")
	default:
		// HS256 too: a secret is never taken from a JWKS.
		return nil, fmt.Errorf("alg %q is not one verify knows", j.Algorithm)
	}
	return k, nil
}

// get fetches url with its own deadline and returns a body of at most
// limit bytes from a 200 answer.
func (v *Verifier) get(ctx context.Context, url string, limit int64, timeout time.Duration) ([]byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.cfg.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		return nil, resp.Header, &statusError{url: url, code: resp.StatusCode}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, resp.Header, err
	}
	if int64(len(body)) > limit {
		return nil, resp.Header, fmt.Errorf("GET %s: response larger than %d bytes", url, limit)
	}
	return body, resp.Header, nil
}

// statusError is an answer other than 200.
type statusError struct {
	url  string
	code int
}

func (e *statusError) Error() string { return fmt.Sprintf("GET %s: status %d", e.url, e.code) }
