package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"iter"
	"os"
	"strconv"

	"github.com/loteria-nacional/pipeline/bet"
)

// checkFile reads the whole file once, validating every row, and returns how
// many bets it holds and its fingerprint: a hash of the file's bytes and the
// batch size, so the lottery can tell a restarted agency that sends the same
// batches from one that sends a different file or batching. It streams.
func checkFile(ctx context.Context, path string, agency, batchSize int) (bets int, fingerprint string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", fmt.Errorf("read bets: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	r := bet.NewReader(io.TeeReader(f, h), agency)
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, "", fmt.Errorf("read bets: file %s: %w", path, err)
		}
		if bets++; bets%4096 == 0 && ctx.Err() != nil {
			return 0, "", ctx.Err() // SIGTERM during a long check
		}
	}
	return bets, fingerprintOf(h, batchSize), nil
}

// fingerprintOf finishes a hash of a file's bytes with the batch size.
func fingerprintOf(h hash.Hash, batchSize int) string {
	h.Write([]byte("\nbatch=" + strconv.Itoa(batchSize)))
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// chunk is one batch's body: its bets as CSV rows.
type chunk struct {
	body []byte
	bets int
}

// batches streams the file's bets as CSV bodies of exactly size bets each
// (only the last may hold fewer), in order: each row as the file wrote it,
// ending in "\r\n". The body is reused: use it before asking for the next.
//
// The rows are not validated again: checkFile did, and the lottery does.
// The file is hashed again instead, and a file whose fingerprint is no longer
// want ends in an error before the agency can announce that it finished.
func batches(path string, size int, want string) iter.Seq2[chunk, error] {
	return func(yield func(chunk, error) bool) {
		f, err := os.Open(path)
		if err != nil {
			yield(chunk{}, fmt.Errorf("read bets: %w", err))
			return
		}
		defer f.Close()
		h := sha256.New()
		r := bet.NewReader(io.TeeReader(f, h), 0)
		var body []byte
		n := 0
		for {
			err := r.Skip()
			if err == io.EOF {
				break
			}
			if err != nil {
				yield(chunk{}, fmt.Errorf("read bets: file %s: %w", path, err))
				return
			}
			body = append(append(body, r.Raw()...), '\r', '\n') // the row as the file wrote it
			if n++; n == size {
				if !yield(chunk{body, n}, nil) {
					return
				}
				body, n = body[:0], 0
			}
		}
		if got := fingerprintOf(h, size); got != want {
			yield(chunk{}, fmt.Errorf("read bets: file %s changed since it was checked (fingerprint %s, was %s)", path, got, want))
			return
		}
		if n > 0 {
			yield(chunk{body, n}, nil)
		}
	}
}
