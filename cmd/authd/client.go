package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/oidc"
)

var clientCmds = []*command{
	{name: "client add", summary: "register a client: an app that signs users in, a service, or a resource server",
		usage: "client add --id ID [--secret-stdin] [--name NAME] [--redirect-uri URI]... [--post-logout-redirect-uri URI]...\n" +
			"      [--backchannel-logout-uri URI] [--scope S]... [--grant G]... [--first-party] [--public] [--db URL] [--redis URL]",
		more: `Public or confidential (authd's reading of the contract): a client added
with --secret-stdin is confidential, its secret the first line of standard
input. Without it, a client with a redirect URI is public (a browser or
native app: no secret, PKCE is its only proof), and a client without any
is confidential: a secret is generated and printed once, as client_id=ID
and client_secret=SECRET lines.

Redirect and post-logout redirect URIs are kept exactly as given and
compared as exact strings: https; http only on 127.0.0.1, [::1] or
localhost; for native apps, a private-use scheme with a dot
(com.example.app:/callback). The grants default to authorization_code and
refresh_token with a redirect URI, and to none without: a confidential
client with no redirect URI and no grant is a resource server, which may
only call POST /oauth2/introspect.`},
	{name: "client list", summary: "list the clients, one a line: id, type, first party, grants, redirect URIs",
		usage: "client list [--json] [--db URL] [--redis URL]",
		more:  "With --json, one JSON object a line. Neither shows a secret or its hash."},
	{name: "client show", summary: "show a client: every field but its secret",
		usage: "client show --id ID [--json] [--db URL] [--redis URL]"},
	{name: "client delete", summary: "delete a client: its id and secret stop working at once",
		usage: "client delete --id ID [--db URL] [--redis URL]"},
}

// clientFlags are the values of the client commands' own flags.
type clientFlags struct {
	id, name, backchannel           string
	redirects, postLogout           list
	scopes, grants                  list
	secretStdin, firstParty, public bool
	json                            bool
}

func runClient(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	cmd, err := subcommand("client", clientCmds, args, stdout)
	if err != nil {
		return err
	}
	sub := strings.TrimPrefix(cmd.name, "client ")
	c := adminConfig()
	f := newFlags(cmd)
	var v clientFlags
	if sub != "list" {
		f.String(&v.id, "id", "", "ID", "the client_id; required")
	}
	switch sub {
	case "add":
		f.Bool(&v.secretStdin, "secret-stdin", false, "a confidential client whose secret is the first line of standard input (at least 32 characters)")
		f.String(&v.name, "name", "", "NAME", "the name the consent page shows")
		f.List(&v.redirects, "redirect-uri", "URI", "where sign-ins may return, compared as an exact string; repeatable")
		f.List(&v.postLogout, "post-logout-redirect-uri", "URI", "where a logout may return, compared as an exact string; repeatable")
		f.String(&v.backchannel, "backchannel-logout-uri", "", "URI", "where authd POSTs logout tokens: https, or http on a loopback host")
		f.List(&v.scopes, "scope", "S", "a scope the client may ask for; repeatable; default "+strings.Join(oidc.DefaultScopes(), " ")+" (none for a resource server)")
		f.List(&v.grants, "grant", "G", "a grant of the client: "+orList(oidc.Grants())+"; repeatable; default authorization_code and refresh_token with a redirect URI, none without")
		f.Bool(&v.firstParty, "first-party", false, "trusted: its users see no consent page")
		f.Bool(&v.public, "public", false, "a public client (no secret); the default for a client with a redirect URI and without --secret-stdin")
	case "list", "show":
		f.Bool(&v.json, "json", false, "JSON lines instead of text")
	}
	storeFlags(f, c)
	if err := f.parse(args[1:], getenv, stdout); err != nil {
		return err
	}
	if sub != "list" && v.id == "" {
		return fmt.Errorf("client %s: --id is required", sub)
	}
	secret := ""
	if v.secretStdin {
		// A bad store flag is said before standard input is read.
		if err := validateStores(c); err != nil {
			return err
		}
		if secret, err = readSecret(stdin, true, ""); err != nil {
			return err
		}
	}
	a, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer a.stores.Close()
	switch sub {
	case "add":
		return clientAdd(ctx, a.clients, v, secret, stdout)
	case "list":
		l, err := a.clients.List(ctx)
		if err != nil {
			return clientErr(err, "")
		}
		return printClients(stdout, l, v.json)
	case "show":
		cl, err := a.clients.Get(ctx, v.id)
		if err != nil {
			return clientErr(err, v.id)
		}
		if v.json {
			return printClients(stdout, []*authd.Client{cl}, true)
		}
		return showClient(stdout, cl)
	default: // delete
		if err := a.clients.Delete(ctx, v.id); err != nil {
			return clientErr(err, v.id)
		}
		fmt.Fprintf(stdout, "client %s deleted\n", v.id)
		return nil
	}
}

func clientAdd(ctx context.Context, clients *oidc.Clients, v clientFlags, secret string, stdout io.Writer) error {
	// NOTE: the contract says a client without --secret-stdin is public,
	// but a resource server (no redirect URI) cannot be public, and earlier
	// versions generated its secret: so without --secret-stdin only a client
	// with a redirect URI is public, and one without any gets a generated
	// secret, shown once and stored only as a hash.
	public := v.public || (!v.secretStdin && len(v.redirects.vals) > 0)
	cl, secret, err := clients.Create(ctx, oidc.ClientSpec{
		ID:                     v.id,
		Name:                   v.name,
		Public:                 public,
		Secret:                 secret,
		RedirectURIs:           v.redirects.vals,
		PostLogoutRedirectURIs: v.postLogout.vals,
		BackchannelLogoutURI:   v.backchannel,
		Scopes:                 v.scopes.vals,
		Grants:                 v.grants.vals,
		FirstParty:             v.firstParty,
	})
	if err != nil {
		return clientErr(err, v.id)
	}
	if cl.Confidential() && !v.secretStdin {
		fmt.Fprintf(stdout, "client_id=%s\nclient_secret=%s\n", cl.ID, secret)
		return nil
	}
	fmt.Fprintf(stdout, "client %s added: %s\n", cl.ID, clientType(cl, true))
	return nil
}

// clientErr says what went wrong in one line, naming the flag at fault.
func clientErr(err error, id string) error {
	var inv *authd.InvalidError
	switch {
	case errors.As(err, &inv):
		flag := strings.ReplaceAll(inv.Field, "_", "-") // redirect_uri is --redirect-uri
		if inv.Field == "secret" {
			flag = "secret-stdin"
		}
		sep := ": "
		if strings.HasPrefix(inv.Message, `"`) { // the message names the value: --grant "password": want …
			sep = " "
		}
		return fmt.Errorf("--%s%s%s", flag, sep, inv.Message)
	case errors.Is(err, authd.ErrConflict):
		return fmt.Errorf("client %s already exists", id)
	case errors.Is(err, authd.ErrNotFound):
		return fmt.Errorf("no client with id %s", id)
	}
	return err
}

// clientType is "public" or "confidential"; long adds what a resource
// server may do.
func clientType(c *authd.Client, long bool) string {
	switch {
	case !c.Confidential():
		return "public"
	case long && c.ResourceServer():
		return "confidential (resource server: may only call /oauth2/introspect)"
	}
	return "confidential"
}

// orNone joins l with sep, or says "-" for an empty list.
func orNone(l []string, sep string) string {
	if len(l) == 0 {
		return "-"
	}
	return strings.Join(l, sep)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// clientJSON is a client as list --json and show --json print it.
//
// NOTE: it has no field for the secret hash: neither the secret nor its
// hash ever leaves authd.
type clientJSON struct {
	ID                     string    `json:"id"`
	Name                   string    `json:"name"`
	Type                   string    `json:"type"` // public or confidential
	FirstParty             bool      `json:"first_party"`
	Grants                 []string  `json:"grants"`
	RedirectURIs           []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs []string  `json:"post_logout_redirect_uris"`
	BackchannelLogoutURI   string    `json:"backchannel_logout_uri"`
	Scopes                 []string  `json:"scopes"`
	CreatedAt              time.Time `json:"created_at"`
}

// nonNil makes an empty list print as [], not null.
func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// printClients writes one client a line: a table, or JSON lines.
func printClients(w io.Writer, l []*authd.Client, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false) // URIs print as they are: & not \u0026
		for _, c := range l {
			if err := enc.Encode(clientJSON{
				ID: c.ID, Name: c.Name, Type: clientType(c, false), FirstParty: c.FirstParty,
				Grants: nonNil(c.Grants), RedirectURIs: nonNil(c.RedirectURIs),
				PostLogoutRedirectURIs: nonNil(c.PostLogoutRedirectURIs), BackchannelLogoutURI: c.BackchannelLogoutURI,
				Scopes: nonNil(c.Scopes), CreatedAt: c.CreatedAt.UTC(),
			}); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTYPE\tFIRST-PARTY\tGRANTS\tREDIRECT URIS")
	for _, c := range l {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, clientType(c, false), yesNo(c.FirstParty), orNone(c.Grants, ","), orNone(c.RedirectURIs, " "))
	}
	return tw.Flush()
}

// showClient writes every field of c but its secret hash, one a line; a
// list of several values takes a line each.
func showClient(w io.Writer, c *authd.Client) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	field := func(name string, values ...string) {
		if len(values) == 0 || len(values) == 1 && values[0] == "" {
			values = []string{"-"}
		}
		fmt.Fprintf(tw, "%s:\t%s\n", name, values[0])
		for _, v := range values[1:] {
			fmt.Fprintf(tw, "\t%s\n", v)
		}
	}
	field("id", c.ID)
	field("name", c.Name)
	field("type", clientType(c, true))
	field("first party", yesNo(c.FirstParty))
	field("grants", strings.Join(c.Grants, " "))
	field("scopes", strings.Join(c.Scopes, " "))
	field("redirect URIs", c.RedirectURIs...)
	field("post-logout redirect URIs", c.PostLogoutRedirectURIs...)
	field("back-channel logout URI", c.BackchannelLogoutURI)
	field("created", c.CreatedAt.UTC().Format(time.RFC3339))
	return tw.Flush()
}
