package token_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/authd/authd"
	"github.com/authd/authd/sqlite"
	"github.com/authd/authd/token"
)

// The HTTP layer's use of a Service: a password grant, a request
// authenticated by the access token, a refresh, and reuse detection.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "authd-example")
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "authd.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	user := &authd.User{ID: "u1", Email: "ada@example.com", PasswordHash: "x", Roles: []string{"admin"}}
	if err := db.CreateUser(ctx, user); err != nil {
		log.Fatal(err)
	}

	cfg := token.DefaultConfig("https://auth.example.com", "authd")
	svc, err := token.New(ctx, cfg, token.Stores{Keys: db, Refresh: db, Revocations: db, Users: db, Audit: db})
	if err != nil {
		log.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	go svc.Run(runCtx)

	pair, _ := svc.IssuePair(ctx, user, nil) // POST /oauth2/token grant_type=password
	claims, err := svc.Verify(ctx, pair.AccessToken)
	fmt.Println(claims.Email, err)

	next, err := svc.Refresh(ctx, pair.RefreshToken, "") // grant_type=refresh_token
	fmt.Println(next.RefreshToken != pair.RefreshToken, err)

	// Presenting the spent token again inside the grace window returns the
	// same successor; an older token kills the family.
	again, _ := svc.Refresh(ctx, pair.RefreshToken, "")
	fmt.Println(again.RefreshToken == next.RefreshToken)
	_, _ = svc.Refresh(ctx, next.RefreshToken, "")
	_, err = svc.Refresh(ctx, pair.RefreshToken, "")
	fmt.Println(errors.Is(err, authd.ErrInvalidGrant), errors.Is(err, token.ErrReuseDetected))
	_, err = svc.Verify(ctx, next.AccessToken)
	fmt.Println(errors.Is(err, authd.ErrUnauthenticated))
	// Output:
	// ada@example.com <nil>
	// true <nil>
	// true
	// true true
	// true
}
