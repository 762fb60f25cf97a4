package broker_test

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/loteria-nacional/pipeline/broker"
)

// TestDefinitionsMatchTopology proves that the definitions the compose
// deployments load (definitions.json; definitions.replicas.json, with
// lottery replicas) and the topology the programs declare agree: names,
// types, durability, arguments and bindings. The agencies and replicas are
// those the file has users for.
func TestDefinitionsMatchTopology(t *testing.T) {
	for _, file := range []string{"definitions.json", "definitions.replicas.json"} {
		t.Run(file, func(t *testing.T) { checkDefinitions(t, "../"+file) })
	}
}

func checkDefinitions(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var defs struct {
		Users []struct {
			Name             string
			HashingAlgorithm string `json:"hashing_algorithm"`
		}
		Vhosts    []struct{ Name string }
		Policies  []any
		Exchanges []struct {
			Name, Vhost, Type string
			Durable           bool
			Arguments         map[string]any
		}
		Queues []struct {
			Name, Vhost string
			Durable     bool
			AutoDelete  bool `json:"auto_delete"`
			Arguments   map[string]any
		}
		Bindings []struct {
			Source, Vhost, Destination string
			DestinationType            string `json:"destination_type"`
			RoutingKey                 string `json:"routing_key"`
		}
	}
	if err := json.Unmarshal(b, &defs); err != nil {
		t.Fatal(err)
	}
	if len(defs.Vhosts) != 1 {
		t.Fatalf("vhosts %v; want one", defs.Vhosts)
	}
	vhost := defs.Vhosts[0].Name
	if len(defs.Policies) != 0 {
		t.Errorf("policies %v; want none (no delivery limit)", defs.Policies)
	}
	agencies := 0
	var replicas []string
	for _, u := range defs.Users {
		if u.Name == "guest" {
			t.Error("a guest user")
		}
		if u.HashingAlgorithm != "rabbit_password_hashing_sha256" {
			t.Errorf("user %q: hashing_algorithm %q; want rabbit_password_hashing_sha256", u.Name, u.HashingAlgorithm)
		}
		var id int
		if _, err := fmt.Sscanf(u.Name, "agency-%d", &id); err == nil {
			agencies++
		}
		if r, ok := strings.CutPrefix(u.Name, "lottery-"); ok {
			replicas = append(replicas, r)
		}
	}
	want := broker.ForFirst(agencies, replicas...)

	got := map[string]string{}
	for _, e := range defs.Exchanges {
		if e.Vhost != vhost || !e.Durable {
			t.Errorf("exchange %q: vhost %q durable %v; want %q, durable", e.Name, e.Vhost, e.Durable, vhost)
		}
		got[e.Name] = fmt.Sprintf("%s %v", e.Type, norm(e.Arguments))
	}
	wantEx := map[string]string{}
	for _, e := range want.Exchanges {
		wantEx[e.Name] = fmt.Sprintf("%s %v", e.Kind, norm(e.Args))
	}
	if !reflect.DeepEqual(got, wantEx) {
		t.Errorf("exchanges = %v;\nbroker declares %v", got, wantEx)
	}

	got = map[string]string{}
	for _, q := range defs.Queues {
		if q.Vhost != vhost || !q.Durable || q.AutoDelete {
			t.Errorf("queue %q: vhost %q durable %v auto-delete %v", q.Name, q.Vhost, q.Durable, q.AutoDelete)
		}
		if q.Arguments["x-queue-type"] == nil {
			t.Errorf("queue %q has no explicit x-queue-type", q.Name)
		}
		got[q.Name] = fmt.Sprint(norm(q.Arguments))
	}
	wantQ := map[string]string{}
	for _, q := range want.Queues {
		wantQ[q.Name] = fmt.Sprint(norm(q.Args))
	}
	if !reflect.DeepEqual(got, wantQ) {
		t.Errorf("queues = %v;\nbroker declares %v", got, wantQ)
	}

	var gotB, wantB []string
	for _, b := range defs.Bindings {
		if b.DestinationType != "queue" || b.Vhost != vhost {
			t.Errorf("binding %v: want a queue binding in %q", b, vhost)
		}
		gotB = append(gotB, b.Source+" -["+b.RoutingKey+"]-> "+b.Destination)
	}
	for _, b := range want.Bindings {
		wantB = append(wantB, b.Exchange+" -["+b.Key+"]-> "+b.Queue)
	}
	slices.Sort(gotB)
	slices.Sort(wantB)
	if !slices.Equal(gotB, wantB) {
		t.Errorf("bindings = %v;\nbroker declares %v", gotB, wantB)
	}
}

// norm makes argument tables comparable whatever their source.
func norm(m map[string]any) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m) // sorted keys
	return string(b)
}
