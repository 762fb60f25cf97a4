package broker

import (
	"encoding/json"
	"fmt"
	"strconv"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Message types, in the AMQP type property.
const (
	TypeBatch          = "batch"
	TypeFinished       = "finished"
	TypeWinnersRequest = "winners_request"
	TypeWinnersReply   = "winners_reply"
)

// Header names.
const (
	HeaderAgency      = "agency"
	HeaderBatch       = "batch"
	HeaderBets        = "bets"
	HeaderFingerprint = "fingerprint"
	HeaderReason      = "x-reject-reason"
	HeaderRejectedBy  = "x-rejected-by"
)

// MaxMessageBytes bounds every message the lottery accepts (RabbitMQ 4.x
// refuses anything over 16 MiB by default anyway).
const MaxMessageBytes = 16 << 20

// Batch is one batch of bets from an agency. Body holds the bets as CSV rows
// (first_name,last_name,document,birthdate,number, "\r\n" endings), readable
// in the management UI. Seq counts batches from 1; with the agency it is the
// batch's identity, so that a re-sent batch is recognised.
type Batch struct {
	Agency      int
	Seq         int
	Bets        int
	Fingerprint string // of the agency's file and batch size
	Body        []byte
}

// BatchID is the deterministic message id of an agency's batch.
func BatchID(agency, seq int) string {
	return "agency-" + strconv.Itoa(agency) + ".batch-" + strconv.Itoa(seq)
}

// Publishing encodes b.
func (b Batch) Publishing() amqp.Publishing {
	return amqp.Publishing{
		ContentType: "text/csv",
		Type:        TypeBatch,
		MessageId:   BatchID(b.Agency, b.Seq),
		Headers: amqp.Table{
			HeaderAgency:      int32(b.Agency),
			HeaderBatch:       int32(b.Seq),
			HeaderBets:        int32(b.Bets),
			HeaderFingerprint: b.Fingerprint,
		},
		Body: b.Body,
	}
}

// DecodeBatch reads a batch's headers and body; the agency header is read as
// sent, and the caller decides whether to trust it.
func DecodeBatch(d amqp.Delivery) (Batch, error) {
	var b Batch
	var err error
	if b.Agency, err = HeaderInt(d.Headers, HeaderAgency); err != nil {
		return b, err
	}
	if b.Seq, err = HeaderInt(d.Headers, HeaderBatch); err != nil {
		return b, err
	}
	if b.Bets, err = HeaderInt(d.Headers, HeaderBets); err != nil {
		return b, err
	}
	if b.Seq < 1 || b.Bets < 1 {
		return b, fmt.Errorf("batch header %s=%d, %s=%d: want both >= 1", HeaderBatch, b.Seq, HeaderBets, b.Bets)
	}
	b.Fingerprint, _ = d.Headers[HeaderFingerprint].(string)
	b.Body = d.Body
	return b, nil
}

// Finished is an agency's last event: every batch it sent is confirmed.
type Finished struct {
	Agency      int    `json:"agency"`
	Batches     int    `json:"batches"`
	Bets        int    `json:"bets"`
	Fingerprint string `json:"fingerprint"`
}

// Publishing encodes f.
func (f Finished) Publishing() amqp.Publishing {
	body, _ := json.Marshal(f) // cannot fail: plain fields
	return amqp.Publishing{
		ContentType: "application/json",
		Type:        TypeFinished,
		MessageId:   "agency-" + strconv.Itoa(f.Agency) + ".finished",
		Headers:     amqp.Table{HeaderAgency: int32(f.Agency)},
		Body:        body,
	}
}

// WinnersRequest asks for an agency's winners.
type WinnersRequest struct {
	Agency      int    `json:"agency"`
	Fingerprint string `json:"fingerprint,omitempty"` // of the file the agency sent
}

// Publishing encodes r; the RPC client adds reply_to and the correlation id.
func (r WinnersRequest) Publishing() amqp.Publishing {
	body, _ := json.Marshal(r) // cannot fail: plain fields
	return amqp.Publishing{
		ContentType: "application/json",
		Type:        TypeWinnersRequest,
		Headers:     amqp.Table{HeaderAgency: int32(r.Agency)},
		Body:        body,
	}
}

// WinnersReply answers a WinnersRequest: the agency's winning documents, one
// per winning bet, or an error.
type WinnersReply struct {
	Agency  int      `json:"agency"`
	Winners []string `json:"winners"`
	Error   string   `json:"error,omitempty"`
}

// DecodeJSON decodes a JSON message body into v, with the message named in
// the error.
func DecodeJSON(d amqp.Delivery, v any) error {
	if err := json.Unmarshal(d.Body, v); err != nil {
		return fmt.Errorf("decode %s message %q: %w", d.Type, d.MessageId, err)
	}
	return nil
}

// HeaderInt reads an integer header.
func HeaderInt(h amqp.Table, name string) (int, error) {
	switch v := h[name].(type) {
	case int8:
		return int(v), nil
	case int16:
		return int(v), nil
	case int32:
		return int(v), nil
	case int64:
		return int(v), nil
	case int:
		return v, nil
	case uint8:
		return int(v), nil
	case uint16:
		return int(v), nil
	case uint32:
		return int(v), nil
	case string:
		if n, err := strconv.Atoi(v); err == nil {
			return n, nil
		}
	case nil:
		return 0, fmt.Errorf("header %q missing", name)
	}
	return 0, fmt.Errorf("header %q = %v: want an integer", name, h[name])
}
