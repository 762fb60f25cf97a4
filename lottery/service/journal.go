package service

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

	Agencies    int    `json:"agencies,omitempty"` // draw: LOTTERY_AGENCIES
	Agency      int    `json:"agency,omitempty"`
	Seq         int    `json:"seq,omitempty"`
	Bets        int    `json:"bets,omitempty"`
	End         int64  `json:"end,omitempty"`         // stored: bets.csv size after the batch
	Fingerprint string `json:"fingerprint,omitempty"` // stored, finished
	Digest      string `json:"digest,omitempty"`      // stored: of the batch's body
	Batches     int    `json:"batches,omitempty"`     // finished
	Reason      string `json:"reason,omitempty"`      // rejected
	ReplyTo     string `json:"reply_to,omitempty"`    // request
	Correlation string `json:"correlation_id,omitempty"`
}

const (
	opDraw     = "draw" // the first record: a new draw and its settings
	opStored   = "stored"
	opRejected = "rejected"
	opFinished = "finished"
	opRequest  = "request"
	opAnswered = "answered"
	opDrawn    = "drawn"
)

// journal is an append-only file of commits: each line is a JSON array of
// the records of one commit, written and made durable with one fsync. A line
// is the unit of atomicity: a crash mid-write leaves a torn last line, which
// recovery drops whole, so a commit is kept entirely or not at all.
type journal struct {
	f       *os.File
	pending []record
}

// openJournal reads every complete record of the journal at path, lets check
// see them before anything on disk changes, then cuts off a torn last line
// left by a crash mid-write and opens the journal for appending. An error
// from check is returned as it is, with the journal untouched.
func openJournal(path string, check func([]record) error) (*journal, []record, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("open journal: %w", err)
	}
	recs, good, err := readRecords(f)
	if err == nil && check != nil {
		if err := check(recs); err != nil {
			f.Close()
			return nil, nil, err
		}
	}
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
		var commit []record
		if err := json.Unmarshal(bytes.TrimSpace(b), &commit); err != nil {
			if _, peekErr := br.Peek(1); errors.Is(peekErr, io.EOF) {
				return recs, good, nil // a torn last line: dropped
			}
			return nil, 0, fmt.Errorf("line %d: %w", line, err)
		}
		recs = append(recs, commit...)
		good += int64(len(b))
	}
}

// add queues a record for the next commit.
func (j *journal) add(rec record) { j.pending = append(j.pending, rec) }

// commit writes the queued records as one line and makes them durable. On
// an error the records stay queued: what the journal holds is then unsure
// until it is opened again (the lottery's recover does).
func (j *journal) commit() error {
	if len(j.pending) == 0 {
		return nil
	}
	line, _ := json.Marshal(j.pending) // cannot fail: plain fields
	line = append(line, '\n')
	failpoint.Hit("lottery/journal-torn", func() { j.f.Write(line[:len(line)/2]) })
	if _, err := j.f.Write(line); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync journal: %w", err)
	}
	j.pending = j.pending[:0]
	return nil
}

// uncommitted reports whether records wait for a commit.
func (j *journal) uncommitted() bool { return len(j.pending) > 0 }

func (j *journal) Close() error { return j.f.Close() }
