package main

import (
	"encoding/json"

	"github.com/loteria-nacional/pipeline/broker"
)

// The JSON shapes of a RabbitMQ definitions file, in the order RabbitMQ
// exports them, so the file reads as an export would.
type definitions struct {
	Users       []defUser       `json:"users"`
	Vhosts      []defVhost      `json:"vhosts"`
	Permissions []defPermission `json:"permissions"`
	Exchanges   []defExchange   `json:"exchanges"`
	Queues      []defQueue      `json:"queues"`
	Bindings    []defBinding    `json:"bindings"`
}

type defUser struct {
	Name             string   `json:"name"`
	PasswordHash     string   `json:"password_hash"`
	HashingAlgorithm string   `json:"hashing_algorithm"`
	Tags             []string `json:"tags"`
}

type defVhost struct {
	Name string `json:"name"`
}

type defPermission struct {
	User      string `json:"user"`
	Vhost     string `json:"vhost"`
	Configure string `json:"configure"`
	Write     string `json:"write"`
	Read      string `json:"read"`
}

type defExchange struct {
	Name       string         `json:"name"`
	Vhost      string         `json:"vhost"`
	Type       string         `json:"type"`
	Durable    bool           `json:"durable"`
	AutoDelete bool           `json:"auto_delete"`
	Internal   bool           `json:"internal"`
	Arguments  map[string]any `json:"arguments"`
}

type defQueue struct {
	Name       string         `json:"name"`
	Vhost      string         `json:"vhost"`
	Durable    bool           `json:"durable"`
	AutoDelete bool           `json:"auto_delete"`
	Arguments  map[string]any `json:"arguments"`
}

type defBinding struct {
	Source          string         `json:"source"`
	Vhost           string         `json:"vhost"`
	Destination     string         `json:"destination"`
	DestinationType string         `json:"destination_type"`
	RoutingKey      string         `json:"routing_key"`
	Arguments       map[string]any `json:"arguments"`
}

// definitions renders the users, their permissions and the topology that
// the lotteries declare for agencies 1…N.
func (d deployment) definitions(env envFile) ([]byte, error) {
	t := broker.ForFirst(d.agencies, d.replicas...)
	defs := definitions{Vhosts: []defVhost{{Vhost}}}
	for _, u := range d.users {
		defs.Users = append(defs.Users, defUser{u.name, d.passwordHash(u, env), "rabbit_password_hashing_sha256", u.tags})
		defs.Permissions = append(defs.Permissions, defPermission{u.name, Vhost, u.configure, u.write, u.read})
	}
	for _, e := range t.Exchanges {
		defs.Exchanges = append(defs.Exchanges, defExchange{e.Name, Vhost, e.Kind, true, false, false, args(e.Args)})
	}
	for _, q := range t.Queues {
		defs.Queues = append(defs.Queues, defQueue{q.Name, Vhost, true, false, args(q.Args)})
	}
	for _, b := range t.Bindings {
		defs.Bindings = append(defs.Bindings, defBinding{b.Exchange, Vhost, b.Queue, "queue", b.Key, map[string]any{}})
	}
	out, err := json.MarshalIndent(defs, "", "  ")
	return append(out, '\n'), err
}

func args(t map[string]any) map[string]any {
	if t == nil {
		return map[string]any{}
	}
	return t
}
