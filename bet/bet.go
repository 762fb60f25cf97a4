// Package bet is the lottery's domain: the Bet type, the one rule set that
// says what a valid bet is, its CSV forms, and a faithful Go port of the
// course's fixed storage helpers (StoreBets, LoadBets, HasWon).
//
// A valid bet has:
//   - a first and a last name: non-empty, valid UTF-8, no control characters;
//   - a document (DNI): one or more ASCII digits, kept as a string so that
//     leading zeros survive;
//   - a birthdate: a real calendar date written YYYY-MM-DD;
//   - a number: an integer from 0 to 9999 written in ASCII digits.
//
// Bets are never deduplicated by document: one person may bet many times.
package bet

import (
	"errors"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"
)

// WinningNumber is the number the course's draw always picks.
const WinningNumber = 7574

// MaxNumber is the largest number a bet may carry.
const MaxNumber = 9999

// DateLayout is how birthdates are written everywhere, in the notation of
// the time package.
const DateLayout = "2006-01-02"

// Date is a calendar date, as a birthdate is: a year, a month and a day,
// with no time of day and no time zone. ParseDate returns only real dates
// of the proleptic Gregorian calendar, years 0000 to 9999; == compares dates.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf is the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// String is d written YYYY-MM-DD.
func (d Date) String() string { return string(AppendDate(nil, d)) }

// Bet is one bet placed at an agency.
type Bet struct {
	Agency    int
	FirstName string
	LastName  string
	Document  string
	Birthdate Date
	Number    int
}

// HasWon reports whether b is a winning bet: its number is 7574.
func HasWon(b Bet) bool { return b.Number == WinningNumber }

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid bet")

// FieldError says which field of a bet is wrong and why.
type FieldError struct {
	Field  string
	Value  string
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s %q: %s", e.Field, e.Value, e.Reason)
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Fields is the number of fields of a bet as agencies send it:
// first_name, last_name, document, birthdate, number.
const Fields = 5

// Parse validates the five text fields of a bet (first_name, last_name,
// document, birthdate, number) and returns the bet for the given agency.
// It is the one code path both programs use to accept a bet.
func Parse(agency int, f []string) (Bet, error) {
	if len(f) != Fields {
		return Bet{}, fmt.Errorf("%w: %d fields; want %d (first_name,last_name,document,birthdate,number)", ErrInvalid, len(f), Fields)
	}
	var b Bet
	err := parse(&b, agency, f, false)
	return b, err
}

// parse is Parse for five fields, into b; namesChecked says that the
// characters of the names need no check (the caller has seen every byte to
// be printable ASCII, or they are stored names, checked when they were
// stored), which leaves of the name rules only that a name is not empty.
func parse(b *Bet, agency int, f []string, namesChecked bool) error {
	first, last, doc := f[0], f[1], f[2]
	if err := checkName("first_name", first, namesChecked); err != nil {
		return err
	}
	if err := checkName("last_name", last, namesChecked); err != nil {
		return err
	}
	if !allDigits(doc) {
		return &FieldError{"document", doc, "want one or more digits 0-9"}
	}
	birth, err := ParseDate(f[3])
	if err != nil {
		return err
	}
	n, err := ParseNumber(f[4])
	if err != nil {
		return err
	}
	*b = Bet{Agency: agency, FirstName: first, LastName: last, Document: doc, Birthdate: birth, Number: n}
	return nil
}

// ParseDate parses a birthdate written YYYY-MM-DD that is a real calendar
// date. It accepts exactly what time.Parse(DateLayout, s) accepts, several
// times faster.
func ParseDate(s string) (Date, error) {
	if len(s) == 10 && s[4] == '-' && s[7] == '-' {
		// Each byte less '0' is a digit when it is at most 9 (an unsigned
		// byte: anything under '0' wraps round to more than 9).
		y0, y1, y2, y3 := s[0]-'0', s[1]-'0', s[2]-'0', s[3]-'0'
		m0, m1, d0, d1 := s[5]-'0', s[6]-'0', s[8]-'0', s[9]-'0'
		if max(y0, y1, y2, y3, m0, m1, d0, d1) <= 9 {
			y := int(y0)*1000 + int(y1)*100 + int(y2)*10 + int(y3)
			m, d := time.Month(m0)*10+time.Month(m1), int(d0)*10+int(d1)
			if m >= time.January && m <= time.December && d >= 1 && (d <= 28 || d <= daysIn(m, y)) {
				return Date{y, m, d}, nil
			}
		}
	}
	return Date{}, &FieldError{"birthdate", s, "want a real calendar date YYYY-MM-DD"}
}

// digits is the value of s, all ASCII digits, or -1.
func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// ParseNumber parses a bet number: ASCII digits, 0 to 9999.
func ParseNumber(s string) (int, error) {
	n := -1
	if len(s) <= 9 {
		n = digits(s)
	}
	if s == "" || n < 0 || n > MaxNumber {
		return 0, &FieldError{"number", s, "want an integer 0-9999"}
	}
	return n, nil
}

func checkName(field, s string, checked bool) error {
	if s == "" {
		return &FieldError{field, s, "empty"}
	}
	if checked {
		return nil
	}
	switch scanName(s, true, true) {
	case controlFault:
		return &FieldError{field, s, "holds a control character"}
	case utf8Fault:
		return &FieldError{field, s, "not valid UTF-8"}
	}
	return nil
}

// A nameFault is what scanName finds wrong with a name.
type nameFault int

const (
	noFault        nameFault = iota
	controlFault             // a control character
	utf8Fault                // bytes that are not UTF-8
	separatorFault           // a comma or a double quote the caller does not allow
)

// scanName finds the first fault of s as a name: a control character or
// bytes that are not UTF-8, and a comma or a double quote unless commas or
// quotes allows them (a name cut out of a row holds none of what cut it).
func scanName(s string, commas, quotes bool) nameFault {
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c >= 0x20 && c < 0x7f: // printable ASCII: the common case
			if c == ',' && !commas || c == '"' && !quotes {
				return separatorFault
			}
			i++
		case c >= 0xc2 && c <= 0xdf && i+1 < len(s) && s[i+1]&0xc0 == 0x80: // two bytes: Latin accents
			if c == 0xc2 && s[i+1] <= 0x9f { // U+0080 to U+009F: C1 controls
				return controlFault
			}
			i += 2
		case c < utf8.RuneSelf: // C0 controls and DEL
			return controlFault
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return utf8Fault
			}
			if unicode.IsControl(r) {
				return controlFault
			}
			i += size
		}
	}
	return noFault
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
