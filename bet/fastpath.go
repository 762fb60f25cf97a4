package bet

import (
	"encoding/binary"
	"math/bits"
	"strings"
	"unsafe"
)

// The fast path: a valid row written without doubled quotes, the common
// case, read from its end, where its fields have fixed forms, with its
// names checked eight bytes at a time in the same pass that looks for
// commas and quotes in them.

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
