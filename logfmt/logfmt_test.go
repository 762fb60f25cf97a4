package logfmt

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sirupsen/logrus"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		name string
		log  func(l *logrus.Logger)
		want string
	}{
		{"info is success", func(l *logrus.Logger) {
			l.WithField("cantidad", 3).Info("apuesta_recibida")
		}, "action: apuesta_recibida | result: success | cantidad: 3\n"},
		{"error is fail, error last", func(l *logrus.Logger) {
			l.WithError(errors.New("boom")).WithField("z", 1).Error("lottery")
		}, "action: lottery | result: fail | z: 1 | error: boom\n"},
		{"explicit result", func(l *logrus.Logger) {
			l.WithField(ResultKey, InProgress).WithField("b", "x").WithField("a", "y").Info("envio")
		}, "action: envio | result: in_progress | a: y | b: x\n"},
		{"empty value", func(l *logrus.Logger) {
			l.WithField("agencias", "").Info("estado")
		}, "action: estado | result: success | agencias: -\n"},
		{"escapes pipes and newlines", func(l *logrus.Logger) {
			l.WithField("reason", "a|b\r\nc\\d").Error("x")
		}, "action: x | result: fail | reason: a\\x7cb\\r\\nc\\\\d\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			l, err := New(&buf, "info")
			if err != nil {
				t.Fatal(err)
			}
			tc.log(l)
			if got := buf.String(); got != tc.want {
				t.Errorf("got %q; want %q", got, tc.want)
			}
		})
	}
}

func TestNewRejectsBadLevel(t *testing.T) {
	if _, err := New(&bytes.Buffer{}, "loud"); err == nil {
		t.Error(`New(_, "loud") = nil error; want one`)
	}
}
