package agent

import (
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"iter"
	"os"
	"strconv"

	"github.com/loteria-nacional/pipeline/bet"
	"github.com/loteria-nacional/pipeline/broker"
)

// checkFile reads the whole file once, validating every row, and returns how
// many bets it holds and its fingerprint: a hash of the file's bytes and the
// batch size, so the lottery can tell a restarted agency that sends the same
// batches from one that sends a different file or batching. It also checks
// that the batches it will send are within the protocol's limits (their
// number, and the bytes of each). It streams.
func checkFile(ctx context.Context, path string, agency, batchSize int) (bets int, fingerprint string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", fmt.Errorf("read bets: %w", err)
	}
	defer f.Close()
	h := newFileHash()
	r := bet.NewReader(io.TeeReader(f, h), agency).ReuseMemory()
	size, line := 0, 1 // the bytes of the batch being counted, and its first line
	for {
		_, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, "", fmt.Errorf("read bets: file %s: %w", path, err)
		}
		if size += len(r.Raw()) + len("\r\n"); size > broker.MaxMessageBytes {
			return 0, "", fmt.Errorf("file %s: the batch of up to %d bets from line %d would take over %d bytes, the most a message may: lower CLI_BATCH_MAXAMOUNT", path, batchSize, line, broker.MaxMessageBytes)
		}
		if bets++; bets%batchSize == 0 {
			size, line = 0, r.Line()
		}
		if bets%4096 == 0 && ctx.Err() != nil {
			return 0, "", ctx.Err() // SIGTERM during a long check
		}
	}
	if batches := (bets + batchSize - 1) / batchSize; batches > broker.MaxBatches {
		return 0, "", fmt.Errorf("file %s: %d bets in batches of %d make %d batches, over the %d an agency may send: raise CLI_BATCH_MAXAMOUNT", path, bets, batchSize, batches, broker.MaxBatches)
	}
	return bets, fingerprintOf(h, batchSize), nil
}

// fileHash hashes a file's bytes for its fingerprint with two CRC-32s of
// different polynomials (IEEE and Castagnoli): a changed file goes unnoticed
// only if both miss the change. It needs no more: the fingerprint tells an
// agency's own runs apart, and nobody gains by forging one (an agency's
// broker user can send what it likes anyway). Both use CPU instructions of
// their own and hash several GB a second, about ten times SHA-256's speed.
type fileHash struct {
	ieee, castagnoli uint32
	table            *crc32.Table // Castagnoli's
}

func newFileHash() *fileHash { return &fileHash{table: crc32.MakeTable(crc32.Castagnoli)} }

func (h *fileHash) Write(p []byte) (int, error) {
	h.ieee = crc32.Update(h.ieee, crc32.IEEETable, p)
	h.castagnoli = crc32.Update(h.castagnoli, h.table, p)
	return len(p), nil
}

// fingerprintOf finishes a hash of a file's bytes with the batch size.
func fingerprintOf(h *fileHash, batchSize int) string {
	h.Write([]byte("\nbatch=" + strconv.Itoa(batchSize)))
	return fmt.Sprintf("%08x%08x", h.ieee, h.castagnoli)
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
// The file is hashed again instead: if its fingerprint is no longer want,
// the one checkFile computed, the file changed in between, and the last
// thing yielded is an error, before the agency can announce it finished.
func batches(path string, size int, want string) iter.Seq2[chunk, error] {
	return func(yield func(chunk, error) bool) {
		f, err := os.Open(path)
		if err != nil {
			yield(chunk{}, fmt.Errorf("read bets: %w", err))
			return
		}
		defer f.Close()
		h := newFileHash()
		r := bet.NewReader(io.TeeReader(f, h), 0).ReuseMemory()
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
