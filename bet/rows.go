package bet

import (
	"bytes"
	"io"
	"strings"
	"unsafe"
)

// Finding the rows of the input: reading it in chunks of whole rows, the
// rows' ends (a line break outside quotes), blank lines, and a leading
// byte-order mark.

var bom = []byte{0xEF, 0xBB, 0xBF}

// nextRow is the row at r.pos, up to its line break and without it (a
// quoted field's line break is not seen: callers look for quotes), and how
// far from r.pos the row after it starts.
func (r *Reader) nextRow() (row string, next int) {
	s := r.chunk[r.pos:]
	end := strings.IndexByte(s, '\n')
	next = end + 1
	if end < 0 {
		end, next = len(s), len(s)
	}
	return strings.TrimSuffix(s[:end], "\r"), next
}

// take makes row, which nextRow returned with next, the row read.
func (r *Reader) take(row string, next int) {
	r.raw = row
	if next > 0 && r.chunk[r.pos+next-1] == '\n' {
		r.line++
	}
	r.pos += next
}

// skipBlank moves to the start of the next row that is not blank, reading
// more input when the chunk is done.
func (r *Reader) skipBlank() error {
	for {
		if r.pos >= len(r.chunk) {
			if err := r.nextChunk(); err != nil {
				return err
			}
		}
		switch r.chunk[r.pos] {
		case '\n':
			r.pos++
			r.line++
			continue
		case '\r':
			if r.pos+1 < len(r.chunk) && r.chunk[r.pos+1] == '\n' {
				r.pos += 2
				r.line++
				continue
			}
			if r.pos+1 == len(r.chunk) && r.eof && len(r.buf) == 0 {
				r.pos++ // a last "\r" on its own: blank, as encoding/csv reads it
				continue
			}
		}
		return nil
	}
}

// rowEnds reports whether a row ends at s[i]: the end of the input, "\n",
// "\r\n", or a last "\r".
func rowEnds(s string, i int) bool {
	return i == len(s) || s[i] == '\n' || s[i] == '\r' && (i+1 == len(s) || s[i+1] == '\n')
}

// nextChunk makes the next whole rows of the input the chunk to parse.
func (r *Reader) nextChunk() error {
	r.chunk, r.pos = "", 0
	for {
		if r.boundary > 0 && r.reuse {
			// The chunk stays where it was read; the rest moves to spare,
			// where the chunk before, no longer in use, was.
			r.chunk = unsafe.String(unsafe.SliceData(r.buf), r.boundary)
			r.spare = append(r.spare[:0], r.buf[r.boundary:]...)
			r.buf, r.spare = r.spare, r.buf
			r.scanned -= r.boundary
			r.boundary = 0
			return nil
		}
		if r.boundary > 0 {
			r.chunk = string(r.buf[:r.boundary])
			n := copy(r.buf, r.buf[r.boundary:])
			r.buf = r.buf[:n]
			r.scanned -= r.boundary
			r.boundary = 0
			return nil
		}
		if r.eof {
			if len(r.buf) == 0 {
				return io.EOF
			}
			r.chunk = string(r.buf) // the last row, without a line break
			r.buf = r.buf[:0]
			r.scanned = 0
			return nil
		}
		if len(r.buf) >= maxRecord {
			// No row ends in a whole MiB: hand it over; parsing will find
			// the quoting error or say that the row is too long.
			r.chunk = string(r.buf)
			r.buf, r.eof = nil, true
			if !strings.Contains(r.chunk, "\n") {
				return &LineError{Line: r.line, Err: ErrLongRecord}
			}
			return nil
		}
		if err := r.fill(); err != nil {
			return err
		}
	}
}

// fill reads more input and finds where its last whole row ends.
func (r *Reader) fill() error {
	if r.src == nil {
		r.eof = true
		return nil
	}
	if cap(r.buf)-len(r.buf) < readSize {
		grown := make([]byte, len(r.buf), 2*cap(r.buf)+readSize)
		copy(grown, r.buf)
		r.buf = grown
	}
	n, err := r.src.Read(r.buf[len(r.buf) : len(r.buf)+readSize])
	r.buf = r.buf[:len(r.buf)+n]
	if !r.bomChecked {
		// The input's first bytes may be a byte-order mark: once there are
		// enough of them to tell, or no more come, drop it.
		if len(r.buf) < len(bom) && bytes.HasPrefix(bom, r.buf) && err == nil {
			return nil
		}
		r.bomChecked = true
		if bytes.HasPrefix(r.buf, bom) {
			r.buf = r.buf[:copy(r.buf, r.buf[len(bom):])]
		}
	}
	// Find where the last whole row ends: the last line break outside
	// quotes. Jump from quote to quote with the fast byte searches.
	for i := r.scanned; i < len(r.buf); {
		q := bytes.IndexByte(r.buf[i:], '"')
		if r.inQuotes {
			if q < 0 {
				break
			}
			i, r.inQuotes = i+q+1, false
			continue
		}
		end := len(r.buf)
		if q >= 0 {
			end = i + q
		}
		if k := bytes.LastIndexByte(r.buf[i:end], '\n'); k >= 0 {
			r.boundary = i + k + 1
		}
		if q < 0 {
			break
		}
		i, r.inQuotes = end+1, true
	}
	r.scanned = len(r.buf)
	if err == io.EOF {
		r.eof = true
		return nil
	}
	return err
}
