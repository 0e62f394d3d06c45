package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/mfa"
	"github.com/authd/authd/upstream"
)

var upstreamCmds = []*command{
	{name: "upstream add", summary: "register another OpenID Connect provider users may sign in with",
		usage: "upstream add --id ID --issuer URL --client-id C [--secret-stdin] [--name NAME] [--scope S]... [--trust-email]\n" +
			"      [--encryption-key-file FILE] [--db URL] [--redis URL]",
		more: `authd becomes a client of the provider: first register authd there, then
add the provider here with the client id (and secret) it gave. The
redirect URI to register at the provider is ISSUER/v1/upstream/ID/callback,
where ISSUER is authd serve's own --issuer (this command does not know it:
it prints the path under it). authd does not contact the issuer now; a
wrong one shows at the first sign-in.

With --secret-stdin, the client secret is the first line of standard
input; it is stored encrypted under --encryption-key-file, which must be
the file authd serve uses (start serve once to make it). Without it, authd
is a public client of the provider and uses PKCE alone. The secret is never
shown again.

The --issuer of this command is the provider's: it is taken from the
command line only, never from AUTHD_ISSUER, which is serve's own issuer.`},
	{name: "upstream list", summary: "list the upstream providers, one a line: id, name, issuer, client id, type, trust email, scopes",
		usage: "upstream list [--json] [--db URL] [--redis URL]",
		more:  "With --json, one JSON object a line. Neither shows a client secret."},
	{name: "upstream show", summary: "show an upstream provider: every field but its client secret",
		usage: "upstream show --id ID [--json] [--db URL] [--redis URL]"},
	{name: "upstream delete", summary: "delete an upstream provider and every identity linked at it",
		usage: "upstream delete --id ID [--db URL] [--redis URL]",
		more: `Its sign-in button goes away on every node within 5 s, and every account
link at the provider is deleted with it: its users sign in with a password,
a passkey or another provider from then on (a user with none of those must
recover the account by email).`},
}

// upstreamFlags are the values of the upstream commands' own flags.
type upstreamFlags struct {
	id, issuer, clientID, name string
	scopes                     list
	secretStdin, trustEmail    bool
	json                       bool
}

// upstreamCmdLineOnly are the flags of upstream add that no variable sets: AUTHD_ISSUER
// is serve's own issuer, not the provider's.
var upstreamCmdLineOnly = []string{"issuer"}

func runUpstream(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	cmd, err := subcommand("upstream", upstreamCmds, args, stdout)
	if err != nil {
		return err
	}
	sub := strings.TrimPrefix(cmd.name, "upstream ")
	c := adminConfig()
	f := newFlags(cmd)
	var v upstreamFlags
	if sub != "list" {
		f.String(&v.id, "id", "", "ID", "the provider's short name, used in URLs: 1 to 64 of a-z, 0-9 and -; required")
	}
	switch sub {
	case "add":
		f.String(&v.issuer, "issuer", "", "URL", "the provider's issuer, exactly as its discovery document names it: https, or http on a loopback host; required")
		f.String(&v.clientID, "client-id", "", "C", "authd's client id at the provider; required")
		f.Bool(&v.secretStdin, "secret-stdin", false, "a confidential client: its secret at the provider is the first line of standard input, stored encrypted; without it authd is a public client (PKCE alone)")
		f.String(&v.name, "name", "", "NAME", "the sign-in button's text, \"Sign in with NAME\"; default: the id")
		f.List(&v.scopes, "scope", "S", "a scope to ask the provider for; repeatable; must include openid; default openid email")
		f.Bool(&v.trustEmail, "trust-email", false, "accept the provider's email_verified: true as proof that the user owns the address (an existing account with that address is then linked to it)")
		f.String(&c.EncryptionKeyFile, "encryption-key-file", "authd.key", "FILE", "authd serve's key file, which encrypts the client secret; read only with --secret-stdin, and never made here")
	case "list", "show":
		f.Bool(&v.json, "json", false, "JSON lines instead of text")
	}
	storeFlags(f, c)
	f.cmdLineOnly = upstreamCmdLineOnly
	if err := f.parse(args[1:], getenv, stdout); err != nil {
		return err
	}
	if sub != "list" && v.id == "" {
		return fmt.Errorf("upstream %s: --id is required", sub)
	}
	if sub == "add" {
		switch {
		case v.issuer == "":
			return errors.New("upstream add: --issuer is required: the provider's issuer URL")
		case v.clientID == "":
			return errors.New("upstream add: --client-id is required: authd's client id at the provider")
		}
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
	// The sealer is needed only to store a secret: without one, the key
	// file is neither read nor made.
	var sealer upstream.Sealer
	if secret != "" {
		s, err := loadExistingKey(c.EncryptionKeyFile)
		if err != nil {
			return err
		}
		sealer = s
	}
	svc := upstream.New(upstream.Config{}, a.stores.upstreams, a.stores.challenges, sealer)
	switch sub {
	case "add":
		u, err := svc.Register(ctx, upstream.Spec{
			ID: v.id, Issuer: v.issuer, ClientID: v.clientID, Secret: secret,
			Name: v.name, Scopes: v.scopes.vals, TrustEmail: v.trustEmail,
		})
		if err != nil {
			return upstreamErr(err, v.id)
		}
		fmt.Fprintf(stdout, "upstream %s added (%s); register this redirect URI at the provider: ISSUER%s, ISSUER being authd serve's --issuer\n",
			u.ID, upstreamType(u), svc.RedirectURI(u.ID))
		return nil
	case "list":
		l, err := svc.List(ctx)
		if err != nil {
			return upstreamErr(err, "")
		}
		return printUpstreams(stdout, l, v.json)
	case "show":
		u, err := svc.Get(ctx, v.id)
		if err != nil {
			return upstreamErr(err, v.id)
		}
		if v.json {
			return printUpstreams(stdout, []*authd.Upstream{u}, true)
		}
		return showUpstream(stdout, u, svc.RedirectURI(u.ID))
	default: // delete
		if err := svc.Delete(ctx, v.id); err != nil {
			return upstreamErr(err, v.id)
		}
		fmt.Fprintf(stdout, "upstream %s deleted, and every identity linked at it\n", v.id)
		return nil
	}
}

// loadExistingKey reads serve's encryption key. Unlike serve, it refuses a
// missing file instead of making one: a secret sealed under a key serve
// does not have could never be opened.
func loadExistingKey(path string) (*mfa.Sealer, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no encryption key at %s: start authd serve once, or pass --encryption-key-file", path)
	}
	s, _, err := mfa.LoadKey(path)
	return s, err
}

// upstreamErr says what went wrong in one line, naming the flag at fault.
func upstreamErr(err error, id string) error {
	var inv *authd.InvalidError
	switch {
	case errors.As(err, &inv):
		flag := strings.ReplaceAll(inv.Field, "_", "-") // client_id is --client-id
		switch inv.Field {
		case "secret":
			flag = "secret-stdin"
		case "scopes":
			flag = "scope"
		}
		return fmt.Errorf("--%s: %s", flag, inv.Message)
	case errors.Is(err, authd.ErrConflict):
		return fmt.Errorf("upstream %s already exists", id)
	case errors.Is(err, authd.ErrNotFound):
		return fmt.Errorf("no upstream provider with id %s", id)
	}
	return err
}

// upstreamType is "confidential" (authd has a client secret there) or
// "public" (PKCE alone).
func upstreamType(u *authd.Upstream) string {
	if len(u.SecretSealed) > 0 {
		return "confidential"
	}
	return "public"
}

// upstreamJSON is a provider as list --json and show --json print it: the
// members of the admin API's (but redirect_uri, which needs serve's
// --issuer), and the type of client list --json.
//
// NOTE: no member for the secret: it never leaves authd.
type upstreamJSON struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Issuer     string    `json:"issuer"`
	ClientID   string    `json:"client_id"`
	Type       string    `json:"type"` // public or confidential
	HasSecret  bool      `json:"has_secret"`
	Scopes     []string  `json:"scopes"`
	TrustEmail bool      `json:"trust_email"`
	CreatedAt  time.Time `json:"created_at"`
}

// printUpstreams writes one provider a line: a table, or JSON lines.
func printUpstreams(w io.Writer, l []*authd.Upstream, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, u := range l {
			if err := enc.Encode(upstreamJSON{
				ID: u.ID, Name: u.Name, Issuer: u.Issuer, ClientID: u.ClientID, Type: upstreamType(u),
				HasSecret: len(u.SecretSealed) > 0, Scopes: nonNil(u.Scopes), TrustEmail: u.TrustEmail,
				CreatedAt: u.CreatedAt.UTC(),
			}); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tISSUER\tCLIENT ID\tTYPE\tTRUST EMAIL\tSCOPES")
	for _, u := range l {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Name, u.Issuer, u.ClientID, upstreamType(u), yesNo(u.TrustEmail), orNone(u.Scopes, " "))
	}
	return tw.Flush()
}

// showUpstream writes every field of u but its secret, one a line.
func showUpstream(w io.Writer, u *authd.Upstream, redirectPath string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	typ := "public (PKCE alone, no client secret)"
	if len(u.SecretSealed) > 0 {
		typ = "confidential (client secret stored encrypted)"
	}
	for _, f := range [][2]string{
		{"id", u.ID},
		{"name", u.Name},
		{"issuer", u.Issuer},
		{"client id", u.ClientID},
		{"type", typ},
		{"scopes", orNone(u.Scopes, " ")},
		{"trust email", yesNo(u.TrustEmail)},
		{"redirect URI", "ISSUER" + redirectPath + " (ISSUER: authd serve's --issuer)"},
		{"created", u.CreatedAt.UTC().Format(time.RFC3339)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", f[0], f[1])
	}
	return tw.Flush()
}
