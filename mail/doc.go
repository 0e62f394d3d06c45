// Package mail owns authd's mail: the templates of every mail authd sends
// (embedded, multipart text and HTML), the outbox rows that carry them
// (sealed, since they hold live links), the transports that deliver them
// (SMTP through go-mail, or the log under --dev), and the Sender, the
// background worker that drains the outbox with retries.
//
// A request that causes a mail never talks to SMTP: it renders the mail
// (Render), turns it into an outbox row (NewOutboxMessage) written in the
// same transaction as the change that causes it, and nudges the Sender
// (Sender.Wake). The Sender claims due rows with a lease, sends them,
// deletes them once sent and reschedules them with backoff on a
// temporary failure, so that an SMTP outage delays mail and loses none.
//
// The model is Ory Kratos's courier (courier/message.go,
// courier_dispatcher.go), with what it lacks: enqueue in the same
// transaction as the link, claim with a lease, and no link left in the
// database once a mail is sent.
package mail
