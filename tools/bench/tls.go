package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	certs, err := os.MkdirTemp("", "bench-tls-certs-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(certs)
	access := &tlsAccess{certs: certs, users: []string{"lottery"}}
	for id := 1; id <= w.agencies(); id++ {
		access.users = append(access.users, "agency-"+strconv.Itoa(id))
	}
	if out, err := exec.CommandContext(ctx, filepath.Join(o.bin, "certs"), "-out", certs, "-agencies", strconv.Itoa(w.agencies())).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("certs: %w (run make build)\n%s", err, out)
	}
	cert := func(name string) string { return filepath.Join(certs, name) }
	n, _, closeNode, err := privateNode(ctx, "bench_tls", "bench-tls", 1, func(_ string, extra []int) string {
		access.port = extra[0]
		return rabbitnode.TLSConf(access.port, cert("ca.pem"), cert("broker.pem"), cert("broker-key.pem"))
	}, rabbitnode.TLSPlugin)
	if n == nil || err != nil {
		return nil, err
	}
	defer closeNode()
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
