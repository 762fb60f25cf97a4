package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/loteria-nacional/pipeline/internal/failpoint"
)

// A record is one line of the journal: a durable fact about the draw. The
// journal is what makes bets.csv trustworthy: a batch counts as stored only
// once its "stored" record, with the end offset of bets.csv after it, is
// durable, and only then is it acked.
type record struct {
	Op string `json:"op"` // one of the op* constants

	Agency      int    `json:"agency,omitempty"`
	Seq         int    `json:"seq,omitempty"`
	Bets        int    `json:"bets,omitempty"`
	End         int64  `json:"end,omitempty"`         // stored: bets.csv size after the batch
	Fingerprint string `json:"fingerprint,omitempty"` // stored, finished
	Batches     int    `json:"batches,omitempty"`     // finished
	Reason      string `json:"reason,omitempty"`      // rejected
	ReplyTo     string `json:"reply_to,omitempty"`    // request
	Correlation string `json:"correlation_id,omitempty"`
}

const (
	opStored   = "stored"
	opRejected = "rejected"
	opFinished = "finished"
	opRequest  = "request"
	opAnswered = "answered"
	opDrawn    = "drawn"
)

// journal is an append-only file of JSON records, one a line, each group
// made durable with one fsync.
type journal struct {
	f   *os.File
	buf []byte
}

// openJournal reads every complete record of the journal at path, cuts off a
// torn last line left by a crash mid-write, and opens it for appending.
func openJournal(path string) (*journal, []record, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open journal: %w", err)
	}
	recs, good, err := readRecords(f)
	if err == nil {
		err = f.Truncate(good)
	}
	if err == nil {
		_, err = f.Seek(good, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("recover journal %s: %w", path, err)
	}
	return &journal{f: f}, recs, nil
}

func readRecords(r io.Reader) (recs []record, good int64, err error) {
	br := bufio.NewReader(r)
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return recs, good, nil // a line without "\n" is a torn write: dropped
		}
		if err != nil {
			return nil, 0, err
		}
		var rec record
		if err := json.Unmarshal(bytes.TrimSpace(b), &rec); err != nil {
			if _, peekErr := br.Peek(1); errors.Is(peekErr, io.EOF) {
				return recs, good, nil // a torn last line: dropped
			}
			return nil, 0, fmt.Errorf("line %d: %w", line, err)
		}
		recs = append(recs, rec)
		good += int64(len(b))
	}
}

// add queues a record for the next commit.
func (j *journal) add(rec record) {
	b, _ := json.Marshal(rec) // cannot fail: plain fields
	j.buf = append(append(j.buf, b...), '\n')
}

// commit writes the queued records and makes them durable.
func (j *journal) commit() error {
	if len(j.buf) == 0 {
		return nil
	}
	failpoint.Hit("lottery/journal-torn", func() { j.f.Write(j.buf[:len(j.buf)/2]) })
	if _, err := j.f.Write(j.buf); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	j.buf = j.buf[:0]
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync journal: %w", err)
	}
	return nil
}

func (j *journal) Close() error { return j.f.Close() }
