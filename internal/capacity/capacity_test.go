package capacity

import (
	"testing"

	"github.com/loteria-nacional/pipeline/logfmt"
)

func TestAgencies(t *testing.T) {
	for _, tc := range []struct{ limit, want int }{
		{0, 0}, {FilesReserved, 0}, {1024, (1024 - FilesReserved) / FilesPerAgency}, {Wanted, (Wanted - FilesReserved) / FilesPerAgency},
	} {
		if got := Agencies(tc.limit); got != tc.want {
			t.Errorf("Agencies(%d) = %d; want %d", tc.limit, got, tc.want)
		}
	}
	if Agencies(1024) >= 1000 || Agencies(Wanted) < 10000 {
		t.Errorf("1,024 files hold %d agencies, %d hold %d: the measured 1,000 agencies wedged a node of 1,024", Agencies(1024), Wanted, Agencies(Wanted))
	}
}

func TestLine(t *testing.T) {
	for _, tc := range []struct {
		limit int
		want  logfmt.Match
		low   bool
	}{
		{1024, logfmt.Logged(logfmt.LimiteArchivos).Is(logfmt.InProgress).With("nodo", "n@h").
			With("limite_archivos", "1024").With("agencias_max", "412").Saying("aviso", "below 65536 open files"), true},
		{Wanted, logfmt.Logged(logfmt.LimiteArchivos).Is(logfmt.Success).With("nodo", "n@h").
			With("limite_archivos", "65536").With("agencias_max", "32668"), false},
	} {
		line, low := Line("n@h", tc.limit)
		e, err := logfmt.Parse(line)
		if err != nil || !tc.want.Matches(e) || low != tc.low {
			t.Errorf("Line(%d) = %q, %v (%v); want %s, %v", tc.limit, line, low, err, tc.want, tc.low)
		}
		if _, warned := e.Fields["aviso"]; warned != tc.low {
			t.Errorf("Line(%d) = %q; want a warning only when low", tc.limit, line)
		}
	}
}
