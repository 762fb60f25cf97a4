package broker

import (
	"encoding/json"
	"errors"
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
	HeaderReplica     = "x-replica"          // the lottery replica that refused it
	HeaderDropped     = "x-original-headers" // in a dead letter whose headers were left out
)

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

// DecodeBatch reads a batch's headers and body and checks them against the
// protocol's limits. The agency header is read as sent: the caller decides
// whether to trust it.
func DecodeBatch(d amqp.Delivery) (Batch, error) {
	var b Batch
	if len(d.Body) > MaxMessageBytes {
		return b, fmt.Errorf("batch of %d bytes: over the limit of %d bytes", len(d.Body), MaxMessageBytes)
	}
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
	if b.Seq < 1 || b.Seq > MaxBatches {
		return b, fmt.Errorf("batch header %s=%d: want 1 to %d", HeaderBatch, b.Seq, MaxBatches)
	}
	if b.Bets < 1 || b.Bets > MaxBatchBets {
		return b, fmt.Errorf("batch header %s=%d: want 1 to %d", HeaderBets, b.Bets, MaxBatchBets)
	}
	if b.Fingerprint, _ = d.Headers[HeaderFingerprint].(string); b.Fingerprint == "" {
		return b, fmt.Errorf("batch header %s missing: want the agency's file fingerprint", HeaderFingerprint)
	}
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

// DecodeFinished reads a finished event and checks it against the
// protocol's limits: no more than MaxBatches batches, each of one to
// MaxBatchBets bets, and the agency's fingerprint.
func DecodeFinished(d amqp.Delivery) (Finished, error) {
	var f Finished
	if err := decodeEvent(d, &f); err != nil {
		return f, err
	}
	switch {
	case f.Batches < 0 || f.Batches > MaxBatches:
		return f, fmt.Errorf("finished event announces %d batches: want 0 to %d", f.Batches, MaxBatches)
	case f.Bets < f.Batches || f.Bets > f.Batches*MaxBatchBets:
		return f, fmt.Errorf("finished event announces %d bets in %d batches: want 1 to %d bets a batch", f.Bets, f.Batches, MaxBatchBets)
	case f.Fingerprint == "":
		return f, errors.New("finished event without a fingerprint: want the agency's file fingerprint")
	}
	return f, nil
}

// DecodeWinnersRequest reads a winners request and checks it: a
// correlation id to answer with, and the agency's fingerprint.
func DecodeWinnersRequest(d amqp.Delivery) (WinnersRequest, error) {
	var r WinnersRequest
	if err := decodeEvent(d, &r); err != nil {
		return r, err
	}
	switch {
	case d.CorrelationId == "":
		return r, errors.New("winners request without a correlation id: nothing to answer with")
	case r.Fingerprint == "":
		return r, errors.New("winners request without a fingerprint: want the agency's file fingerprint")
	}
	return r, nil
}

// decodeEvent decodes the JSON body of a finished event or winners request,
// of at most MaxEventBytes.
func decodeEvent(d amqp.Delivery, v any) error {
	if len(d.Body) > MaxEventBytes {
		return fmt.Errorf("%s message %q of %d bytes: over the limit of %d bytes", d.Type, d.MessageId, len(d.Body), MaxEventBytes)
	}
	return DecodeJSON(d, v)
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
