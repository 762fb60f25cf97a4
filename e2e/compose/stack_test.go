//go:build compose

package compose

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/loteria-nacional/pipeline/bet"
	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/await"
	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/internal/logtest"
	"github.com/loteria-nacional/pipeline/internal/repotest"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// project is the compose project of the test: its containers, volumes,
// network and images are its own, apart from any deployment on the engine.
const project = "lottery-composetest"

// overrideFile is the only compose file the test adds.
const overrideFile = "compose.test.yaml"

// A stack is the deployment under test: a copy of the repository, where make
// runs as it runs for a person, with the test's own host ports in .env.
type stack struct {
	dir        string
	env        []string          // the environment of every command
	images     map[string]string // RABBITMQ_IMAGE, GO_IMAGE, RUNTIME_IMAGE
	amqp, mgmt int               // the broker's host ports (the first node's, in the cluster)
	cluster    bool              // the stack is docker-compose.cluster.yaml's
	replicas   bool              // the stack is docker-compose.replicas.yaml's: the cluster, lotteries a and b
	own        []byte            // what a person put in .data/agency-3.csv, their agency's own bets
}

func newStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{dir: t.TempDir()}
	repotest.Copy(t, "../..", s.dir)
	ports := brokertest.FreePorts(t, 2)
	s.amqp, s.mgmt = ports[0], ports[1]
	env := fmt.Sprintf("# Host ports of the compose test.\nAMQP_PORT=%d\nMANAGEMENT_PORT=%d\n", s.amqp, s.mgmt)
	if err := os.WriteFile(filepath.Join(s.dir, ".env"), []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COMPOSE_") && !strings.HasPrefix(kv, "AMQP_PORT") && !strings.HasPrefix(kv, "MANAGEMENT_PORT") && !strings.HasPrefix(kv, "CLUSTER=") {
			s.env = append(s.env, kv)
		}
	}
	s.env = append(s.env, "COMPOSE_FILE=docker-compose.yaml:"+overrideFile, "COMPOSE_PROJECT_NAME="+project)

	s.images = map[string]string{}
	out := s.must(t, "tools/docker/standins.sh")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			s.images[k] = v
		}
	}
	t.Logf("the stack runs in %s with host ports %d (AMQP) and %d (management) in .env, project %s, and %s, which sets "+
		"the images' names (lottery-composetest-…, apart from a deployment's) and the images this engine builds from: %v",
		s.dir, s.amqp, s.mgmt, project, overrideFile, s.images)

	s.writeOverride(t, 5)
	s.remove(t) // what a run that was stopped may have left
	t.Cleanup(func() { s.remove(t) })
	return s
}

// useCluster turns the stack into the cluster's: docker-compose.cluster.yaml
// in the same project, its other nodes' host ports added to .env.
func (s *stack) useCluster(t *testing.T) {
	t.Helper()
	s.cluster = true
	s.env[slices.Index(s.env, "COMPOSE_FILE=docker-compose.yaml:"+overrideFile)] = "COMPOSE_FILE=docker-compose.cluster.yaml:" + overrideFile
	f, err := os.OpenFile(filepath.Join(s.dir, ".env"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := []string{"AMQP_PORT_2", "MANAGEMENT_PORT_2", "AMQP_PORT_3", "MANAGEMENT_PORT_3"}
	for i, port := range brokertest.FreePorts(t, len(names)) {
		fmt.Fprintf(f, "%s=%d\n", names[i], port)
	}
}

// useReplicas turns the stack into the replicas' one:
// docker-compose.replicas.yaml, the cluster with lottery replicas a and b,
// in the same project. The cluster's ports are in .env already.
func (s *stack) useReplicas(t *testing.T) {
	t.Helper()
	s.replicas = true
	s.env[slices.Index(s.env, "COMPOSE_FILE=docker-compose.cluster.yaml:"+overrideFile)] = "COMPOSE_FILE=docker-compose.replicas.yaml:" + overrideFile
}

// lotteries are the stack's lottery services.
func (s *stack) lotteries() []string {
	if s.replicas {
		return []string{"lottery-a", "lottery-b"}
	}
	return []string{"lottery"}
}

// brokerServices are the stack's broker nodes.
func (s *stack) brokerServices() []string {
	if s.cluster {
		return []string{"rabbitmq-1", "rabbitmq-2", "rabbitmq-3"}
	}
	return []string{"rabbitmq"}
}

// writeOverride writes the override file for a compose file of n agencies.
func (s *stack) writeOverride(t *testing.T, n int) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by e2e/compose for %d agencies: only what differs in the test.\nservices:\n", n)
	brokers := append(s.brokerServices(), "tls-keys")
	if s.cluster {
		brokers = append(brokers, "rabbitmq-ready")
	}
	for _, name := range brokers {
		fmt.Fprintf(&b, "  %s:\n    image: %s\n", name, s.images["RABBITMQ_IMAGE"])
	}
	build := fmt.Sprintf("    build:\n      args: {GO_IMAGE: %q, RUNTIME_IMAGE: %q}\n", s.images["GO_IMAGE"], s.images["RUNTIME_IMAGE"])
	for _, name := range s.lotteries() {
		fmt.Fprintf(&b, "  %s:\n    image: %s-lottery:latest\n%s", name, project, build)
	}
	for id := 1; id <= n; id++ {
		fmt.Fprintf(&b, "  agency%d:\n    image: %s-agency:latest\n%s", id, project, build)
	}
	if err := os.WriteFile(filepath.Join(s.dir, overrideFile), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// remove takes down everything of the test's project, volumes and images,
// whichever compose file made them.
func (s *stack) remove(t *testing.T) {
	t.Helper()
	for _, file := range []string{"docker-compose.yaml", "docker-compose.cluster.yaml", "docker-compose.replicas.yaml"} {
		s.run(t, "docker", "compose", "-f", file, "down", "-v", "--remove-orphans")
	}
	ids, _ := s.run(t, "docker", "ps", "-aq", "--filter", "label=com.docker.compose.project="+project)
	if ids = strings.TrimSpace(ids); ids != "" {
		s.run(t, "docker", append([]string{"rm", "-f", "-v"}, strings.Fields(ids)...)...)
	}
	s.run(t, "docker", "rmi", project+"-lottery:latest", project+"-agency:latest")
}

// run runs a command in the copy and returns its output.
func (s *stack) run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = s.dir, s.env
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if took := time.Since(start); took > 10*time.Second {
		t.Logf("%s %s took %.0f s", name, strings.Join(args, " "), took.Seconds())
	}
	return string(out), err
}

// must runs a command that must succeed.
func (s *stack) must(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := s.run(t, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// make runs a make target for n agencies, with the override file for n,
// and any more make variables.
func (s *stack) make(t *testing.T, n int, target string, vars ...string) (string, error) {
	t.Helper()
	s.writeOverride(t, n)
	args := append([]string{target, "AGENCIES=" + strconv.Itoa(n)}, vars...)
	switch {
	case s.replicas:
		args = append(args, "REPLICAS=2")
	case s.cluster:
		args = append(args, "CLUSTER=1")
	}
	return s.run(t, "make", args...)
}

func (s *stack) mustMake(t *testing.T, n int, target string, vars ...string) string {
	t.Helper()
	out, err := s.make(t, n, target, vars...)
	if err != nil {
		t.Fatalf("make %s AGENCIES=%d: %v\n%s", target, n, err, out)
	}
	return out
}

// container is a line of docker compose ps.
type container struct {
	ID       string
	Service  string
	State    string
	ExitCode int
}

func (s *stack) containers(t *testing.T) []container {
	t.Helper()
	out := s.must(t, "docker", "compose", "ps", "-a", "--format", "json")
	var cs []container
	if strings.HasPrefix(strings.TrimSpace(out), "[") { // Compose before 2.21: one array
		if err := json.Unmarshal([]byte(out), &cs); err != nil {
			t.Fatalf("docker compose ps: %v\n%s", err, out)
		}
		return cs
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var c container
		if err := json.Unmarshal([]byte(line), &c); err != nil {
			t.Fatalf("docker compose ps: %v\n%s", err, out)
		}
		cs = append(cs, c)
	}
	return cs
}

// waitExited waits until every service named has exited and returns their
// exit codes.
func (s *stack) waitExited(t *testing.T, services ...string) map[string]int {
	t.Helper()
	var codes map[string]int
	err := await.Until(t.Context(), 3*time.Minute, func() error {
		codes = map[string]int{}
		for _, c := range s.containers(t) {
			if slices.Contains(services, c.Service) && (c.State == "exited" || c.State == "dead") {
				codes[c.Service] = c.ExitCode
			}
		}
		if len(codes) != len(services) {
			return fmt.Errorf("only %v of %v have exited", codes, services)
		}
		return nil
	})
	if err != nil {
		out, _ := s.run(t, "docker", "compose", "logs", "--no-color")
		t.Fatalf("%v:\n%s", err, out)
	}
	return codes
}

// logs is what a service's current container has logged, line by line.
func (s *stack) logs(t *testing.T, service string) []string {
	t.Helper()
	return logLines(s.must(t, "docker", "compose", "logs", "--no-color", "--no-log-prefix", service))
}

// logLines splits a log into lines, without the erase-line escape that
// Compose 2.26 writes before each.
func logLines(out string) []string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		lines = append(lines, strings.TrimPrefix(sc.Text(), "\x1b[2K"))
	}
	return lines
}

func agencyServices(n int) []string {
	var out []string
	for id := 1; id <= n; id++ {
		out = append(out, "agency"+strconv.Itoa(id))
	}
	return out
}

// bets reads agency id's data file, as the lottery would store it.
func (s *stack) bets(t *testing.T, id int) []bet.Bet {
	t.Helper()
	f, err := os.Open(filepath.Join(s.dir, ".data", fmt.Sprintf("agency-%d.csv", id)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bets, err := bet.NewReader(f, id).ReadAll(nil)
	if err != nil {
		t.Fatal(err)
	}
	return bets
}

// stored copies a file out of a lottery's data volume, through its
// container (running or not), and returns its path.
func (s *stack) stored(t *testing.T, lottery, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	s.must(t, "docker", "compose", "cp", lottery+":/data/"+name, dst)
	return dst
}

const (
	newDraw       = "a new draw"
	continuedDraw = "the draw it continues"
)

// checkRun waits for agencies 1…n to exit and checks what a person would:
// each exits 0 with its winners, the lottery makes the draw once (or
// recovers the one it made), and nothing fails.
func (s *stack) checkRun(t *testing.T, n int, draw string) {
	t.Helper()
	codes := s.waitExited(t, agencyServices(n)...)
	for id := 1; id <= n; id++ {
		if svc := "agency" + strconv.Itoa(id); codes[svc] != 0 {
			t.Errorf("%s exited %d; want 0", svc, codes[svc])
		}
	}
	s.checkWinners(t, n)
	for _, lottery := range s.lotteries() {
		s.checkDraw(t, lottery, draw)
	}
}

// events reads service's log through the programs' own parser; a line of
// another shape fails the test.
func (s *stack) events(t *testing.T, service string) []logfmt.Event {
	t.Helper()
	events, err := logtest.Events(service, s.logs(t, service))
	if err != nil {
		t.Error(err)
	}
	return events
}

// checkWinners checks that agencies 1…n each logged their winners, and no
// failure.
func (s *stack) checkWinners(t *testing.T, n int) {
	t.Helper()
	for id := 1; id <= n; id++ {
		svc := "agency" + strconv.Itoa(id)
		winners := 0
		for _, b := range s.bets(t, id) {
			if bet.HasWon(b) {
				winners++
			}
		}
		events := s.events(t, svc)
		noFailures(t, svc, events)
		answered := slices.ContainsFunc(events, func(e logfmt.Event) bool {
			n, err := e.Int("cant_ganadores")
			return e.Is(logfmt.ConsultaGanadores, logfmt.Success) && err == nil && n == winners
		})
		if !answered {
			t.Errorf("%s never logged %s with cant_ganadores %d:\n%s", svc, logfmt.ConsultaGanadores, winners, strings.Join(s.logs(t, svc), "\n"))
		}
	}
}

// checkDraw checks one lottery's log: nothing fails, and it makes the draw
// once after every bet (or recovers the one it made).
func (s *stack) checkDraw(t *testing.T, lottery, draw string) {
	t.Helper()
	events := s.events(t, lottery)
	noFailures(t, lottery, events)
	draws, lastReceived, drawAt, recovered := 0, -1, -1, false
	for i, e := range events {
		switch e.Action {
		case logfmt.Sorteo:
			draws++
			drawAt = i
		case logfmt.ApuestaRecibida:
			lastReceived = i
		case logfmt.SorteoRecuperado:
			recovered = true
		}
	}
	switch draw {
	case newDraw:
		if draws != 1 || lastReceived > drawAt {
			t.Errorf("%s logged %d sorteo lines (at line %d) and its last apuesta_recibida at line %d; want one draw after every bet:\n%s",
				lottery, draws, drawAt, lastReceived, strings.Join(s.logs(t, lottery), "\n"))
		}
	case continuedDraw:
		if draws != 0 || !recovered {
			t.Errorf("%s logged %d sorteo lines and no sorteo_recuperado; want the draw it made before, recovered:\n%s", lottery, draws, strings.Join(s.logs(t, lottery), "\n"))
		}
	}
}

func noFailures(t *testing.T, who string, events []logfmt.Event) {
	t.Helper()
	for _, e := range events {
		if e.Result == logfmt.Fail {
			t.Errorf("%s logged a failure: %s %v", who, e.Action, e.Fields)
		}
	}
}

// checkStored checks that every lottery's bets.csv holds every bet of
// agencies 1…n exactly once.
func (s *stack) checkStored(t *testing.T, n int) {
	t.Helper()
	for _, lottery := range s.lotteries() {
		s.checkStoredBy(t, lottery, n)
	}
}

// checkStoredBy is checkStored for one lottery.
func (s *stack) checkStoredBy(t *testing.T, lottery string, n int) {
	t.Helper()
	want := map[bet.Bet]int{}
	total := 0
	for id := 1; id <= n; id++ {
		for _, b := range s.bets(t, id) {
			want[b]++
			total++
		}
	}
	got, stored := map[bet.Bet]int{}, 0
	for b, err := range bet.LoadBets(s.stored(t, lottery, "bets.csv")) {
		if err != nil {
			t.Fatal(err)
		}
		got[b]++
		stored++
	}
	extra, missing := 0, 0
	for b, c := range got {
		extra += max(c-want[b], 0)
	}
	for b, c := range want {
		missing += max(c-got[b], 0)
	}
	if stored != total || extra != 0 || missing != 0 {
		t.Errorf("%s's bets.csv holds %d bets (%d more than sent, %d missing); want the %d sent, each once", lottery, stored, extra, missing, total)
	}
}

// api asks the management API for path as user and returns the status.
func (s *stack) api(t *testing.T, user, password, path string) int {
	t.Helper()
	resp := s.get(t, user, password, path)
	resp.Body.Close()
	return resp.StatusCode
}

// get asks the management API for path as user, over HTTPS, trusting only
// the deployment's authority.
func (s *stack) get(t *testing.T, user, password, path string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d%s", s.mgmt, path), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	cfg := s.tlsConfig(t, "", "")
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("management API: %v", err)
	}
	return resp
}

// apiJSON asks the management API for path as user and decodes the answer.
func (s *stack) apiJSON(t *testing.T, user, password, path string, into any) {
	t.Helper()
	resp := s.get(t, user, password, path)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("management API %s as %s: %s", path, user, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("management API %s: %v", path, err)
	}
}

// setting is a variable of the stack's .env.
func (s *stack) setting(t *testing.T, name string) string {
	t.Helper()
	for _, line := range strings.Split(string(fileBytes(t, filepath.Join(s.dir, ".env"))), "\n") {
		if v, ok := strings.CutPrefix(line, name+"="); ok {
			return v
		}
	}
	t.Fatalf(".env sets no %s", name)
	return ""
}

// tlsConfig trusts the deployment's authority and shows the client
// certificate certFile, keyFile (none when empty).
func (s *stack) tlsConfig(t *testing.T, certFile, keyFile string) *tls.Config {
	t.Helper()
	cfg, err := broker.LoadTLS(filepath.Join(s.dir, ".certs", "ca.pem"), certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// dial logs in to the first broker node from the host over TLS, with the
// certificate and key in dir named after identity (EXTERNAL: the
// certificate names the user).
func (s *stack) dial(dir, identity string) (*amqp.Connection, error) {
	cfg, err := broker.LoadTLS(filepath.Join(s.dir, ".certs", "ca.pem"),
		filepath.Join(dir, identity+".pem"), filepath.Join(dir, identity+"-key.pem"))
	if err != nil {
		return nil, err
	}
	return amqp.DialConfig(fmt.Sprintf("amqps://127.0.0.1:%d/lottery", s.amqp), amqp.Config{
		TLSClientConfig: cfg,
		SASL:            []amqp.Authentication{&amqp.ExternalAuth{}},
		Dial:            amqp.DefaultDial(30 * time.Second),
	})
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sameFiles(t *testing.T, what string, before, after []byte) {
	t.Helper()
	if !bytes.Equal(before, after) {
		t.Errorf("%s changed (%d bytes before, %d after); want it untouched", what, len(before), len(after))
	}
}
