package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

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
	{name: "user list", summary: "list the users, one a line: id, state (active or locked), email, whether it is verified, roles",
		usage: "user list [--query Q] [--json] [--db URL] [--redis URL]",
		more:  "With --json, one JSON object a line: id, email, roles, locked, email_verified, created_at."},
	{name: "user show", summary: "show a user: the account, second factors and live sessions",
		usage: "user show --email E [--json] [--db URL] [--redis URL]",
		more:  "With --json, one JSON object. Neither shows a password hash or a secret."},
	{name: "user delete", summary: "delete a user and everything of theirs: sessions, refresh tokens, second factors, consents",
		usage: "user delete --email E [--yes] [--db URL] [--redis URL]",
		more: `Asks on the terminal for the email to be typed again; --yes does not ask
(and is required when standard input is not a terminal). The audit log
keeps the user's id, not the email, which is free for a new account.`},
	{name: "user role add", summary: "grant a user a role; ends all the user's sessions and refresh tokens",
		usage: "user role add --email E --role R [--db URL] [--redis URL]",
		more:  rolesMore},
	{name: "user role remove", summary: "take a role from a user; ends all the user's sessions and refresh tokens",
		usage: "user role remove --email E --role R [--db URL] [--redis URL]",
		more:  rolesMore},
	{name: "user sessions revoke", summary: "end every session and refresh token family of a user",
		usage: "user sessions revoke --email E [--db URL] [--redis URL]",
		more:  "The user stays able to sign in again; see user lock to keep them out."},
	{name: "user mfa reset", summary: "remove every second factor and recovery code of a user (audited), for a user who lost them",
		usage: "user mfa reset --email E [--db URL] [--redis URL]",
		more:  "The user then signs in with the password alone and may set up new factors."},
}

const rolesMore = `Sessions and tokens carry the roles they were signed in with, so a change
of roles ends every session and refresh token family of the user: they
sign in again to get the new ones. Granting a role the user has, or
taking one they lack, changes nothing and ends nothing.`

// userGroups are the first words of the two-word user subcommands.
var userGroups = []string{"role", "sessions", "mfa"}

// userPageSize is how many users user list asks the store for at once.
var userPageSize = 500

func runUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	cmd, rest, err := userSubcommand(args, stdout)
	if err != nil {
		return err
	}
	sub := strings.TrimPrefix(cmd.name, "user ")
	c := adminConfig()
	f := newFlags(cmd)
	var email, query, role string
	var roles list
	var pwStdin, asJSON, yes bool
	if sub == "list" {
		f.String(&query, "query", "", "Q", "only the users whose email contains Q, in any case")
	} else {
		f.String(&email, "email", "", "E", "the user's email address; required")
	}
	switch sub {
	case "add":
		f.List(&roles, "role", "R", "a role of the user; repeatable")
	case "role add":
		f.String(&role, "role", "", "R", "the role to grant; required")
	case "role remove":
		f.String(&role, "role", "", "R", "the role to take away; required")
	case "list":
		f.Bool(&asJSON, "json", false, "JSON lines instead of text")
	case "show":
		f.Bool(&asJSON, "json", false, "one JSON object instead of text")
	case "delete":
		f.Bool(&yes, "yes", false, "delete without asking")
	}
	if sub == "add" || sub == "passwd" {
		f.Bool(&pwStdin, "password-stdin", false, "read the password from the first line of standard input instead of prompting")
	}
	storeFlags(f, c)
	if err := f.parse(rest, getenv, stdout); err != nil {
		return err
	}
	if sub != "list" && email == "" {
		return fmt.Errorf("user %s: --email is required", sub)
	}
	if sub == "add" {
		// Say what is wrong with the email before asking for a password.
		if err := account.ValidateEmail(account.NormalizeEmail(email)); err != nil {
			return userErr(err, email)
		}
	}
	if strings.HasPrefix(sub, "role ") {
		if role == "" {
			return fmt.Errorf("user %s: --role is required", sub)
		}
		if _, err := account.CheckRoles([]string{role}); err != nil {
			return roleErr(err)
		}
	}
	a, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer a.stores.Close()
	switch sub {
	case "list":
		return listUsers(ctx, a, query, asJSON, stdout)
	case "show":
		u, err := userByEmail(ctx, a, email)
		if err != nil {
			return err
		}
		return showUser(ctx, a, u, asJSON, stdout)
	case "delete":
		u, err := userByEmail(ctx, a, email)
		if err != nil {
			return err
		}
		if !yes {
			if err := confirmDelete(stdin, u.Email); err != nil {
				return err
			}
		}
		if err := a.accounts.Delete(ctx, u.ID, account.ActorCLI, account.Meta{}); err != nil {
			return userErr(err, email)
		}
		fmt.Fprintf(stdout, "%s (%s) is deleted, with their sessions, refresh tokens, second factors and consents\n", u.Email, u.ID)
	case "role add", "role remove":
		u, err := userByEmail(ctx, a, email)
		if err != nil {
			return err
		}
		return changeRole(ctx, a, u, role, sub == "role add", stdout)
	case "sessions revoke":
		u, err := userByEmail(ctx, a, email)
		if err != nil {
			return err
		}
		if err := a.accounts.EndSessions(ctx, u.ID, account.ActorCLI, account.Meta{}); err != nil {
			return userErr(err, email)
		}
		fmt.Fprintf(stdout, "every session and refresh token family of %s is ended\n", u.Email)
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
		u, err := userByEmail(ctx, a, email)
		if err != nil {
			return err
		}
		svc, err := factorsWithoutKey(a)
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

// userSubcommand picks the user subcommand from args, one word ("user
// add") or two ("user role add"), and returns the arguments after it.
func userSubcommand(args []string, stdout io.Writer) (*command, []string, error) {
	if len(args) > 0 && slices.Contains(userGroups, args[0]) {
		group := "user " + args[0]
		var subs []*command
		for _, c := range userCmds {
			if strings.HasPrefix(c.name, group+" ") {
				subs = append(subs, c)
			}
		}
		cmd, err := subcommand(group, subs, args[1:], stdout)
		if err != nil {
			return nil, nil, err
		}
		return cmd, args[2:], nil
	}
	cmd, err := subcommand("user", userCmds, args, stdout)
	if err != nil {
		return nil, nil, err
	}
	return cmd, args[1:], nil
}

// userByEmail finds the user with email, or says there is none.
func userByEmail(ctx context.Context, a *app, email string) (*authd.User, error) {
	u, err := a.stores.users.UserByEmail(ctx, account.NormalizeEmail(email))
	if err != nil {
		return nil, userErr(err, email)
	}
	return u, nil
}

// factorsWithoutKey is the second-factor service for the commands that
// only read factors or delete them: they open no secret, so the
// encryption key file is not read (nor made) and a throwaway key stands
// in for it.
func factorsWithoutKey(a *app) (*mfa.Service, error) {
	throwaway := make([]byte, 32)
	rand.Read(throwaway)
	sealer, err := mfa.NewSealer(throwaway)
	if err != nil {
		return nil, err
	}
	return mfa.New(mfa.Config{}, a.stores.factors, a.stores.challenges, sealer, a.stores.audit)
}

// userJSON is a user as user list --json prints it (and user show --json,
// with more).
type userJSON struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	Roles         []string  `json:"roles"`
	Locked        bool      `json:"locked"`
	EmailVerified bool      `json:"email_verified"`
	CreatedAt     time.Time `json:"created_at"`
}

func newUserJSON(u *authd.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Roles: nonNil(u.Roles), Locked: u.Locked,
		EmailVerified: u.EmailVerified, CreatedAt: u.CreatedAt.UTC()}
}

func userState(u *authd.User) string {
	if u.Locked {
		return "locked"
	}
	return "active"
}

func verified(u *authd.User) string {
	if u.EmailVerified {
		return "verified"
	}
	return "unverified"
}

// listUsers prints every user query selects, one a line, paging through
// the directory userPageSize at a time. JSON lines are written page by
// page; the table is aligned over all of them.
func listUsers(ctx context.Context, a *app, query string, asJSON bool, w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if !asJSON {
		fmt.Fprintln(tw, "ID\tSTATE\tEMAIL\tVERIFIED\tROLES")
	}
	cursor := ""
	for {
		page, next, err := a.stores.directory.ListUsers(ctx, authd.UserQuery{Query: query, Limit: userPageSize, Cursor: cursor})
		if err != nil {
			return fmt.Errorf("cannot list the users: %w", err)
		}
		for _, u := range page {
			if asJSON {
				if err := enc.Encode(newUserJSON(u)); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.ID, userState(u), u.Email, yesNo(u.EmailVerified), orNone(u.Roles, ","))
		}
		if next == "" || len(page) == 0 {
			break
		}
		cursor = next
	}
	if asJSON {
		return nil
	}
	return tw.Flush()
}

// The rest of user show --json.
type (
	userDetailJSON struct {
		userJSON
		MFA      mfaJSON       `json:"mfa"`
		Sessions []sessionJSON `json:"sessions"`
	}
	mfaJSON struct {
		TOTP              bool          `json:"totp"`
		Passkeys          []passkeyJSON `json:"passkeys"`
		RecoveryCodesLeft int           `json:"recovery_codes_left"`
	}
	passkeyJSON struct {
		ID         string     `json:"id"`
		Name       string     `json:"name"`
		CreatedAt  time.Time  `json:"created_at"`
		LastUsedAt *time.Time `json:"last_used_at"` // null until first used
	}
	sessionJSON struct {
		ID         string    `json:"id"`
		CreatedAt  time.Time `json:"created_at"`
		LastSeenAt time.Time `json:"last_seen_at"`
		ExpiresAt  time.Time `json:"expires_at"`
		IP         string    `json:"ip"`
		UserAgent  string    `json:"user_agent"`
		AMR        []string  `json:"amr"`
	}
)

// showUser prints the user, their second factors and live sessions.
func showUser(ctx context.Context, a *app, u *authd.User, asJSON bool, w io.Writer) error {
	svc, err := factorsWithoutKey(a)
	if err != nil {
		return err
	}
	st, err := svc.Status(ctx, u.ID)
	if err != nil {
		return err
	}
	sessions, err := a.sessions.List(ctx, u.ID)
	if err != nil {
		return err
	}
	if asJSON {
		d := userDetailJSON{userJSON: newUserJSON(u),
			MFA:      mfaJSON{TOTP: st.TOTP, Passkeys: []passkeyJSON{}, RecoveryCodesLeft: st.RecoveryCodesLeft},
			Sessions: []sessionJSON{}}
		for _, p := range st.Passkeys {
			pj := passkeyJSON{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt.UTC()}
			if !p.LastUsedAt.IsZero() {
				t := p.LastUsedAt.UTC()
				pj.LastUsedAt = &t
			}
			d.MFA.Passkeys = append(d.MFA.Passkeys, pj)
		}
		for _, s := range sessions {
			d.Sessions = append(d.Sessions, sessionJSON{ID: s.ID, CreatedAt: s.CreatedAt.UTC(), LastSeenAt: s.LastSeenAt.UTC(),
				ExpiresAt: s.ExpiresAt.UTC(), IP: s.IP, UserAgent: s.UserAgent, AMR: nonNil(s.AMR)})
		}
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(d)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "id:\t%s\n", u.ID)
	fmt.Fprintf(tw, "email:\t%s (%s)\n", u.Email, verified(u))
	fmt.Fprintf(tw, "roles:\t%s\n", orNone(u.Roles, " "))
	fmt.Fprintf(tw, "state:\t%s\n", userState(u))
	fmt.Fprintf(tw, "created:\t%s\n", u.CreatedAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "authenticator app:\t%s\n", yesNo(st.TOTP))
	if len(st.Passkeys) == 0 {
		fmt.Fprintf(tw, "passkeys:\t-\n")
	}
	for i, p := range st.Passkeys {
		label := ""
		if i == 0 {
			label = "passkeys:"
		}
		used := "never used"
		if !p.LastUsedAt.IsZero() {
			used = "last used " + p.LastUsedAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s (added %s, %s)\n", label, orDash(p.Name), p.CreatedAt.UTC().Format(time.RFC3339), used)
	}
	fmt.Fprintf(tw, "recovery codes left:\t%d\n", st.RecoveryCodesLeft)
	fmt.Fprintf(tw, "live sessions:\t%d\n", len(sessions))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(sessions) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tCREATED\tLAST SEEN\tIP\tDEVICE")
	for _, s := range sessions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.CreatedAt.UTC().Format(time.RFC3339), s.LastSeenAt.UTC().Format(time.RFC3339),
			orDash(s.IP), orDash(oneLine(s.UserAgent)))
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// confirmDelete asks on the terminal for the email to be typed again.
func confirmDelete(stdin io.Reader, email string) error {
	f, ok := stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return errors.New("user delete: no terminal to confirm on: pass --yes to delete without asking")
	}
	fmt.Fprintf(os.Stderr, "Delete %s and everything of theirs? Type the email to confirm: ", email)
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("cannot read the confirmation: %v", err)
	}
	if typed := strings.TrimSpace(line); account.NormalizeEmail(typed) != email {
		return fmt.Errorf("user delete: %q was typed, not %s: nothing deleted", typed, email)
	}
	return nil
}

// changeRole grants or takes role; a change ends the user's sessions.
func changeRole(ctx context.Context, a *app, u *authd.User, role string, add bool, w io.Writer) error {
	has := slices.Contains(u.Roles, role)
	switch {
	case add && has:
		fmt.Fprintf(w, "%s already has the role %s: nothing changed\n", u.Email, role)
		return nil
	case !add && !has:
		fmt.Fprintf(w, "%s does not have the role %s: nothing changed\n", u.Email, role)
		return nil
	}
	roles := slices.Clone(u.Roles)
	verb := "granted to"
	if add {
		roles = append(roles, role)
	} else {
		roles = slices.DeleteFunc(roles, func(r string) bool { return r == role })
		verb = "taken from"
	}
	nu, err := a.accounts.SetRoles(ctx, u.ID, roles, account.ActorCLI, account.Meta{})
	if err != nil {
		if errors.Is(err, authd.ErrNotFound) {
			return userErr(err, u.Email)
		}
		return roleErr(err)
	}
	fmt.Fprintf(w, "role %s %s %s (roles now: %s); their sessions and refresh tokens are ended\n", role, verb, u.Email, orNone(nu.Roles, ", "))
	return nil
}

// roleErr names --role in the rules' refusal of a role.
func roleErr(err error) error {
	var inv *authd.InvalidError
	if errors.As(err, &inv) {
		return fmt.Errorf("--role: %s", inv.Message)
	}
	return err
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
