// Package capacity says how many agencies a RabbitMQ node holds by its
// limit of open files, from what one agency costs it while it runs: its
// connection's socket and its reply queue's files. A node that runs out of
// files stops accepting connections, even rabbitmqctl's, and stays wedged
// long after the agencies are gone: every broker the project starts asks for
// Wanted, and one that has less is reported with what it holds.
package capacity

import (
	"fmt"
	"strings"

	"github.com/loteria-nacional/pipeline/logfmt"
)

// Wanted is the open-file limit every broker the project starts asks for:
// thousands of agencies.
const Wanted = 65536

// The costs in open files, from make bench's run of 1,000 agencies at once
// (docs/performance.md, "Thousands of agencies"): each running agency took
// one (its connection's socket), doubled here for reconnections that
// overlap; the node itself with a lottery and no agency took 38, and
// FilesReserved leaves room for the management UI, the CLI tools and
// the queues' files besides.
const (
	FilesPerAgency = 2
	FilesReserved  = 200
)

// Agencies is how many agencies, all running at once, a node holds with
// limit open files.
func Agencies(limit int) int { return max(0, (limit-FilesReserved)/FilesPerAgency) }

// Line is the log line about node's limit: the limit, the agencies it
// holds and, below Wanted, result in_progress with a warning; low reports
// the latter.
func Line(node string, limit int) (line string, low bool) {
	low = limit < Wanted
	result, fields := logfmt.Success, map[string]any{"nodo": node, "limite_archivos": limit, "agencias_max": Agencies(limit)}
	if low {
		result = logfmt.InProgress
		fields["aviso"] = fmt.Sprintf("below %d open files; more agencies at once than it holds make it refuse every connection", Wanted)
	}
	return strings.TrimSuffix(logfmt.Line(logfmt.LimiteArchivos, result, fields), "\n"), low
}
