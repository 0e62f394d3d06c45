package mail

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd"
)

// Sealer encrypts outbox bodies at rest (they carry live links). *mfa.Sealer
// implements it.
type Sealer interface {
	SealOutbox(id string, body []byte) []byte
	OpenOutbox(id string, sealed []byte) ([]byte, error)
}

// NewOutboxMessage returns the outbox row for m: a new ID, Kind
// authd.OutboxMail, Target m.To, UserID userID, Body the sealed JSON of m,
// CreatedAt and NextAt now. The caller enqueues it (authd.Outbox.Enqueue,
// or with the link that it carries, authd.LinkStore.IssueLink).
//
// NOTE: the body is sealed because it holds a live link: a copy of the
// database (a backup, a replica, a support dump) holds no usable link
// while the mail waits, and the Sender deletes the row once the mail is
// sent, so none afterwards either. The associated data binds the message
// id, so a sealed body moved to another row does not open.
func NewOutboxMessage(m *Message, userID string, s Sealer, now time.Time) (*authd.OutboxMessage, error) {
	if m == nil || m.To == "" {
		return nil, errors.New("mail: a message without a recipient")
	}
	if s == nil {
		return nil, errors.New("mail: no sealer for the outbox")
	}
	body, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("mail: encode the message: %w", err)
	}
	id := authd.NewID()
	return &authd.OutboxMessage{
		ID:        id,
		Kind:      authd.OutboxMail,
		Target:    m.To,
		UserID:    userID,
		Body:      s.SealOutbox(id, body),
		CreatedAt: now,
		NextAt:    now,
	}, nil
}

// OpenOutboxMessage returns the mail that the outbox row om carries. An
// error when its body does not open (another key, a changed byte, a body
// moved from another row) or does not decode.
func OpenOutboxMessage(om *authd.OutboxMessage, s Sealer) (*Message, error) {
	body, err := s.OpenOutbox(om.ID, om.Body)
	if err != nil {
		return nil, fmt.Errorf("mail: outbox message %s: the body does not open: %w", om.ID, err)
	}
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("mail: outbox message %s: the body does not decode: %w", om.ID, err)
	}
	if m.To == "" {
		return nil, fmt.Errorf("mail: outbox message %s: no recipient", om.ID)
	}
	m.MessageID = om.ID
	return &m, nil
}
