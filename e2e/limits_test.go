package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/loteria-nacional/pipeline/internal/await"
	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/internal/capacity"
	"github.com/loteria-nacional/pipeline/internal/logtest"
	"github.com/loteria-nacional/pipeline/internal/rabbitapi"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// TestLowFileLimitIsReported starts a node with 1,024 open files, as a
// broker that the project did not start may have, and checks what make
// broker and make docker-compose-up run against its management API: the
// node's limit reported with the agencies it holds and a warning, and a
// failure, before anything starts, when more agencies are to run at once.
func TestLowFileLimitIsReported(t *testing.T) {
	node := brokertest.StartNodeWithFiles(t, 1024)
	limit := func(agencies string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "run", "../tools/brokerlimit", "-api", node.API, "-agencies", agencies).CombinedOutput()
		return string(out), err
	}
	out, err := limit("100")
	want := logfmt.Logged(logfmt.LimiteArchivos).Is(logfmt.InProgress).With("nodo", node.Name).With("limite_archivos", "1024").
		With("agencias_max", "412").Saying("aviso", "below 65536 open files")
	if err != nil || !logtest.Says(t, out, "", want) {
		t.Errorf("brokerlimit -agencies 100 on a node of 1,024 files: %v\n%s\nwant a line with %s", err, out, want)
	}
	out, err = limit("1000")
	want = logfmt.Logged(logfmt.LimiteArchivos).Failing("holds 412 agencies at once with 1024 open files, and 1000 are to run")
	if err == nil || !logtest.Says(t, out, "", want) {
		t.Errorf("brokerlimit -agencies 1000 on a node of 1,024 files: %v\n%s\nwant it to fail with %s", err, out, want)
	}
	if capacity.Agencies(1024) != 412 {
		t.Fatalf("capacity.Agencies(1024) = %d: update the lines above", capacity.Agencies(1024))
	}
}

// TestNodesGetTheirFileLimit: a private node gets as many open files as
// this process may give (its hard limit, at most 2^20), whatever soft limit
// this process was started with; the node's management API reports it.
func TestNodesGetTheirFileLimit(t *testing.T) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		t.Fatal(err)
	}
	node := brokertest.StartNodeWithFiles(t, 0)
	if want := min(r.Max, 1<<20); uint64(node.Files) != want {
		t.Errorf("the node asks for %d open files; this process may give %d", node.Files, want)
	}
	api, err := rabbitapi.For(node.API, node.URL)
	if err != nil {
		t.Fatal(err)
	}
	var n struct {
		FDTotal int `json:"fd_total"`
	}
	// The node reports its limit with its first statistics, a few seconds
	// after it starts.
	await.For(t, time.Minute, func() error {
		b, err := api.Do(http.MethodGet, "/api/nodes/"+url.PathEscape(node.Name), "")
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		if n.FDTotal == 0 {
			return fmt.Errorf("node %s reports no open-file limit yet", node.Name)
		}
		return nil
	})
	if n.FDTotal != node.Files {
		t.Errorf("the node was started with %d open files; its API reports %d", node.Files, n.FDTotal)
	}
}
