package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/rabbitapi"
	"github.com/loteria-nacional/pipeline/internal/rabbitnode"
)

// tlsResult is the pipeline on a private node of this machine's RabbitMQ,
// alternately over plain AMQP and over TLS with every program logging in by
// its client certificate: what TLS costs end to end.
type tlsResult struct {
	plain, tls []*pipelineResult
}

// tlsAccess is how a run reaches a node over TLS: its TLS port, and the
// folder of make certs' files for the run's programs, whose users are the
// certificates' common names.
type tlsAccess struct {
	port  int
	certs string
	users []string
}

// env is the TLS settings of the program whose certificate is identity's.
func (a *tlsAccess) env(identity string) []string {
	if a == nil {
		return nil
	}
	return []string{"AMQP_CA_FILE=" + filepath.Join(a.certs, "ca.pem"),
		"AMQP_CERT_FILE=" + filepath.Join(a.certs, identity+".pem"),
		"AMQP_KEY_FILE=" + filepath.Join(a.certs, identity+"-key.pem")}
}

// runTLS starts a private node with a plain and a TLS listener, makes the
// certificates with bin/certs, and runs the pipeline over each o.runs
// times, alternating. It returns nil when RabbitMQ is not installed here.
func runTLS(o options, w workload) (*tlsResult, error) {
	if _, ok := rabbitnode.Installed(); !ok {
		fmt.Println("action: bench_tls | result: in_progress | omitido: rabbitmq-server is not installed here")
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "bench-tls-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	access := &tlsAccess{certs: filepath.Join(dir, "certs"), users: []string{"lottery"}}
	for id := 1; id <= w.agencies(); id++ {
		access.users = append(access.users, "agency-"+strconv.Itoa(id))
	}
	if out, err := exec.CommandContext(ctx, filepath.Join(o.bin, "certs"), "-out", access.certs, "-agencies", strconv.Itoa(w.agencies())).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("certs: %w (run make build)\n%s", err, out)
	}
	ports, err := rabbitnode.FreePorts(4)
	if err != nil {
		return nil, err
	}
	access.port = ports[3]
	cert := func(name string) string { return filepath.Join(access.certs, name) }
	n, err := rabbitnode.New(rabbitnode.Options{
		Name:     fmt.Sprintf("lottery-bench-tls-%d@localhost", os.Getpid()),
		Dir:      filepath.Join(dir, "node"),
		AMQPPort: ports[0],
		DistPort: ports[1],
		APIPort:  ports[2],
		ExtraConf: fmt.Sprintf(`max_message_size = %d
listeners.ssl.default = 127.0.0.1:%d
ssl_options.cacertfile = %s
ssl_options.certfile = %s
ssl_options.keyfile = %s
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = true
auth_mechanisms.1 = PLAIN
auth_mechanisms.2 = EXTERNAL
ssl_cert_login_from = common_name
`, broker.MaxMessageBytes, access.port, cert("ca.pem"), cert("broker.pem"), cert("broker-key.pem")),
		Plugins: []string{"rabbitmq_auth_mechanism_ssl"},
	})
	if err != nil {
		return nil, err
	}
	fmt.Printf("action: bench_tls | result: in_progress | nodo: %s | puerto_tls: %d\n", n.Name, access.port)
	if err := n.Start(ctx, false); err != nil {
		return nil, err
	}
	defer n.Close(ctx)
	for _, u := range access.users {
		for _, args := range [][]string{{"add_user", u, "unused"}, {"clear_password", u}} {
			if _, err := n.Ctl(ctx, args...); err != nil {
				return nil, err
			}
		}
	}
	api, err := rabbitapi.For(n.API, n.URL)
	if err != nil {
		return nil, err
	}
	plain, secure := &vhosts{api: api, amqpURL: n.URL}, &vhosts{api: api, amqpURL: n.URL, tls: access}
	res := &tlsResult{}
	for range max(o.runs, 1) {
		p, err := runPipeline(o, plain, w)
		if err != nil {
			return nil, fmt.Errorf("on the private node, plain: %w", err)
		}
		s, err := runPipeline(o, secure, w)
		if err != nil {
			return nil, fmt.Errorf("on the private node, over TLS: %w", err)
		}
		res.plain, res.tls = append(res.plain, p), append(res.tls, s)
	}
	return res, nil
}
