package brokertest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/rabbitnode"
)

// Node is a private RabbitMQ node for tests that stop the broker: its own
// node name, ports and data directory, so that stopping it never touches the
// machine's shared broker, which other tests are using. Its methods fail the
// test on an error.
type Node struct {
	*rabbitnode.Node
	t testing.TB
}

// FreePorts are n distinct TCP ports on 127.0.0.1 that nothing listens on
// now, taken together so that they differ.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports, err := rabbitnode.FreePorts(n)
	if err != nil {
		t.Fatal(err)
	}
	return ports
}

// StartNode starts a private node and stops it when the test ends. Where
// RabbitMQ is not installed locally (a broker in a container cannot be
// stopped and started by a test) the test is [Missing] it.
func StartNode(t testing.TB) *Node {
	t.Helper()
	n, _ := startNodeWith(t, spec{})
	return n
}

// StartNodeWithConf is StartNode with more rabbitmq.conf lines; one that
// sets max_message_size replaces the protocol's limit the nodes have
// otherwise.
func StartNodeWithConf(t testing.TB, conf string) *Node {
	t.Helper()
	n, _ := startNodeWith(t, spec{conf: conf})
	return n
}

// StartNodeWithFiles is StartNode with an open-file limit of files rather
// than as many as this process may give, and the management API.
func StartNodeWithFiles(t testing.TB, files int) *Node {
	t.Helper()
	n, _ := startNodeWith(t, spec{files: files, api: true})
	return n
}

// StartTLSNode is StartNode with, besides its plain listener (for the
// test's own set-up), a TLS listener at the port it returns that wants a
// client certificate signed by caFile and logs its holder in (EXTERNAL) as
// the user its common name names. certFile and keyFile are the node's own.
func StartTLSNode(t testing.TB, caFile, certFile, keyFile string) (*Node, int) {
	t.Helper()
	return startNodeWith(t, spec{tls: []string{caFile, certFile, keyFile}})
}

// spec is what a private node has beyond its own name, folder and ports.
type spec struct {
	conf  string   // more rabbitmq.conf lines
	files int      // open files; 0: as many as this process may give
	api   bool     // the management API
	tls   []string // the authority, certificate and key of a TLS listener; nil: none
}

// startNodeWith starts a private node as s says, with its own name, folder
// and ports, all taken together; it returns the TLS listener's port, if any.
func startNodeWith(t testing.TB, s spec) (*Node, int) {
	t.Helper()
	if _, ok := rabbitnode.Installed(); !ok {
		Missing(t, "rabbitmq-server is not installed here: tests of private nodes need a local install (`make broker` installs it)")
	}
	ports := FreePorts(t, 4) // AMQP, distribution, management, TLS
	conf := s.conf
	if !strings.Contains(conf, "max_message_size") {
		conf = fmt.Sprintf("max_message_size = %d\n", broker.MaxMessageBytes) + conf
	}
	o := rabbitnode.Options{
		Name:      fmt.Sprintf("lottery-test-%d-%d@localhost", os.Getpid(), counter.Add(1)),
		Dir:       t.TempDir(),
		AMQPPort:  ports[0],
		DistPort:  ports[1],
		ExtraConf: conf,
		Files:     s.files,
	}
	if s.api {
		o.APIPort = ports[2]
	}
	tlsPort := 0
	if s.tls != nil {
		tlsPort = ports[3]
		o.ExtraConf += rabbitnode.TLSConf(tlsPort, s.tls[0], s.tls[1], s.tls[2])
		o.Plugins = []string{rabbitnode.TLSPlugin}
	}
	rn, err := rabbitnode.New(o)
	if err != nil {
		t.Fatal(err)
	}
	n := &Node{Node: rn, t: t}
	n.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		rn.Close(ctx)
	})
	return n, tlsPort
}

// StartCluster starts n private nodes joined into one cluster, and stops
// them when the test ends.
func StartCluster(t testing.TB, n int) []*Node {
	t.Helper()
	nodes := make([]*Node, n)
	for i := range nodes {
		nodes[i] = StartNode(t)
		if i > 0 {
			nodes[i].Join(nodes[0])
		}
	}
	return nodes
}

// ClusterURL is the AMQP URL of every node of a cluster, as a list.
func ClusterURL(nodes []*Node) string {
	url := ""
	for i, n := range nodes {
		if i > 0 {
			url += ","
		}
		url += n.URL
	}
	return url
}

func (n *Node) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 2*time.Minute)
}

func (n *Node) must(err error) {
	n.t.Helper()
	if err != nil {
		n.t.Fatal(err)
	}
}

// Start starts the node (again) on its data directory and waits until it
// is up.
func (n *Node) Start() {
	n.t.Helper()
	ctx, cancel := n.ctx()
	defer cancel()
	n.must(n.Node.Start(ctx, false))
}

// Stop stops the whole node and waits for its process to end.
func (n *Node) Stop() {
	n.t.Helper()
	ctx, cancel := n.ctx()
	defer cancel()
	n.must(n.Node.Stop(ctx))
}

// Kill kills the node's Erlang VM, as a machine that is lost.
func (n *Node) Kill() { n.t.Helper(); n.must(n.Node.Kill()) }

// StopApp stops the RabbitMQ application, leaving the Erlang node up.
func (n *Node) StopApp() {
	n.t.Helper()
	ctx, cancel := n.ctx()
	defer cancel()
	n.must(n.Node.StopApp(ctx))
}

// StartApp starts the RabbitMQ application again.
func (n *Node) StartApp() {
	n.t.Helper()
	ctx, cancel := n.ctx()
	defer cancel()
	n.must(n.Node.StartApp(ctx))
}

// CloseAllConnections makes the broker close every client connection.
func (n *Node) CloseAllConnections() {
	n.t.Helper()
	ctx, cancel := n.ctx()
	defer cancel()
	n.must(n.Node.CloseAllConnections(ctx))
}

// Join makes the node a member of first's cluster.
func (n *Node) Join(first *Node) {
	n.t.Helper()
	ctx, cancel := n.ctx()
	defer cancel()
	n.must(n.Node.Join(ctx, first.Node))
}

// Leader is the node that leads a quorum queue of the default vhost.
func (n *Node) Leader(queue string) string {
	n.t.Helper()
	ctx, cancel := n.ctx()
	defer cancel()
	leader, err := n.Node.Leader(ctx, "/", queue)
	n.must(err)
	return leader
}

// ClusterVhost creates a fresh vhost on a private cluster, open to its
// guest user, and returns the AMQP URL of every node for it, as a list: a
// cluster serves one case of a test after another.
func ClusterVhost(t testing.TB, nodes []*Node) string {
	t.Helper()
	name := fmt.Sprintf("test-%s-%d", sanitize(t.Name()), counter.Add(1))
	ctx, cancel := nodes[0].ctx()
	defer cancel()
	_, err := nodes[0].Ctl(ctx, "add_vhost", name)
	if err == nil {
		_, err = nodes[0].Ctl(ctx, "set_permissions", "-p", name, "guest", ".*", ".*", ".*")
	}
	nodes[0].must(err)
	url := ""
	for i, n := range nodes {
		if i > 0 {
			url += ","
		}
		url += n.URL + name
	}
	return url
}
