package password_test

import (
	"context"
	"fmt"

	"github.com/authd/authd/password"
)

func Example() {
	ctx := context.Background()
	// In production: password.NewHasher(password.DefaultParams(), 0) or stronger.
	h := password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)

	// Setting a password: the policy first, then the hash to store.
	email, pw := "ann.example@example.com", "violet tractor sings at dawn"
	if err := password.Check(pw, email); err != nil {
		fmt.Println(err)
		return
	}
	stored, _ := h.Hash(ctx, pw)

	// Logging in.
	ok, needsRehash, err := h.Verify(ctx, stored, pw)
	fmt.Println(ok, needsRehash, err)
	// ok && needsRehash: h.Hash(ctx, pw) again and store it.
	// Unknown email: h.VerifyDummy(ctx, pw), then answer as for a wrong password.

	fmt.Println(password.Check("password1"))
	fmt.Println(password.Check("OlegFirstAlways"))
	fmt.Println(password.Check("aaaaaaaaaaaaaaa"))
	// The user's email, so that a password made mostly of it is refused.
	fmt.Println(password.Check("annexample.com12", "ann.example@example.com"))
	// Output:
	// true false <nil>
	// Password is too short: use at least 15 characters (this one has 9). A few unrelated words make a long password that is easy to remember.
	// This password is too common: it is on a list of passwords that attackers try first. Please choose another one; a few unrelated words make a strong password that is easy to remember.
	// This password is one character or a short pattern repeated (such as aaaa or abcabc), which attackers try early. Please choose another one; a few unrelated words make a strong password that is easy to remember.
	// This password is mostly your email address or the name of this service, which attackers try first. Please choose another one; a few unrelated words make a strong password that is easy to remember.
}
