// Package failpoint stops a process exactly at a dangerous boundary, so
// that crash-safety tests are deterministic instead of hoping a random kill
// lands between a write and its ack.
//
// Failpoints are compiled in only under the build tag "failpoints"; in every
// other build Hit is an empty function. A failpoint is armed by the
// environment variable FAILPOINTS, a comma-separated list of name or
// name@N (stop the N-th time it is reached; N defaults to 1). When an armed
// failpoint is reached, the process writes one log line naming it, runs the
// optional action (for example, a half-written record), and sends itself
// SIGKILL: no deferred function, flush or close runs, as in a real crash.
package failpoint

// Env is the variable that arms failpoints.
const Env = "FAILPOINTS"
