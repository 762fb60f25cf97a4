package bet

import (
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode"
	"unicode/utf8"
)

func date(s string) Date {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		panic(err)
	}
	return DateOf(t)
}

func TestStoreBetsByteFormat(t *testing.T) {
	tests := []struct {
		name string
		bet  Bet
		want string
	}{
		{"plain", Bet{1, "Santiago Lionel", "Lorca", "30904465", date("1999-03-17"), 7574},
			"1,Santiago Lionel,Lorca,30904465,1999-03-17,7574\r\n"},
		{"accents", Bet{2, "José María", "Núñez", "00012345", date("2000-01-02"), 0},
			"2,José María,Núñez,00012345,2000-01-02,0\r\n"},
		{"comma quoted", Bet{3, "Ana, Jr", "Pérez", "1", date("1985-12-31"), 9999},
			"3,\"Ana, Jr\",Pérez,1,1985-12-31,9999\r\n"},
		{"inner quotes doubled", Bet{4, `Juan "el" Gato`, "O'Neil", "42", date("1970-07-04"), 12},
			"4,\"Juan \"\"el\"\" Gato\",O'Neil,42,1970-07-04,12\r\n"},
		{"leading space not quoted", Bet{5, " Lu", "X", "7", date("0999-01-01"), 5},
			"5, Lu,X,7,0999-01-01,5\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bets.csv")
			s, err := OpenStore(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.StoreBets([]Bet{tc.bet}); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("StoreBets(%+v) wrote %q; want %q", tc.bet, got, tc.want)
			}
			var loaded []Bet
			for b, err := range LoadBets(path) {
				if err != nil {
					t.Fatal(err)
				}
				loaded = append(loaded, b)
			}
			if len(loaded) != 1 || loaded[0] != tc.bet {
				t.Errorf("LoadBets = %+v; want [%+v]", loaded, tc.bet)
			}
		})
	}
}

func TestStoreAppendsAndTruncates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bets.csv")
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	b := Bet{1, "A", "B", "1", date("2001-01-01"), 1}
	if err := s.StoreBets([]Bet{b, b}); err != nil {
		t.Fatal(err)
	}
	mark := s.Size()
	if err := s.StoreBets([]Bet{b}); err != nil {
		t.Fatal(err)
	}
	if err := s.Truncate(mark); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Size() != mark {
		t.Errorf("reopened size = %d; want %d", s.Size(), mark)
	}
	n := 0
	for _, err := range LoadBets(path) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 2 {
		t.Errorf("LoadBets yielded %d bets; want 2", n)
	}
}

func TestLoadBetsMissingFile(t *testing.T) {
	for _, err := range LoadBets(filepath.Join(t.TempDir(), "none.csv")) {
		t.Fatalf("LoadBets(missing) yielded %v; want nothing", err)
	}
}

// TestLoadBetsTrustsStoredNames: LoadBets, like the course's load_bets,
// gives back the names StoreBets wrote without checking their characters
// again, which the agency's reading of the same fields refuses; an empty
// name, a bad field or a row of the wrong shape is still an error.
func TestLoadBetsTrustsStoredNames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bets.csv")
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	stored := []Bet{
		{1, "A\x01na", "Pérez", "1", date("2001-01-01"), 1},
		{2, "Ana", "P\xffz", "2", date("2001-01-02"), 2},
		{3, "Ana, \u0085Jr.", "Paz", "3", date("2001-01-03"), 3},
		{4, "Ana \"la\x02\"", "Paz", "4", date("2001-01-04"), 4}, // doubled quotes: the general path
	}
	if err := s.StoreBets(stored); err != nil {
		t.Fatal(err)
	}
	s.Close()
	var loaded []Bet
	for b, err := range LoadBets(path) {
		if err != nil {
			t.Fatal(err)
		}
		loaded = append(loaded, b)
	}
	if !slices.Equal(loaded, stored) {
		t.Errorf("LoadBets = %+v; want %+v", loaded, stored)
	}
	for _, b := range stored {
		if _, err := NewBytesReader(AppendRecord(nil, b), b.Agency).Read(); !errors.Is(err, ErrInvalid) {
			t.Errorf("agency's Read of %q = %v; want an invalid name", AppendRecord(nil, b), err)
		}
	}

	for _, row := range []string{"1,,B,1,2001-01-01,1\r\n", "1,A,\"\",1,2001-01-01,1\r\n", "1,A,B,1x,2001-01-01,1\r\n", "1,A,B,C,1,2001-01-01,1\r\n"} {
		bad := filepath.Join(t.TempDir(), "bets.csv")
		if err := os.WriteFile(bad, []byte("1,A,B,1,2001-01-01,1\r\n"+row), 0o644); err != nil {
			t.Fatal(err)
		}
		if n, err := loadUntilError(bad); n != 1 || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "line 2") {
			t.Errorf("LoadBets of %q: %d bets, then %v; want 1 bet, then an invalid bet on line 2", row, n, err)
		}
	}
}

func TestHasWon(t *testing.T) {
	for n, want := range map[int]bool{7574: true, 7575: false, 0: false, 9999: false} {
		if got := HasWon(Bet{Number: n}); got != want {
			t.Errorf("HasWon(number %d) = %v; want %v", n, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		fields  string // joined by |
		wantErr string // empty: valid
	}{
		{"Ana|Pérez|0123|2000-02-29|7574", ""},
		{"Ana|Pérez|1|1999-12-31|0", ""},
		{"Ana|Pérez|1|1999-12-31|9999", ""},
		{"|Pérez|1|1999-12-31|1", `first_name "": empty`},
		{"Ana||1|1999-12-31|1", `last_name "": empty`},
		{"A\tna|Pérez|1|1999-12-31|1", "control character"},
		{"A\xffna|Pérez|1|1999-12-31|1", "not valid UTF-8"},
		{"Ana|Pérez|12a|1999-12-31|1", `document "12a"`},
		{"Ana|Pérez||1999-12-31|1", `document ""`},
		{"Ana|Pérez|1|1999-02-29|1", `birthdate "1999-02-29"`},
		{"Ana|Pérez|1|31/12/1999|1", `birthdate "31/12/1999"`},
		{"Ana|Pérez|1|1999-12-31|10000", `number "10000"`},
		{"Ana|Pérez|1|1999-12-31|-1", `number "-1"`},
		{"Ana|Pérez|1|1999-12-31|+1", `number "+1"`},
		{"Ana|Pérez|1|1999-12-31|1.5", `number "1.5"`},
		{"Ana|Pérez|1|1999-12-31", "4 fields; want 5"},
	}
	for _, tc := range tests {
		t.Run(tc.fields, func(t *testing.T) {
			_, err := Parse(1, strings.Split(tc.fields, "|"))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("Parse(%q) = %v; want nil", tc.fields, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Parse(%q) = %v; want error containing %q", tc.fields, err, tc.wantErr)
			case tc.wantErr != "" && !errors.Is(err, ErrInvalid):
				t.Errorf("Parse(%q) = %v; want it to wrap ErrInvalid", tc.fields, err)
			}
		})
	}
}

func TestReader(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr string
	}{
		{"crlf", "A,B,1,2000-01-01,1\r\nC,D,2,2000-01-02,2\r\n", 2, ""},
		{"lf and no final newline", "A,B,1,2000-01-01,1\nC,D,2,2000-01-02,2", 2, ""},
		{"bom", "\ufeffA,B,1,2000-01-01,1\n", 1, ""},
		{"quoted fields", "\"A, x\",\"B \"\"y\"\"\",1,2000-01-01,1\n", 1, ""},
		{"empty", "", 0, ""},
		{"too many columns at line 2", "A,B,1,2000-01-01,1\nA,B,1,2000-01-01,1,9\n", 1, "line 2: invalid bet: 6 fields"},
		{"bad date at line 3", "A,B,1,2000-01-01,1\nA,B,1,2000-01-01,1\nA,B,1,2000-13-01,1\n", 2, `line 3: birthdate "2000-13-01"`},
		{"bare quote", "A,B\"x,1,2000-01-01,1\n", 0, "line 1:"},
	}
	sources := map[string]func(io.Reader) io.Reader{
		"whole":              func(r io.Reader) io.Reader { return r },
		"one byte at a time": iotest.OneByteReader,
		"half at a time":     iotest.HalfReader,
	}
	for _, tc := range tests {
		for how, src := range sources {
			t.Run(tc.name+", "+how, func(t *testing.T) { checkReader(t, NewReader(src(strings.NewReader(tc.in)), 7), tc.want, tc.wantErr) })
		}
	}
}

// checkReader reads every bet r holds and checks the count, the agency, that
// no byte-order mark is left, and the error that ends the input.
func checkReader(t *testing.T, r *Reader, want int, wantErr string) {
	t.Helper()
	n := 0
	var err error
	for {
		var b Bet
		if b, err = r.Read(); err != nil {
			break
		}
		if b.Agency != 7 {
			t.Errorf("bet agency = %d; want 7", b.Agency)
		}
		if n == 0 && strings.HasPrefix(b.FirstName, "\ufeff") {
			t.Errorf("byte-order mark kept in %q", b.FirstName)
		}
		n++
	}
	if n != want {
		t.Errorf("read %d bets; want %d", n, want)
	}
	if wantErr == "" && err != io.EOF {
		t.Errorf("Read() = %v; want io.EOF", err)
	}
	if wantErr != "" && (err == io.EOF || !strings.Contains(err.Error(), wantErr)) {
		t.Errorf("Read() = %v; want error containing %q", err, wantErr)
	}
}

func TestAppendRecordRoundTrip(t *testing.T) {
	in := Bet{3, "Ana, \"Jr\"", "Núñez", "0001", date("1960-06-30"), 42}
	got, err := NewReader(strings.NewReader(string(AppendRecord(nil, in))), 3).Read()
	if err != nil || got != in {
		t.Errorf("round trip = %+v, %v; want %+v", got, err, in)
	}
	// A line break inside a name is quoted on the way out, and refused on the
	// way in: it is a control character.
	in.LastName = "Núñez\nII"
	_, err = NewReader(strings.NewReader(string(AppendRecord(nil, in))), 3).Read()
	if err == nil || !strings.Contains(err.Error(), "control character") {
		t.Errorf("Read() = %v; want a control character error", err)
	}
}

func TestReaderQuotingAndLines(t *testing.T) {
	in := "\ufeff\"Ana\nMaría\",B,1,2000-01-01,1\r\n" + // a quoted line break: a control character, refused
		"x"
	r := NewReader(strings.NewReader(in), 1)
	if _, err := r.Read(); err == nil || !strings.Contains(err.Error(), "line 1: first_name") {
		t.Errorf("Read() = %v; want line 1 first_name error", err)
	}

	in = "\"Ana \"\"la\"\" , x\",B,1,2000-01-01,1\r\n\r\nC,D,2,2000-01-02,2\n" + `E,F"x,3,2000-01-03,3` + "\n"
	r = NewReader(strings.NewReader(in), 1)
	b, err := r.Read()
	if err != nil || b.FirstName != `Ana "la" , x` {
		t.Fatalf("Read() = %+v, %v; want first name %q", b, err, `Ana "la" , x`)
	}
	if got := r.Raw(); got != `"Ana ""la"" , x",B,1,2000-01-01,1` {
		t.Errorf("Raw() = %q; want the row as written", got)
	}
	if b, err = r.Read(); err != nil || b.FirstName != "C" {
		t.Errorf("Read() after a blank line = %+v, %v; want C", b, err)
	}
	if _, err = r.Read(); err == nil || !strings.Contains(err.Error(), "line 4: bare \"") {
		t.Errorf("Read() = %v; want a bare-quote error on line 4", err)
	}
	for _, bad := range []string{`"A"x,B,1,2000-01-01,1`, `"A,B,1,2000-01-01,1`} {
		if _, err := NewReader(strings.NewReader(bad), 1).Read(); !errors.Is(err, ErrQuote) {
			t.Errorf("Read(%q) = %v; want ErrQuote", bad, err)
		}
	}
}

// TestReaderAcrossChunks reads more than one read buffer, with rows that
// straddle the boundary, and finds an error's line far into the input.
func TestReaderAcrossChunks(t *testing.T) {
	var b strings.Builder
	const rows = 20000
	for i := range rows {
		fmt.Fprintf(&b, "\"N, %d\",Pérez,%d,2000-01-01,%d\r\n", i, i, i%10000)
	}
	r := NewReader(strings.NewReader(b.String()), 2)
	for i := range rows {
		x, err := r.Read()
		if err != nil {
			t.Fatalf("row %d: %v", i+1, err)
		}
		if want := fmt.Sprintf("N, %d", i); x.FirstName != want || x.Document != strconv.Itoa(i) {
			t.Fatalf("row %d = %+v; want first name %q", i+1, x, want)
		}
	}
	if _, err := r.Read(); err != io.EOF {
		t.Errorf("after the last row: %v; want io.EOF", err)
	}
	b.WriteString("A,B,1,2000-01-01,99999\n")
	r = NewReader(strings.NewReader(b.String()), 2)
	var err error
	for err == nil {
		_, err = r.Read()
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("line %d: number", rows+1)) {
		t.Errorf("error = %v; want it on line %d", err, rows+1)
	}
}

// TestReaderReuseMemory: a Reader that reuses its memory reads the same bets,
// rows, errors and lines as one that does not, over many chunks read in
// pieces of every size, with quoted line breaks across chunk ends.
func TestReaderReuseMemory(t *testing.T) {
	var b strings.Builder
	const rows = 30000
	for i := range rows {
		if i%97 == 0 { // a line break in a name: read, then refused
			fmt.Fprintf(&b, "\"Ana\nMaría\",\"Pérez \"\"%d\"\"\",%d,2000-01-01,%d\r\n\n", i, i, i%10000)
		} else {
			fmt.Fprintf(&b, "\"Ana, %s\",Pérez,%d,2000-01-01,%d\n", strings.Repeat("x", i%13), i, i%10000)
		}
	}
	in := b.String()
	plain := NewReader(strings.NewReader(in), 3)
	reusing := NewReader(iotest.HalfReader(strings.NewReader(in)), 3).ReuseMemory()
	bets, refused := 0, 0
	for {
		want, werr := plain.Read()
		got, err := reusing.Read()
		if got != want || fmt.Sprint(err) != fmt.Sprint(werr) || reusing.Raw() != plain.Raw() {
			t.Fatalf("after %d bets = %+v, %v, row %q; want %+v, %v, row %q", bets, got, err, reusing.Raw(), want, werr, plain.Raw())
		}
		switch {
		case werr == io.EOF:
			if want := (rows + 96) / 97; refused != want || bets != rows-want {
				t.Errorf("read %d bets and %d refused rows; want %d and %d", bets, refused, rows-want, want)
			}
			return
		case werr != nil:
			refused++
		default:
			bets++
		}
	}
}

// TestParseDateMatchesTimeParse compares the fast date parser with
// time.Parse over every day of several years and many malformed strings.
func TestParseDateMatchesTimeParse(t *testing.T) {
	var cases []string
	for d := time.Date(1899, 12, 25, 0, 0, 0, 0, time.UTC); d.Year() < 2005; d = d.AddDate(0, 0, 1) {
		cases = append(cases, d.Format(DateLayout))
	}
	cases = append(cases, "2000-02-29", "1900-02-29", "2100-02-29", "2000-02-30", "2000-13-01", "2000-00-10",
		"2000-01-00", "2000-1-01", "2000/01/01", "20000-01-01", "2000-01-1a", "+200-01-01", "", "0000-01-01", "9999-12-31")
	for _, s := range cases {
		want, wantErr := time.Parse(DateLayout, s)
		got, err := ParseDate(s)
		if (err != nil) != (wantErr != nil) || (err == nil && got != DateOf(want)) {
			t.Errorf("ParseDate(%q) = %v, %v; time.Parse gives %v, %v", s, got, err, want, wantErr)
		}
	}
}

// TestAppendDate writes every day of several years as time.Format does, and
// dates no calendar has with their numbers as they are.
func TestAppendDate(t *testing.T) {
	for d := time.Date(1899, 12, 25, 0, 0, 0, 0, time.UTC); d.Year() < 2005; d = d.AddDate(0, 0, 1) {
		if got, want := DateOf(d).String(), d.Format(DateLayout); got != want {
			t.Fatalf("Date of %v = %q; want %q", d, got, want)
		}
	}
	for d, want := range map[Date]string{
		{0, 1, 1}: "0000-01-01", {9999, 12, 31}: "9999-12-31", {12345, 1, 2}: "12345-01-02",
		{2000, 13, 1}: "2000-13-01", {2000, 0, 0}: "2000-00-00", {-5, 1, 1}: "-005-01-01",
	} {
		if got := string(AppendDate([]byte("x"), d)); got != "x"+want {
			t.Errorf("AppendDate(%#v) = %q; want %q", d, got, "x"+want)
		}
	}
}

// TestReaderLinesAfterQuotedLastField: a row that ends in a quoted field and
// "\r\n" is one line, not two.
func TestReaderLinesAfterQuotedLastField(t *testing.T) {
	r := NewReader(strings.NewReader("A,B,1,2000-01-01,\"5\"\r\nA,B,1,2000-01-01,x\r\n"), 1)
	if b, err := r.Read(); err != nil || b.Number != 5 {
		t.Fatalf("Read() = %+v, %v; want number 5", b, err)
	}
	if _, err := r.Read(); err == nil || !strings.Contains(err.Error(), "line 2: number") {
		t.Errorf("Read() = %v; want a number error on line 2", err)
	}
}

// TestReaderPlainRows: the one-pass split of rows without quotes still
// sends every byte that is not printable ASCII through the full name rules.
func TestReaderPlainRows(t *testing.T) {
	tests := []struct {
		name, in, wantFirst, wantErr string
	}{
		{"ascii crlf", "Ana,B,1,2000-01-01,1\r\n", "Ana", ""},
		{"utf-8 name", "Ñandú,B,1,2000-01-01,1\r\n", "Ñandú", ""},
		{"control character before a crlf", "A\x01,B,1,2000-01-01,1\r\n", "", "first_name \"A\\x01\": holds a control character"},
		{"carriage return inside a name", "A,B\rC,1,2000-01-01,1\n", "", "last_name \"B\\rC\": holds a control character"},
		{"delete character", "A,B\x7f,1,2000-01-01,1\n", "", "last_name \"B\\x7f\": holds a control character"},
		{"invalid utf-8", "A\xff,B,1,2000-01-01,1\n", "", "first_name \"A\\xff\": not valid UTF-8"},
		{"empty name", ",B,1,2000-01-01,1\n", "", "first_name \"\": empty"},
		{"last row ends in a lone carriage return", "A,B,1,2000-01-01,1\r", "A", ""},
		{"carriage return in the last field", "A,B,1,2000-01-01,1\r2\n", "", "number \"1\\r2\""},
		{"quoted field after the first word", "Martín,\"Benítez \"\"el Tano\"\"\",35205921,1971-03-11,2032\r\n", "Martín", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := NewReader(strings.NewReader(tc.in), 1).Read()
			switch {
			case tc.wantErr == "" && (err != nil || b.FirstName != tc.wantFirst):
				t.Errorf("Read(%q) = %+v, %v; want first name %q", tc.in, b, err, tc.wantFirst)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("Read(%q) = %v; want error containing %q", tc.in, err, tc.wantErr)
			}
		})
	}
}

// TestReaderSkip: Skip walks the same rows as Read, without checking them.
func TestReaderSkip(t *testing.T) {
	in := "A,B,1,2000-01-01,1\r\n\r\n\"Q, x\",B,2,2000-01-01,2\nbad row\n\"Q \"\"x\"\"\nR\",\"\"\"\",3\r\nlast"
	r := NewReader(strings.NewReader(in), 1)
	var raws []string
	for {
		err := r.Skip()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("Skip() = %v", err)
		}
		raws = append(raws, r.Raw())
	}
	want := []string{"A,B,1,2000-01-01,1", `"Q, x",B,2,2000-01-01,2`, "bad row", "\"Q \"\"x\"\"\nR\",\"\"\"\",3", "last"}
	if !slices.Equal(raws, want) {
		t.Errorf("rows = %q; want %q", raws, want)
	}
	if err := NewReader(strings.NewReader(`A,B"x`+"\n"), 1).Skip(); !errors.Is(err, ErrBareQuote) {
		t.Errorf("Skip() = %v; want ErrBareQuote", err)
	}
}

// FuzzSkipMatchesRead: over any input whose quoting Read accepts, Skip
// finds the same rows, however many quotes they hold.
func FuzzSkipMatchesRead(f *testing.F) {
	for _, s := range []string{"A,B,1,2000-01-01,1\r\n\"Q, x\",B\n", "\"a\nb\",\"\"\"\"\n\nc\r\n", "\"\"\n\"\"\"\"\"\",x", "a,\"b\r\n\"\"c\"\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		read, skip := NewReader(strings.NewReader(in), 1), NewReader(strings.NewReader(in), 1)
		for row := 1; ; row++ {
			_, err := read.Read()
			if errors.Is(err, ErrQuote) || errors.Is(err, ErrBareQuote) || errors.Is(err, ErrLongRecord) {
				return // Skip need not agree on rows Read refuses for their quoting
			}
			serr := skip.Skip()
			if err == io.EOF || serr == io.EOF {
				if err != serr {
					t.Fatalf("row %d: Read() = %v, Skip() = %v; want both io.EOF", row, err, serr)
				}
				return
			}
			if serr != nil || skip.Raw() != read.Raw() {
				t.Fatalf("row %d: Skip() = %v, row %q; Read's row %q", row, serr, skip.Raw(), read.Raw())
			}
		}
	})
}

// FuzzValidRowMatchesAnyRow: the fast path for valid plain rows reads the
// same bet, row and line as the general path, in both forms of a row, and
// takes no row the general path refuses.
func FuzzValidRowMatchesAnyRow(f *testing.F) {
	for _, s := range []string{
		"A,B,1,2000-01-01,1\r\n", "Ñandú,Pérez,007,2000-02-29,0042\n", "3,Ana,B,1,2000-01-01,9999",
		"A,B,1,2000-01-01,10000\n", "A,B,C,1,2000-01-01,1\n", "A,\"B\",1,2000-01-01,1\n", "0,A,B,1,2000-01-01,1\n",
		"A,B\x7f,1,2000-01-01,1\n", "A\xc2\x85,B,1,2000-01-01,1\n", "A,B,1,2001-02-29,1\n", ",B,1,2000-01-01,1\n",
		"1234567890,A,B,1,2000-01-01,1\n", "A,B,,2000-01-01,1\n", "A,B,1,2000-1-01,1\n", "A,B,1,2000-01-01,\n",
		"\"Ana, Jr.\",Núñez,1,2000-01-01,1\r\n", "A,\"B, C\",1,2000-01-01,1\n", "\"A\",\"B\",1,2000-01-01,1\n", "A,B,,1,2000-01-01,1\n",
		"\"A\"\"x\",B,1,2000-01-01,1\n", "\"A\",,1,2000-01-01,1\n", "\"A\"x,B,1,2000-01-01,1\n", "A,\"B\"\"\",1,2000-01-01,1\n", "A,\"\",1,2000-01-01,1\n",
		"\"A,B,1,2000-01-01,1\n", "A,B\",1,2000-01-01,1\n", "\",\",\"\",1,2000-01-01,1\n", "A,B,\n1,2000-01-01,1\n", "\"A\nB\",C,1,2000-01-01,1\n", "\"A\"xB,1,2000-01-01,1\n",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, in string, stored bool) {
		fast, general := NewBytesReader([]byte(in), 2), NewBytesReader([]byte(in), 2)
		if stored {
			fast.fields, general.fields = 1+Fields, 1+Fields
		}
		for row := 1; ; row++ {
			var got, want Bet
			err := fast.read(&got)
			werr := general.skipBlank()
			if werr == nil {
				werr = general.anyRow(&want)
			}
			if got != want || fmt.Sprint(err) != fmt.Sprint(werr) || fast.Raw() != general.Raw() || fast.line != general.line {
				t.Fatalf("row %d: read = %+v, %v, row %q, line %d; anyRow = %+v, %v, row %q, line %d", row, got, err, fast.Raw(), fast.line, want, werr, general.Raw(), general.line)
			}
			if werr == io.EOF {
				return
			}
		}
	})
}

// FuzzReaderPlainRows compares the Reader with the plainest reading of rows
// without quotes: split at line breaks and commas, then Parse.
func FuzzReaderPlainRows(f *testing.F) {
	for _, s := range []string{"A,B,1,2000-01-01,1\r\nC,D,2,2000-02-29,9999\n", "Ñ,B,007,1999-12-31,0\n\n", "A,,1,2000-01-01,1", "A\x00,B,1,2000-01-01,1\r\n", "A,B,1,2001-02-29,1\n", "A,B,1,2000-01-01,10000\n", "\r\n", "A,B\r,1,2000-01-01,1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if strings.Contains(in, `"`) || strings.HasPrefix(in, "\ufeff") {
			t.Skip()
		}
		r := NewReader(strings.NewReader(in), 1)
		for i, line := range strings.SplitAfter(in, "\n") {
			row := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
			if row == "" {
				continue // blank: "\n", "\r\n", or a last "\r" on its own, as encoding/csv reads them
			}
			want, wantErr := Parse(1, strings.Split(row, ","))
			got, err := r.Read()
			if (err != nil) != (wantErr != nil) || err == nil && got != want {
				t.Fatalf("row %d %q: Read() = %+v, %v; Parse gives %+v, %v", i+1, row, got, err, want, wantErr)
			}
			if err != nil {
				if !strings.Contains(err.Error(), fmt.Sprintf("line %d: %v", i+1, wantErr)) {
					t.Fatalf("row %d %q: Read() = %v; want line %d: %v", i+1, row, err, i+1, wantErr)
				}
				return
			}
		}
		if _, err := r.Read(); err != io.EOF {
			t.Fatalf("after the last row: %v; want io.EOF", err)
		}
	})
}

// TestLoadBetsInOrder reads a file of many chunks, which several goroutines
// parse, and gets every bet back in the file's order; an error far into the
// file names its line; stopping early stops the goroutines (goleak checks).
func TestLoadBetsInOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bets.csv")
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	const rows = 50000
	var bets []Bet
	for i := range rows {
		first := "Ana"
		if i%7 == 0 {
			first = "Ana, \"la\"" // quoted on the way out
		}
		bets = append(bets, Bet{Agency: 1 + i%5, FirstName: first, LastName: "Pérez", Document: strconv.Itoa(i), Birthdate: date("2000-01-01"), Number: i % 10000})
	}
	if err := s.StoreBets(bets); err != nil {
		t.Fatal(err)
	}
	i := 0
	for b, err := range LoadBets(path) {
		if err != nil {
			t.Fatalf("bet %d: %v", i+1, err)
		}
		if b != bets[i] {
			t.Fatalf("bet %d = %+v; want %+v", i+1, b, bets[i])
		}
		i++
	}
	if i != rows {
		t.Errorf("LoadBets gave %d bets; want %d", i, rows)
	}

	for range LoadBets(path) {
		break
	}

	if _, err := s.f.WriteString("1,A,B,1,2000-01-01,x\r\n"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	n, last := loadUntilError(path)
	if n != rows || last == nil || !strings.Contains(last.Error(), fmt.Sprintf("line %d: number", rows+1)) {
		t.Errorf("LoadBets gave %d bets, then %v; want %d bets, then a number error on line %d", n, last, rows, rows+1)
	}
}

// FuzzReaderMatchesEncodingCSV compares the Reader with encoding/csv
// followed by Parse: the same bets, and an error where either finds one.
// (encoding/csv turns "\r\n" inside a quoted field into "\n"; both are
// control characters in a name, refused either way.)
func FuzzReaderMatchesEncodingCSV(f *testing.F) {
	for _, s := range []string{
		"A,B,1,2000-01-01,1\r\nC,D,2,2000-02-29,9999\n",
		"Martín,\"Benítez \"\"el Tano\"\"\",35205921,1971-03-11,2032\r\n",
		"\"A,\nB\",C,1,2000-01-01,1\n", "A,B\"x,1,2000-01-01,1\n", "\"A\"x,B,1,2000-01-01,1",
		"A,B,1,2000-01-01,\"5\"\r\nA,B,1,2000-01-01,x\r\n", "\n\r\nA,B,1,2000-01-01,1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if strings.HasPrefix(in, "\ufeff") || strings.ContainsRune(in, '\r') && strings.Contains(in, `"`) {
			t.Skip() // byte-order marks and carriage returns around quotes: encoding/csv reads them its own way
		}
		cr := csv.NewReader(strings.NewReader(in))
		cr.FieldsPerRecord = -1
		r := NewReader(strings.NewReader(in), 1)
		for row := 1; ; row++ {
			rec, cerr := cr.Read()
			got, err := r.Read()
			if cerr == io.EOF {
				if err != io.EOF {
					t.Fatalf("row %d: encoding/csv has no more rows; Read() = %+v, %v", row, got, err)
				}
				return
			}
			if cerr != nil {
				if err == nil {
					t.Fatalf("row %d: encoding/csv: %v; Read() = %+v, nil", row, cerr, got)
				}
				return
			}
			want, werr := Parse(1, rec)
			if (err != nil) != (werr != nil) || err == nil && got != want {
				t.Fatalf("row %d %q: Read() = %+v, %v; encoding/csv and Parse give %+v, %v", row, rec, got, err, want, werr)
			}
			if err != nil {
				return
			}
		}
	})
}

// TestCheckNameControlCharacters: a name is refused for a control
// character exactly when unicode.IsControl says so, over every code point.
func TestCheckNameControlCharacters(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		err := checkName("first_name", "a"+string(r)+"b", false)
		if (err != nil) != unicode.IsControl(r) {
			t.Fatalf("checkName(%q) = %v; unicode.IsControl = %v", "a"+string(r)+"b", err, unicode.IsControl(r))
		}
	}
}

// FuzzCheckName compares the name check with the plain reading of its rules:
// valid UTF-8 without a control character.
func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"Ana", "Núñez", "a\u0085b", "\xc3", "\xc2\x9f", "\xc0\xaf", "日本", "a\x7f", "\xf0\x9f\x98\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := s != "" && utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
		if err := checkName("first_name", s, false); (err == nil) != want {
			t.Fatalf("checkName(%q) = %v; want valid %v", s, err, want)
		}
	})
}

// TestReaderReadAll appends every bet, stops at the first bad row with the
// bets before it, and ends without io.EOF.
func TestReaderReadAll(t *testing.T) {
	prefix := []Bet{{Agency: 9, FirstName: "kept"}}
	got, err := NewReader(strings.NewReader("A,B,1,2000-01-01,1\r\nC,D,2,2000-01-02,2\r\n"), 4).ReadAll(prefix)
	if err != nil || len(got) != 3 || got[0].FirstName != "kept" || got[1].FirstName != "A" || got[2].Number != 2 || got[2].Agency != 4 {
		t.Errorf("ReadAll = %+v, %v; want the kept bet, then A and C of agency 4", got, err)
	}
	got, err = NewReader(strings.NewReader("A,B,1,2000-01-01,1\nA,B,x,2000-01-01,1\nC,D,2,2000-01-02,2\n"), 4).ReadAll(nil)
	if len(got) != 1 || err == nil || !strings.Contains(err.Error(), "line 2: document") {
		t.Errorf("ReadAll = %d bets, %v; want 1 bet, then a document error on line 2", len(got), err)
	}
}

// TestRowWord puts every byte value at every place of a word of 'a's and
// checks that exactly that byte is marked, and in the right result.
func TestRowWord(t *testing.T) {
	for c := range 256 {
		for at := range 8 {
			word := []byte("aaaaaaaa")
			word[at] = byte(c)
			commas, quotes, others := rowWord(binary.LittleEndian.Uint64(word))
			mark := uint64(0x80) << (8 * at)
			want := func(yes bool) uint64 {
				if yes {
					return mark
				}
				return 0
			}
			if commas != want(c == ',') || quotes != want(c == '"') || others != want(c < 0x20 || c >= 0x7f) {
				t.Fatalf("rowWord(%q) = %#x, %#x, %#x; want the byte at %d marked only as what it is", word, commas, quotes, others, at)
			}
		}
	}
}

// TestNeedsQuotes puts each byte value at each place of names of several
// lengths and compares with the plain reading of QUOTE_MINIMAL.
func TestNeedsQuotes(t *testing.T) {
	for n := 1; n <= 20; n++ {
		for at := range n {
			for c := range 256 {
				b := []byte(strings.Repeat("a", n))
				b[at] = byte(c)
				s := string(b)
				if got, want := needsQuotes(s), strings.ContainsAny(s, ",\"\r\n"); got != want {
					t.Fatalf("needsQuotes(%q) = %v; want %v", s, got, want)
				}
			}
		}
	}
}

// TestAppendInt compares appendInt with strconv.AppendInt on every number a
// bet carries, its edges, and numbers beyond them.
func TestAppendInt(t *testing.T) {
	check := func(n int) {
		if got, want := string(appendInt([]byte("x"), n)), string(strconv.AppendInt([]byte("x"), int64(n), 10)); got != want {
			t.Fatalf("appendInt(%d) = %q; want %q", n, got, want)
		}
	}
	for n := -1000; n <= 20000; n++ {
		check(n)
	}
	for _, n := range []int{math.MinInt, -99999, 99999, 123456789, math.MaxInt} {
		check(n)
	}
}

// loadUntilError counts the bets LoadBets yields before its first error,
// and returns that error (nil at a clean end).
func loadUntilError(path string) (int, error) {
	n := 0
	for _, err := range LoadBets(path) {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// TestLoadBetsLongRow: a row longer than the reader takes ends the load
// with ErrLongRecord after the bets before it.
func TestLoadBetsLongRow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bets.csv")
	content := "1,A,B,1,2000-01-01,1\r\n" + strings.Repeat("x", 2<<20)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	n, last := loadUntilError(path)
	if n != 1 || !errors.Is(last, ErrLongRecord) {
		t.Errorf("LoadBets gave %d bets, then %v; want 1 bet, then ErrLongRecord", n, last)
	}
}

// TestRowLimitOnArrivalIsTheDrawsLimit: a row of MaxRowBytes, the longest a
// reader takes, is stored with the longest agency and read back by LoadBets;
// one byte more is refused, in a message as in a file.
func TestRowLimitOnArrivalIsTheDrawsLimit(t *testing.T) {
	const agency = math.MaxInt64 // the longest stored prefix
	row := func(n int) string {
		tail := ",12345678,2000-01-01,7574"
		first := `"` + strings.Repeat(`,""`, (n-len(tail)-len(`,Z`)-2)/3) // quoted, quotes doubled
		first += strings.Repeat("a", n-len(tail)-len(`,Z`)-len(first)-1) + `"`
		return first + ",Z" + tail
	}
	longest := row(MaxRowBytes)
	if len(longest) != MaxRowBytes {
		t.Fatalf("the test's row has %d bytes; want %d", len(longest), MaxRowBytes)
	}
	bets, err := NewBytesReader([]byte(longest+"\r\n"), agency).ReadAll(nil)
	if err != nil || len(bets) != 1 {
		t.Fatalf("a row of MaxRowBytes: %d bets, %v; want it read", len(bets), err)
	}
	path := filepath.Join(t.TempDir(), "bets.csv")
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(s.StoreBets(bets), s.Sync(), s.Close()); err != nil {
		t.Fatal(err)
	}
	for b, err := range LoadBets(path) {
		if err != nil || b != bets[0] {
			t.Fatalf("LoadBets of the longest stored row = %+v, %v; want the bet stored", b, err)
		}
	}

	tooLong := row(MaxRowBytes+1) + "\r\n"
	for name, r := range map[string]*Reader{
		"message": NewBytesReader([]byte(tooLong), 1),
		"file":    NewReader(strings.NewReader(tooLong), 1),
	} {
		if _, err := r.Read(); !errors.Is(err, ErrLongRecord) {
			t.Errorf("%s: a row of MaxRowBytes+1: %v; want ErrLongRecord", name, err)
		}
	}
}

// TestLoadBetsExcept leaves out spans of whole rows: in the middle, at both
// ends, side by side.
func TestLoadBetsExcept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bets.csv")
	s, err := OpenStore(path)
	if err != nil {
		t.Fatal(err)
	}
	var spans []Span // one per bet: the bytes its row takes
	for i := range 6 {
		start := s.Size()
		if err := s.StoreBets([]Bet{{Agency: 1, FirstName: "A", LastName: "B", Document: strconv.Itoa(i), Birthdate: Date{2000, 1, 1}, Number: i}}); err != nil {
			t.Fatal(err)
		}
		spans = append(spans, Span{start, s.Size()})
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		skip []int // the rows left out
		want string
	}{
		{nil, "012345"},
		{[]int{2}, "01345"},
		{[]int{0, 5}, "1234"},
		{[]int{1, 2, 4}, "035"},
		{[]int{0, 1, 2, 3, 4, 5}, ""},
	} {
		var skip []Span
		for _, i := range tc.skip {
			skip = append(skip, spans[i])
		}
		got := ""
		for b, err := range LoadBetsExcept(path, skip) {
			if err != nil {
				t.Fatal(err)
			}
			got += b.Document
		}
		if got != tc.want {
			t.Errorf("LoadBetsExcept without rows %v read documents %q; want %q", tc.skip, got, tc.want)
		}
	}
}
