package mfa_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/authd/authd/mfa"
)

func TestSealUpstreamSecret(t *testing.T) {
	t.Parallel()
	s := newSealer(t)
	other := newSealer(t)
	secret := []byte("client-secret-at-the-provider")
	sealed := s.SealUpstreamSecret("corp", secret)

	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value contains the secret")
	}
	if again := s.SealUpstreamSecret("corp", secret); bytes.Equal(again, sealed) {
		t.Fatal("two seals of one secret are equal: the nonce is not random")
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
		{"round trip", s, "corp", sealed, true},
		{"other provider", s, "gitlab", sealed, false},
		{"changed byte", s, "corp", tampered, false},
		{"other version", s, "corp", versioned, false},
		{"wrong key", other, "corp", sealed, false},
		{"a TOTP seal", s, "corp", s.Seal("corp", secret), false},
		{"an outbox seal", s, "corp", s.SealOutbox("corp", secret), false},
		{"truncated", s, "corp", sealed[:len(sealed)-1], false},
		{"empty", s, "corp", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.sealer.OpenUpstreamSecret(tt.id, tt.sealed)
			if tt.ok {
				if err != nil || !bytes.Equal(got, secret) {
					t.Fatalf("OpenUpstreamSecret = %q, %v; want the secret", got, err)
				}
				return
			}
			if !errors.Is(err, mfa.ErrSealed) {
				t.Fatalf("OpenUpstreamSecret err = %v, want ErrSealed", err)
			}
		})
	}
	// And the other ways: an upstream seal is neither a TOTP secret nor an
	// outbox body.
	if _, err := s.Open("corp", sealed); !errors.Is(err, mfa.ErrSealed) {
		t.Fatalf("Open(upstream seal) err = %v, want ErrSealed", err)
	}
	if _, err := s.OpenOutbox("corp", sealed); !errors.Is(err, mfa.ErrSealed) {
		t.Fatalf("OpenOutbox(upstream seal) err = %v, want ErrSealed", err)
	}
}
