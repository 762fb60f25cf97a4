package main

import (
	"archive/zip"
	"bufio"
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
	"github.com/loteria-nacional/pipeline/logfmt"
)

// vhosts makes and removes the bench's vhosts through the management API.
type vhosts struct {
	api     string
	amqpURL string
}

func (v *vhosts) request(method, path, body string) error {
	req, err := http.NewRequest(method, v.api+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	u, err := url.Parse(v.amqpURL)
	if err != nil {
		return err
	}
	pass, _ := u.User.Password()
	req.SetBasicAuth(u.User.Username(), pass)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("management API: %w (run make broker)", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("management API %s %s: %s %s", method, path, resp.Status, b)
	}
	return nil
}

// fresh makes a new vhost and returns its AMQP URL and a function that
// removes it.
func (v *vhosts) fresh(name string) (string, func(), error) {
	if err := v.request(http.MethodPut, "/api/vhosts/"+name, ""); err != nil {
		return "", nil, err
	}
	u, _ := url.Parse(v.amqpURL)
	perm := `{"configure":".*","write":".*","read":".*"}`
	if err := v.request(http.MethodPut, "/api/permissions/"+name+"/"+url.PathEscape(u.User.Username()), perm); err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() { v.request(http.MethodDelete, "/api/vhosts/"+name, "") }, nil
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
	conn, err = broker.Dial(ctx, broker.Config{URL: amqpURL, Name: name}, logfmt.Discard())
	if err != nil {
		cancel()
		drop()
		return nil, nil, "", nil, err
	}
	return ctx, conn, amqpURL, func() { conn.Close(); cancel(); drop() }, nil
}

func command(name string, args ...string) *exec.Cmd { return exec.Command(name, args...) }

func generate(o options) ([]string, error) {
	dir := filepath.Join(o.out, "data")
	fmt.Printf("action: bench_datos | result: in_progress | agencias: %d | apuestas_por_agencia: %d\n", o.agencies, o.bets)
	out, err := command(filepath.Join(o.bin, "gendata"), "-agencies", strconv.Itoa(o.agencies),
		"-bets", strconv.Itoa(o.bets), "-winners", "1,2,3,4,5", "-out", dir).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("gendata: %v: %s", err, out)
	}
	files := make([]string, o.agencies)
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

type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
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
	dataDir := filepath.Join(o.out, "lottery")
	if err := os.RemoveAll(dataDir); err != nil {
		return nil, err
	}
	files := w.files
	res := &pipelineResult{workload: w, winners: make([]float64, len(files))}
	fmt.Printf("action: bench_pipeline | result: in_progress | corrida: %s | apuestas: %d\n", w.name, res.bets)

	ready := make(chan struct{})
	var readyOnce sync.Once
	l := &launcher{bin: o.bin, amqpURL: amqpURL}
	stored := 0
	lot, err := l.start("lottery", func(line string, at time.Time) {
		switch {
		case strings.Contains(line, "action: lottery_iniciado"):
			readyOnce.Do(func() { close(ready) })
		case strings.HasPrefix(line, "action: apuesta_recibida | result: success"):
			stored += field(line, "cantidad")
			res.curve = append(res.curve, point{since(res.start, at), stored})
		case strings.HasPrefix(line, "action: sorteo |"):
			res.draw = since(res.start, at)
		case strings.Contains(line, "result: fail"):
			fmt.Println("lottery:", line)
		}
	}, "LOTTERY_AGENCIES="+strconv.Itoa(len(files)), "LOTTERY_DATA_DIR="+dataDir,
		"LOTTERY_PREFETCH="+strconv.Itoa(o.prefetch), "LOTTERY_GROUP="+strconv.Itoa(o.group))
	if err != nil {
		return nil, err
	}
	defer func() { lot.cmd.Process.Kill(); <-lot.done }()
	select {
	case <-ready:
	case <-lot.done:
		return nil, fmt.Errorf("the lottery exited before it was ready")
	case <-time.After(time.Minute):
		return nil, fmt.Errorf("the lottery was not ready within a minute")
	}

	beam := brokerPID(amqpURL)
	cpu0 := cpuSeconds(beam)
	res.start = time.Now()
	agencies, err := l.startAgencies(o, files, func(i int, line string, at time.Time) {
		switch {
		case strings.HasPrefix(line, "action: envio_finalizado | result: success"):
			res.sent = max(res.sent, since(res.start, at))
		case strings.HasPrefix(line, "action: consulta_ganadores | result: success"):
			res.winners[i] = since(res.start, at)
		case strings.Contains(line, "result: fail"):
			fmt.Printf("agency %d: %s\n", i+1, line)
		}
	})
	if err != nil {
		return nil, err
	}
	for i, a := range agencies {
		<-a.done
		if !a.cmd.ProcessState.Success() {
			return nil, fmt.Errorf("agency %d: %v", i+1, a.cmd.ProcessState)
		}
	}
	l.mu.Lock()
	for _, w := range res.winners {
		res.totalSeconds = max(res.totalSeconds, w)
	}
	l.mu.Unlock()
	res.brokerCPU = cpuSeconds(beam) - cpu0
	for _, a := range agencies {
		res.agencyCPU += cmdCPU(a.cmd)
	}
	res.agencyRSS = maxRSS(agencies[0].cmd)
	lot.cmd.Process.Signal(syscall.SIGTERM)
	<-lot.done
	res.lotteryRSS = maxRSS(lot.cmd)
	res.lotteryCPU = cmdCPU(lot.cmd)
	if stored != res.bets {
		return nil, fmt.Errorf("the lottery stored %d bets; %d were sent", stored, res.bets)
	}
	return res, nil
}

// launcher starts the bench's programs against one vhost and hands every
// line they print, with the time it was read, to a callback. Callbacks run
// one at a time, under mu, which also guards whatever they write.
type launcher struct {
	bin     string
	amqpURL string
	mu      sync.Mutex
}

// start runs prog with the broker's URL and env added to the bench's own
// environment. Its proc's done is closed once prog has exited and every
// line it printed has been handed on.
func (l *launcher) start(prog string, onLine func(string, time.Time), env ...string) (*proc, error) {
	cmd := command(filepath.Join(l.bin, prog))
	cmd.Env = append(os.Environ(), append([]string{"AMQP_URL=" + l.amqpURL}, env...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			l.mu.Lock()
			onLine(sc.Text(), time.Now())
			l.mu.Unlock()
		}
		cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// startAgencies starts an agency for each file, all at once, with the
// run's batch size and confirm window; onLine gets agency i+1's lines.
// When one fails to start, those already started are killed.
func (l *launcher) startAgencies(o options, files []string, onLine func(i int, line string, at time.Time)) ([]*proc, error) {
	var agencies []*proc
	for i, f := range files {
		a, err := l.start("agency", func(line string, at time.Time) { onLine(i, line, at) },
			"CLI_ID="+strconv.Itoa(i+1), "CLI_DATA_FILE="+f,
			"CLI_BATCH_MAXAMOUNT="+strconv.Itoa(o.batch), "CLI_CONFIRM_WINDOW="+strconv.Itoa(o.window))
		if err != nil {
			for _, a := range agencies {
				a.cmd.Process.Kill()
				<-a.done
			}
			return nil, err
		}
		agencies = append(agencies, a)
	}
	return agencies, nil
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

// field reads an integer value from a log line.
func field(line, key string) int {
	for _, part := range strings.Split(line, "|") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), ": ")
		if ok && k == key {
			n, _ := strconv.Atoi(v)
			return n
		}
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

func unzipDataset(zipPath, dir string) ([]string, error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	for i := 1; ; i++ {
		name := fmt.Sprintf("agency-%d.csv", i)
		var zf *zip.File
		for _, f := range zr.File {
			if filepath.Base(f.Name) == name {
				zf = f
			}
		}
		if zf == nil {
			return files, nil
		}
		rc, err := zf.Open()
		if err != nil {
			return nil, err
		}
		path := filepath.Join(dir, name)
		out, err := os.Create(path)
		if err == nil {
			_, err = io.Copy(out, rc)
			out.Close()
		}
		rc.Close()
		if err != nil {
			return nil, err
		}
		files = append(files, path)
	}
}
