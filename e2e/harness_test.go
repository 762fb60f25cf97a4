package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"go.uber.org/goleak"

	"github.com/loteria-nacional/pipeline/bet"
	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/await"
	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/internal/launch"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// bin holds the programs under test, built once by TestMain with -race and
// the failpoints compiled in (unarmed unless a test sets FAILPOINTS).
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lottery-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = dir
	build := exec.Command("go", "build", "-race", "-tags", "failpoints", "-o", dir+"/", "../agency", "../lottery", "../tools/gendata")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build programs:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if err := goleak.Find(); code == 0 && err != nil {
		fmt.Fprintln(os.Stderr, "goroutine leak:", err)
		code = 1
	}
	os.Exit(code)
}

// line is one log line, in the order the harness read it from any process,
// with what logfmt.Parse made of it.
type line struct {
	proc  string
	text  string
	at    time.Time // when the harness read it
	event logfmt.Event
	err   error // the line is not in the log format
}

// world is one run of the system: a vhost, a data directory, processes.
type world struct {
	t    *testing.T
	url  string
	dir  string
	mu   sync.Mutex
	logs []line
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return &world{t: t, url: brokertest.Vhost(t), dir: t.TempDir()}
}

// lotteryDir is where the world's lottery keeps bets.csv and its journal.
func (w *world) lotteryDir() string { return filepath.Join(w.dir, "lottery") }

// startLottery starts the lottery for agencies 1…n on the world's data
// directory, with env added, and waits until it takes messages.
func (w *world) startLottery(agencies int, env ...string) *proc {
	w.t.Helper()
	p := w.start("lottery", "lottery", append([]string{"LOTTERY_AGENCIES=" + strconv.Itoa(agencies), "LOTTERY_DATA_DIR=" + w.lotteryDir()}, env...)...)
	w.waitFor("lottery", 30*time.Second, logfmt.Logged(logfmt.LotteryIniciado))
	return p
}

// replicaDir is where lottery replica r keeps bets.csv and its journal.
func (w *world) replicaDir(r string) string { return filepath.Join(w.dir, "lottery-"+r) }

// startReplica starts lottery replica r of replicas (their names,
// comma-separated) for agencies 1…n, named lottery-r, on its own data
// directory, with env added, and waits until it takes messages.
func (w *world) startReplica(r, replicas string, agencies int, env ...string) *proc {
	w.t.Helper()
	name := "lottery-" + r
	p := w.start(name, "lottery", append([]string{"LOTTERY_AGENCIES=" + strconv.Itoa(agencies), "LOTTERY_DATA_DIR=" + w.replicaDir(r),
		"LOTTERY_REPLICAS=" + replicas, "LOTTERY_REPLICA=" + r}, env...)...)
	w.waitFor(name, 30*time.Second, logfmt.Logged(logfmt.LotteryIniciado))
	return p
}

// storedBets is what the world's bets.csv holds.
func (w *world) storedBets() []bet.Bet {
	w.t.Helper()
	var out []bet.Bet
	for b, err := range bet.LoadBets(filepath.Join(w.lotteryDir(), "bets.csv")) {
		if err != nil {
			w.t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// proc is a running program.
type proc struct {
	name string
	*launch.Process
}

// start runs one of the built programs with the world's broker URL and the
// given environment, collecting its output lines.
func (w *world) start(name, program string, env ...string) *proc {
	w.t.Helper()
	cmd := exec.Command(filepath.Join(bin, program))
	cmd.Dir = w.dir
	cmd.Env = append(os.Environ(), "AMQP_URL="+w.url)
	cmd.Env = append(cmd.Env, env...)
	lp, err := launch.Start(cmd, func(text string, at time.Time) {
		e, err := logfmt.Parse(text)
		w.mu.Lock()
		w.logs = append(w.logs, line{name, text, at, e, err})
		w.mu.Unlock()
	})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() {
		if !lp.Exited() {
			cmd.Process.Kill()
			<-lp.Done
		}
	})
	return &proc{name: name, Process: lp}
}

// wait waits for p to exit and returns its exit code; it fails the test if
// p does not exit within d.
func (p *proc) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.Done:
	case <-time.After(d):
		t.Fatalf("%s did not exit within %s", p.name, d)
	}
	if p.Err == nil {
		return 0
	}
	if ee, ok := p.Err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -int(ws.Signal())
		}
		return ee.ExitCode()
	}
	t.Fatalf("%s: %v", p.name, p.Err)
	return -1
}

// startAgencies starts agency i+1 on files[i], each named agency-N, with
// the given extra settings.
func (w *world) startAgencies(files []string, env ...string) []*proc {
	w.t.Helper()
	var agencies []*proc
	for i, f := range files {
		id := strconv.Itoa(i + 1)
		agencies = append(agencies, w.start("agency-"+id, "agency",
			append([]string{"CLI_ID=" + id, "CLI_DATA_FILE=" + f}, env...)...))
	}
	return agencies
}

// waitOK waits for every process to exit, failing the test on an exit
// status other than 0.
func waitOK(t *testing.T, procs []*proc) {
	t.Helper()
	for _, p := range procs {
		if code := p.wait(t, exitWithin); code != 0 {
			t.Errorf("%s exited %d; want 0", p.name, code)
		}
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (p *proc) stop(t *testing.T, d time.Duration) int {
	t.Helper()
	if p.Exited() {
		return p.wait(t, d)
	}
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("signal %s: %v", p.name, err)
	}
	return p.wait(t, d)
}

// stopOK sends p SIGTERM and wants it to exit 0 within stopWithin.
func stopOK(t *testing.T, p *proc) {
	t.Helper()
	if code := p.stop(t, stopWithin); code != 0 {
		t.Errorf("%s exited %d on SIGTERM; want 0", p.name, code)
	}
}

// linesOf returns the log lines of one process, or of all when name is "".
func (w *world) linesOf(name string) []line {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []line
	for _, l := range w.logs {
		if name == "" || l.proc == name {
			out = append(out, l)
		}
	}
	return out
}

// dump logs everything the processes printed, for a failed test.
func (w *world) dump() {
	if w.t.Failed() {
		for _, l := range w.linesOf("") {
			w.t.Log(l.proc + ": " + l.text)
		}
	}
}

// find returns the lines of proc (of all when name is "") that m matches,
// failing the test on a line not in the log format.
func (w *world) find(t *testing.T, name string, m logfmt.Match) []event {
	t.Helper()
	var out []event
	for _, l := range w.linesOf(name) {
		switch {
		case l.err != nil:
			t.Errorf("%s: %v", l.proc, l.err)
		case m.Matches(l.event):
			out = append(out, event{l.event, l.proc})
		}
	}
	return out
}

// events parses every line, failing the test on a line of the wrong shape.
func (w *world) events(t *testing.T) []event {
	t.Helper()
	return w.find(t, "", logfmt.Match{})
}

// waitFor waits until proc logs a line m matches; a line not in the log
// format ends the wait at once.
func (w *world) waitFor(name string, d time.Duration, m logfmt.Match) {
	w.t.Helper()
	await.For(w.t, d, func() error {
		lines := w.linesOf(name)
		for _, l := range lines {
			if l.err != nil {
				return await.Stop(fmt.Errorf("%s: %w", name, l.err))
			}
			if m.Matches(l.event) {
				return nil
			}
		}
		last := "nothing"
		if len(lines) > 0 {
			last = strconv.Quote(lines[len(lines)-1].text)
		}
		return fmt.Errorf("%s never logged a line with %s; its last line: %s", name, m, last)
	})
}

// when is the time the first line of proc that m matches was read, or the
// zero time if none does.
func (w *world) when(name string, m logfmt.Match) time.Time {
	for _, l := range w.linesOf(name) {
		if l.err == nil && m.Matches(l.event) {
			return l.at
		}
	}
	return time.Time{}
}

// event is a parsed log line and the process that wrote it.
type event struct {
	logfmt.Event
	proc string
}

func (e event) int(t *testing.T, key string) int {
	t.Helper()
	n, err := e.Int(key)
	if err != nil {
		t.Fatalf("%s: %v", e.proc, err)
	}
	return n
}

// readBets reads an agency's input file as the lottery should store it.
func readBets(t *testing.T, path string, agency int) []bet.Bet {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []bet.Bet
	r := bet.NewReader(f, agency)
	for {
		b, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		out = append(out, b)
	}
}

// gendata writes sample files for the given winners per agency, with
// bets bets each, and returns their paths.
func (w *world) gendata(bets int, winners ...int) []string {
	w.t.Helper()
	return w.gendataSeed(bets, 1, winners...)
}

// gendataSeed is gendata with a given random seed.
func (w *world) gendataSeed(bets int, seed uint64, winners ...int) []string {
	w.t.Helper()
	ws := make([]string, len(winners))
	for i, n := range winners {
		ws[i] = strconv.Itoa(n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(bin, "gendata"),
		"-agencies", strconv.Itoa(len(winners)), "-bets", strconv.Itoa(bets),
		"-winners", strings.Join(ws, ","), "-seed", strconv.FormatUint(seed, 10), "-replace",
		"-out", filepath.Join(w.dir, "input")).CombinedOutput()
	if err != nil {
		w.t.Fatalf("gendata: %v\n%s", err, out)
	}
	paths := make([]string, len(winners))
	for i := range paths {
		paths[i] = filepath.Join(w.dir, "input", fmt.Sprintf("agency-%d.csv", i+1))
	}
	return paths
}

// publish sends msgs to the bets exchange of the world's broker with routing
// key key, each confirmed, as something other than an agency would.
func (w *world) publish(key string, msgs ...amqp.Publishing) {
	w.t.Helper()
	w.publishTo(broker.BetsExchange, key, msgs...)
}

// publishTo sends msgs to exchange with routing key key, each confirmed.
func (w *world) publishTo(exchange, key string, msgs ...amqp.Publishing) {
	w.t.Helper()
	pub, err := broker.NewPublisher(brokertest.Dial(w.t, w.url), 1)
	if err != nil {
		w.t.Fatal(err)
	}
	defer pub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, m := range msgs {
		if err := pub.PublishConfirmed(ctx, exchange, key, m); err != nil {
			w.t.Fatal(err)
		}
	}
}
