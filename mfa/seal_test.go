package mfa_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/authd/authd/mfa"
)

func newSealer(t *testing.T) *mfa.Sealer {
	t.Helper()
	key := make([]byte, mfa.KeySize)
	rand.Read(key)
	s, err := mfa.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealer(t *testing.T) {
	t.Parallel()
	s := newSealer(t)
	other := newSealer(t)
	secret := []byte("12345678901234567890")
	sealed := s.Seal("alice", secret)

	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value contains the secret")
	}
	if again := s.Seal("alice", secret); bytes.Equal(again, sealed) {
		t.Fatal("two seals of one secret are equal: the nonce is not random")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)/2] ^= 1

	tests := []struct {
		name   string
		sealer *mfa.Sealer
		user   string
		sealed []byte
		ok     bool
	}{
		{"round trip", s, "alice", sealed, true},
		{"other user", s, "bob", sealed, false},
		{"tampered", s, "alice", tampered, false},
		{"wrong key", other, "alice", sealed, false},
		{"truncated", s, "alice", sealed[:10], false},
		{"empty", s, "alice", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.sealer.Open(tt.user, tt.sealed)
			if tt.ok {
				if err != nil || !bytes.Equal(got, secret) {
					t.Fatalf("Open = %q, %v; want the secret", got, err)
				}
				return
			}
			if !errors.Is(err, mfa.ErrSealed) {
				t.Fatalf("Open err = %v, want ErrSealed", err)
			}
		})
	}
}

func TestNewSealerKeySize(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := mfa.NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer(%d bytes) = nil error", n)
		}
	}
}

func TestLoadKey(t *testing.T) {
	t.Parallel()
	t.Run("creates 0600", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "authd.key")
		s, created, err := mfa.LoadKey(path)
		if err != nil || !created || s == nil {
			t.Fatalf("LoadKey = %v, %v, %v", s, created, err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 || fi.Size() != mfa.KeySize {
			t.Fatalf("key file mode %v size %d, want 0600 and %d", fi.Mode().Perm(), fi.Size(), mfa.KeySize)
		}
		// The second start reads the same key.
		s2, created, err := mfa.LoadKey(path)
		if err != nil || created {
			t.Fatalf("second LoadKey = %v, %v", created, err)
		}
		if got, err := s2.Open("u", s.Seal("u", []byte("x"))); err != nil || string(got) != "x" {
			t.Fatalf("the reloaded key does not open: %v", err)
		}
		entries, _ := os.ReadDir(filepath.Dir(path))
		if len(entries) != 1 {
			t.Fatalf("%d files in the key's directory, want 1 (temporary file left?)", len(entries))
		}
	})
	t.Run("refuses wrong size", func(t *testing.T) {
		t.Parallel()
		for _, n := range []int{0, 31, 33, 44} {
			path := filepath.Join(t.TempDir(), "authd.key")
			if err := os.WriteFile(path, make([]byte, n), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := mfa.LoadKey(path)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "32") {
				t.Fatalf("LoadKey(%d bytes) err = %v, want one naming the path and the size", n, err)
			}
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		t.Parallel()
		if _, _, err := mfa.LoadKey(filepath.Join(t.TempDir(), "no", "authd.key")); err == nil {
			t.Fatal("LoadKey in a missing directory succeeded")
		}
	})
	t.Run("concurrent creators end with one key", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "authd.key")
		const n = 16
		var (
			wg      sync.WaitGroup
			sealers [n]*mfa.Sealer
			created [n]bool
			errs    [n]error
		)
		for i := range n {
			wg.Go(func() { sealers[i], created[i], errs[i] = mfa.LoadKey(path) })
		}
		wg.Wait()
		creators := 0
		sealed := []byte(nil)
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("LoadKey %d: %v", i, errs[i])
			}
			if created[i] {
				creators++
				sealed = sealers[i].Seal("u", []byte("secret"))
			}
		}
		if creators != 1 {
			t.Fatalf("%d creators, want 1", creators)
		}
		for i := range n {
			if _, err := sealers[i].Open("u", sealed); err != nil {
				t.Fatalf("LoadKey %d got another key", i)
			}
		}
	})
}
