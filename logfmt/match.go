package logfmt

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
)

// Match picks events by what Parse reads in them: the action (any when
// empty), the result when one is given, and fields whose values are, or
// contain, a text. The tests wait for lines and count them with it.
type Match struct {
	action, result string
	fields         []fieldMatch
}

type fieldMatch struct {
	key, text string
	whole     bool // the value is text, not merely contains it
}

// Logged matches the events of one action.
func Logged(action string) Match { return Match{action: action} }

// Failures matches every fail event, whatever its action.
func Failures() Match { return Match{result: Fail} }

// Is keeps the events with this result.
func (m Match) Is(result string) Match {
	m.result = result
	return m
}

// With keeps the events whose field key is value.
func (m Match) With(key, value string) Match {
	m.fields = append(slices.Clip(m.fields), fieldMatch{key, value, true})
	return m
}

// Saying keeps the events whose field key contains text.
func (m Match) Saying(key, text string) Match {
	m.fields = append(slices.Clip(m.fields), fieldMatch{key, text, false})
	return m
}

// Has keeps the events that have field key.
func (m Match) Has(key string) Match { return m.Saying(key, "") }

// Failing keeps the fail events whose error contains every one of texts.
func (m Match) Failing(texts ...string) Match {
	m = m.Is(Fail)
	for _, text := range texts {
		m = m.Saying(logrus.ErrorKey, text)
	}
	return m
}

// Matches reports whether e is one of the events m picks.
func (m Match) Matches(e Event) bool {
	if m.action != "" && e.Action != m.action || m.result != "" && e.Result != m.result {
		return false
	}
	for _, f := range m.fields {
		v, ok := e.Fields[f.key]
		if !ok || f.whole && v != f.text || !f.whole && !strings.Contains(v, f.text) {
			return false
		}
	}
	return true
}

// String says what m picks, for a test's failure message.
func (m Match) String() string {
	parts := []string{"action " + cmp.Or(m.action, "any")}
	if m.result != "" {
		parts = append(parts, "result "+m.result)
	}
	for _, f := range m.fields {
		switch {
		case f.whole:
			parts = append(parts, fmt.Sprintf("%s %q", f.key, f.text))
		case f.text == "":
			parts = append(parts, "a field "+f.key)
		default:
			parts = append(parts, fmt.Sprintf("%s containing %q", f.key, f.text))
		}
	}
	return strings.Join(parts, ", ")
}
