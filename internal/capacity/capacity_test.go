package capacity

import (
	"strings"
	"testing"
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
	want := []string{"action: limite_archivos | result: in_progress | nodo: n@h | limite_archivos: 1024 | agencias_max: 412 | aviso: "}
	if line, low := Line("n@h", 1024); !low || !strings.HasPrefix(line, want[0]) {
		t.Errorf("Line(1024) = %q, %v; want it low: %q…", line, low, want[0])
	}
	if line, low := Line("n@h", Wanted); low || line != "action: limite_archivos | result: success | nodo: n@h | limite_archivos: 65536 | agencias_max: 32668" {
		t.Errorf("Line(%d) = %q, %v; want it enough, with no warning", Wanted, line, low)
	}
}
