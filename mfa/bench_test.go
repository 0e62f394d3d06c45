package mfa_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"
)

// BenchmarkCheckTOTP measures one accepted TOTP code: open the sealed
// secret, three HMAC-SHA1 codes, the store's compare-and-swap.
func BenchmarkCheckTOTP(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b)
	u := f.user(b, "a@example.com")
	secret, _ := f.enrolTOTP(b, u)
	for b.Loop() {
		f.clock.Add(30 * time.Second) // a new step: each code is accepted once
		if err := f.svc.CheckTOTP(ctx, u.ID, code(b, secret, f.clock.Now())); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFinishLogin measures one passkey assertion verified end to end
// (parse, take the challenge, one ES256 verification, the counter's
// compare-and-swap); the authenticator's signing and BeginLogin are
// outside the timer.
func BenchmarkFinishLogin(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b)
	u := f.user(b, "a@example.com")
	a := newAuthenticator(b)
	f.register(b, u, a, "")
	for b.Loop() {
		b.StopTimer()
		opts, err := f.svc.BeginLogin(ctx, u)
		if err != nil {
			b.Fatal(err)
		}
		cred := a.get(b, opts)
		b.StartTimer()
		if _, err := f.svc.FinishLogin(ctx, u, cred); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkES256Verify is the floor of BenchmarkFinishLogin: one P-256
// ECDSA verification, nothing else.
func BenchmarkES256Verify(b *testing.B) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	d := sha256.Sum256([]byte("authenticator data and client data hash"))
	sig, _ := ecdsa.SignASN1(rand.Reader, k, d[:])
	for b.Loop() {
		if !ecdsa.VerifyASN1(&k.PublicKey, d[:], sig) {
			b.Fatal("verify failed")
		}
	}
}
