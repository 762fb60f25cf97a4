//go:build cluster || replicas

package e2e

import (
	"strconv"
	"strings"
	"testing"

	"github.com/loteria-nacional/pipeline/logfmt"
)

// What a program's log says of the broker nodes it connected to.

// nodesOf lists the nodes proc connected to, in order, as conexion_broker
// lines name them: "2/3" is the second URL of three.
func nodesOf(t *testing.T, w *world, proc string) []string {
	t.Helper()
	var nodes []string
	for _, e := range w.find(t, proc, logfmt.Logged(logfmt.ConexionBroker).Is(logfmt.Success)) {
		nodes = append(nodes, e.Fields["nodo"])
	}
	return nodes
}

// connectedTo is the node (from 1) that proc's last connection went to, or
// 0 before its first.
func connectedTo(t *testing.T, w *world, proc string) int {
	t.Helper()
	nodes := nodesOf(t, w, proc)
	if len(nodes) == 0 {
		return 0
	}
	last, _, _ := strings.Cut(nodes[len(nodes)-1], "/")
	i, err := strconv.Atoi(last)
	if err != nil {
		t.Fatalf("%s: conexion_broker nodo %q is not i/n", proc, nodes[len(nodes)-1])
	}
	return i
}

// reconnected reports whether proc lost its connection and made another.
func reconnected(t *testing.T, w *world, proc string) bool {
	t.Helper()
	return len(w.find(t, proc, logfmt.Logged(logfmt.Reconexion))) > 0
}

// failedOver reports whether proc connected to more than one node.
func failedOver(t *testing.T, w *world, proc string) bool {
	t.Helper()
	nodes := nodesOf(t, w, proc)
	for _, n := range nodes {
		if n != nodes[0] {
			return true
		}
	}
	return false
}
