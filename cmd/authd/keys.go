package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/token"
)

var keysCmds = []*command{
	{name: "keys list", summary: "list the signing keys: kid, algorithm, state, created",
		usage: "keys list [--access-ttl D] [--db URL] [--redis URL]"},
	{name: "keys rotate", summary: "make a new current signing key",
		usage: "keys rotate [--alg ALG] [--db URL] [--redis URL]",
		more: `Every running node signs with the new key within 5 s; the old public key
stays published until the last token it signed has expired.`},
}

func runKeys(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	cmd, err := subcommand("keys", keysCmds, args, stdout)
	if err != nil {
		return err
	}
	c := adminConfig()
	f := newFlags(cmd)
	var alg string
	rotate := cmd.name == "keys rotate"
	if rotate {
		f.Enum(&alg, "alg", "", "ALG", token.Algorithms(), "algorithm of the new key: "+orList(token.Algorithms())+"; default: the current key's")
	} else {
		f.Duration(&c.AccessTTL, "access-ttl", 15*time.Minute, "the --access-ttl of serve: how long a retired key still verifies")
	}
	storeFlags(f, c)
	if err := f.parse(args[1:], getenv, stdout); err != nil {
		return err
	}
	if !rotate {
		if err := within("access-ttl", c.AccessTTL, time.Second, maxAccessTTL).err(); err != nil {
			return err
		}
	}
	st, err := openStores(ctx, c, mustExist)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	if rotate {
		// Make sure a current key exists first (of --alg, if given), so
		// that rotate on a fresh store retires nothing surprising.
		if alg != "" {
			c.JWTAlg = alg
		}
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
