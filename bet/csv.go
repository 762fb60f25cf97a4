package bet

import (
	"fmt"
	"strconv"
)

// AppendRecord appends b's five agency fields (first_name, last_name,
// document, birthdate, number) to dst as one CSV row, written the way
// Python's csv.writer writes it with QUOTE_MINIMAL: fields holding a comma, a
// double quote, "\r" or "\n" are quoted with inner quotes doubled, and the
// row ends in "\r\n".
func AppendRecord(dst []byte, b Bet) []byte {
	dst = appendField(dst, b.FirstName)
	dst = append(dst, ',')
	dst = appendField(dst, b.LastName)
	dst = append(dst, ',')
	dst = appendField(dst, b.Document)
	dst = append(dst, ',')
	dst = AppendDate(dst, b.Birthdate)
	dst = append(dst, ',')
	dst = appendInt(dst, b.Number)
	return append(dst, '\r', '\n')
}

// appendStored appends the stored form of b: its agency, then its record.
func appendStored(dst []byte, b Bet) []byte {
	dst = appendInt(dst, b.Agency)
	dst = append(dst, ',')
	return AppendRecord(dst, b)
}

// appendInt appends n in decimal, as strconv.AppendInt does, with digits
// written directly for the numbers bets carry: 0 to 9999.
func appendInt(dst []byte, n int) []byte {
	switch {
	case n < 0 || n > 9999:
		return strconv.AppendInt(dst, int64(n), 10)
	case n < 10:
		return append(dst, byte('0'+n))
	case n < 100:
		return append(dst, byte('0'+n/10), byte('0'+n%10))
	case n < 1000:
		return append(dst, byte('0'+n/100), byte('0'+n/10%10), byte('0'+n%10))
	}
	return append(dst, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
}

// AppendDate appends d as YYYY-MM-DD, as Python's date.isoformat writes it.
// A date no calendar has, which ParseDate never returns, is written with
// its numbers as they are, the year in at least four digits.
func AppendDate(dst []byte, d Date) []byte {
	y, m, day := d.Year, int(d.Month), d.Day
	if y < 0 || y > 9999 || m < 1 || m > 12 || day < 1 || day > 31 {
		return fmt.Appendf(dst, "%04d-%02d-%02d", y, m, day)
	}
	return append(dst,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+m/10), byte('0'+m%10), '-',
		byte('0'+day/10), byte('0'+day%10))
}

func appendField(dst []byte, s string) []byte {
	if !needsQuotes(s) {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			dst = append(dst, '"')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}

// LineError is an error in one line of a CSV input.
type LineError struct {
	Line int // 1-based line where the record starts
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

func (e *LineError) Unwrap() error { return e.Err }

// needsQuotes reports whether QUOTE_MINIMAL quotes s: it holds a comma, a
// double quote, "\r" or "\n". It looks at eight bytes at a time, and at the
// bytes left over (all of a short name) in a table.
func needsQuotes(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := word(s, i)
		if zeroBytes(x^(','*ones))|zeroBytes(x^('"'*ones))|zeroBytes(x^('\r'*ones))|zeroBytes(x^('\n'*ones)) != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
		if quotedBytes[s[i]] {
			return true
		}
	}
	return false
}

// quotedBytes holds the bytes that make QUOTE_MINIMAL quote a field.
var quotedBytes = [256]bool{',': true, '"': true, '\r': true, '\n': true}
