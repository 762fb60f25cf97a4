package brokertest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/loteria-nacional/pipeline/broker"
)

// Node is a private RabbitMQ node for tests that stop the broker: its own
// node name, ports and data directory, so that stopping it never touches the
// machine's shared broker, which other tests are using.
type Node struct {
	Name string // Erlang node name
	URL  string // amqp://guest:guest@127.0.0.1:port/

	env  []string
	bin  string
	cmd  *exec.Cmd
	done chan struct{}
	t    testing.TB
}

// serverBin finds the real rabbitmq-server script (Debian's
// /usr/sbin/rabbitmq-server is a wrapper that switches user and drops the
// environment).
func serverBin() (string, bool) {
	for _, dir := range []string{"/usr/lib/rabbitmq/bin", "/usr/local/lib/rabbitmq/bin"} {
		if _, err := os.Stat(filepath.Join(dir, "rabbitmq-server")); err == nil {
			return dir, true
		}
	}
	if p, err := exec.LookPath("rabbitmq-server"); err == nil {
		return filepath.Dir(p), true
	}
	return "", false
}

// FreePort is a TCP port on 127.0.0.1 that nothing listens on now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartNode starts a private node and stops it when the test ends. It skips
// the test where RabbitMQ is not installed locally (a broker in a container
// cannot be stopped and started by a test).
func StartNode(t testing.TB) *Node {
	t.Helper()
	bin, ok := serverBin()
	if !ok {
		t.Skip("rabbitmq-server is not installed here: the broker-outage tests need a local install (`make broker` installs it)")
	}
	dir := t.TempDir()
	amqpPort, distPort := FreePort(t), FreePort(t)
	name := fmt.Sprintf("lottery-test-%d-%d@localhost", os.Getpid(), counter.Add(1))
	conf := fmt.Sprintf("listeners.tcp.1 = 127.0.0.1:%d\nloopback_users = none\nmax_message_size = %d\n", amqpPort, broker.MaxMessageBytes)
	if err := os.WriteFile(filepath.Join(dir, "rabbitmq.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "enabled_plugins"), []byte("[].\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	home := os.Getenv("HOME")
	if _, err := os.Stat("/var/lib/rabbitmq/.erlang.cookie"); err == nil {
		home = "/var/lib/rabbitmq" // the cookie the CLI tools share with the server
	}
	n := &Node{
		Name: name,
		URL:  fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", amqpPort),
		env: append(os.Environ(),
			"HOME="+home,
			"RABBITMQ_NODENAME="+name,
			"RABBITMQ_DIST_PORT="+strconv.Itoa(distPort),
			"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
			"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
			"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
			"RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq"),
			"ERL_CRASH_DUMP="+filepath.Join(dir, "erl_crash.dump"), // not the test's working directory
		),
		bin: bin,
		t:   t,
	}
	n.Start()
	t.Cleanup(func() {
		if n.running() {
			n.ctl("stop")
		}
		if n.cmd != nil {
			select {
			case <-n.done:
			case <-time.After(30 * time.Second):
				n.cmd.Process.Kill()
				<-n.done
			}
		}
	})
	return n
}

func (n *Node) running() bool {
	if n.done == nil {
		return false
	}
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// Start starts the node (again) on its data directory and waits until it
// is up.
func (n *Node) Start() {
	n.t.Helper()
	cmd := exec.Command(filepath.Join(n.bin, "rabbitmq-server"))
	cmd.Env = n.env
	out, err := os.Create(filepath.Join(n.t.TempDir(), "server.log"))
	if err != nil {
		n.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		n.t.Fatalf("start private RabbitMQ node: %v", err)
	}
	n.cmd, n.done = cmd, make(chan struct{})
	go func() {
		cmd.Wait()
		out.Close()
		close(n.done)
	}()
	// await_startup fails at once until the node has registered with epmd.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		cmd := exec.Command(filepath.Join(n.bin, "rabbitmqctl"), "-n", n.Name, "await_startup", "--timeout", "120")
		cmd.Env = n.env
		out, err := cmd.CombinedOutput()
		if err == nil {
			return
		}
		if !n.running() || time.Now().After(deadline) {
			n.t.Fatalf("private RabbitMQ node did not start: %v\n%s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Stop stops the whole node and waits for its process to end.
func (n *Node) Stop() {
	n.t.Helper()
	n.ctl("stop")
	select {
	case <-n.done:
	case <-time.After(60 * time.Second):
		n.t.Fatal("private RabbitMQ node did not stop")
	}
}

// StopApp stops the RabbitMQ application, leaving the Erlang node up.
func (n *Node) StopApp() { n.t.Helper(); n.ctl("stop_app") }

// StartApp starts the RabbitMQ application again.
func (n *Node) StartApp() { n.t.Helper(); n.ctl("start_app") }

// CloseAllConnections makes the broker close every client connection.
func (n *Node) CloseAllConnections() {
	n.t.Helper()
	n.ctl("close_all_connections", "test: broker closing every connection")
}

func (n *Node) ctl(args ...string) {
	n.t.Helper()
	cmd := exec.Command(filepath.Join(n.bin, "rabbitmqctl"), append([]string{"-n", n.Name}, args...)...)
	cmd.Env = n.env
	if out, err := cmd.CombinedOutput(); err != nil {
		n.t.Fatalf("rabbitmqctl %v on the private node: %v\n%s", args, err, out)
	}
}
