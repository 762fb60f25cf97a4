// Package logtest reads programs' logs and commands' output in tests,
// through logfmt.Parse, the one reader of the log format.
package logtest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/loteria-nacional/pipeline/logfmt"
)

// Events parses a program's log, every line of which must be a log line:
// it returns the events of the lines that parse, and an error naming who
// and every line that does not.
func Events(who string, lines []string) ([]logfmt.Event, error) {
	var events []logfmt.Event
	var errs []error
	for _, l := range lines {
		e, err := logfmt.Parse(l)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", who, err))
			continue
		}
		events = append(events, e)
	}
	return events, errors.Join(errs...)
}

// Count is how many of events m matches.
func Count(events []logfmt.Event, m logfmt.Match) int {
	n := 0
	for _, e := range events {
		if m.Matches(e) {
			n++
		}
	}
	return n
}

// Find returns the log lines of out, a command's whole output, that m
// matches. who is "" for the command's own lines, or the name that prefixes
// a program's lines in the demo's output ("agency-1: action: …"). Lines
// that are not log lines, as make's own, are passed over; a log line that
// does not parse fails t.
func Find(t testing.TB, out, who string, m logfmt.Match) []logfmt.Event {
	t.Helper()
	label := ""
	if who != "" {
		label = who + ": "
	}
	var found []logfmt.Event
	for l := range strings.Lines(out) {
		text, ok := strings.CutPrefix(strings.TrimPrefix(l, eraseLine), label)
		if !ok || !strings.HasPrefix(text, "action: ") {
			continue
		}
		e, err := logfmt.Parse(text)
		if err != nil {
			t.Error(err)
			continue
		}
		if m.Matches(e) {
			found = append(found, e)
		}
	}
	return found
}

// Says reports whether out holds a log line of who that m matches, as Find.
func Says(t testing.TB, out, who string, m logfmt.Match) bool {
	t.Helper()
	return len(Find(t, out, who, m)) > 0
}

// eraseLine is the escape Compose 2.26 writes before each line it prints.
const eraseLine = "\x1b[2K"
