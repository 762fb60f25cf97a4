// Package agent is one lottery agency: Load reads its settings, and Run
// checks its CSV file of bets, publishes them to RabbitMQ in batches with
// publisher confirms, announces that it has finished, and asks the lottery
// for its winners over RPC. Command agency is its settings, signals and
// exit.
//
// bets.go reads and checks the file, send.go carries a session over one
// connection, and run.go opens sessions until the run is done.
package agent
