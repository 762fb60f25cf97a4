package bet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strconv"
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

var bom = []byte{0xEF, 0xBB, 0xBF}

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
	reuse    bool   // chunks are made in spare, not in new memory
	spare    []byte // the memory of the chunk before, when reuse is set

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
	if bytes.HasPrefix(b, bom) {
		b = b[len(bom):]
	}
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

// anyRow reads the row at r.pos into b, whatever its form, or says what is
// wrong with it.
func (r *Reader) anyRow(b *Bet) error {
	line := r.line
	var fields [1 + Fields]string // on the stack: no write barriers
	n, printable, ok := r.plainRecord(&fields)
	rec := fields[:n]
	if !ok {
		var err error
		if rec, err = r.record(); err != nil {
			return err
		}
	}
	agency := r.agency
	if r.stored() && len(rec) > 0 { // the stored form starts with the agency
		var err error
		if agency, err = strconv.Atoi(rec[0]); err != nil || agency < 1 {
			return &LineError{line, &FieldError{"agency", rec[0], "want a positive integer"}}
		}
		rec = rec[1:]
	}
	if len(rec) != Fields {
		_, err := Parse(agency, rec) // says how many fields are wrong
		return &LineError{line, err}
	}
	if err := parse(b, agency, rec, printable || r.stored()); err != nil {
		return &LineError{line, err}
	}
	return nil
}

// validRow reads the row at r.pos into b when it is a valid bet written
// without quotes, the common case, and reports whether it did; otherwise it
// leaves r and b as they were, and read takes the general path, which finds
// what is wrong. It takes the row apart from its end, where every field has
// a fixed form: the number (one to four digits), the birthdate (ten bytes),
// the document (digits); what is left holds the names (after the agency, in
// the stored form), plain or quoted without doubled quotes, and each name is
// checked in the same pass that looks for commas and quotes in it.
func (r *Reader) validRow(b *Bet) bool {
	row, next := r.nextRow()
	end := len(row)
	i := end
	for i > 0 && end-i < 4 && isDigit(row[i-1]) {
		i--
	}
	number := row[i:end]
	if number == "" || i < 12 || row[i-1] != ',' || row[i-12] != ',' {
		return false
	}
	date := row[i-11 : i-1]
	end = i - 12
	i = end
	for i > 0 && isDigit(row[i-1]) {
		i--
	}
	document := row[i:end]
	if document == "" || i == 0 || row[i-1] != ',' {
		return false
	}
	from, to := 0, i-1 // the names
	agency := r.agency
	if r.stored() { // the stored form starts with the agency
		c := strings.IndexByte(row[:to], ',')
		if c < 1 || c > 9 {
			return false
		}
		if agency = digits(row[:c]); agency < 1 {
			return false
		}
		from = c + 1
	}
	first, last, quoted, ok := r.plainNames(row, from, to)
	if quoted {
		first, last, ok = r.quotedNames(row[from:to])
	}
	if !ok {
		return false
	}
	birth, err := ParseDate(date)
	if err != nil {
		return false
	}
	*b = Bet{Agency: agency, FirstName: first, LastName: last, Document: document, Birthdate: birth, Number: digits(number)}
	r.take(row, next)
	return true
}

func isDigit(c byte) bool { return c-'0' <= 9 }

// plainNames splits row[from:to], the names of a row, at its one comma
// when they are two valid names (see checkName) written without quotes, and
// reports ok; quoted is set when a double quote is among them, for
// quotedNames to read. It looks at eight bytes at a time (see rowWord): the
// document, birthdate and number take at least 14 bytes after the names, so
// every word it loads is inside the row. Bytes that are not printable ASCII
// are checked as they are found when they are a two-byte UTF-8 letter, the
// common case, and by scanName otherwise; in the stored form they are not
// checked (see validName).
func (r *Reader) plainNames(row string, from, to int) (first, last string, quoted, ok bool) {
	comma := -1
	checked := from // bytes before it are known to be part of valid names
	rules := false  // a name needs scanName's full rules
	for i := from; i < to; i += 8 {
		commas, quotes, others := rowWord(word(row, i))
		if n := to - i; n < 8 {
			keep := uint64(1)<<(8*n) - 1
			commas, quotes, others = commas&keep, quotes&keep, others&keep
		}
		if quotes != 0 {
			return "", "", true, false
		}
		if commas != 0 {
			if comma >= 0 || commas&(commas-1) != 0 {
				return "", "", false, false // more than two fields
			}
			comma = i + bits.TrailingZeros64(commas)/8
		}
		for ; others != 0 && !rules && !r.stored(); others &= others - 1 {
			p := i + bits.TrailingZeros64(others)/8
			if p < checked {
				continue // the second byte of a letter checked below
			}
			// A letter of two bytes (U+0080 to U+07FF), but not U+0080 to
			// U+009F, which are control characters; row[p+1] is inside the
			// row: the names are followed by a comma.
			c, next := row[p], row[p+1]
			rules = c < 0xc2 || c > 0xdf || next&0xc0 != 0x80 || c == 0xc2 && next <= 0x9f
			checked = p + 2
		}
	}
	if comma < 0 {
		return "", "", false, false
	}
	first, last = row[from:comma], row[comma+1:to]
	ok = first != "" && last != ""
	if rules {
		ok = ok && scanName(first, false, false) == noFault && scanName(last, false, false) == noFault
	}
	return first, last, false, ok
}

// quotedNames reads the names of a row when at least one is quoted: it
// takes them when each is written plain or in quotes without doubled quotes
// and is a valid name (see validName).
func (r *Reader) quotedNames(names string) (first, last string, ok bool) {
	first, rest, quoted, ok := cutFirstName(names)
	if !ok || !r.validName(first, quoted) {
		return "", "", false
	}
	last, quoted = wholeName(rest)
	return first, last, r.validName(last, quoted)
}

// cutFirstName cuts the first name off the names of a row and returns it,
// whether it was quoted, and what follows the comma after it, when it is
// written plain or in quotes without doubled quotes; ok is false for
// anything else. The name itself is for validName to check.
func cutFirstName(s string) (name, rest string, quoted, ok bool) {
	if strings.HasPrefix(s, `"`) {
		end := strings.IndexByte(s[1:], '"') + 1 // the closing quote
		if end == 0 || end+1 == len(s) || s[end+1] != ',' {
			return "", "", false, false // no closing quote, a doubled quote, or no comma after it
		}
		return s[1:end], s[end+2:], true, true
	}
	end := strings.IndexByte(s, ',')
	if end < 0 {
		return "", "", false, false
	}
	return s[:end], s[end+1:], false, true
}

// wholeName is the name s holds when all of s is one field, and whether it
// is quoted; validName says whether it is one.
func wholeName(s string) (name string, quoted bool) {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1], true
	}
	return s, false
}

// validName reports whether s, cut out of a row plain or from quotes, is a
// valid name (see checkName) that the fast path may take: no double quote
// in it, and no comma unless it was quoted. In the stored form, which only
// StoreBets writes, from bets Parse accepted, the characters of a name are
// not checked again; only that it is not empty and holds no separator.
func (r *Reader) validName(s string, quoted bool) bool {
	if r.stored() {
		return s != "" && !strings.Contains(s, `"`) && (quoted || !strings.Contains(s, ","))
	}
	return s != "" && scanName(s, quoted, false) == noFault
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

// record splits the row at r.pos, which plainRecord could not, into
// fields: quoted fields, and rows of more fields than a bet has.
func (r *Reader) record() ([]string, error) {
	s, start, line := r.chunk, r.pos, r.line
	r.rec = r.rec[:0]
	i := start
	for {
		var field string
		if i < len(s) && s[i] == '"' {
			// Quoted: up to the closing quote; "" is a quote.
			var b strings.Builder
			from, escaped := i+1, false
			for j := i + 1; ; j++ {
				if j >= len(s) {
					return r.fail(line, ErrQuote)
				}
				if s[j] == '\n' {
					r.line++
				}
				if s[j] != '"' {
					continue
				}
				if j+1 < len(s) && s[j+1] == '"' {
					b.WriteString(s[from : j+1])
					from, escaped = j+2, true
					j++
					continue
				}
				if escaped {
					b.WriteString(s[from:j])
					field = b.String()
				} else {
					field = s[from:j]
				}
				i = j + 1
				break
			}
			if i < len(s) && s[i] != ',' && !rowEnds(s, i) {
				return r.fail(line, ErrQuote)
			}
		} else {
			j := i
			for j < len(s) && s[j] != ',' && s[j] != '\n' {
				if s[j] == '"' {
					return r.fail(line, ErrBareQuote)
				}
				j++
			}
			field = s[i:j]
			if (j == len(s) || s[j] == '\n') && strings.HasSuffix(field, "\r") {
				field = field[:len(field)-1]
			}
			i = j
		}
		r.rec = append(r.rec, field)
		if i < len(s) && s[i] == ',' {
			i++
			continue
		}
		// End of the row: a line break or the end of the input.
		end := i
		if end > start && s[end-1] == '\r' {
			end--
		}
		r.raw = s[start:end]
		if i < len(s) && s[i] == '\r' {
			i++ // after a quoted field, i is at the "\r" of "\r\n"
		}
		if i < len(s) {
			i++ // the '\n'
			r.line++
		}
		r.pos = i
		return r.rec, nil
	}
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

// plainRecord splits the row at r.pos into f when it has no quotes and at
// most len(f) fields, the common case, and tells whether its bytes are all
// printable ASCII; otherwise it returns ok false and leaves r as it was. It
// finds the line break with the fast byte search of the strings package,
// then looks at the row eight bytes at a time (see rowWord).
func (r *Reader) plainRecord(f *[1 + Fields]string) (n int, printable, ok bool) {
	row, next := r.nextRow()
	printable = true
	from, i := 0, 0
	for ; i+8 <= len(row); i += 8 {
		commas, quotes, others := rowWord(word(row, i))
		if quotes != 0 {
			return 0, false, false
		}
		printable = printable && others == 0
		for ; commas != 0; commas &= commas - 1 {
			c := i + bits.TrailingZeros64(commas)/8
			if n == len(f)-1 {
				return 0, false, false
			}
			f[n], n, from = row[from:c], n+1, c+1
		}
	}
	for ; i < len(row); i++ {
		switch c := row[i]; {
		case c == ',':
			if n == len(f)-1 {
				return 0, false, false
			}
			f[n], n, from = row[from:i], n+1, i+1
		case c == '"':
			return 0, false, false
		case c < 0x20 || c >= 0x7f:
			printable = false
		}
	}
	f[n], n = row[from:], n+1
	r.take(row, next)
	return n, printable, true
}

// rowWord looks at eight bytes of a row at once. Each result has the high
// bit of a byte set where that byte is a comma, a double quote, or not
// printable ASCII (a control character, DEL, or part of a UTF-8 sequence).
// No operation carries from one byte into the next, so the marks are exact.
func rowWord(x uint64) (commas, quotes, others uint64) {
	commas = zeroBytes(x ^ ','*ones)
	quotes = zeroBytes(x ^ '"'*ones)
	below := ^((x & low7) + (0x80-0x20)*ones) & ^x & high // bytes under 0x20
	others = x&high | below | zeroBytes(x^0x7f*ones)
	return commas, quotes, others
}

// Eight bytes at once: each byte's low seven bits, its high bit, and 1.
const (
	low7 = 0x7f7f7f7f7f7f7f7f
	high = 0x8080808080808080
	ones = 0x0101010101010101
)

// word is the eight bytes of s from i, little end first.
func word(s string, i int) uint64 {
	return binary.LittleEndian.Uint64(unsafe.Slice(unsafe.StringData(s[i:]), 8))
}

// zeroBytes sets the high bit of each byte of x that is 0, and no other bit.
func zeroBytes(x uint64) uint64 { return ^((x & low7) + low7 | x | low7) }

// fail reports a syntax error and skips the rest of the chunk: the reader
// cannot find the next row reliably after a quoting error.
func (r *Reader) fail(line int, err error) ([]string, error) {
	r.pos = len(r.chunk)
	r.src, r.buf, r.eof = nil, nil, true
	return nil, &LineError{Line: line, Err: err}
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
	first := len(r.buf) == 0 && r.line == 1 && r.chunk == "" && r.scanned == 0
	r.buf = r.buf[:len(r.buf)+n]
	if first && bytes.HasPrefix(r.buf, bom) {
		r.buf = r.buf[:copy(r.buf, r.buf[len(bom):])]
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
