package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/authd/authd"
)

var auditCmd = &command{name: "audit", summary: "read the audit log, newest first",
	usage: "audit [--email E] [--event EV] [--since TIME] [--limit N] [--json] [--db URL] [--redis URL]",
	more: `One event a line: time, event, user id, IP, detail. With --json, one JSON
object a line: at, event, user_id, session_id, ip, user_agent, detail.
A deleted user's events keep their id but can no longer be found by
email.`}

// Bounds of audit --limit.
const (
	auditDefaultLimit = 50
	auditMaxLimit     = 1000
)

// eventRE is what an event name looks like: login_failed.
var eventRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	c := adminConfig()
	f := newFlags(auditCmd)
	var email, event, since string
	var limit int
	var asJSON bool
	f.String(&email, "email", "", "E", "only the events of the user with this email")
	f.String(&event, "event", "", "EV", "only the events of this name, e.g. login_failed or admin_action")
	f.String(&since, "since", "", "TIME", "only the events at or after TIME: RFC 3339 (2025-01-02T15:04:05Z) or a duration back from now (24h)")
	f.Int(&limit, "limit", auditDefaultLimit, fmt.Sprintf("the most events shown, 1 to %d", auditMaxLimit))
	f.Bool(&asJSON, "json", false, "JSON lines instead of text")
	storeFlags(f, c)
	if err := f.parse(args, getenv, stdout); err != nil {
		return err
	}
	if limit < 1 || limit > auditMaxLimit {
		return fmt.Errorf("--limit %d: want 1 to %d", limit, auditMaxLimit)
	}
	if event != "" && !eventRE.MatchString(event) {
		return fmt.Errorf("--event %q: want an event name like login_failed", event)
	}
	q := authd.AuditQuery{Event: event, Limit: limit}
	if since != "" {
		t, err := parseSince(since, time.Now())
		if err != nil {
			return err
		}
		q.Since = t
	}
	a, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer a.stores.Close()
	if email != "" {
		u, err := userByEmail(ctx, a, email)
		if err != nil {
			return err
		}
		q.UserID = u.ID
	}
	var events []authd.AuditEvent
	for len(events) < limit {
		q.Limit = limit - len(events)
		page, next, err := a.stores.auditReader.ListEvents(ctx, q)
		if err != nil {
			return fmt.Errorf("cannot read the audit log: %w", err)
		}
		events = append(events, page...)
		if next == "" || len(page) == 0 {
			break
		}
		q.Cursor = next
	}
	return printEvents(stdout, events, asJSON)
}

// parseSince reads --since: an RFC 3339 time, or a duration before now.
func parseSince(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want a time like 2025-01-02T15:04:05Z or a duration back from now like 24h", v)
}

// auditJSON is an event as audit --json prints it.
type auditJSON struct {
	At        time.Time `json:"at"`
	Event     string    `json:"event"`
	UserID    string    `json:"user_id"`
	SessionID string    `json:"session_id"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
	Detail    string    `json:"detail"`
}

// printEvents writes one event a line: a table, or JSON lines.
func printEvents(w io.Writer, events []authd.AuditEvent, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, e := range events {
			if err := enc.Encode(auditJSON{At: e.At.UTC(), Event: e.Event, UserID: e.UserID, SessionID: e.SessionID,
				IP: e.IP, UserAgent: e.UserAgent, Detail: e.Detail}); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tEVENT\tUSER\tIP\tDETAIL")
	for _, e := range events {
		// A detail is one line, and a tab in it would break the columns.
		detail := strings.ReplaceAll(oneLine(e.Detail), "\t", " ")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", e.At.UTC().Format(time.RFC3339), e.Event, orDash(e.UserID), orDash(e.IP), orDash(detail))
	}
	return tw.Flush()
}
