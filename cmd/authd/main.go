// Command authd is the authd authentication service: `authd serve` runs it;
// the other subcommands manage its users, keys, clients and upstream
// providers and read its audit log on the same stores. See `authd --help`.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `authd: session and JWT authentication over one user base

Usage:
  authd serve    [flags]        run the server
  authd migrate  [flags]        create or upgrade the schema, then exit
  authd user add --email E [--role R]... [--password-stdin]
                                create a user; prints its id
  authd user passwd --email E [--password-stdin]
                                set a password; ends the user's sessions and refresh tokens
  authd user lock|unlock --email E
  authd user list [--query Q] [--json]
                                one user a line (id, state, email, verified, roles)
  authd user show --email E [--json]
                                the user, second factors, live sessions
  authd user delete --email E [--yes]
                                delete the user and everything of theirs (asks unless --yes)
  authd user role add|remove --email E --role R
                                grant or take a role; ends the user's sessions and refresh tokens
  authd user sessions revoke --email E
                                end every session and refresh token family of the user
  authd user mfa reset --email E
                                remove every second factor and recovery code (audited)
  authd keys list | keys rotate [--alg ALG]
                                signing keys
  authd client add --id ID [--secret-stdin] [--redirect-uri URI]... [client flags]
                                register a client: an app that signs users in,
                                a service, or a resource server (introspection)
  authd client list [--json] | client show --id ID [--json] | client delete --id ID
                                the registered clients
  authd upstream add --id ID --issuer URL --client-id C [--secret-stdin] [--name N] [--scope S]... [--trust-email]
                                register another OpenID Connect provider users may
                                sign in with; prints the redirect URI to register there
  authd upstream list [--json] | upstream show --id ID [--json] | upstream delete --id ID
                                the upstream providers (delete also deletes the
                                identities linked at it)
  authd audit [--email E] [--event EV] [--since TIME] [--limit N] [--json]
                                read the audit log, newest first
  authd bench    [--quick] [--soak DURATION] [flags]
                                the session-vs-JWT and OIDC code-flow benchmark on real authd processes
  authd version

Every command takes the store flags (--db, --redis, --redis-prefix) and
works on the data of serve; every command but serve, migrate and bench
refuses to start on a missing SQLite file. Every flag has an environment
variable: --session-idle is AUTHD_SESSION_IDLE; a flag wins over its
variable. Run 'authd COMMAND --help' (or 'authd help COMMAND') for a
command's flags.
`

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	case "help":
		// authd help user add is authd user add --help.
		if len(args) == 1 {
			fmt.Fprint(stdout, usage)
			return 0
		}
		return run(ctx, append(args[1:len(args):len(args)], "--help"), getenv, stdin, stdout, stderr)
	case "version", "--version":
		err = runVersion(args[1:], stdout)
	case "serve":
		err = runServe(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, args[1:], getenv, stdout)
	case "user":
		err = runUser(ctx, args[1:], getenv, stdin, stdout)
	case "keys":
		err = runKeys(ctx, args[1:], getenv, stdout)
	case "client":
		err = runClient(ctx, args[1:], getenv, stdin, stdout)
	case "upstream":
		err = runUpstream(ctx, args[1:], getenv, stdin, stdout)
	case "audit":
		err = runAudit(ctx, args[1:], getenv, stdout)
	case "bench":
		err = runBench(ctx, args[1:], getenv, stdout, stderr)
	default:
		err = fmt.Errorf("unknown command %q; run 'authd --help' for the list", args[0])
	}
	return exit(err, stderr)
}

// subcommand picks the subcommand of a group (user, keys, client, upstream) from
// args: it prints the group's help for --help and refuses an unknown one.
func subcommand(group string, subs []*command, args []string, stdout io.Writer) (*command, error) {
	names := make([]string, len(subs))
	for i, c := range subs {
		names[i] = strings.TrimPrefix(c.name, group+" ")
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("%s: missing subcommand: want %s; run 'authd %s --help'", group, orList(names), group)
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		fmt.Fprintf(stdout, "Usage:\n")
		for _, c := range subs {
			fmt.Fprintf(stdout, "  authd %s\n      %s\n", c.usage, c.summary)
		}
		fmt.Fprintf(stdout, "\nRun 'authd %s SUBCOMMAND --help' for a subcommand's flags.\n", group)
		return nil, errHelp{}
	}
	for i, n := range names {
		if args[0] == n {
			return subs[i], nil
		}
	}
	return nil, fmt.Errorf("%s: unknown subcommand %q: want %s", group, args[0], orList(names))
}

// exit prints err as the one line the contract allows and returns the exit status.
func exit(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	if _, ok := err.(errHelp); ok {
		return 0
	}
	fmt.Fprintf(stderr, "authd: %s\n", oneLine(err.Error()))
	return 1
}

func oneLine(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '\n' || r == '\r' {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}
