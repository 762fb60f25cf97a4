//go:build faults || outage || thousand

package e2e

import (
	"os"
	"strconv"
)

// envInt is the positive integer setting name of a heavy suite, or def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
