package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/authd/authd"
	"github.com/authd/authd/internal/backoff"
)

// SenderConfig configures a Sender. Zero fields take their defaults.
type SenderConfig struct {
	From   string        // the From of every mail (see DefaultFrom, ParseFrom)
	Poll   time.Duration // how often to look for due mail (default 1s)
	Lease  time.Duration // claim lease; longer than a send may take (default 2m)
	MaxAge time.Duration // give up a message this old (default 72h), logged at ERROR with its id and target
	// SendTimeout bounds one send (default DefaultSendTimeout, or a
	// quarter of Lease when that is shorter). A send is begun only while
	// at least twice SendTimeout of the batch's lease is left.
	SendTimeout time.Duration
	// Batch is how many mails one round claims (default 16).
	Batch  int
	Now    func() time.Time
	Logger *slog.Logger
}

// Sender delivers the outbox's mails. Any number of Senders, on any number
// of nodes, may share one outbox: each mail is claimed by one of them at a
// time.
//
// NOTE:
//   - no request waits on SMTP: requests only enqueue (in the transaction
//     of the change that causes the mail) and Wake the Sender;
//   - a mail is deleted from the outbox as soon as it is sent (and when it
//     is given up), so a copy of the database holds no usable link once
//     the mail is out; while it waits its body is sealed (NewOutboxMessage);
//   - a claim leases a batch for Lease, and a send is begun only while the
//     lease has at least twice SendTimeout left (go-mail's deadline covers
//     the dial and the message separately), so no other node claims a mail
//     while it is being sent: two nodes never send one mail, except when a
//     node dies (or its store write fails) between the server's acceptance
//     and the deletion: then the lease ends and the mail is sent again.
//     Delivery is at-least-once; a repeated mail carries the same
//     Message-ID (the outbox id), which mail systems use to drop
//     duplicates;
//   - a temporary failure is retried with exponential backoff and jitter
//     (RetryDelay), the error kept in the row's LastErr; a permanent one
//     (a 5xx refusal, a body that does not open) and a mail older than
//     MaxAge are given up at once and logged at ERROR.
type Sender struct {
	ob   authd.Outbox
	t    Transport
	s    Sealer
	cfg  SenderConfig
	log  *slog.Logger
	wake chan struct{}
}

// NewSender returns a Sender of ob's mails through t, opening their bodies
// with s.
func NewSender(ob authd.Outbox, t Transport, s Sealer, cfg SenderConfig) *Sender {
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 72 * time.Hour
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = min(DefaultSendTimeout, cfg.Lease/4)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 16
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Sender{ob: ob, t: t, s: s, cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1)}
}

// Run delivers due mail until ctx is done: every Poll, and at once after
// Wake. Store and transport failures are logged and tried again later; Run
// returns only when ctx is done.
func (s *Sender) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for {
		for ctx.Err() == nil {
			_, claimed, _ := s.round(ctx)
			if claimed < s.cfg.Batch {
				break // a full batch: more may be due at once
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-t.C:
		}
	}
}

// Wake makes Run look for due mail now, without waiting for the next
// Poll; call it after enqueueing. It never blocks.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// SendDue runs one round: it claims up to Batch due mails and tries each.
// sent counts the mails the server accepted; err joins the claim's error
// or every failed mail's (given up or rescheduled).
func (s *Sender) SendDue(ctx context.Context) (sent int, err error) {
	sent, _, err = s.round(ctx)
	return sent, err
}

// round is SendDue, also reporting how many mails it claimed.
func (s *Sender) round(ctx context.Context) (sent, claimed int, err error) {
	start := time.Now() // the real clock: the lease guard is about real sends
	ms, err := s.ob.Claim(ctx, authd.OutboxMail, s.cfg.Now(), s.cfg.Lease, s.cfg.Batch)
	if err != nil {
		if ctx.Err() == nil {
			s.log.WarnContext(ctx, "mail: cannot claim due mail; trying again later", "err", err)
		}
		return 0, 0, fmt.Errorf("mail: claim: %w", err)
	}
	var errs []error
	for i, m := range ms {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break // the rest are sent when their lease ends
		}
		if time.Since(start)+2*s.cfg.SendTimeout > s.cfg.Lease {
			s.log.InfoContext(ctx, "mail: the claim's lease runs out; leaving the rest of the batch for later", "left", len(ms)-i)
			break
		}
		if err := s.deliver(ctx, m); err != nil {
			errs = append(errs, err)
		} else {
			sent++
		}
	}
	return sent, len(ms), errors.Join(errs...)
}

// deliver makes one attempt at om and records its outcome.
func (s *Sender) deliver(ctx context.Context, om *authd.OutboxMessage) error {
	if age := s.cfg.Now().Sub(om.CreatedAt); age > s.cfg.MaxAge {
		err := fmt.Errorf("mail: %s to %s: older than %s (%d attempts, last error: %s)", om.ID, om.Target, s.cfg.MaxAge, om.Attempts-1, om.LastErr)
		s.giveUp(ctx, om, err)
		return err
	}
	m, err := OpenOutboxMessage(om, s.s)
	if err != nil {
		s.giveUp(ctx, om, err)
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
	err = s.t.Send(sctx, s.cfg.From, m)
	cancel()
	if err == nil {
		if derr := s.ob.DeleteMessage(ctx, om.ID); derr != nil {
			s.log.WarnContext(ctx, "mail: sent, but cannot delete it from the outbox; it will be sent again when its lease ends",
				"id", om.ID, "err", derr)
		}
		s.log.InfoContext(ctx, "mail: sent", "id", om.ID, "user_id", om.UserID, "attempt", om.Attempts)
		return nil
	}
	err = fmt.Errorf("mail: %s to %s, attempt %d: %w", om.ID, om.Target, om.Attempts, err)
	if ctx.Err() != nil {
		return err // shutting down: the lease ends and another round tries again
	}
	if IsPermanent(err) {
		s.giveUp(ctx, om, err)
		return err
	}
	now := s.cfg.Now()
	next := now.Add(jitter(RetryDelay(om.Attempts)))
	if next.Sub(om.CreatedAt) > s.cfg.MaxAge {
		s.giveUp(ctx, om, fmt.Errorf("%w; it would be older than %s at the next attempt", err, s.cfg.MaxAge))
		return err
	}
	if rerr := s.ob.Reschedule(ctx, om.ID, next, truncate(err.Error(), 1000)); rerr != nil {
		s.log.WarnContext(ctx, "mail: cannot reschedule; it is tried again when its lease ends", "id", om.ID, "err", rerr)
	}
	s.log.WarnContext(ctx, "mail: not sent; will retry", "id", om.ID, "to", om.Target, "attempt", om.Attempts,
		"retry_in", next.Sub(now).Round(time.Second), "err", err)
	return err
}

// giveUp deletes om, which will never be sent, and says so at ERROR.
func (s *Sender) giveUp(ctx context.Context, om *authd.OutboxMessage, why error) {
	if err := s.ob.DeleteMessage(ctx, om.ID); err != nil {
		s.log.WarnContext(ctx, "mail: cannot delete a mail given up", "id", om.ID, "err", err)
	}
	s.log.ErrorContext(ctx, "mail: given up; the mail is not sent", "id", om.ID, "to", om.Target,
		"user_id", om.UserID, "attempts", om.Attempts, "err", why)
}

// RetryDelay is the longest wait before attempt n+1 after n failed ones:
// 5 s, 10 s, 20 s, … doubling up to 10 minutes. The Sender waits a random
// 80 to 100 % of it, so that mails that failed together do not retry
// together.
func RetryDelay(n int) time.Duration {
	return backoff.Exponential(n, 5*time.Second, 10*time.Minute)
}

// jitter returns a random duration from 80 % of d up to d.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d - rand.N(d/5+1)
}

// truncate cuts s to at most n bytes (on a rune boundary).
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
