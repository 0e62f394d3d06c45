package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/authd/authd"
)

// RunIDKeyStore runs the IDKeyStore contract against stores made by
// newStore, which must return a fresh, empty store each time it is called.
func RunIDKeyStore(t *testing.T, newStore func(t *testing.T) authd.IDKeyStore) {
	t.Helper()
	s := idKeySuite{newStore}
	t.Run("EnsureIDKey inserts k when there is none and returns it", s.insertsFirst)
	t.Run("EnsureIDKey returns the key there is and does not insert k", s.keepsFirst)
	t.Run("EnsureIDKey from many goroutines ends with one key", s.concurrent)
	t.Run("honours ctx cancellation", s.honoursCancellation)
}

type idKeySuite struct {
	newStore func(t *testing.T) authd.IDKeyStore
}

func newIDKey(created time.Time) *authd.Key {
	k := newKey(created)
	k.Alg = authd.AlgES256
	return k
}

func (s idKeySuite) insertsFirst(t *testing.T) {
	st := s.newStore(t)
	k := newIDKey(Now())
	got, err := st.EnsureIDKey(t.Context(), k)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != k.ID || got.Alg != k.Alg || string(got.Private) != string(k.Private) || string(got.Public) != string(k.Public) ||
		!got.CreatedAt.Equal(k.CreatedAt) || !got.RetiredAt.IsZero() {
		t.Fatalf("got %+v, want %+v", got, k)
	}
}

func (s idKeySuite) keepsFirst(t *testing.T) {
	st := s.newStore(t)
	first := newIDKey(Now())
	if _, err := st.EnsureIDKey(t.Context(), first); err != nil {
		t.Fatal(err)
	}
	got, err := st.EnsureIDKey(t.Context(), newIDKey(Now().Add(time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != first.ID {
		t.Fatalf("second EnsureIDKey returned %s, want the first key %s", got.ID, first.ID)
	}
}

func (s idKeySuite) concurrent(t *testing.T) {
	st := s.newStore(t)
	var wg sync.WaitGroup
	ids := make([]string, 10)
	errs := make([]error, 10)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := st.EnsureIDKey(t.Context(), newIDKey(Now()))
			if err == nil {
				ids[i] = k.ID
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, id := range ids {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if id != ids[0] {
			t.Fatalf("callers got different keys: %v", ids)
		}
	}
}

func (s idKeySuite) honoursCancellation(t *testing.T) {
	st := s.newStore(t)
	_, err := st.EnsureIDKey(cancelled(t), newIDKey(Now()))
	wantCanceled(t, err, "EnsureIDKey")
}
