// Command cluster runs a three-node RabbitMQ cluster on this machine, from
// its own RabbitMQ installation, for the demo and for trying failover by
// hand: nodes lottery-1@localhost … lottery-3@localhost, bound to 127.0.0.1,
// with AMQP on 5701 … 5703, the management API on 15701 … 15703 and
// Erlang distribution on 25701 … 25703, their data in .cluster/. The nodes
// outlive the command.
//
//	cluster up             # start and join the three nodes; prints AMQP_URL
//	cluster down           # stop them
//	cluster stop N         # stop node N (1 … 3) cleanly
//	cluster kill N         # kill node N's Erlang VM, as a machine that is lost
//	cluster start N        # start node N again
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/capacity"
	"github.com/loteria-nacional/pipeline/internal/rabbitnode"
	"github.com/loteria-nacional/pipeline/logfmt"
)

const nodes = 3

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprint(os.Stderr, logfmt.Line("cluster", logfmt.Fail, map[string]any{"error": err}))
		os.Exit(1)
	}
}

// node is node i (from 1) of the cluster.
func node(i int) (*rabbitnode.Node, error) {
	dir, err := filepath.Abs(filepath.Join(".cluster", "node-"+strconv.Itoa(i)))
	if err != nil {
		return nil, err
	}
	return rabbitnode.New(rabbitnode.Options{
		Name:      fmt.Sprintf("lottery-%d@localhost", i),
		Dir:       dir,
		AMQPPort:  5700 + i,
		APIPort:   15700 + i,
		DistPort:  25700 + i,
		ExtraConf: fmt.Sprintf("max_message_size = %d\n", broker.MaxMessageBytes),
	})
}

func run(args []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if len(args) == 0 {
		return errors.New("usage: cluster up | down | stop N | kill N | start N")
	}
	switch args[0] {
	case "up":
		return up(ctx)
	case "down":
		for i := nodes; i >= 1; i-- {
			n, err := node(i)
			if err != nil {
				return err
			}
			if n.Running(ctx) {
				if err := n.Stop(ctx); err != nil {
					return err
				}
			}
			fmt.Print(logfmt.Line("cluster_nodo", logfmt.Success, map[string]any{"nodo": n.Name, "estado": "detenido"}))
		}
		return nil
	case "stop", "kill", "start":
		if len(args) != 2 {
			return fmt.Errorf("usage: cluster %s N (1 to %d)", args[0], nodes)
		}
		i, err := strconv.Atoi(args[1])
		if err != nil || i < 1 || i > nodes {
			return fmt.Errorf("cluster %s %q: want a node from 1 to %d", args[0], args[1], nodes)
		}
		n, err := node(i)
		if err != nil {
			return err
		}
		state := ""
		switch args[0] {
		case "stop":
			err, state = n.Stop(ctx), "detenido"
		case "kill":
			err, state = n.Kill(), "matado"
		case "start":
			err, state = n.Start(ctx, true), "iniciado"
		}
		if err == nil {
			fmt.Print(logfmt.Line("cluster_nodo", logfmt.Success, map[string]any{"nodo": n.Name, "estado": state}))
		}
		return err
	}
	return fmt.Errorf("unknown command %q: want up, down, stop N, kill N or start N", args[0])
}

// up starts the nodes that do not run yet and joins them to node 1.
func up(ctx context.Context) error {
	var urls []string
	var first *rabbitnode.Node
	for i := 1; i <= nodes; i++ {
		n, err := node(i)
		if err != nil {
			return err
		}
		if i == 1 {
			first = n
		}
		urls = append(urls, n.URL)
		if n.Running(ctx) {
			continue
		}
		for _, port := range []int{5700 + i, 15700 + i, 25700 + i} {
			if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port)); err != nil {
				return fmt.Errorf("node %s: port %d is in use: stop what listens there, or the cluster that holds it (make cluster-down)", n.Name, port)
			} else {
				l.Close()
			}
		}
		fresh := !exists(filepath.Join(".cluster", "node-"+strconv.Itoa(i), "mnesia"))
		if err := n.Start(ctx, true); err != nil {
			return err
		}
		if i > 1 && fresh {
			if err := n.Join(ctx, first); err != nil {
				return err
			}
		}
		fmt.Print(logfmt.Line("cluster_nodo", logfmt.Success, map[string]any{"nodo": n.Name, "amqp": broker.Where(n.URL), "api": n.API}))
		line, _ := capacity.Line(n.Name, n.Files)
		fmt.Println(line)
	}
	fmt.Printf("AMQP_URL=%s\nRABBITMQ_API=%s\n", strings.Join(urls, ","), first.API)
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
