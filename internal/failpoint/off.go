//go:build !failpoints

package failpoint

// Hit does nothing: failpoints are not compiled in.
func Hit(name string, before ...func()) {}
