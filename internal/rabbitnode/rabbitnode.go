// Package rabbitnode runs RabbitMQ nodes of the machine's own installation
// as processes of their own, each with its node name, ports and data
// directory, bound to 127.0.0.1, and joins them into clusters: the tests'
// private nodes and clusters, and make cluster's. It never touches the
// machine's shared broker.
//
// The nodes share the Erlang cookie of the installation (the one in
// /var/lib/rabbitmq, which the CLI tools use too), so that they can join and
// be managed with rabbitmqctl.
package rabbitnode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Installed reports whether RabbitMQ is installed here, and where its real
// scripts are (Debian's /usr/sbin/rabbitmq-server is a wrapper that switches
// user and drops the environment).
func Installed() (bin string, ok bool) {
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

// Options says how to run a node.
type Options struct {
	Name      string // its Erlang node name, as name@localhost
	Dir       string // its data, logs and configuration
	AMQPPort  int
	DistPort  int      // Erlang distribution
	APIPort   int      // the management API; 0: no management plugin
	ExtraConf string   // more rabbitmq.conf lines
	Plugins   []string // plugins to enable besides the management plugin
	Files     int      // its open-file limit; 0: as many as this process may give
}

// Node is a RabbitMQ node run by this program.
type Node struct {
	Name  string
	URL   string // amqp://guest:guest@127.0.0.1:port/
	API   string // http://127.0.0.1:port, or empty without the management plugin
	Files int    // its open-file limit (capacity.Check says what it holds)

	dir  string
	bin  string
	env  []string
	cmd  *exec.Cmd
	done chan struct{}
}

// New prepares a node's directory and configuration; Start runs it.
func New(o Options) (*Node, error) {
	bin, ok := Installed()
	if !ok {
		return nil, errors.New("rabbitmq-server is not installed here (make broker installs it)")
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("listeners.tcp.1 = 127.0.0.1:%d\nloopback_users = none\n", o.AMQPPort)
	plugins := "[]."
	n := &Node{Name: o.Name, URL: fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", o.AMQPPort), Files: fileLimit(o.Files), dir: o.Dir, bin: bin}
	if o.APIPort != 0 {
		conf += fmt.Sprintf("management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = %d\n", o.APIPort)
		plugins = "[rabbitmq_management]."
		n.API = fmt.Sprintf("http://127.0.0.1:%d", o.APIPort)
	}
	if len(o.Plugins) > 0 {
		all := o.Plugins
		if o.APIPort != 0 {
			all = append([]string{"rabbitmq_management"}, all...)
		}
		plugins = "[" + strings.Join(all, ",") + "]."
	}
	conf += o.ExtraConf
	if err := os.WriteFile(filepath.Join(o.Dir, "rabbitmq.conf"), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(o.Dir, "enabled_plugins"), []byte(plugins+"\n"), 0o644); err != nil {
		return nil, err
	}
	home := os.Getenv("HOME")
	if _, err := os.Stat("/var/lib/rabbitmq/.erlang.cookie"); err == nil {
		home = "/var/lib/rabbitmq" // the cookie the CLI tools share with the server
	}
	n.env = append(os.Environ(),
		"HOME="+home,
		"RABBITMQ_NODENAME="+o.Name,
		"RABBITMQ_DIST_PORT="+strconv.Itoa(o.DistPort),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(o.Dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(o.Dir, "log"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(o.Dir, "enabled_plugins"),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(o.Dir, "rabbitmq"),
		"RABBITMQ_PID_FILE="+filepath.Join(o.Dir, "node.pid"),
		"ERL_CRASH_DUMP="+filepath.Join(o.Dir, "erl_crash.dump"),
	)
	return n, nil
}

// Start runs the node (again) on its data directory and waits until it is
// up. With detach, the node outlives this program (make cluster); otherwise
// it is this program's child.
func (n *Node) Start(ctx context.Context, detach bool) error {
	// Children get the open-file limit this process started with (Go raises
	// its own), often 1,024: the shell sets the node's.
	cmd := exec.Command("/bin/sh", "-c", `ulimit -n "$0" && exec "$@"`, strconv.Itoa(n.Files), filepath.Join(n.bin, "rabbitmq-server"))
	cmd.Env = n.env
	out, err := os.OpenFile(filepath.Join(n.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = out, out
	if detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start RabbitMQ node %s: %w", n.Name, err)
	}
	n.cmd, n.done = cmd, make(chan struct{})
	go func() {
		cmd.Wait()
		out.Close()
		close(n.done)
	}()
	return n.await(ctx)
}

// await waits until the node answers as started; it fails at once until
// the node has registered with epmd, so it tries again.
func (n *Node) await(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		out, err := n.Ctl(ctx, "await_startup", "--timeout", "120")
		if err == nil {
			return nil
		}
		if n.done != nil && n.exited() {
			return fmt.Errorf("RabbitMQ node %s exited while starting: %v\n%s", n.Name, err, out)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("RabbitMQ node %s did not start: %v\n%s", n.Name, err, out)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (n *Node) exited() bool {
	select {
	case <-n.done:
		return true
	default:
		return false
	}
}

// Running reports whether the node answers.
func (n *Node) Running(ctx context.Context) bool {
	_, err := n.Ctl(ctx, "status")
	return err == nil
}

// Stop stops the whole node and waits for it to end.
func (n *Node) Stop(ctx context.Context) error {
	if _, err := n.Ctl(ctx, "stop"); err != nil {
		return err
	}
	if n.done == nil {
		return nil // a detached node of another process: stop waits for it
	}
	select {
	case <-n.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("RabbitMQ node %s did not stop: %w", n.Name, ctx.Err())
	}
}

// Close ends a node of this program's however it is: stopped if its VM
// runs (its application stopped or not), killed if it does not stop.
func (n *Node) Close(ctx context.Context) {
	if n.done == nil || n.exited() {
		return
	}
	if err := n.Stop(ctx); err != nil {
		n.Kill() //nolint:errcheck // nothing more to do: Kill waits for the VM to end
	}
}

// Kill kills the node's Erlang VM with SIGKILL, as a machine that is lost.
// A node that has exited already is left as it is: its pid file may name
// another process by now.
func (n *Node) Kill() error {
	if n.done != nil && n.exited() {
		return nil
	}
	pid, err := n.pid()
	if err != nil {
		return err
	}
	if n.done == nil { // a detached node: is its VM still the process the file names?
		environ, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if !slices.Contains(strings.Split(string(environ), "\x00"), "RABBITMQ_NODENAME="+n.Name) {
			return fmt.Errorf("RabbitMQ node %s does not run", n.Name)
		}
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill RabbitMQ node %s: %w", n.Name, err)
	}
	if n.done != nil {
		<-n.done
	}
	return nil
}

// pid is the node's Erlang VM's process, from its pid file.
func (n *Node) pid() (int, error) {
	b, err := os.ReadFile(filepath.Join(n.dir, "node.pid"))
	if err != nil {
		return 0, fmt.Errorf("RabbitMQ node %s: %w", n.Name, err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// StopApp stops the RabbitMQ application, leaving the Erlang node up.
func (n *Node) StopApp(ctx context.Context) error { _, err := n.Ctl(ctx, "stop_app"); return err }

// StartApp starts the RabbitMQ application again.
func (n *Node) StartApp(ctx context.Context) error { _, err := n.Ctl(ctx, "start_app"); return err }

// CloseAllConnections makes the node close every client connection.
func (n *Node) CloseAllConnections(ctx context.Context) error {
	_, err := n.Ctl(ctx, "close_all_connections", "closed on purpose: a broker outage")
	return err
}

// Join makes the node a member of first's cluster: it must be fresh.
func (n *Node) Join(ctx context.Context, first *Node) error {
	for _, args := range [][]string{{"stop_app"}, {"join_cluster", first.Name}, {"start_app"}} {
		if _, err := n.Ctl(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// Ctl runs rabbitmqctl against the node and returns what it printed.
func (n *Node) Ctl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(n.bin, "rabbitmqctl"), append([]string{"-n", n.Name}, args...)...)
	cmd.Env = n.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("rabbitmqctl %s on %s: %w: %s", strings.Join(args, " "), n.Name, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Leader is the node that leads a quorum queue of vhost, as rabbitmqctl
// names it.
func (n *Node) Leader(ctx context.Context, vhost, queue string) (string, error) {
	out, err := n.Ctl(ctx, "list_queues", "-p", vhost, "--no-table-headers", "--quiet", "name", "leader")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == queue {
			return f[1], nil
		}
	}
	return "", fmt.Errorf("queue %s of vhost %s: no leader in %q", queue, vhost, out)
}

// TLSPlugin is the plugin that logs a client in by its certificate.
const TLSPlugin = "rabbitmq_auth_mechanism_ssl"

// TLSConf is the rabbitmq.conf lines of a TLS listener on 127.0.0.1:port
// that wants a client certificate signed by caFile and logs its holder in
// (EXTERNAL, with TLSPlugin) as the user its common name names, PLAIN
// besides; certFile and keyFile are the node's own.
func TLSConf(port int, caFile, certFile, keyFile string) string {
	return fmt.Sprintf(`listeners.ssl.default = 127.0.0.1:%d
ssl_options.cacertfile = %s
ssl_options.certfile = %s
ssl_options.keyfile = %s
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = true
auth_mechanisms.1 = EXTERNAL
auth_mechanisms.2 = PLAIN
ssl_cert_login_from = common_name
`, port, caFile, certFile, keyFile)
}

// fileLimit is the open-file limit to start a node with: want, or as many
// as this process may give (its hard limit, at most 2^20) when want is 0 or
// more than that.
func fileLimit(want int) int {
	most := 1 << 20
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err == nil && r.Max < uint64(most) {
		most = int(r.Max)
	}
	if want <= 0 || want > most {
		return most
	}
	return want
}

// FreePorts are n distinct TCP ports on 127.0.0.1 that nothing listens on
// now: for a node's AMQP, distribution and management ports.
func FreePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close() // held until all are chosen, so that they differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
