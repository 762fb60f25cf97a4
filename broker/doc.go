// Package broker is the RabbitMQ layer that the agencies and the lottery
// share. Its files keep two jobs apart:
//
//   - What travels: the message formats and their headers (message.go) and
//     the protocol's limits (limits.go).
//   - How it travels: broker URLs (url.go); connecting, with its settings
//     and their defaults in one [Config], a logged retry and TLS (conn.go,
//     tls.go, backoff.go); the topology (topology.go); publishing with
//     publisher confirms (publish.go); consuming with manual acks and a
//     clean cancel (consume.go); and the winners RPC (rpc.go).
//
// Its errors speak of the broker; the programs add the name of the setting
// involved. Policy lives with its owner: how much memory the lottery may
// hold is the lottery's (lottery/service), the names of its replicas the
// settings' (envconf).
//
// # Topology
//
// Everything is durable, and every queue is a quorum queue, replicated on a
// cluster: the lottery's queues (lottery.bets, lottery.requests) with an
// explicit delivery limit (DeliveryLimit) and the dead-letter exchange,
// dead-lettering at least once, so that a message the lottery cannot even
// receive is set aside by the broker (see limits.go); the agencies' reply
// queues (agency.N.winners) with the same limit and a message TTL
// (ReplyTTL), dropping what is over either; the queues people read
// (dead-letter, unrouted) with a delivery limit no number of peeks reaches.
// RabbitMQ 3.10 and 4.x take these arguments alike.
//
//	exchange   kind    routing key          queue               consumer
//	bets       direct  batch, finished      lottery.bets        lottery
//	                                        (lottery.r.bets     replica r)
//	requests   direct  winners              lottery.requests    lottery
//	                                        (lottery.r.requests replica r)
//	winners    direct  agency.N.winners     agency.N.winners    agency N
//	dead-letter fanout  (any)               dead-letter         a person, in the management UI
//	unrouted   fanout  (any)                unrouted            a person, in the management UI
//
// bets, requests and winners have unrouted as their alternate exchange: a
// message that matches no binding is kept in the unrouted queue instead of
// vanishing after its confirm. dead-letter holds what the lottery refused,
// with the reason in the x-reject-reason header (and, from a replica, its
// name in x-replica: each replica refuses its own copy).
//
// Who declares: one function in code defines it all. The lottery applies
// it for agencies 1…N ([ForFirst]), an agency for its own number
// ([ForAgency]); both declare idempotently at start-up (mode [Declare]), so
// they run against a bare broker or vhost. Where definitions.json owns the
// topology, mode [Verify] only checks passively that each exchange and
// queue exists.
//
// # Lottery replicas
//
// With LOTTERY_REPLICAS=a,b each replica r has its own queues,
// lottery.r.bets and lottery.r.requests, bound with the same keys: a direct
// exchange copies a message to every queue bound with its key, so every
// replica gets every batch, finished event and winners request, and
// stores, deduplicates and draws on its own, with no consensus among them.
// There is no lottery.bets: a queue nobody reads would collect a copy of
// everything.
//
// Each replica declares and binds every listed replica's queues before it
// consumes, so a replica started later finds its copies waiting. An agency
// declares no replica's queue: it waits, saying so (esperando_loteria),
// until each exists, and binds them itself before it publishes, so that no
// batch is routed before a replica's queue is bound (the exchange would
// route it to the other replicas only, and the unrouted queue would never
// see it). The lotteries may start before or after the agencies.
//
// Every replica answers every winners request, and the agency takes the
// first answer. One answer from one chosen replica would need that
// replica alive until it answers: a request it journaled before the draw
// would be lost with it. With every replica answering, the later answers
// are the same reply to the same correlation id: the agency has returned
// by then and never reads them, and the reply queue's TTL drops them (an
// agency asks again on each connection, so a dropped reply is never one it
// waits for).
//
// # Messages
//
// A batch (type "batch", routing key batch) carries up to the agency's
// batch size of bets (at most MaxBatchBets) as CSV rows first_name,
// last_name,document,birthdate,number with "\r\n" endings, readable with
// "Get messages". Its headers are agency, batch (the sequence number from
// 1), bets (how many rows) and fingerprint (of the agency's file and batch
// size); its message id, agency-A.batch-S, is the batch's identity: a
// re-sent batch is recognised and stored once.
//
// A finished event (type "finished", routing key finished) is JSON:
// {"agency":A,"batches":B,"bets":N,"fingerprint":F}. It is published once
// every batch is confirmed, but it may still overtake batches that are
// redelivered, so the lottery draws only when every announced batch is
// settled.
//
// Every count and size a sender controls is bounded by the limits in
// limits.go; what is over one is dead-lettered with the reason.
//
// # Confirms
//
// A [Publisher] keeps a window of unconfirmed publishes; a message counts as
// sent only when the broker confirms it (persisted on a durable queue, or
// routed to the unrouted queue). A nack is [ErrNacked].
//
// # The winners RPC
//
// An agency consumes its durable reply queue agency.N.winners, then
// publishes a winners request (type "winners_request", JSON
// {"agency":N,"fingerprint":F}, header agency) to the requests exchange with reply_to set to its reply
// queue and a fresh uuid as correlation id. The lottery acks every request:
// after the draw it answers at once; before it, it records the request
// durably and answers right after the draw (each of an agency's last few
// requests, known by agency and correlation id: one redelivered after a
// lost connection may come after the one the agency now waits for). The reply (type
// "winners_reply", JSON {"agency":N,"winners":["DNI",…]} or
// {"agency":N,"error":"…"}) goes through the winners exchange, routed by the
// reply queue's name, with the request's correlation id. The client acks and
// drops any reply that carries another id: a stale answer to an earlier call.
package broker
