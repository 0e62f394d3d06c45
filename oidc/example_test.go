package oidc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/authd/authd"
	"github.com/authd/authd/oidc"
	"github.com/authd/authd/password"
	"github.com/authd/authd/sqlite"
)

// A public web app, a resource server, and a redirect URI the rules refuse.
func ExampleClients_Create() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "oidc-example")
	defer os.RemoveAll(dir)
	db, err := sqlite.Open(ctx, filepath.Join(dir, "authd.db"))
	if err != nil {
		panic(err)
	}
	defer db.Close()
	clients := oidc.NewClients(db, password.NewHasher(password.DefaultParams(), 0))

	web, _, err := clients.Create(ctx, oidc.ClientSpec{
		ID:           "web",
		Public:       true,
		RedirectURIs: []string{"https://app.example.com/callback"},
	})
	fmt.Println(web.ID, web.Confidential(), web.Grants, web.Scopes, err)

	orders, secret, err := clients.Create(ctx, oidc.ClientSpec{ID: "orders"}) // the secret is generated
	fmt.Println(orders.ID, orders.ResourceServer(), len(secret), err)
	cl, err := clients.Authenticate(ctx, "orders", secret)
	fmt.Println(cl.ID, err)
	// A public client never authenticates with a secret.
	_, err = clients.Authenticate(ctx, "web", secret)
	fmt.Println(errors.Is(err, authd.ErrInvalidCredentials))

	_, _, err = clients.Create(ctx, oidc.ClientSpec{ID: "app", Public: true, RedirectURIs: []string{"http://app.example.com/cb"}})
	fmt.Println(err)
	// Output:
	// web false [authorization_code refresh_token] [openid email offline_access] <nil>
	// orders true 43 <nil>
	// orders <nil>
	// true
	// "http://app.example.com/cb": http only for a loopback host (127.0.0.1, [::1], localhost); use https
}
