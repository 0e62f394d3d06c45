package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// command describes one command for its --help.
type command struct {
	name    string // as typed after authd: "user add"
	summary string // one line: what it does
	usage   string // the synopsis after "authd ", flags included
	more    string // optional paragraphs after the usage
}

// flags are a command's flags: a flag.FlagSet that holds the values, plus
// what --help needs (group, placeholder) in the order they were added.
type flags struct {
	cmd   *command
	fs    *flag.FlagSet
	group string // the group new flags join; "" is the command's own
	order []flagInfo
	// cmdLineOnly names the flags no variable sets (upstream add's
	// --issuer is the provider's, while AUTHD_ISSUER is serve's own).
	cmdLineOnly []string
}

type flagInfo struct {
	name, group, placeholder, usage string
}

// Flag groups shown after a command's own flags.
const (
	groupStore = "Store flags (the data authd serve works on)"
)

func newFlags(cmd *command) *flags {
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flags{cmd: cmd, fs: fs}
}

// add registers v as --name. placeholder names the value in --help ("" for
// a bool flag).
func (f *flags) add(v flag.Value, name, placeholder, usage string) {
	f.fs.Var(v, name, usage)
	f.order = append(f.order, flagInfo{name: name, group: f.group, placeholder: placeholder, usage: usage})
}

func (f *flags) String(p *string, name, def, placeholder, usage string) {
	*p = def
	f.add((*stringValue)(p), name, placeholder, usage)
}

func (f *flags) Bool(p *bool, name string, def bool, usage string) {
	*p = def
	f.add((*boolValue)(p), name, "", usage)
}

func (f *flags) Int(p *int, name string, def int, usage string) {
	*p = def
	f.add((*intValue)(p), name, "N", usage)
}

func (f *flags) Duration(p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	f.add((*durationValue)(p), name, "DURATION", usage)
}

// Enum is a string flag that takes one of opts (case-insensitively; the
// value kept is spelled as in opts). An empty def means "not set".
func (f *flags) Enum(p *string, name, def, placeholder string, opts []string, usage string) {
	*p = def
	f.add(&enumValue{p: p, opts: opts}, name, placeholder, usage)
}

// List is a repeatable flag.
func (f *flags) List(l *list, name, placeholder, usage string) {
	f.add(l, name, placeholder, usage)
}

// The values below say, when a value is refused, what a valid one looks
// like; parse puts the flag or variable and the value in front.

type stringValue string

func (s *stringValue) String() string     { return string(*s) }
func (s *stringValue) Set(v string) error { *s = stringValue(v); return nil }

type boolValue bool

func (b *boolValue) String() string   { return strconv.FormatBool(bool(*b)) }
func (b *boolValue) IsBoolFlag() bool { return true }
func (b *boolValue) Set(v string) error {
	x, err := strconv.ParseBool(v)
	if err != nil {
		return errors.New("want true or false")
	}
	*b = boolValue(x)
	return nil
}

type intValue int

func (i *intValue) String() string { return strconv.Itoa(int(*i)) }
func (i *intValue) Set(v string) error {
	x, err := strconv.ParseInt(v, 10, strconv.IntSize)
	if err != nil {
		return errors.New("want a whole number like 10")
	}
	*i = intValue(x)
	return nil
}

type durationValue time.Duration

func (d *durationValue) String() string { return fmtDuration(time.Duration(*d)) }
func (d *durationValue) Set(v string) error {
	x, err := time.ParseDuration(v)
	if err != nil {
		return errors.New("want a duration like 15m or 2h30m")
	}
	*d = durationValue(x)
	return nil
}

// fmtDuration writes d the way people type it: 15m, not 15m0s.
func fmtDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

type enumValue struct {
	p    *string
	opts []string
}

func (e *enumValue) String() string {
	if e.p == nil {
		return ""
	}
	return *e.p
}

func (e *enumValue) Set(v string) error {
	for _, o := range e.opts {
		if strings.EqualFold(v, o) {
			*e.p = o
			return nil
		}
	}
	return fmt.Errorf("want %s", orList(e.opts))
}

// orList writes "a, b or c".
func orList(opts []string) string {
	if len(opts) < 2 {
		return strings.Join(opts, "")
	}
	return strings.Join(opts[:len(opts)-1], ", ") + " or " + opts[len(opts)-1]
}

// list is a repeatable flag. Values from the environment are
// comma-separated; the first value given on the command line replaces them
// (a flag wins over its variable).
type list struct {
	vals    []string
	fromEnv bool
}

func (l *list) String() string { return strings.Join(l.vals, ",") }
func (l *list) Set(v string) error {
	if l.fromEnv {
		l.vals, l.fromEnv = nil, false
	}
	l.vals = append(l.vals, v)
	return nil
}

// setEnv sets l from a comma-separated variable.
func (l *list) setEnv(v string) {
	l.vals = nil
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			l.vals = append(l.vals, x)
		}
	}
	l.fromEnv = true
}

// envName is the variable of a flag: --session-idle is AUTHD_SESSION_IDLE.
func envName(flagName string) string {
	return "AUTHD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// errHelp means --help was asked for and printed: exit 0.
type errHelp struct{}

func (errHelp) Error() string { return "help" }

// parse applies the environment, then the command line, to f. --help (or
// -h) anywhere prints the command's help to stdout and returns errHelp.
// Every error is one line that names the flag or variable, the value and
// what a valid value looks like.
func (f *flags) parse(args []string, getenv func(string) string, stdout io.Writer) error {
	for _, a := range args {
		if a == "--" {
			break
		}
		if a == "-h" || a == "--help" || a == "-help" {
			f.help(stdout)
			return errHelp{}
		}
	}
	for _, fi := range f.order {
		env := envName(fi.name)
		v := getenv(env)
		if v == "" || slices.Contains(f.cmdLineOnly, fi.name) {
			continue
		}
		fl := f.fs.Lookup(fi.name)
		if l, ok := fl.Value.(*list); ok {
			l.setEnv(v)
			continue
		}
		if err := fl.Value.Set(v); err != nil {
			return fmt.Errorf("%s=%q: %v", env, v, err)
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			if i+1 < len(args) {
				return f.unexpected(args[i+1])
			}
			break
		}
		if len(a) < 2 || a[0] != '-' || strings.HasPrefix(a, "---") {
			return f.unexpected(a)
		}
		name, val, hasVal := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		fl := f.fs.Lookup(name)
		if fl == nil {
			return fmt.Errorf("unknown flag --%s for authd %s; run 'authd %s --help'", name, f.cmd.name, f.cmd.name)
		}
		if b, ok := fl.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() && !hasVal {
			val = "true"
		} else if !hasVal {
			if i+1 >= len(args) {
				return fmt.Errorf("--%s needs a value; run 'authd %s --help'", name, f.cmd.name)
			}
			i++
			val = args[i]
		}
		if err := fl.Value.Set(val); err != nil {
			return fmt.Errorf("--%s %q: %v", name, val, err)
		}
	}
	return nil
}

func (f *flags) unexpected(arg string) error {
	return fmt.Errorf("unexpected argument %q for authd %s; run 'authd %s --help'", arg, f.cmd.name, f.cmd.name)
}

// help writes the command's help: what it does, its usage, its own flags,
// then the groups of shared flags, each with its default and variable.
func (f *flags) help(w io.Writer) {
	c := f.cmd
	fmt.Fprintf(w, "authd %s: %s\n\nUsage:\n  authd %s\n", c.name, c.summary, c.usage)
	if c.more != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(c.more, "\n"))
	}
	var groups []string
	for _, fi := range f.order {
		if !slices.Contains(groups, fi.group) {
			groups = append(groups, fi.group)
		}
	}
	for _, g := range groups {
		title := g
		if title == "" {
			title = "Flags"
		}
		fmt.Fprintf(w, "\n%s:\n", title)
		for _, fi := range f.order {
			if fi.group != g {
				continue
			}
			fmt.Fprintf(w, "  --%s", fi.name)
			if fi.placeholder != "" {
				fmt.Fprintf(w, " %s", fi.placeholder)
			}
			fmt.Fprintln(w)
			text := fi.usage + " ("
			if def := f.fs.Lookup(fi.name).DefValue; def != "" {
				text += "default " + def + "; "
			}
			if slices.Contains(f.cmdLineOnly, fi.name) {
				text += "command line only, never " + envName(fi.name) + ")"
			} else {
				text += "env " + envName(fi.name) + ")"
			}
			for _, line := range wrap(text, 72) {
				fmt.Fprintf(w, "      %s\n", line)
			}
		}
	}
	if len(f.order) == 0 {
		return
	}
	fmt.Fprintln(w, "\nA flag wins over its variable; the variable of a repeatable flag is a\ncomma-separated list.")
}

// wrap breaks s into lines of at most width bytes (longer words stay
// whole). A line never starts with "-", so that no description line reads
// as a flag.
func wrap(s string, width int) []string {
	var lines []string
	var cur []string
	n := 0
	for _, w := range strings.Fields(s) {
		if n > 0 && n+1+len(w) > width {
			if strings.HasPrefix(w, "-") && len(cur) > 1 {
				last := cur[len(cur)-1]
				lines = append(lines, strings.Join(cur[:len(cur)-1], " "))
				cur, n = []string{last}, len(last)
			} else {
				lines = append(lines, strings.Join(cur, " "))
				cur, n = nil, 0
			}
		}
		if n > 0 {
			n++
		}
		cur = append(cur, w)
		n += len(w)
	}
	if len(cur) > 0 {
		lines = append(lines, strings.Join(cur, " "))
	}
	return lines
}
