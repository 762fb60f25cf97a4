// Package logfmt writes log events in the course's one-line format:
//
//	action: <name> | result: <success|fail|in_progress> | <key>: <value> | …
//
// The logrus message is the action. The result is the entry's "result" field
// when it has one (use [InProgress] for a retry or progress line); otherwise it
// is "fail" for Error level and above and "success" below it. The remaining
// fields follow in alphabetical order, with "error" last; an empty value is
// written "-". Inside values, "|",
// "\", carriage returns and line breaks are escaped so that every event stays
// one line that splits cleanly on "|".
package logfmt

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
)

// The three results the course's grading tests accept.
const (
	Success    = "success"
	Fail       = "fail"
	InProgress = "in_progress"
)

// ResultKey is the field that overrides the result derived from the level.
const ResultKey = "result"

// Formatter is a logrus.Formatter that writes the course's format.
type Formatter struct{}

var escaper = strings.NewReplacer(`\`, `\\`, "|", `\x7c`, "\r", `\r`, "\n", `\n`)

// Format implements logrus.Formatter.
func (Formatter) Format(e *logrus.Entry) ([]byte, error) {
	result := Success
	if e.Level <= logrus.ErrorLevel {
		result = Fail
	}
	if r, ok := e.Data[ResultKey].(string); ok {
		result = r
	}
	return []byte(Line(e.Message, result, e.Data)), nil
}

// Line formats one event, ending in a line break: the action, the result,
// then the fields but "result" in alphabetical order with "error" last. The
// programs log through [Formatter]; the tools that print a few lines of
// their own print them with Line.
func Line(action, result string, fields map[string]any) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != ResultKey && k != logrus.ErrorKey {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if _, ok := fields[logrus.ErrorKey]; ok {
		keys = append(keys, logrus.ErrorKey)
	}

	var b strings.Builder
	b.WriteString("action: ")
	b.WriteString(escaper.Replace(action))
	b.WriteString(" | result: ")
	b.WriteString(result)
	for _, k := range keys {
		b.WriteString(" | ")
		b.WriteString(escaper.Replace(k))
		b.WriteString(": ")
		v := toString(fields[k])
		if v == "" {
			v = "-" // "key: " would not split cleanly on ": "
		}
		b.WriteString(escaper.Replace(v))
	}
	b.WriteByte('\n')
	return b.String()
}

func toString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case error:
		return v.Error()
	default:
		return fmt.Sprint(v)
	}
}

// New returns a logger that writes the course's format to w at the given
// level ("debug", "info", "warn", "error"; empty means "info").
func New(w io.Writer, level string) (*logrus.Logger, error) {
	log := logrus.New()
	log.SetOutput(w)
	log.SetFormatter(Formatter{})
	if level == "" {
		level = "info"
	}
	return log, SetLevel(log, level)
}

// SetLevel sets log's level from the LOG_LEVEL setting.
func SetLevel(log *logrus.Logger, level string) error {
	lvl, err := logrus.ParseLevel(level)
	if err != nil {
		return fmt.Errorf("setting LOG_LEVEL=%q: want debug, info, warn or error", level)
	}
	log.SetLevel(lvl)
	return nil
}

// Closer returns a function that closes a resource on the way out of a
// function and logs it ("action: cierre | recurso: name"); a close that
// fails is joined into *err, unless gone reports that the resource went
// away already (a lost connection takes its channels with it). Closes on
// the way out of a function that failed because the resource went away are
// logged at debug level: the failure is the news, and a program that
// reconnects a hundred times should not say so seven hundred.
func Closer(log logrus.FieldLogger, err *error, gone func() bool) func(name string, close func() error) {
	return func(name string, close func() error) {
		cerr := close()
		lost := gone != nil && gone()
		if cerr != nil && !lost {
			*err = errors.Join(*err, fmt.Errorf("close %s: %w", name, cerr))
			return
		}
		level := logrus.InfoLevel
		if *err != nil && lost {
			level = logrus.DebugLevel
		}
		log.WithField("recurso", name).Log(level, Cierre)
	}
}

// Discard returns a logger that writes nothing, for tests.
func Discard() *logrus.Logger {
	log := logrus.New()
	log.SetOutput(io.Discard)
	return log
}
