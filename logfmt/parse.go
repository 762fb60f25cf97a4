package logfmt

import (
	"fmt"
	"strconv"
	"strings"
)

// Event is one parsed log line: its action, its result and its other fields,
// unescaped.
type Event struct {
	Action string
	Result string
	Fields map[string]string
}

var unescaper = strings.NewReplacer(`\\`, `\`, `\x7c`, "|", `\r`, "\r", `\n`, "\n")

// Parse reads one line the way the course's grading tests do: split on "|",
// then each part on its first ": ". The first part must be the action, the
// second the result, which must be one of the three the tests accept.
func Parse(line string) (Event, error) {
	line = strings.TrimSuffix(line, "\n")
	e := Event{Fields: map[string]string{}}
	for i, part := range strings.Split(line, "|") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), ": ")
		if !ok {
			return e, fmt.Errorf("log line %q: part %d has no %q", line, i+1, ": ")
		}
		v = unescaper.Replace(v)
		switch {
		case i == 0 && k == "action":
			e.Action = v
		case i == 1 && k == ResultKey:
			e.Result = v
		case i < 2:
			return e, fmt.Errorf("log line %q does not start with action and result", line)
		default:
			e.Fields[k] = v
		}
	}
	switch e.Result {
	case Success, Fail, InProgress:
	default:
		return e, fmt.Errorf("log line %q: result %q is not %s, %s or %s", line, e.Result, Success, Fail, InProgress)
	}
	return e, nil
}

// Field returns the value of key, or an error naming the action when the
// line has no such field.
func (e Event) Field(key string) (string, error) {
	v, ok := e.Fields[key]
	if !ok {
		return "", fmt.Errorf("%s line has no field %q", e.Action, key)
	}
	return v, nil
}

// Int returns the value of key as an integer; a missing field or one that is
// not an integer is an error, never a zero.
func (e Event) Int(key string) (int, error) {
	v, err := e.Field(key)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("%s line: field %q = %q is not an integer", e.Action, key, v)
	}
	return n, nil
}

// Is reports whether the event is the given action with the given result.
func (e Event) Is(action, result string) bool {
	return e.Action == action && e.Result == result
}
