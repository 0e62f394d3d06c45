package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
)

// RunKeyStore runs the KeyStore contract against stores made by newStore,
// which must return a fresh, empty store each time it is called.
func RunKeyStore(t *testing.T, newStore func(t *testing.T) authd.KeyStore) {
	t.Helper()
	ks := keySuite{newStore}
	t.Run("EnsureKey inserts k when there is no current key and returns it", ks.ensureInsertsFirst)
	t.Run("EnsureKey returns the current key and does not insert k when there is one", ks.ensureKeepsCurrent)
	t.Run("EnsureKey returns the rotated-in key after RotateKey", ks.ensureAfterRotate)
	t.Run("EnsureKey from many goroutines ends with one current key", ks.ensureConcurrent)
	t.Run("RotateKey inserts k as current and retires the previous key at k.CreatedAt", ks.rotateRetiresPrevious)
	t.Run("RotateKey with no current key inserts k", ks.rotateWithoutCurrent)
	t.Run("RotateKey ErrConflict when k.ID exists, and nothing changes", ks.rotateConflictOnID)
	t.Run("RotateKey from many goroutines ends with one current key", ks.rotateConcurrent)
	t.Run("Keys returns the current key first, then newest first", ks.keysCurrentThenNewest)
	t.Run("Keys leaves out keys retired at or before retiredAfter", ks.keysLeavesOutRetired)
	t.Run("Keys of an empty store returns none", ks.keysEmpty)
	t.Run("an HS256 key without a public part round-trips", ks.hs256RoundTrips)
	t.Run("honours ctx cancellation", ks.honoursCancellation)
}

// keySuite is what RunKeyStore's subtests share: the constructor of fresh
// stores, and the helpers over a store as methods.
type keySuite struct {
	newStore func(t *testing.T) authd.KeyStore
}

// newKey returns an EdDSA key created at created.
func newKey(created time.Time) *authd.Key {
	priv, pub := NewHash(), NewHash()
	priv[0], pub[0] = 0x30, 0x30
	return &authd.Key{
		ID:        NewID("kid"),
		Alg:       authd.AlgEdDSA,
		Private:   priv,
		Public:    pub,
		CreatedAt: created,
	}
}

// retired returns a copy of k retired at at.
func retired(k *authd.Key, at time.Time) *authd.Key {
	c := *k
	c.RetiredAt = at
	return &c
}

func (keySuite) keys(t *testing.T, s authd.KeyStore, retiredAfter time.Time) []*authd.Key {
	t.Helper()
	list, err := s.Keys(t.Context(), retiredAfter)
	mustOK(t, err, "Keys")
	return list
}

// wantKeys checks the ids and order of got, and the fields of each against
// want.
func (keySuite) wantKeys(t *testing.T, what string, want, got []*authd.Key) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got keys %s, want %s", what, keyIDs(got), keyIDs(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID {
			t.Fatalf("%s: got keys %s, want %s in this order", what, keyIDs(got), keyIDs(want))
		}
		checkKey(t, fmt.Sprintf("%s[%d]", what, i), want[i], got[i])
	}
}

// ensureThenRotate makes first the current key with EnsureKey, then
// rotates second in.
func (keySuite) ensureThenRotate(t *testing.T, s authd.KeyStore, first, second *authd.Key) {
	t.Helper()
	_, err := s.EnsureKey(t.Context(), first)
	mustOK(t, err, "EnsureKey")
	mustOK(t, s.RotateKey(t.Context(), second), "RotateKey")
}

func (ks keySuite) ensureInsertsFirst(t *testing.T) {
	s := ks.newStore(t)
	k := newKey(Now())
	got, err := s.EnsureKey(t.Context(), k)
	mustOK(t, err, "EnsureKey")
	checkKey(t, "EnsureKey", k, got)
	ks.wantKeys(t, "Keys", []*authd.Key{k}, ks.keys(t, s, time.Time{}))
}

func (ks keySuite) ensureKeepsCurrent(t *testing.T) {
	s := ks.newStore(t)
	cur := newKey(Now())
	_, err := s.EnsureKey(t.Context(), cur)
	mustOK(t, err, "first EnsureKey")
	got, err := s.EnsureKey(t.Context(), newKey(Now().Add(time.Second)))
	mustOK(t, err, "second EnsureKey")
	checkKey(t, "second EnsureKey", cur, got)
	ks.wantKeys(t, "Keys", []*authd.Key{cur}, ks.keys(t, s, time.Time{}))
}

func (ks keySuite) ensureAfterRotate(t *testing.T) {
	s := ks.newStore(t)
	t0 := Now()
	first, second := newKey(t0), newKey(t0.Add(time.Hour))
	ks.ensureThenRotate(t, s, first, second)
	got, err := s.EnsureKey(t.Context(), newKey(t0.Add(2*time.Hour)))
	mustOK(t, err, "EnsureKey after RotateKey")
	checkKey(t, "EnsureKey after RotateKey", second, got)
}

func (ks keySuite) ensureConcurrent(t *testing.T) {
	s := ks.newStore(t)
	const n = 16
	got := make([]*authd.Key, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		k := newKey(Now().Add(time.Duration(i) * time.Millisecond))
		wg.Go(func() {
			<-start
			g, err := s.EnsureKey(t.Context(), k)
			if err != nil {
				errs <- err
				return
			}
			got[i] = g
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("EnsureKey: %v", err)
	}
	for i := range n {
		if got[i].ID != got[0].ID {
			t.Fatalf("EnsureKey returned different current keys: %s and %s", got[0].ID, got[i].ID)
		}
	}
	ks.wantKeys(t, "Keys", []*authd.Key{got[0]}, ks.keys(t, s, time.Time{}))
}

func (ks keySuite) rotateRetiresPrevious(t *testing.T) {
	s := ks.newStore(t)
	t0 := Now()
	first, second := newKey(t0), newKey(t0.Add(time.Hour))
	ks.ensureThenRotate(t, s, first, second)
	ks.wantKeys(t, "Keys", []*authd.Key{second, retired(first, second.CreatedAt)}, ks.keys(t, s, time.Time{}))
}

func (ks keySuite) rotateWithoutCurrent(t *testing.T) {
	s := ks.newStore(t)
	k := newKey(Now())
	mustOK(t, s.RotateKey(t.Context(), k), "RotateKey")
	ks.wantKeys(t, "Keys", []*authd.Key{k}, ks.keys(t, s, time.Time{}))
}

func (ks keySuite) rotateConflictOnID(t *testing.T) {
	s := ks.newStore(t)
	t0 := Now()
	first, second := newKey(t0), newKey(t0.Add(time.Hour))
	ks.ensureThenRotate(t, s, first, second)
	before := []*authd.Key{second, retired(first, second.CreatedAt)}

	for name, id := range map[string]string{"the current key's id": second.ID, "a retired key's id": first.ID} {
		dup := newKey(t0.Add(2 * time.Hour))
		dup.ID = id
		wantErr(t, s.RotateKey(t.Context(), dup), authd.ErrConflict, "RotateKey with "+name)
		ks.wantKeys(t, "Keys after RotateKey with "+name, before, ks.keys(t, s, time.Time{}))
	}
}

func (ks keySuite) rotateConcurrent(t *testing.T) {
	s := ks.newStore(t)
	t0 := Now()
	first := newKey(t0)
	_, err := s.EnsureKey(t.Context(), first)
	mustOK(t, err, "EnsureKey")
	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		k := newKey(t0.Add(time.Duration(i+1) * time.Minute))
		wg.Go(func() {
			<-start
			if err := s.RotateKey(t.Context(), k); err != nil {
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("RotateKey: %v", err)
	}
	list := ks.keys(t, s, time.Time{})
	if len(list) != n+1 {
		t.Fatalf("Keys: got %d keys, want %d", len(list), n+1)
	}
	current := 0
	for _, k := range list {
		if k.RetiredAt.IsZero() {
			current++
		}
	}
	if current != 1 {
		t.Fatalf("%d current keys after concurrent rotations, want 1 (keys %s)", current, keyIDs(list))
	}
	if !list[0].RetiredAt.IsZero() {
		t.Fatalf("Keys: the first key %s is retired, want the current key first", list[0].ID)
	}
}

func (ks keySuite) keysCurrentThenNewest(t *testing.T) {
	s := ks.newStore(t)
	t0 := Now()
	k1, k2, k3 := newKey(t0), newKey(t0.Add(time.Hour)), newKey(t0.Add(2*time.Hour))
	// The current key is older than two retired ones: "current first"
	// must not be mistaken for "newest first".
	k4 := newKey(t0.Add(90 * time.Minute))
	_, err := s.EnsureKey(t.Context(), k1)
	mustOK(t, err, "EnsureKey")
	for _, k := range []*authd.Key{k2, k3} {
		mustOK(t, s.RotateKey(t.Context(), k), "RotateKey "+k.ID)
	}
	ks.wantKeys(t, "Keys after two rotations", []*authd.Key{
		k3, retired(k2, k3.CreatedAt), retired(k1, k2.CreatedAt),
	}, ks.keys(t, s, time.Time{}))
	mustOK(t, s.RotateKey(t.Context(), k4), "RotateKey "+k4.ID)
	ks.wantKeys(t, "Keys after rotating to an older key", []*authd.Key{
		k4, retired(k3, k4.CreatedAt), retired(k2, k3.CreatedAt), retired(k1, k2.CreatedAt),
	}, ks.keys(t, s, time.Time{}))
}

func (ks keySuite) keysLeavesOutRetired(t *testing.T) {
	s := ks.newStore(t)
	t0 := Now()
	k1, k2, k3, k4 := newKey(t0), newKey(t0.Add(time.Hour)), newKey(t0.Add(2*time.Hour)), newKey(t0.Add(3*time.Hour))
	_, err := s.EnsureKey(t.Context(), k1)
	mustOK(t, err, "EnsureKey")
	for _, k := range []*authd.Key{k2, k3, k4} {
		mustOK(t, s.RotateKey(t.Context(), k), "RotateKey "+k.ID)
	}
	// k1 retired at k2.CreatedAt, k2 at k3.CreatedAt, k3 at k4.CreatedAt.
	r3, r2 := retired(k3, k4.CreatedAt), retired(k2, k3.CreatedAt)
	ks.wantKeys(t, "Keys(k2's retirement)", []*authd.Key{k4, r3}, ks.keys(t, s, k3.CreatedAt))
	ks.wantKeys(t, "Keys(just before k2's retirement)", []*authd.Key{k4, r3, r2}, ks.keys(t, s, k3.CreatedAt.Add(-Precision)))
	ks.wantKeys(t, "Keys(after every retirement)", []*authd.Key{k4}, ks.keys(t, s, k4.CreatedAt.Add(time.Hour)))
}

func (ks keySuite) keysEmpty(t *testing.T) {
	s := ks.newStore(t)
	if list := ks.keys(t, s, time.Time{}); len(list) != 0 {
		t.Fatalf("Keys of an empty store: got %s", keyIDs(list))
	}
}

func (ks keySuite) hs256RoundTrips(t *testing.T) {
	s := ks.newStore(t)
	k := newKey(Now())
	k.Alg, k.Public = authd.AlgHS256, nil
	got, err := s.EnsureKey(t.Context(), k)
	mustOK(t, err, "EnsureKey")
	checkKey(t, "EnsureKey", k, got)
	ks.wantKeys(t, "Keys", []*authd.Key{k}, ks.keys(t, s, time.Time{}))
}

func (ks keySuite) honoursCancellation(t *testing.T) {
	s := ks.newStore(t)
	k := newKey(Now())
	ctx := cancelled(t)
	_, err := s.EnsureKey(ctx, k)
	wantCanceled(t, err, "EnsureKey")
	wantCanceled(t, s.RotateKey(ctx, k), "RotateKey")
	_, err = s.Keys(ctx, time.Time{})
	wantCanceled(t, err, "Keys")
	if list := ks.keys(t, s, time.Time{}); len(list) != 0 {
		t.Fatalf("keys were inserted with a cancelled context: %s", keyIDs(list))
	}
}

func keyIDs(ks []*authd.Key) string {
	ids := make([]string, len(ks))
	for i, k := range ks {
		ids[i] = k.ID
		if !k.RetiredAt.IsZero() {
			ids[i] += "(retired)"
		}
	}
	return fmt.Sprintf("%q", ids)
}
