package logfmt

import (
	"bytes"
	"strings"
	"testing"
)

func TestParseReadsWhatFormatWrites(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "info")
	if err != nil {
		t.Fatal(err)
	}
	log.WithField("cantidad", 3).WithField("motivo", "a|b\r\nc\\d").WithField(ResultKey, InProgress).Info(ApuestaRecibida)
	e, err := Parse(buf.String())
	if err != nil {
		t.Fatal(err)
	}
	if !e.Is(ApuestaRecibida, InProgress) {
		t.Errorf("Parse = %s | %s; want %s | %s", e.Action, e.Result, ApuestaRecibida, InProgress)
	}
	if n, err := e.Int("cantidad"); n != 3 || err != nil {
		t.Errorf("Int(cantidad) = %d, %v; want 3", n, err)
	}
	if v, err := e.Field("motivo"); v != "a|b\r\nc\\d" || err != nil {
		t.Errorf("Field(motivo) = %q, %v; want the value as logged", v, err)
	}
}

func TestParseRefusesWhatTheGradingRefuses(t *testing.T) {
	for _, line := range []string{
		"",
		"sorteo",
		"result: success | action: sorteo",
		"action: sorteo | result: ok",
		"action: sorteo | result: success | cantidad",
	} {
		if _, err := Parse(line); err == nil {
			t.Errorf("Parse(%q) = nil error; want one", line)
		}
	}
}

func TestMissingFieldIsAnErrorNotZero(t *testing.T) {
	e, err := Parse("action: apuesta_recibida | result: success | lote: x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Int("cantidad"); err == nil || !strings.Contains(err.Error(), `"cantidad"`) {
		t.Errorf("Int of a missing field: err = %v; want one naming the field", err)
	}
	if _, err := e.Int("lote"); err == nil || !strings.Contains(err.Error(), "not an integer") {
		t.Errorf("Int of a word: err = %v; want not an integer", err)
	}
}
