package bet

import (
	"math/bits"
	"strconv"
	"strings"
)

// The general path: a row of any form, split into fields as RFC 4180 and
// encoding/csv do (quoted fields, doubled quotes, line breaks in quotes,
// too many or too few fields), then checked by the rules of Parse, saying
// what is wrong and on which line.

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

// fail reports a syntax error and skips the rest of the chunk: the reader
// cannot find the next row reliably after a quoting error.
func (r *Reader) fail(line int, err error) ([]string, error) {
	r.pos = len(r.chunk)
	r.src, r.buf, r.eof = nil, nil, true
	return nil, &LineError{Line: line, Err: err}
}
