package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/authd/authd"
	"github.com/authd/authd/account"
	"github.com/authd/authd/mfa"
	"github.com/authd/authd/password"
)

var userCmds = []*command{
	{name: "user add", summary: "create a user; prints its id alone on stdout",
		usage: "user add --email E [--role R]... [--password-stdin] [--db URL] [--redis URL]",
		more:  "Without --password-stdin the password is asked for twice on the terminal."},
	{name: "user passwd", summary: "set a user's password; ends all the user's sessions and refresh tokens",
		usage: "user passwd --email E [--password-stdin] [--db URL] [--redis URL]"},
	{name: "user lock", summary: "lock a user out; ends all the user's sessions and refresh tokens",
		usage: "user lock --email E [--db URL] [--redis URL]"},
	{name: "user unlock", summary: "let a locked user sign in again",
		usage: "user unlock --email E [--db URL] [--redis URL]"},
	{name: "user mfa reset", summary: "remove every second factor and recovery code of a user (audited), for a user who lost them",
		usage: "user mfa reset --email E [--db URL] [--redis URL]",
		more:  "The user then signs in with the password alone and may set up new factors."},
}

func runUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	if len(args) >= 2 && args[0] == "mfa" && !strings.HasPrefix(args[1], "-") {
		// A two-word subcommand: "user mfa reset".
		args = append([]string{"mfa " + args[1]}, args[2:]...)
	}
	cmd, err := subcommand("user", userCmds, args, stdout)
	if err != nil {
		return err
	}
	sub := strings.TrimPrefix(cmd.name, "user ")
	c := adminConfig()
	f := newFlags(cmd)
	var email string
	var roles list
	var pwStdin bool
	f.String(&email, "email", "", "E", "the user's email address; required")
	if sub == "add" {
		f.List(&roles, "role", "R", "a role of the user; repeatable")
	}
	if sub == "add" || sub == "passwd" {
		f.Bool(&pwStdin, "password-stdin", false, "read the password from the first line of standard input instead of prompting")
	}
	storeFlags(f, c)
	if err := f.parse(args[1:], getenv, stdout); err != nil {
		return err
	}
	if email == "" {
		return fmt.Errorf("user %s: --email is required", sub)
	}
	if sub == "add" {
		// Say what is wrong with the email before asking for a password.
		if err := account.ValidateEmail(account.NormalizeEmail(email)); err != nil {
			return userErr(err, email)
		}
	}
	a, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer a.stores.Close()
	switch sub {
	case "add":
		pw, err := readSecret(stdin, pwStdin, "Password for "+email+": ")
		if err != nil {
			return err
		}
		u, err := a.accounts.Create(ctx, email, pw, roles.vals)
		if err != nil {
			return userErr(err, email)
		}
		fmt.Fprintln(stdout, u.ID)
	case "passwd":
		pw, err := readSecret(stdin, pwStdin, "New password for "+email+": ")
		if err != nil {
			return err
		}
		if err := a.accounts.SetPassword(ctx, email, pw); err != nil {
			return userErr(err, email)
		}
		fmt.Fprintf(stdout, "password of %s changed; its sessions and refresh tokens are revoked\n", account.NormalizeEmail(email))
	case "lock", "unlock":
		if err := a.accounts.Lock(ctx, email, sub == "lock"); err != nil {
			return userErr(err, email)
		}
		fmt.Fprintf(stdout, "%s is %sed\n", account.NormalizeEmail(email), sub)
	case "mfa reset":
		u, err := a.stores.users.UserByEmail(ctx, account.NormalizeEmail(email))
		if err != nil {
			return userErr(err, email)
		}
		// The reset only deletes: it needs no secret opened, so the
		// encryption key file is not read (nor made) and a throwaway key
		// stands in for it.
		throwaway := make([]byte, 32)
		rand.Read(throwaway)
		sealer, err := mfa.NewSealer(throwaway)
		if err != nil {
			return err
		}
		svc, err := mfa.New(mfa.Config{}, a.stores.factors, a.stores.challenges, sealer, a.stores.audit)
		if err != nil {
			return err
		}
		if err := svc.Reset(ctx, u.ID); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "every second factor and recovery code of %s is removed\n", u.Email)
	}
	return nil
}

func userErr(err error, email string) error {
	var inv *authd.InvalidError
	switch {
	case errors.As(err, &inv):
		return fmt.Errorf("%s: %s", inv.Field, inv.Message)
	case errors.Is(err, authd.ErrConflict):
		return fmt.Errorf("a user with email %s already exists", email)
	case errors.Is(err, authd.ErrNotFound):
		return fmt.Errorf("no user with email %s", email)
	}
	return err
}

// readSecret reads a password from the first line of stdin (fromStdin) or
// prompts for it twice on the terminal without echo.
func readSecret(stdin io.Reader, fromStdin bool, prompt string) (string, error) {
	if fromStdin {
		line, err := bufio.NewReaderSize(stdin, password.MaxBytes+2).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("cannot read the secret from standard input: %v", err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return "", errors.New("standard input held no secret: pipe it in, e.g. printf '%s\\n' \"$PW\" | authd …")
		}
		return line, nil
	}
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("no terminal to ask for the secret: pass --password-stdin (or --secret-stdin) and pipe it in")
	}
	fmt.Fprint(os.Stderr, prompt)
	a, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(os.Stderr, "Again: ")
	b, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", err
	}
	if string(a) != string(b) {
		return "", errors.New("the two entries differ; nothing changed")
	}
	return string(a), nil
}

var versionCmd = &command{name: "version", summary: "print authd's version", usage: "version"}

func runVersion(args []string, stdout io.Writer) error {
	if err := newFlags(versionCmd).parse(args, func(string) string { return "" }, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "authd %s\n", authd.Version)
	return nil
}
