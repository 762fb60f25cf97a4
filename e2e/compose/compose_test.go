//go:build compose

package compose

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/await"
	"github.com/loteria-nacional/pipeline/internal/logtest"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// TestCompose runs the deployment through what people do with it, in order:
// each step starts from where the one before left the stack.
func TestCompose(t *testing.T) {
	s := newStack(t)
	steps := []struct {
		name string
		run  func(*stack, *testing.T)
	}{
		{"make docker-image builds the agency image once", (*stack).buildsOnce},
		{"up without the certificates or the data files fails and creates nothing", (*stack).missingData},
		{"up with a host port in use says so and starts nothing", (*stack).portInUse},
		{"a broker that cannot hold the agencies is refused before anything starts", (*stack).tooFewFiles},
		{"five agencies get their winners", (*stack).fiveAgencies},
		{"the broker and the lottery come back after a crash, the agencies stay done", (*stack).crashes},
		{"only TLS answers; the management API takes the admin over HTTPS and refuses guest", (*stack).managementAPI},
		{"agency-2's certificate cannot read agency 1's winners or publish as agency 1", (*stack).leastPrivilege},
		{"make passwords refuses while the stack runs", (*stack).passwordsWhileRunning},
		{"down stops every program cleanly", (*stack).down},
		{"a second up continues the draw", (*stack).secondUp},
		{"another number of agencies is refused on the same draw", (*stack).otherAgencyCount},
		{"make reset starts a new draw and keeps .data", (*stack).reset},
		{"a volume with classic queues is refused before the programs start", (*stack).classicQueues},
		{"three agencies get their winners", (*stack).threeAgencies},
		{"new passwords take effect at the next up", (*stack).newPasswords},
		{"the cluster: five agencies get their winners from queues on three nodes", (*stack).clusterUp},
		{"the cluster loses the lottery's node mid-run, and nothing is lost", (*stack).clusterLosesANode},
		{"two lottery replicas: one lost for good mid-run, and nothing is lost", (*stack).replicaLost},
	}
	for _, step := range steps {
		if !t.Run(step.name, func(t *testing.T) { step.run(s, t) }) {
			t.Fatalf("stopped after %q failed: the steps after it build on it", step.name)
		}
	}
}

func (s *stack) buildsOnce(t *testing.T) {
	s.mustMake(t, 5, "docker-image")
	out := s.must(t, "docker", "images", "-a", "--filter", "label=com.docker.compose.project="+project,
		"--format", "{{.Repository}}:{{.Tag}}")
	got := strings.Fields(out)
	slices.Sort(got)
	want := []string{project + "-agency:latest", project + "-lottery:latest"}
	if !slices.Equal(got, want) {
		t.Errorf("images built: %q; want one agency and one lottery image, nothing untagged", got)
	}
}

func (s *stack) missingData(t *testing.T) {
	out, err := s.run(t, "docker", "compose", "up", "-d", "--no-build")
	if err == nil || !strings.Contains(out, "does not exist") || !strings.Contains(out, ".certs/") {
		t.Errorf("docker compose up without .certs: %v\n%s\nwant it to fail naming the missing certificate", err, out)
	}
	s.must(t, "docker", "compose", "down")
	s.mustMake(t, 5, "certs")
	out, err = s.run(t, "docker", "compose", "up", "-d", "--no-build")
	if err == nil || !strings.Contains(out, "does not exist") || !strings.Contains(out, ".data/agency-") {
		t.Errorf("docker compose up without .data: %v\n%s\nwant it to fail naming the missing data file", err, out)
	}
	if _, err := os.Stat(filepath.Join(s.dir, ".data")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after the failed up, .data: %v; want it never created", err)
	}
	s.must(t, "docker", "compose", "down")
	// A person's own file for agency 3: make data writes only the others.
	s.own = []byte("Mía,Propia,12345678,1990-01-01,7574\r\n\"Otra, Jr.\",Persona,87654321,1985-05-05,1\r\n")
	if err := os.MkdirAll(filepath.Join(s.dir, ".data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, ".data", "agency-3.csv"), s.own, 0o644); err != nil {
		t.Fatal(err)
	}
	kept := logfmt.Logged(logfmt.Gendata).Saying("archivo", "agency-3.csv").With("estado", "conservado")
	if out := s.mustMake(t, 5, "data"); !logtest.Says(t, out, "", kept) {
		t.Errorf("make data said:\n%s\nwant agency-3.csv kept", out)
	}
}

func (s *stack) portInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(s.amqp))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	out, err := s.make(t, 5, "docker-compose-up")
	want := logfmt.Logged("docker_compose_up").Failing("127.0.0.1:"+strconv.Itoa(s.amqp), "AMQP_PORT", ".env", "nothing was started")
	if err == nil || !logtest.Says(t, out, "", want) {
		t.Errorf("make docker-compose-up with port %d taken: %v\n%s\nwant it to fail with %s", s.amqp, err, out, want)
	}
	if cs := s.containers(t); len(cs) != 0 {
		t.Errorf("containers after the refused up: %+v; want none", cs)
	}
}

// tooFewFiles asks for 500 agencies of a broker given 1,024 open files,
// which holds 412 at once: make docker-compose-up refuses before it builds
// or starts anything.
func (s *stack) tooFewFiles(t *testing.T) {
	before, _ := filepath.Glob(filepath.Join(s.dir, ".data", "*.csv"))
	defer func() { // its small data files go: the next steps generate their own
		after, _ := filepath.Glob(filepath.Join(s.dir, ".data", "*.csv"))
		for _, f := range after {
			if !slices.Contains(before, f) {
				os.Remove(f)
			}
		}
	}()
	out, err := s.make(t, 500, "docker-compose-up", "BROKER_FILES=1024", "BETS=10")
	want := logfmt.Logged(logfmt.LimiteArchivos).Failing("holds 412 agencies at once with 1024 open files, and 500 are to run", "BROKER_FILES")
	if err == nil || !logtest.Says(t, out, "", want) {
		t.Errorf("make docker-compose-up AGENCIES=500 with BROKER_FILES=1024: %v\n%s\nwant it refused with %s", err, out, want)
	}
	if cs := s.containers(t); len(cs) != 0 {
		t.Errorf("containers after the refused up: %+v; want none", cs)
	}
}

func (s *stack) fiveAgencies(t *testing.T) {
	out := s.mustMake(t, 5, "docker-compose-up")
	// The broker's open files, as the docker engine gives them, and the
	// agencies they hold: said before and after it starts.
	limits := logtest.Find(t, out, "", logfmt.Logged(logfmt.LimiteArchivos))
	if n := len(limits); n < 2 || logtest.Count(limits, logfmt.Failures()) > 0 {
		t.Errorf("make docker-compose-up said %d times what the broker's open files hold; want it before and after the broker starts:\n%s", n, out)
	}
	s.checkRun(t, 5, newDraw)
	if got, _ := os.ReadFile(filepath.Join(s.dir, ".data", "agency-3.csv")); !bytes.Equal(got, s.own) {
		t.Errorf("after make docker-compose-up, .data/agency-3.csv holds %q; want the person's own %q", got, s.own)
	}
}

func (s *stack) managementAPI(t *testing.T) {
	s.onlyTLS(t)
	for _, tc := range []struct {
		user, password, path string
		want                 int
	}{
		{"admin", "admin-demo", "/api/whoami", 200},
		{"admin", "admin-demo", "/api/queues/lottery/lottery.bets", 200},
		{"guest", "guest", "/api/whoami", 401},
		{"agency-1", "agency-1-demo", "/api/whoami", 401},
	} {
		if got := s.api(t, tc.user, tc.password, tc.path); got != tc.want {
			t.Errorf("management API %s as %s: %d; want %d", tc.path, tc.user, got, tc.want)
		}
	}
}

// onlyTLS checks that, on every broker node, nothing but TLS answers: inside
// the node, the plain AMQP, HTTP and Prometheus ports are closed; from the
// host, a plain AMQP client and plain HTTP get nowhere, a certificate of
// another authority is refused, and the management API over HTTPS refuses
// guest.
func (s *stack) onlyTLS(t *testing.T) {
	t.Helper()
	for _, node := range s.brokerServices() {
		for _, p := range []struct {
			port int
			open bool
		}{{5671, true}, {15671, true}, {5672, false}, {15672, false}, {15692, false}} {
			_, err := s.run(t, "docker", "compose", "exec", "-T", node, "bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d", p.port))
			if open := err == nil; open != p.open {
				t.Errorf("%s: port %d open: %v; want %v", node, p.port, open, p.open)
			}
		}
	}
	if got := s.api(t, "guest", "guest", "/api/whoami"); got != 401 {
		t.Errorf("the management API over HTTPS as guest: %d; want 401", got)
	}
	if c, err := amqp.Dial(fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/lottery", s.amqp)); err == nil {
		c.Close()
		t.Error("a plain AMQP client logged in; want it refused")
	}
	if resp, err := (&http.Client{Timeout: 30 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/api/whoami", s.mgmt)); err == nil {
		resp.Body.Close()
		t.Errorf("plain HTTP to the management port: %s; want no answer", resp.Status)
	}
	if c, err := s.dial(otherAuthority(t), "agency-1"); err == nil {
		c.Close()
		t.Error("agency-1 with another authority's certificate logged in; want it refused")
	}
}

// otherAuthority makes a certificate authority apart from the deployment's,
// and agency-1's certificate from it, and returns their folder.
func otherAuthority(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("go", "run", "../../tools/certs", "-out", dir, "-agencies", "1").CombinedOutput(); err != nil {
		t.Fatalf("tools/certs: %v\n%s", err, out)
	}
	return dir
}

func (s *stack) leastPrivilege(t *testing.T) {
	conn, err := s.dial(filepath.Join(s.dir, ".certs"), "agency-2")
	if err != nil {
		t.Fatalf("agency-2 logs in with its certificate: %v", err)
	}
	defer conn.Close()
	for _, tc := range []struct {
		queue string
		want  int // 0: allowed
	}{{"agency.2.winners", 0}, {"agency.1.winners", amqp.AccessRefused}} {
		ch, err := conn.Channel()
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = ch.Get(tc.queue, false)
		var ae *amqp.Error
		switch {
		case tc.want == 0 && err != nil:
			t.Errorf("agency-2 get from %s: %v; want it allowed", tc.queue, err)
		case tc.want != 0 && (!errors.As(err, &ae) || ae.Code != tc.want):
			t.Errorf("agency-2 get from %s: %v; want AMQP error %d", tc.queue, err, tc.want)
		}
		if err == nil {
			ch.Close()
		}
	}
	// The broker checks a message's user-id against the certificate's user.
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ch.PublishWithContext(ctx, broker.BetsExchange, "agency-1", false, false, amqp.Publishing{UserId: "agency-1", Body: []byte("forged")}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-closed:
		if e == nil || e.Code != amqp.PreconditionFailed || !strings.Contains(e.Reason, "agency-2") {
			t.Errorf("agency-2 publishing as agency-1: channel closed with %v; want 406 naming the certificate's user agency-2", e)
		}
	case <-ctx.Done():
		t.Error("agency-2 published as agency-1 and the broker let it; want 406")
	}
}

func (s *stack) passwordsWhileRunning(t *testing.T) {
	env, defs := fileBytes(t, filepath.Join(s.dir, ".env")), fileBytes(t, filepath.Join(s.dir, "definitions.json"))
	out, err := s.make(t, 5, "passwords")
	want := logfmt.Logged("passwords").Failing("the compose stack is running", "make docker-compose-down", "nothing was changed")
	if err == nil || !logtest.Says(t, out, "", want) {
		t.Errorf("make passwords on a running stack: %v\n%s\nwant it refused with %s", err, out, want)
	}
	sameFiles(t, ".env", env, fileBytes(t, filepath.Join(s.dir, ".env")))
	sameFiles(t, "definitions.json", defs, fileBytes(t, filepath.Join(s.dir, "definitions.json")))
}

func (s *stack) down(t *testing.T) {
	ids := strings.Fields(s.must(t, "docker", "compose", "ps", "-q", "lottery", "rabbitmq"))
	if len(ids) != 2 {
		t.Fatalf("running lottery and rabbitmq containers: %q; want two", ids)
	}
	// docker wait prints each exit code once its container stops; compose
	// logs -f follows the lottery to its last line, once it has caught up
	// with what the lottery logged so far.
	wait := exec.Command("docker", append([]string{"wait"}, ids...)...)
	var codes strings.Builder
	wait.Stdout = &codes
	if err := wait.Start(); err != nil {
		t.Fatal(err)
	}
	follow := exec.Command("docker", "compose", "logs", "-f", "--no-color", "--no-log-prefix", "lottery")
	follow.Dir, follow.Env = s.dir, s.env
	out, err := follow.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	followed := bufio.NewReader(out)
	first, err := followed.ReadString('\n')
	if err != nil {
		t.Fatalf("docker compose logs -f lottery: %v", err)
	}
	s.mustMake(t, 5, "docker-compose-down")
	if err := wait.Wait(); err != nil {
		t.Errorf("docker wait: %v", err)
	}
	rest, _ := io.ReadAll(followed)
	follow.Wait()
	if got := strings.Fields(codes.String()); strings.Join(got, ",") != "0,0" {
		t.Errorf("lottery and rabbitmq exited %q; want 0 and 0", got)
	}
	lines := logLines(first + string(rest))
	// Following, compose adds a line of its own when the container stops.
	programs := slices.DeleteFunc(slices.Clone(lines), func(l string) bool { return strings.HasSuffix(l, " exited with code 0") })
	events, err := logtest.Events("lottery", programs)
	if err != nil {
		t.Error(err)
	}
	noFailures(t, "lottery", events)
	for _, want := range []logfmt.Match{
		logfmt.Logged(logfmt.ApagadoIniciado),
		logfmt.Logged(logfmt.Cierre).With("recurso", "connection"),
		logfmt.Logged(logfmt.Cierre).With("recurso", "bets.csv"),
		logfmt.Logged(logfmt.Cierre).With("recurso", "journal"),
		logfmt.Logged(logfmt.LotteryFinalizado),
	} {
		if logtest.Count(events, want) == 0 {
			t.Errorf("the lottery never logged a line with %s on its way out:\n%s", want, strings.Join(lines, "\n"))
		}
	}
	if cs := s.containers(t); len(cs) != 0 {
		t.Errorf("containers after down: %+v; want none", cs)
	}
}

func (s *stack) secondUp(t *testing.T) {
	s.mustMake(t, 5, "docker-compose-up")
	s.checkRun(t, 5, continuedDraw)
	s.checkStored(t, 5)
}

func (s *stack) otherAgencyCount(t *testing.T) {
	journal, bets := fileBytes(t, s.stored(t, "lottery", "journal.jsonl")), fileBytes(t, s.stored(t, "lottery", "bets.csv"))
	s.mustMake(t, 3, "docker-compose-up")
	// It waits for a person rather than exit into its restart policy.
	s.waitLogged(t, "lottery", logfmt.Logged(logfmt.EsperandoIntervencion).Is(logfmt.InProgress))
	if state, restarts := s.inspect(t, "lottery", "{{.State.Status}}"), s.inspect(t, "lottery", "{{.RestartCount}}"); state != "running" || restarts != "0" {
		t.Errorf("the lottery is %s after %s restarts; want running, never restarted", state, restarts)
	}
	events := s.events(t, "lottery")
	want := logfmt.Logged(logfmt.Lottery).Failing("holds a draw among 5 agencies, but LOTTERY_AGENCIES is 3", "make reset")
	if logtest.Count(events, logfmt.Failures()) != 1 || logtest.Count(events, want) != 1 {
		t.Errorf("the lottery's log:\n%s\nwant one fail line, with %s", strings.Join(s.logs(t, "lottery"), "\n"), want)
	}
	sameFiles(t, "journal.jsonl", journal, fileBytes(t, s.stored(t, "lottery", "journal.jsonl")))
	sameFiles(t, "bets.csv", bets, fileBytes(t, s.stored(t, "lottery", "bets.csv")))
}

func (s *stack) reset(t *testing.T) {
	native := filepath.Join(s.dir, ".data", "lottery", "bets.csv") // the native demo's
	if err := os.MkdirAll(filepath.Dir(native), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(native, []byte("kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.mustMake(t, 3, "reset")
	ofProject := "label=com.docker.compose.project=" + project
	for what, list := range map[string][]string{
		"containers": {"ps", "-aq", "--filter", ofProject},
		"volumes":    {"volume", "ls", "-q", "--filter", ofProject},
	} {
		if left := strings.TrimSpace(s.must(t, "docker", list...)); left != "" {
			t.Errorf("after make reset, the project's %s: %q; want none", what, left)
		}
	}
	if b, err := os.ReadFile(native); err != nil || string(b) != "kept\n" {
		t.Errorf("the native demo's %s after make reset: %q, %v; want it kept", native, b, err)
	}
}

func (s *stack) classicQueues(t *testing.T) {
	// The broker's volume as a version with classic queues left it.
	s.mustMake(t, 3, "compose")
	path := filepath.Join(s.dir, "definitions.json")
	current := fileBytes(t, path)
	var defs map[string]any
	if err := json.Unmarshal(current, &defs); err != nil {
		t.Fatal(err)
	}
	for _, q := range defs["queues"].([]any) {
		q.(map[string]any)["arguments"] = map[string]any{"x-queue-type": "classic"}
	}
	old, _ := json.Marshal(defs)
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	s.must(t, "docker", "compose", "up", "-d", "--no-build", "--wait", "rabbitmq")
	s.must(t, "docker", "compose", "down")
	if err := os.WriteFile(path, current, 0o644); err != nil {
		t.Fatal(err)
	}

	out, err := s.make(t, 3, "docker-compose-up")
	want := logfmt.Logged("docker_compose_up").Failing("classic queues made by an earlier version", "lottery.bets", "make reset")
	if err == nil || !logtest.Says(t, out, "", want) {
		t.Errorf("make docker-compose-up on a volume with classic queues: %v\n%s\nwant it refused with %s", err, out, want)
	}
	for _, c := range s.containers(t) {
		if c.Service != "rabbitmq" && c.Service != "tls-keys" {
			t.Errorf("%s was started; want only the broker (and tls-keys, which it needs)", c.Service)
		}
	}
	s.mustMake(t, 3, "reset")
}

func (s *stack) threeAgencies(t *testing.T) {
	s.mustMake(t, 3, "docker-compose-up")
	s.checkRun(t, 3, newDraw)
	s.checkStored(t, 3)
}

func (s *stack) newPasswords(t *testing.T) {
	s.mustMake(t, 3, "docker-compose-down")
	s.mustMake(t, 3, "passwords")
	env := string(fileBytes(t, filepath.Join(s.dir, ".env")))
	admin := s.setting(t, "ADMIN_PASSWORD")
	ports := []string{"AMQP_PORT=" + strconv.Itoa(s.amqp), "MANAGEMENT_PORT=" + strconv.Itoa(s.mgmt)}
	if admin == "" || !strings.Contains(env, ports[0]) || !strings.Contains(env, ports[1]) {
		t.Fatalf(".env after make passwords:\n%s\nwant a new ADMIN_PASSWORD and the ports %q kept", env, ports)
	}
	s.mustMake(t, 3, "docker-compose-up")
	s.checkRun(t, 3, continuedDraw)
	if got := s.api(t, "admin", "admin-demo", "/api/whoami"); got != 401 {
		t.Errorf("the demo admin password after make passwords: %d; want 401", got)
	}
	if got := s.api(t, "admin", admin, "/api/whoami"); got != 200 {
		t.Errorf("the new admin password: %d; want 200", got)
	}
}

func (s *stack) clusterUp(t *testing.T) {
	s.mustMake(t, 3, "reset")
	s.useCluster(t)
	s.mustMake(t, 5, "docker-compose-up")
	s.checkRun(t, 5, newDraw)
	s.checkStored(t, 5)
	s.onlyTLS(t)
	s.leastPrivilege(t)
	ready := strings.Join(s.logs(t, "rabbitmq-ready"), "\n")
	if !logtest.Says(t, ready, "", logfmt.Logged("cluster_listo").Is(logfmt.Success).With("nodos", "3")) {
		t.Errorf("rabbitmq-ready's log:\n%s\nwant it to end with the cluster ready", ready)
	}
	var queues []struct {
		Name    string   `json:"name"`
		Type    string   `json:"type"`
		Members []string `json:"members"`
	}
	s.apiJSON(t, "admin", s.setting(t, "ADMIN_PASSWORD"), "/api/queues/lottery?columns=name,type,members", &queues)
	if len(queues) != 9 {
		t.Errorf("vhost lottery holds %d queues; want 9 (5 agencies)", len(queues))
	}
	for _, q := range queues {
		if q.Type != "quorum" || len(q.Members) != 3 {
			t.Errorf("queue %s: type %s, members %q; want a quorum queue on all three nodes", q.Name, q.Type, q.Members)
		}
	}
}

// clusterLosesANode kills the node the lottery connects to first with
// SIGKILL once the lottery is storing bets, as a machine that is lost: the
// programs go on through the other two, and every bet is stored once.
func (s *stack) clusterLosesANode(t *testing.T) {
	s.mustMake(t, 5, "reset")
	const bets = "BETS=100000" // a run long enough to lose a node in
	s.mustMake(t, 5, "docker-compose-up", bets)
	s.waitStoring(t, "lottery")
	s.must(t, "docker", "compose", "kill", "-s", "SIGKILL", "rabbitmq-1")
	s.checkRun(t, 5, newDraw)
	s.checkStored(t, 5)
	connected := logfmt.Logged(logfmt.ConexionBroker).Is(logfmt.Success)
	if events := s.events(t, "lottery"); logtest.Count(events, connected.With("nodo", "2/3"))+logtest.Count(events, connected.With("nodo", "3/3")) == 0 {
		t.Errorf("the lottery's log:\n%s\nwant it connected to node 2 or 3 after node 1 was killed", strings.Join(s.logs(t, "lottery"), "\n"))
	}
}

// replicaLost runs lottery replicas a and b on the cluster, then kills
// lottery-a with SIGKILL once it stores bets and removes its container and
// volume, as a machine lost for good: every agency gets its winners from b,
// whose bets.csv holds every bet once.
func (s *stack) replicaLost(t *testing.T) {
	s.mustMake(t, 5, "reset")
	s.useReplicas(t)
	s.mustMake(t, 5, "docker-compose-up", "BETS=100000")
	s.waitStoring(t, "lottery-a")
	s.must(t, "docker", "compose", "kill", "-s", "SIGKILL", "lottery-a")
	s.must(t, "docker", "compose", "rm", "-f", "lottery-a")
	s.must(t, "docker", "volume", "rm", project+"_lottery-a-data")
	codes := s.waitExited(t, agencyServices(5)...)
	for svc, code := range codes {
		if code != 0 {
			t.Errorf("%s exited %d; want 0", svc, code)
		}
	}
	s.checkWinners(t, 5)
	for _, svc := range agencyServices(5) { // one answer, whichever replica gave it
		if n := logtest.Count(s.events(t, svc), logfmt.Logged(logfmt.ConsultaGanadores)); n != 1 {
			t.Errorf("%s logged consulta_ganadores %d times; want once", svc, n)
		}
	}
	s.checkDraw(t, "lottery-b", newDraw)
	s.checkStoredBy(t, "lottery-b", 5)
	s.onlyTLS(t)
	s.leastPrivilege(t)
	var queues []struct{ Name string }
	s.apiJSON(t, "admin", s.setting(t, "ADMIN_PASSWORD"), "/api/queues/lottery?columns=name", &queues)
	for _, q := range queues {
		if q.Name == "lottery.bets" || q.Name == "lottery.requests" {
			t.Errorf("queue %s exists: with replicas nobody reads it", q.Name)
		}
	}
}

// waitStoring waits until a lottery has stored bets.
func (s *stack) waitStoring(t *testing.T, lottery string) {
	t.Helper()
	s.waitLogged(t, lottery, logfmt.Logged(logfmt.ApuestaRecibida).Is(logfmt.Success))
}

// waitLogged waits until service has logged a line m matches, and returns
// how many it has.
func (s *stack) waitLogged(t *testing.T, service string, m logfmt.Match) int {
	t.Helper()
	return s.waitCount(t, service, m, 1)
}

// waitCount waits until service has logged at least n lines m matches, and
// returns how many it has; a line not in the log format ends the wait.
func (s *stack) waitCount(t *testing.T, service string, m logfmt.Match, n int) int {
	t.Helper()
	got := 0
	await.For(t, 2*time.Minute, func() error {
		lines := s.logs(t, service)
		events, err := logtest.Events(service, lines)
		if err != nil {
			return await.Stop(err)
		}
		if got = logtest.Count(events, m); got < n {
			return fmt.Errorf("%s logged %d of %d lines with %s:\n%s", service, got, n, m, strings.Join(lines, "\n"))
		}
		return nil
	})
	return got
}

// crashes kills the lottery's process, then the broker's, from the host,
// as a crash would: the restart policy brings each back (docker kill would
// count as a person's stop), the lottery reconnects, and the agencies,
// done, stay stopped.
func (s *stack) crashes(t *testing.T) {
	for _, svc := range agencyServices(5) {
		if restarts := s.inspect(t, svc, "{{.RestartCount}}"); restarts != "0" {
			t.Errorf("%s, done, was restarted %s times; want it left stopped", svc, restarts)
		}
	}
	started := s.waitLogged(t, "lottery", logfmt.Logged(logfmt.LotteryIniciado))
	s.crash(t, "lottery")
	s.waitCount(t, "lottery", logfmt.Logged(logfmt.LotteryIniciado), started+1)
	s.waitLogged(t, "lottery", logfmt.Logged(logfmt.SorteoRecuperado))
	connected := logfmt.Logged(logfmt.ConexionBroker).Is(logfmt.Success)
	before := s.waitLogged(t, "lottery", connected)
	s.crash(t, "rabbitmq")
	s.waitCount(t, "lottery", connected, before+1)
	await.For(t, 2*time.Minute, func() error {
		if health := s.inspect(t, "rabbitmq", "{{.State.Health.Status}}"); health != "healthy" {
			return fmt.Errorf("the broker is %s after its crash; want healthy", health)
		}
		return nil
	})
}

// crash kills service's process with SIGKILL from the host and waits until
// its restart policy has started it again.
func (s *stack) crash(t *testing.T, service string) {
	t.Helper()
	restarts := s.inspect(t, service, "{{.RestartCount}}")
	pid, err := strconv.Atoi(s.inspect(t, service, "{{.State.Pid}}"))
	if err != nil || pid <= 0 {
		t.Fatalf("%s has no process to kill (pid %d: %v)", service, pid, err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s's process %d: %v", service, pid, err)
	}
	await.For(t, time.Minute, func() error {
		now, state := s.inspect(t, service, "{{.RestartCount}}"), s.inspect(t, service, "{{.State.Status}}")
		if now == restarts || state != "running" {
			return fmt.Errorf("%s is %s after %s restarts (%s before its process was killed); want started again", service, state, now, restarts)
		}
		return nil
	})
}

// inspect is docker inspect's format of service's container.
func (s *stack) inspect(t *testing.T, service, format string) string {
	t.Helper()
	id := strings.TrimSpace(s.must(t, "docker", "compose", "ps", "-a", "-q", service))
	return strings.TrimSpace(s.must(t, "docker", "inspect", "-f", format, id))
}
