package mfa_test

import (
	"fmt"

	"github.com/authd/authd"
	"github.com/authd/authd/mfa"
)

// The methods a pending sign-in offers follow from the factors the user
// has; recovery codes come with the first factor.
func ExampleStatus_Methods() {
	fmt.Println(mfa.Status{}.Methods())
	fmt.Println(mfa.Status{TOTP: true, RecoveryCodesLeft: 10}.Methods())
	fmt.Println(mfa.Status{Passkeys: []*authd.Passkey{{Name: "Laptop"}}, RecoveryCodesLeft: 0}.Methods())
	// Output:
	// []
	// [totp recovery_code]
	// [webauthn]
}

// A sealed secret opens only for the user it was sealed for.
func ExampleSealer() {
	s, _ := mfa.NewSealer(make([]byte, mfa.KeySize)) // use LoadKey: a real key is random
	sealed := s.Seal("user-1", []byte("secret"))
	secret, err := s.Open("user-1", sealed)
	fmt.Printf("%s %v\n", secret, err)
	_, err = s.Open("user-2", sealed)
	fmt.Println(err)
	// Output:
	// secret <nil>
	// mfa: sealed value does not open
}
