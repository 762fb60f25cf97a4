package bet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unsafe"
)

// MaxRowBytes bounds a row of bets as its input writes it, without its line
// break: every Reader refuses a longer one with ErrLongRecord, the agency's
// check of its file and the lottery's of a batch alike. The stored form may
// be longer by the agency and a comma (storedPrefix), never more: a name
// that needs quotes had them in the row it came from. So LoadBets reads back
// every row StoreBets wrote.
const MaxRowBytes = 4 << 10

// storedPrefix bounds what the stored form adds to a row: the agency, an int
// of at most 20 characters, and a comma.
const storedPrefix = 21

// Errors in the CSV syntax, as encoding/csv words them, and a row too long.
var (
	ErrBareQuote  = errors.New(`bare " in non-quoted field`)
	ErrQuote      = errors.New(`extraneous or missing " in quoted field`)
	ErrLongRecord = fmt.Errorf("row longer than %d bytes", MaxRowBytes)
)

const (
	readSize = 64 << 10
	// maxRecord is as far as a Reader looks for the end of a row before it
	// gives up: no row is that long.
	maxRecord = 1 << 20
)

// Reader reads bets from CSV rows of first_name, last_name, document,
// birthdate and number: no header, UTF-8 with an optional byte-order mark,
// "\r\n" or "\n" line endings, fields possibly quoted (RFC 4180: a quoted
// field may hold commas, line breaks and doubled quotes). Blank lines are
// skipped, as encoding/csv does. Every row is checked by the rules of
// [Parse].
//
// It streams, holding one chunk of whole rows at a time, so memory does not
// grow with the input; and it is fast: a chunk becomes one string, and the
// fields of the bets it returns are slices of it, so a row costs no
// allocation unless a field has doubled quotes.
type Reader struct {
	src    io.Reader
	agency int
	fields int // fields per row: Fields, or 1+Fields for the stored form

	buf      []byte // read, not yet handed out as a chunk
	scanned  int    // buf[:scanned] is scanned for row ends
	inQuotes bool   // the scan is inside a quoted field
	boundary int    // buf[:boundary] holds whole rows
	eof      bool
	// bomChecked is set once the input's first bytes have been looked at
	// for a byte-order mark.
	bomChecked bool
	reuse      bool   // chunks are made in spare, not in new memory
	spare      []byte // the memory of the chunk before, when reuse is set

	chunk string // whole rows being parsed
	pos   int    // next byte of chunk
	line  int    // line of chunk[pos]
	raw   string // the last row, without its line break
	rec   []string
}

// NewReader returns a Reader whose bets belong to agency.
func NewReader(r io.Reader, agency int) *Reader {
	return &Reader{src: r, agency: agency, fields: Fields, line: 1}
}

// NewBytesReader returns a Reader over b, a whole input held in memory,
// such as a message body. It reads b in place, without a copy: the strings
// of its bets are b's bytes, so b must not change while they are in use.
func NewBytesReader(b []byte, agency int) *Reader {
	b = bytes.TrimPrefix(b, bom)
	return &Reader{agency: agency, fields: Fields, line: 1, chunk: unsafe.String(unsafe.SliceData(b), len(b)), eof: true}
}

// ReuseMemory makes r read each chunk of rows into memory it read the chunk
// before into, instead of new memory: a pass that only checks rows or copies
// them at once then allocates nothing per chunk, and the garbage collector
// has nothing to do. The strings of a bet r returns, and Raw, are then valid
// only until the next Read or Skip. It returns r.
func (r *Reader) ReuseMemory() *Reader {
	r.reuse = true
	return r
}

// Read returns the next bet, io.EOF after the last one, or a *LineError
// that names the line where the bad row starts.
func (r *Reader) Read() (Bet, error) {
	var b Bet
	if err := r.read(&b); err != nil {
		return Bet{}, err
	}
	return b, nil
}

// ReadAll reads every bet left, appending them to dst, and returns the
// extended slice: up to the first error, if there is one, and that error;
// at the end of the input the error is nil, not io.EOF. It fills dst's
// elements in place, which is faster than appending what Read returns.
func (r *Reader) ReadAll(dst []Bet) ([]Bet, error) {
	for {
		dst = append(dst, Bet{})
		if err := r.read(&dst[len(dst)-1]); err != nil {
			dst = dst[:len(dst)-1]
			if err == io.EOF {
				err = nil
			}
			return dst, err
		}
	}
}

// read reads the next bet into b; on an error, b is not a bet to use.
func (r *Reader) read(b *Bet) error {
	if err := r.skipBlank(); err != nil {
		return err
	}
	line := r.line
	if !r.validRow(b) {
		if err := r.anyRow(b); err != nil {
			return err
		}
	}
	if len(r.raw) > r.maxRow() {
		return &LineError{line, ErrLongRecord}
	}
	return nil
}

// maxRow is the longest row r reads: MaxRowBytes, and what the stored form
// adds to it.
func (r *Reader) maxRow() int {
	if r.stored() {
		return MaxRowBytes + storedPrefix
	}
	return MaxRowBytes
}

// stored reports whether r reads the stored form, which starts with the
// agency and which only StoreBets writes, from bets that Parse accepted:
// its names' characters are not checked again.
func (r *Reader) stored() bool { return r.fields == 1+Fields }

// Raw is the text of the row the last Read or Skip returned, as the input
// wrote it, without its line break.
func (r *Reader) Raw() string { return r.raw }

// Line is the line the input goes on from after the last row read: where
// the next row starts, unless blank lines come first.
func (r *Reader) Line() int { return r.line }

// Skip moves past the next row without checking it, for a second pass over
// an input that was read before; Raw then holds the row. It returns io.EOF
// after the last row. It looks at quotes only to find where a row ends: a
// line break after an even number of quotes ends it (a quoted field's quotes,
// and the doubled quotes inside, come in pairs); after an odd number, the row
// goes on in a quoted field, and Skip reads it as Read does, with its errors.
func (r *Reader) Skip() error {
	if err := r.skipBlank(); err != nil {
		return err
	}
	row, next := r.nextRow()
	if strings.Count(row, `"`)%2 != 0 {
		_, err := r.record() // a quoted field holds the line break
		return err
	}
	r.take(row, next)
	return nil
}
