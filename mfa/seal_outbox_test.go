package mfa_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/authd/authd/mfa"
)

func TestSealOutbox(t *testing.T) {
	t.Parallel()
	s := newSealer(t)
	other := newSealer(t)
	body := []byte(`{"to":"ann@example.com","text":"https://id.example.com/recover?token=secret"}`)
	sealed := s.SealOutbox("m1", body)

	if bytes.Contains(sealed, []byte("secret")) {
		t.Fatal("sealed body contains the link")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)/2] ^= 1
	versioned := bytes.Clone(sealed)
	versioned[0]++

	tests := []struct {
		name   string
		sealer *mfa.Sealer
		id     string
		sealed []byte
		ok     bool
	}{
		{"round trip", s, "m1", sealed, true},
		{"other id", s, "m2", sealed, false},
		{"changed byte", s, "m1", tampered, false},
		{"other version", s, "m1", versioned, false},
		{"wrong key", other, "m1", sealed, false},
		{"a TOTP seal", s, "m1", s.Seal("m1", body), false},
		{"empty", s, "m1", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.sealer.OpenOutbox(tt.id, tt.sealed)
			if tt.ok {
				if err != nil || !bytes.Equal(got, body) {
					t.Fatalf("OpenOutbox = %q, %v; want the body", got, err)
				}
				return
			}
			if !errors.Is(err, mfa.ErrSealed) {
				t.Fatalf("OpenOutbox err = %v, want ErrSealed", err)
			}
		})
	}
	// And the other way: an outbox seal is not a TOTP secret.
	if _, err := s.Open("m1", sealed); !errors.Is(err, mfa.ErrSealed) {
		t.Fatalf("Open(outbox seal) err = %v, want ErrSealed", err)
	}
}
