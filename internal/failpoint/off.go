//go:build !failpoints

package failpoint

// Enabled reports whether failpoints are compiled in.
const Enabled = false

// Hit does nothing: failpoints are not compiled in.
func Hit(name string, before ...func()) {}
