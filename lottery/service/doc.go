// Package service is the lottery: Load reads its settings, and Run stores
// every agency's bets with the course's StoreBets, journals what it
// decided, makes the draw once every agency has finished and all their bets
// are settled, and answers each agency's winners request over RPC, until
// its context ends. Command lottery is its settings, signals and exit; the
// tests drive its decisions in-process.
//
// The files split its work: run.go wires it (data directory, journal
// recovery, and a session that is opened again whenever the connection is
// lost), service.go is the event loop, bets.go stores or refuses batches and
// finished events, requests.go answers winners requests, draw.go makes the
// draw, and state.go and journal.go are what it knows and how that survives
// a crash.
package service
