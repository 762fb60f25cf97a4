//go:build cluster || replicas

package e2e

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// What a program's log says of the broker nodes it connected to.

var nodeOf = regexp.MustCompile(`action: conexion_broker \| result: success \| nodo: (\d+)/`)

// connectedTo is the node (from 1) that proc's last connection went to.
func connectedTo(w *world, proc string) int {
	n := 0
	for _, l := range w.lines(proc) {
		if m := nodeOf.FindStringSubmatch(l); m != nil {
			n, _ = strconv.Atoi(m[1])
		}
	}
	return n
}

// reconnected reports whether proc lost its connection and made another.
func reconnected(w *world, proc string) bool {
	return slices.ContainsFunc(w.lines(proc), func(l string) bool { return strings.HasPrefix(l, "action: reconexion |") })
}

// failedOver reports whether proc connected to more than one node.
func failedOver(w *world, proc string) bool {
	seen := map[string]bool{}
	for _, l := range w.lines(proc) {
		if m := nodeOf.FindStringSubmatch(l); m != nil {
			seen[m[1]] = true
		}
	}
	return len(seen) > 1
}
