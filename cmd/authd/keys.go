package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/token"
)

const keysUsage = `keys list [--db URL]
       authd keys rotate [--alg EdDSA|ES256|RS256|HS256] [--db URL]`

func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("keys: missing subcommand: list or rotate; run 'authd keys --help'")
	}
	sub := args[0]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprintf(stdout, "Usage: authd %s\n\nrotate makes a new current signing key (of --alg, default the current key's\nalgorithm); every running node signs with it within 5 s, and the old public\nkey stays published until the last token it signed has expired.\n", keysUsage)
		return errHelp{}
	}
	if sub != "list" && sub != "rotate" {
		return fmt.Errorf("keys: unknown subcommand %q: use list or rotate", sub)
	}
	c := &Config{}
	fs := flagSet("keys " + sub)
	serveFlags(fs, c)
	var alg string
	if sub == "rotate" {
		fs.StringVar(&alg, "alg", "", "`algorithm` of the new key: EdDSA, ES256, RS256 or HS256 (default: the current key's)")
	}
	if err := parse(fs, args[1:], getenv, stdout, keysUsage); err != nil {
		return err
	}
	if alg != "" && !oneOf(alg, token.Algorithms...) {
		return fmt.Errorf("keys rotate: --alg %q: use EdDSA, ES256, RS256 or HS256", alg)
	}
	if err := c.validate(); err != nil {
		return err
	}
	st, err := openStores(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	if sub == "rotate" {
		// Make sure a current key exists first, so that rotate on a fresh
		// store retires nothing surprising.
		if _, err := newApp(ctx, c, st, slog.New(slog.DiscardHandler)); err != nil {
			return err
		}
		k, err := token.RotateKey(ctx, st.keys, alg, now)
		if err != nil {
			return fmt.Errorf("keys rotate: %v", err)
		}
		fmt.Fprintf(stdout, "new current key %s (%s); running nodes sign with it within 5 s\n", k.ID, k.Alg)
		return nil
	}
	keys, err := st.keys.Keys(ctx, now.Add(-c.AccessTTL))
	if err != nil {
		return fmt.Errorf("keys list: %v", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, k.Alg, keyState(k, now, c.AccessTTL), k.CreatedAt.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}

func keyState(k *authd.Key, now time.Time, ttl time.Duration) string {
	if k.RetiredAt.IsZero() {
		return "current"
	}
	return "retired, verifies until " + k.RetiredAt.Add(ttl).UTC().Format(time.RFC3339)
}

const clientUsage = `client add --id ID [--secret-stdin] [--db URL]`

func runClient(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("client: missing subcommand: add; run 'authd client --help'")
	}
	sub := args[0]
	if sub == "-h" || sub == "--help" || sub == "help" {
		fmt.Fprintf(stdout, "Usage: authd %s\n\nA client may call POST /oauth2/introspect with HTTP Basic credentials.\nWithout --secret-stdin a random secret is generated and printed once.\n", clientUsage)
		return errHelp{}
	}
	if sub != "add" {
		return fmt.Errorf("client: unknown subcommand %q: use add", sub)
	}
	c := &Config{}
	fs := flagSet("client add")
	serveFlags(fs, c)
	var id string
	var fromStdin bool
	fs.StringVar(&id, "id", "", "the client's `id`")
	fs.BoolVar(&fromStdin, "secret-stdin", false, "read the secret from the first line of standard input instead of generating one")
	if err := parse(fs, args[1:], getenv, stdout, clientUsage); err != nil {
		return err
	}
	if id == "" {
		return errors.New("client add: --id is required")
	}
	if err := c.validate(); err != nil {
		return err
	}
	secret := ""
	if fromStdin {
		s, err := readSecret(stdin, true, "")
		if err != nil {
			return err
		}
		secret = s
	} else {
		b := make([]byte, 32)
		rand.Read(b)
		secret = base64.RawURLEncoding.EncodeToString(b)
	}
	st, err := openStores(ctx, c)
	if err != nil {
		return err
	}
	defer st.Close()
	a, err := newApp(ctx, c, st, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	if err := a.clients.Create(ctx, id, secret); err != nil {
		if errors.Is(err, authd.ErrConflict) {
			return fmt.Errorf("client %s already exists", id)
		}
		return userErr(err, id)
	}
	if fromStdin {
		fmt.Fprintf(stdout, "client %s added\n", id)
	} else {
		fmt.Fprintf(stdout, "client_id=%s\nclient_secret=%s\n", id, secret)
	}
	return nil
}
