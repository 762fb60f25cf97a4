// Command brokerlimit asks a RabbitMQ management API for each node's limit
// of open files and says how many agencies, running at once, each holds
// (internal/capacity): make broker and make docker-compose-up run it, so
// that a broker that cannot hold a deployment says so before it wedges.
//
//	brokerlimit -api http://localhost:15672 -user guest -password guest
//	brokerlimit -api https://127.0.0.1:15671 -cacert .certs/ca.pem -user admin -password … -agencies 1000
//	brokerlimit -files 20000 -agencies 1000     # a limit known beforehand, for a node to start
//
// Each node gets a line: result success when it has capacity.Wanted files,
// in_progress with a warning when it has fewer. With -agencies N, a node
// that holds fewer than N agencies is a failure: exit 1.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/await"
	"github.com/loteria-nacional/pipeline/internal/capacity"
	"github.com/loteria-nacional/pipeline/logfmt"
)

func main() {
	api := flag.String("api", "http://localhost:15672", "the management API")
	user := flag.String("user", "guest", "its user")
	password := flag.String("password", "guest", "its password")
	caFile := flag.String("cacert", "", "the authority of an https API's certificate")
	agencies := flag.Int("agencies", 0, "fail unless every node holds this many agencies at once")
	files := flag.Int("files", 0, "check this limit, of a node to start, instead of asking the API")
	flag.Parse()
	var err error
	if *files > 0 {
		err = check("por_iniciar", *files, *agencies)
	} else {
		err = run(*api, *user, *password, *caFile, *agencies)
	}
	if err != nil {
		fmt.Print(logfmt.Line(logfmt.LimiteArchivos, logfmt.Fail, map[string]any{"error": err}))
		os.Exit(1)
	}
}

// run asks the API for every node's limit; a node that has just started
// reports none until its first statistics, a few seconds later, so it asks
// again for up to a minute.
func run(api, user, password, caFile string, agencies int) error {
	var nodes []node
	err := await.Until(context.Background(), time.Minute, func() error {
		var err error
		if nodes, err = limits(api, user, password, caFile); err != nil {
			return await.Stop(err) // the API's own answer is not waited out
		}
		for _, n := range nodes {
			if n.FDTotal <= 0 {
				return fmt.Errorf("the management API at %s reports no open-file limit for node %s", api, n.Name)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if err := check(n.Name, n.FDTotal, agencies); err != nil {
			return err
		}
	}
	return nil
}

// node is a node as the management API lists it.
type node struct {
	Name    string `json:"name"`
	FDTotal int    `json:"fd_total"`
}

// limits asks the API at api for its nodes' open-file limits.
func limits(api, user, password, caFile string) ([]node, error) {
	transport := &http.Transport{}
	if caFile != "" {
		cfg, err := broker.LoadTLS(caFile, "", "")
		if err != nil {
			return nil, err
		}
		transport.TLSClientConfig = cfg
	}
	req, err := http.NewRequest(http.MethodGet, api+"/api/nodes?columns=name,fd_total", nil)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(user, password)
	resp, err := (&http.Client{Timeout: 30 * time.Second, Transport: transport}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("the management API at %s: %w", api, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the management API at %s answered %s to %s", api, resp.Status, user)
	}
	var nodes []node
	if err := json.NewDecoder(resp.Body).Decode(&nodes); err != nil {
		return nil, fmt.Errorf("the management API at %s: %w", api, err)
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("the management API at %s lists no node", api)
	}
	return nodes, nil
}

// check prints node's line for its limit, or fails when it holds fewer
// than agencies.
func check(node string, limit, agencies int) error {
	if agencies > capacity.Agencies(limit) {
		return fmt.Errorf("node %s holds %d agencies at once with %d open files, and %d are to run: raise its limit (ulimit -n, or BROKER_FILES in .env for compose) and start it again",
			node, capacity.Agencies(limit), limit, agencies)
	}
	line, _ := capacity.Line(node, limit)
	fmt.Println(line)
	return nil
}
