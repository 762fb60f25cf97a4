//go:build compose

package compose

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loteria-nacional/pipeline/internal/await"
	"github.com/loteria-nacional/pipeline/internal/logtest"
	"github.com/loteria-nacional/pipeline/internal/repotest"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// TestCourseFile drives the file generar-compose.sh writes exactly as the
// course's grading tests (tp0-tests, exercises 6 to 8) drive it, with their
// commands, files and reading of the logs, and no change to any of them:
// between tests, stop and down without -v; then generar-compose.sh, the
// course's config files and data, up -d, and logs -f read line by line
// until each client's exit line. Every test must see every apuesta_recibida
// before the sorteo line, every consulta_ganadores after it, each client's
// winners, no failure, and its own new draw.
func TestCourseFile(t *testing.T) {
	c := newCourse(t)
	// Exercise 6: one client; the first exit line ends a test.
	for _, bets := range []int{64, 99} {
		t.Run(fmt.Sprintf("ej6: one client sends %d bets", bets), func(t *testing.T) {
			c.beforeEach(t, 1, 10)
			c.agencyFile(t, 1, bets, nil)
			got := c.follow(t, 1)
			if got.received != bets {
				t.Errorf("apuesta_recibida counts %d bets; want %d", got.received, bets)
			}
		})
	}
	t.Run("ej6: batches of at most maxAmount", func(t *testing.T) {
		c.beforeEach(t, 1, 99)
		c.agencyFile(t, 1, 21, nil)
		if got := c.follow(t, 1); got.received != 21 || got.batches != 1 {
			t.Errorf("21 bets arrived as %d in %d batches; want 21 in one batch of at most 99", got.received, got.batches)
		}
	})
	// Exercises 7 and 8: the draw and each client's winners.
	for _, tc := range []struct {
		bets    int
		winners [][]int // each client's winning rows
	}{
		{100, [][]int{{0, 99}, {50}, {}}},
		{60, [][]int{{1}, {1, 2}, {1, 2, 3}, {1, 2, 3, 4}, {1, 2, 3, 4, 5}}},
		{100, [][]int{{0, 99}, {50}, {}}}, // after five: a new draw of three
	} {
		t.Run(fmt.Sprintf("ej7: %d clients get their winners", len(tc.winners)), func(t *testing.T) {
			defer c.restartKeepsTheDraw(t)
			c.beforeEach(t, len(tc.winners), 10)
			for i, w := range tc.winners {
				c.agencyFile(t, i+1, tc.bets, w)
			}
			got := c.follow(t, len(tc.winners))
			if !got.drawn || got.received != tc.bets*len(tc.winners) {
				t.Errorf("sorteo seen: %v, with %d bets received before it; want a draw after all %d", got.drawn, got.received, tc.bets*len(tc.winners))
			}
			for i, w := range tc.winners {
				src := "client" + strconv.Itoa(i+1)
				if n, ok := got.winners[src]; !ok || n != len(w) {
					t.Errorf("%s's cant_ganadores: %d (logged: %v); want %d", src, n, ok, len(w))
				}
			}
		})
	}
	c.down(t)
}

// restartKeepsTheDraw restarts the lottery's container, as a crash or a
// reboot would, and checks that the lottery recovers the draw it made from
// its volume, rather than wait for bets again.
func (c *course) restartKeepsTheDraw(t *testing.T) {
	t.Helper()
	if t.Failed() {
		return
	}
	c.must(t, "docker", "restart", "server")
	await.For(t, 2*time.Minute, func() error {
		out := c.must(t, "docker", "logs", "server")
		if !logtest.Says(t, out, "", logfmt.Logged(logfmt.SorteoRecuperado)) {
			return fmt.Errorf("the lottery did not recover its draw after docker restart:\n%s", out)
		}
		return nil
	})
}

// course is a copy of the repository set up once as docs/course.md says for the
// course's tests, with images of its own.
type course struct {
	dir string
	env []string
}

const courseFile = "docker-compose-dev.yaml"

func newCourse(t *testing.T) *course {
	t.Helper()
	c := &course{dir: t.TempDir()}
	repotest.Copy(t, "../..", c.dir)
	for _, d := range []string{"client", "server", ".data"} {
		if err := os.MkdirAll(filepath.Join(c.dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COMPOSE_") {
			c.env = append(c.env, kv)
		}
	}
	s := &stack{dir: c.dir, env: c.env}
	images := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(s.must(t, "tools/docker/standins.sh")), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			images[k] = v
		}
	}
	// The course's file names the official broker image unless RABBITMQ_IMAGE
	// names another; its programs' images are built here from the stand-ins
	// (up would build them from the official bases).
	c.env = append(c.env, "RABBITMQ_IMAGE="+images["RABBITMQ_IMAGE"])
	for _, prog := range []string{"lottery", "agency"} {
		s.must(t, "docker", "build", "-q", "-f", prog+"/Dockerfile", "-t", "lottery-course-"+prog+":latest",
			"--build-arg", "GO_IMAGE="+images["GO_IMAGE"], "--build-arg", "RUNTIME_IMAGE="+images["RUNTIME_IMAGE"], ".")
	}
	c.down(t) // what a run that was stopped may have left
	t.Cleanup(func() {
		c.run(t, "docker", "compose", "-f", courseFile, "down", "-v", "--remove-orphans")
		c.run(t, "docker", "rmi", "lottery-course-lottery:latest", "lottery-course-agency:latest")
	})
	return c
}

func (c *course) run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	return (&stack{dir: c.dir, env: c.env}).run(t, name, args...)
}

func (c *course) must(t *testing.T, name string, args ...string) string {
	t.Helper()
	return (&stack{dir: c.dir, env: c.env}).must(t, name, args...)
}

// down is the course's docker.down: stop, then down, without -v.
func (c *course) down(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(c.dir, courseFile)); err != nil {
		return
	}
	c.run(t, "docker", "compose", "-f", courseFile, "stop")
	c.run(t, "docker", "compose", "-f", courseFile, "down")
}

// beforeEach is the course's: down, the compose file for n clients, the
// server's and the clients' config files.
func (c *course) beforeEach(t *testing.T, n, maxAmount int) {
	t.Helper()
	c.down(t)
	c.must(t, "bash", "generar-compose.sh", courseFile, strconv.Itoa(n))
	write(t, filepath.Join(c.dir, "server", "config.ini"), "[DEFAULT]\nSERVER_PORT = 12345\nSERVER_IP = server\nSERVER_LISTEN_BACKLOG = 5\nLOGGING_LEVEL = DEBUG")
	write(t, filepath.Join(c.dir, "client", "config.yaml"), fmt.Sprintf("server:\n  address: \"server:12345\"\nloop:\n  amount: 500\n  period: \"150ms\"\nlog:\n  level: \"INFO\"\nbatch:\n  maxAmount: %d\n", maxAmount))
}

// agencyFile writes .data/agency-id.csv as the course's tests do: bets
// rows, the winning number on the rows of winners and never elsewhere.
func (c *course) agencyFile(t *testing.T, id, bets int, winners []int) {
	t.Helper()
	var b strings.Builder
	for i := range bets {
		number := i
		if i >= 7574 {
			number = i + 1
		}
		for _, w := range winners {
			if w == i {
				number = 7574
			}
		}
		fmt.Fprintf(&b, "Name,Surname,%08d,2000-01-01,%d\n", i, number)
	}
	write(t, filepath.Join(c.dir, ".data", fmt.Sprintf("agency-%d.csv", id)), b.String())
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// seen is what the course's tests gather from the logs.
type seen struct {
	received, batches int
	drawn             bool
	winners           map[string]int
}

// follow is a course test's body: up -d, then logs -f read line by line,
// as their line_parser reads it, until n exit lines, within their timeout
// of 300 s. It fails on what they fail on.
func (c *course) follow(t *testing.T, n int) seen {
	t.Helper()
	c.must(t, "docker", "compose", "-f", courseFile, "up", "-d")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Second)
	defer cancel()
	logs := exec.CommandContext(ctx, "docker", "compose", "-f", courseFile, "logs", "-f")
	logs.Dir, logs.Env = c.dir, c.env
	out, err := logs.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs.Stderr = logs.Stdout
	if err := logs.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		logs.Wait()
	}()
	got := seen{winners: map[string]int{}}
	var read []string
	exits := 0
	sc := bufio.NewScanner(out)
	for exits < n && sc.Scan() {
		line := sc.Text()
		read = append(read, line)
		msg, err := parseCourseLine(line)
		if err != nil {
			t.Fatalf("the course's line parser raises on %q: %v", line, err)
		}
		if msg == nil {
			continue
		}
		if msg.result == "fail" {
			t.Fatalf("a failed operation: %q (no operation should fail)\n%s", line, strings.Join(read, "\n"))
		}
		switch msg.action {
		case "apuesta_recibida":
			if got.drawn {
				t.Fatalf("apuesta_recibida after the sorteo line: %q\n%s", line, strings.Join(read, "\n"))
			}
			k, _ := strconv.Atoi(msg.details["cantidad"])
			got.received += k
			got.batches++
		case "sorteo":
			got.drawn = msg.result == "success"
		case "consulta_ganadores":
			if msg.result == "success" {
				if !got.drawn {
					t.Fatalf("consulta_ganadores before the sorteo line: %q\n%s", line, strings.Join(read, "\n"))
				}
				got.winners[msg.source], _ = strconv.Atoi(msg.details["cant_ganadores"])
			}
		case "exit":
			exits++
		}
	}
	if exits < n {
		t.Fatalf("docker compose logs -f ended or timed out after %d of %d exit lines (%v):\n%s", exits, n, ctx.Err(), strings.Join(read, "\n"))
	}
	return got
}

// courseLine is a line as the course's line_parser returns it.
type courseLine struct {
	source, action, result string
	details                map[string]string
}

// parseCourseLine is the course's line_parser.parse, with the one change
// docs/course.md names: the erase-line escape Compose 2.26 writes
// before each line is dropped first. A line with neither an action nor an
// exit is nil; an unknown result or a detail without a colon is an error,
// as the parser raises there.
func parseCourseLine(line string) (*courseLine, error) {
	line = strings.TrimRight(strings.TrimPrefix(line, "\x1b[2K"), " \t\r\n")
	if strings.Contains(line, "action:") {
		parts := strings.Split(line, "|")
		if len(parts) < 3 {
			return nil, fmt.Errorf("fewer than three fields")
		}
		last := func(s string) string { return strings.TrimSpace(s[strings.LastIndex(s, ":")+1:]) }
		msg := &courseLine{source: strings.TrimSpace(parts[0]), action: last(parts[1]), result: last(parts[2]), details: map[string]string{}}
		switch msg.result {
		case "success", "in_progress", "fail":
		default:
			return nil, fmt.Errorf("unknown result type in %q", msg.result)
		}
		for _, d := range parts[3:] {
			i := strings.LastIndex(d, ":")
			if i < 0 {
				return nil, fmt.Errorf("missing colon (:) in detail %q", d)
			}
			name := strings.TrimSpace(d[:i])
			if name == "source" || name == "action" || name == "result" {
				return nil, fmt.Errorf("invalid detail name in detail %q", d)
			}
			msg.details[name] = strings.TrimSpace(d[i+1:])
		}
		return msg, nil
	}
	if source, code, ok := strings.Cut(line, " exited with code "); ok {
		result := "fail"
		if n, err := strconv.Atoi(code); err == nil && n == 0 {
			result = "success"
		}
		return &courseLine{source: source, action: "exit", result: result}, nil
	}
	return nil, nil
}
