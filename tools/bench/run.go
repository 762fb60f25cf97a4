package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/envconf"
	"github.com/loteria-nacional/pipeline/internal/launch"
	"github.com/loteria-nacional/pipeline/internal/rabbitapi"
	"github.com/loteria-nacional/pipeline/internal/rabbitnode"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// vhosts makes and removes the bench's vhosts through the management API.
type vhosts struct {
	api     *rabbitapi.Client
	amqpURL string
	tls     *tlsAccess // the programs run over TLS, logging in by certificate; nil: plain AMQP
}

// fresh makes a new vhost and returns its AMQP URL and a function that
// removes it. Over TLS, the URL is the TLS port's, with no user, and every
// certificate's user may use the vhost.
func (v *vhosts) fresh(name string) (string, func(), error) {
	amqpURL, err := v.api.NewVhost(v.amqpURL, name)
	if err != nil {
		return "", nil, fmt.Errorf("%w (run make broker)", err)
	}
	drop := func() { v.api.DeleteVhost(name) }
	if v.tls == nil {
		return amqpURL, drop, nil
	}
	for _, u := range v.tls.users {
		perm := "/api/permissions/" + url.PathEscape(name) + "/" + url.PathEscape(u)
		if _, err := v.api.Do(http.MethodPut, perm, `{"configure":".*","write":".*","read":".*"}`); err != nil {
			drop()
			return "", nil, err
		}
	}
	return fmt.Sprintf("amqps://127.0.0.1:%d/%s", v.tls.port, url.PathEscape(name)), drop, nil
}

// dial makes a fresh vhost named after name and connects to it, for a run
// that drives the broker itself; done closes the connection and removes the
// vhost. The run must end within ctx's half hour.
func (v *vhosts) dial(name string) (ctx context.Context, conn *amqp.Connection, amqpURL string, done func(), err error) {
	amqpURL, drop, err := v.fresh(fmt.Sprintf("%s-%d", name, time.Now().UnixNano()))
	if err != nil {
		return nil, nil, "", nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	c, err := broker.Dial(ctx, broker.Config{URL: amqpURL, Name: name, DialAttempts: 10}, logfmt.Discard())
	if err != nil {
		cancel()
		drop()
		return nil, nil, "", nil, err
	}
	return ctx, c.Connection, amqpURL, func() { c.Close(); cancel(); drop() }, nil
}

// alone gives run a fresh vhost with the topology of one agency, a
// connection to it, and an empty data directory for a lottery that run
// drives by itself; it removes them when run returns.
func (v *vhosts) alone(o options, name string, run func(ctx context.Context, conn *amqp.Connection, amqpURL, dataDir string) error) error {
	ctx, conn, amqpURL, done, err := v.dial(name)
	if err != nil {
		return err
	}
	defer done()
	if err := broker.ForFirst(1).Apply(conn, broker.Declare); err != nil {
		return err
	}
	dataDir := filepath.Join(o.out, "lottery-"+name)
	if err := os.RemoveAll(dataDir); err != nil {
		return err
	}
	defer os.RemoveAll(dataDir)
	return run(ctx, conn, amqpURL, dataDir)
}

// privateNode starts a node of this machine's RabbitMQ for a row of the
// bench, with the protocol's message limit and conf, in a folder of its own
// that stop removes with the node, and returns extra free ports besides its
// own. It returns a nil node, saying so, when RabbitMQ is not installed here.
func privateNode(ctx context.Context, action, name string, extra int, conf func(dir string, extra []int) string, plugins ...string) (*rabbitnode.Node, []int, func(), error) {
	if _, ok := rabbitnode.Installed(); !ok {
		fmt.Print(logfmt.Line(action, logfmt.InProgress, map[string]any{"omitido": "rabbitmq-server is not installed here"}))
		return nil, nil, nil, nil
	}
	dir, err := os.MkdirTemp("", name+"-")
	if err != nil {
		return nil, nil, nil, err
	}
	ports, err := rabbitnode.FreePorts(3 + extra)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	n, err := rabbitnode.New(rabbitnode.Options{
		Name:      fmt.Sprintf("lottery-%s-%d@localhost", name, os.Getpid()),
		Dir:       filepath.Join(dir, "node"),
		AMQPPort:  ports[0],
		DistPort:  ports[1],
		APIPort:   ports[2],
		ExtraConf: fmt.Sprintf("max_message_size = %d\n", broker.MaxMessageBytes) + conf(dir, ports[3:]),
		Plugins:   plugins,
	})
	if err == nil {
		fmt.Print(logfmt.Line(action, logfmt.InProgress, map[string]any{"nodo": n.Name, "limite_archivos": n.Files}))
		err = n.Start(ctx, false)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	return n, ports[3:], func() { n.Close(ctx); os.RemoveAll(dir) }, nil
}

func generate(o options) ([]string, error) {
	fmt.Print(logfmt.Line("bench_datos", logfmt.InProgress, map[string]any{"agencias": o.agencies, "apuestas_por_agencia": o.bets}))
	return gendata(o, "data", o.agencies, strconv.Itoa(o.bets), "1,2,3,4,5")
}

// courseShape is the course's data set's shape: 78,697 bets in five
// agencies, with their winners.
const courseBets, courseWinners = "26936,25518,16014,9238,991", "2,3,3,2,0"

// generateCourseShape writes a data set of the course's shape, so that
// anyone can time it, with or without the course's own file.
func generateCourseShape(o options) ([]string, error) {
	return gendata(o, "course", 5, courseBets, courseWinners)
}

// gendata writes agencies' files into a folder of o.out and returns them.
func gendata(o options, dir string, agencies int, bets, winners string) ([]string, error) {
	dir = filepath.Join(o.out, dir)
	out, err := exec.Command(filepath.Join(o.bin, "gendata"), "-agencies", strconv.Itoa(agencies),
		"-bets", bets, "-winners", winners, "-out", dir, "-replace").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("gendata: %v: %s", err, out)
	}
	files := make([]string, agencies)
	for i := range files {
		files[i] = filepath.Join(dir, fmt.Sprintf("agency-%d.csv", i+1))
	}
	return files, nil
}

// point is the lottery's running count of stored bets.
type point struct {
	at     float64 // seconds since the first agency started
	stored int
}

// workload is the files a run sends and what they hold, counted once for
// every run of them.
type workload struct {
	name    string
	files   []string
	bets    int
	batches int
	bytes   int64 // CSV bytes of all batch bodies
}

// agencies is how many agencies the workload has: a file each.
func (w workload) agencies() int { return len(w.files) }

// measure counts the bets, batches and bytes of files.
func measure(o options, files []string, name string) (workload, error) {
	w := workload{name: name, files: files}
	for _, f := range files {
		info, err := os.Stat(f)
		if err != nil {
			return w, err
		}
		w.bytes += info.Size()
		n, err := countLines(f)
		if err != nil {
			return w, err
		}
		w.bets += n
		w.batches += (n + o.batch - 1) / o.batch
	}
	return w, nil
}

type pipelineResult struct {
	workload
	start        time.Time
	draw         float64   // seconds to the sorteo line
	winners      []float64 // seconds to each agency's consulta_ganadores
	sent         float64   // seconds to the last agency's envio_finalizado: every batch confirmed
	lotteryRSS   int64     // peak, KiB
	agencyRSS    int64     // peak of agency 1, KiB
	curve        []point
	totalSeconds float64
	brokerCPU    float64 // RabbitMQ's CPU seconds during the run, when it is local
	agencyCPU    float64 // all agencies
	lotteryCPU   float64
}

func (p *pipelineResult) betsPerSecond() float64 { return float64(p.bets) / p.totalSeconds }

// lastStored is the seconds to the lottery's last apuesta_recibida.
func (p *pipelineResult) lastStored() float64 {
	if len(p.curve) == 0 {
		return 0
	}
	return p.curve[len(p.curve)-1].at
}

// runPipeline runs the lottery, then every agency at once, and times them
// from the lines they print.
func runPipeline(o options, v *vhosts, w workload) (*pipelineResult, error) {
	vhost := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	amqpURL, drop, err := v.fresh(vhost)
	if err != nil {
		return nil, err
	}
	defer drop()
	files := w.files
	res := &pipelineResult{workload: w, winners: make([]float64, len(files))}
	fmt.Print(logfmt.Line("bench_pipeline", logfmt.InProgress, map[string]any{"corrida": w.name, "apuestas": res.bets}))

	l := &launcher{bin: o.bin, amqpURL: amqpURL, tls: v.tls}
	replicas := envconf.ReplicaNames(o.replicas)
	stored := make([]int, max(len(replicas), 1))
	var lotteries []*launch.Process
	defer func() {
		for _, lot := range lotteries {
			lot.Cmd.Process.Kill()
			<-lot.Done
		}
	}()
	for i := range stored {
		env := []string{"LOTTERY_AGENCIES=" + strconv.Itoa(len(files)),
			"LOTTERY_PREFETCH=" + strconv.Itoa(o.prefetch), "LOTTERY_GROUP=" + strconv.Itoa(o.group)}
		dataDir := filepath.Join(o.out, "lottery")
		if len(replicas) > 0 {
			dataDir += "-" + replicas[i]
			env = append(env, "LOTTERY_REPLICAS="+strings.Join(replicas, ","), "LOTTERY_REPLICA="+replicas[i])
		}
		if err := os.RemoveAll(dataDir); err != nil {
			return nil, err
		}
		ready := make(chan struct{})
		var readyOnce sync.Once
		env = append(env, l.tls.env("lottery")...)
		lot, err := l.start("lottery", "lottery "+strconv.Itoa(i+1), res.onLottery(i, stored, func() { readyOnce.Do(func() { close(ready) }) }), append(env, "LOTTERY_DATA_DIR="+dataDir)...)
		if err != nil {
			return nil, err
		}
		lotteries = append(lotteries, lot)
		select {
		case <-ready:
		case <-lot.Done:
			return nil, fmt.Errorf("the lottery exited before it was ready")
		case <-time.After(time.Minute):
			return nil, fmt.Errorf("the lottery was not ready within a minute")
		}
	}

	beam := brokerPIDs(amqpURL)
	cpu0 := cpuSeconds(beam)
	res.start = time.Now()
	agencies, err := l.startAgencies(o, files, func(i int, e logfmt.Event, at time.Time) error {
		switch {
		case e.Is(logfmt.EnvioFinalizado, logfmt.Success):
			res.sent = max(res.sent, since(res.start, at))
		case e.Is(logfmt.ConsultaGanadores, logfmt.Success):
			res.winners[i] = since(res.start, at)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, a := range agencies {
		<-a.Done
		if !a.Cmd.ProcessState.Success() {
			return nil, fmt.Errorf("agency %d: %v", i+1, a.Cmd.ProcessState)
		}
	}
	if err := l.failed(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	for _, w := range res.winners {
		res.totalSeconds = max(res.totalSeconds, w)
	}
	l.mu.Unlock()
	res.brokerCPU = cpuSeconds(beam) - cpu0
	for _, a := range agencies {
		res.agencyCPU += cmdCPU(a.Cmd)
	}
	res.agencyRSS = maxRSS(agencies[0].Cmd)
	for i, lot := range lotteries {
		lot.Cmd.Process.Signal(syscall.SIGTERM)
		<-lot.Done
		res.lotteryRSS = max(res.lotteryRSS, maxRSS(lot.Cmd))
		res.lotteryCPU += cmdCPU(lot.Cmd)
		if stored[i] != res.bets {
			return nil, fmt.Errorf("lottery %d stored %d bets; %d were sent", i+1, stored[i], res.bets)
		}
	}
	return res, nil
}

// launcher starts the bench's programs against one vhost and hands every
// event they log, read through logfmt.Parse with the time it was read, to a
// callback. Callbacks run one at a time, under mu, which also guards
// whatever they write. A line that does not parse, or a callback's error
// (a field it reads is missing), is kept: failed returns the first, and
// the run that started the programs fails with it. Fail lines are printed
// until stopping is set.
type launcher struct {
	bin      string
	amqpURL  string
	tls      *tlsAccess // nil: plain AMQP
	mu       sync.Mutex
	err      error
	stopping bool
}

// onEvent handles one event a program logged, under the launcher's mutex.
type onEvent func(e logfmt.Event, at time.Time) error

// start runs prog with the broker's URL and env added to the bench's own
// environment, handing each event it logs to on, under l.mu; who names the
// process in what the bench prints.
func (l *launcher) start(prog, who string, on onEvent, env ...string) (*launch.Process, error) {
	cmd := exec.Command(filepath.Join(l.bin, prog))
	cmd.Env = append(os.Environ(), append([]string{"AMQP_URL=" + l.amqpURL}, env...)...)
	cmd.Stderr = os.Stderr
	return launch.Start(cmd, func(line string, at time.Time) {
		l.mu.Lock()
		defer l.mu.Unlock()
		e, err := logfmt.Parse(line)
		if err == nil {
			if e.Result == logfmt.Fail && !l.stopping {
				fmt.Printf("%s: %s\n", who, line)
			}
			err = on(e, at)
		}
		if err != nil && l.err == nil {
			l.err = fmt.Errorf("%s: %w", who, err)
		}
	})
}

// failed returns the first line the bench could not read, if any.
func (l *launcher) failed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// startAgencies starts an agency for each file, all at once, with the
// run's batch size and confirm window; on gets agency i+1's events.
// When one fails to start, those already started are killed.
func (l *launcher) startAgencies(o options, files []string, on func(i int, e logfmt.Event, at time.Time) error) ([]*launch.Process, error) {
	var agencies []*launch.Process
	for i, f := range files {
		env := append([]string{"CLI_ID=" + strconv.Itoa(i+1), "CLI_DATA_FILE=" + f,
			"CLI_BATCH_MAXAMOUNT=" + strconv.Itoa(o.batch), "CLI_CONFIRM_WINDOW=" + strconv.Itoa(o.window),
			"LOTTERY_REPLICAS=" + strings.Join(envconf.ReplicaNames(o.replicas), ",")}, l.tls.env("agency-"+strconv.Itoa(i+1))...)
		a, err := l.start("agency", "agency "+strconv.Itoa(i+1), func(e logfmt.Event, at time.Time) error { return on(i, e, at) }, env...)
		if err != nil {
			for _, a := range agencies {
				a.Cmd.Process.Kill()
				<-a.Done
			}
			return nil, err
		}
		agencies = append(agencies, a)
	}
	return agencies, nil
}

// onLottery counts what lottery i stores into stored[i], follows the first
// lottery's curve and the draw's time, and calls ready on its first
// lottery_iniciado.
func (res *pipelineResult) onLottery(i int, stored []int, ready func()) onEvent {
	return func(e logfmt.Event, at time.Time) error {
		switch {
		case e.Action == logfmt.LotteryIniciado:
			ready()
		case e.Is(logfmt.ApuestaRecibida, logfmt.Success):
			n, err := e.Int("cantidad")
			if err != nil {
				return err
			}
			stored[i] += n
			if i == 0 { // the chart follows the first lottery
				res.curve = append(res.curve, point{since(res.start, at), stored[i]})
			}
		case e.Action == logfmt.Sorteo:
			res.draw = max(res.draw, since(res.start, at))
		}
		return nil
	}
}

func cmdCPU(cmd *exec.Cmd) float64 {
	return (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
}

func maxRSS(cmd *exec.Cmd) int64 {
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss // KiB on Linux
	}
	return 0
}

func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	n := 0
	last := byte('\n')
	for {
		m, err := f.Read(buf)
		for _, c := range buf[:m] {
			if c == '\n' {
				n++
			}
		}
		if m > 0 {
			last = buf[m-1]
		}
		if err == io.EOF {
			if last != '\n' {
				n++ // a last row without a line break
			}
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}
