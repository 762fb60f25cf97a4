// Command bench measures the pipeline end to end against the local broker
// (`make bench`): it generates a workload, runs the real lottery and
// agencies as processes on a fresh vhost, and in the same run measures a raw
// baseline on the same broker: one confirming publisher and one acking
// consumer moving the same bytes in messages of the same size through the
// same kind of queue, with the same confirm window and prefetch, and no
// parsing or storage. Then it runs both again on a private three-node
// cluster of the machine's RabbitMQ, for the cost of replication, and the
// pipeline on a private node over plain AMQP and over TLS, for the cost of
// TLS, and once with a thousand agencies at once, for what each costs the
// broker. It prints a table, writes it to bench-results/, and
// draws bets stored over time as an SVG chart.
package main

import (
	"cmp"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loteria-nacional/pipeline/envconf"
	"github.com/loteria-nacional/pipeline/internal/rabbitapi"
	"github.com/loteria-nacional/pipeline/logfmt"
)

type options struct {
	agencies int
	bets     int
	runs     int
	batch    int
	window   int
	prefetch int
	group    int
	replicas int // lottery replicas to measure beside one lottery; under 2: none
	many     int // agencies of the run of many at once; 0: none
	bin      string
	out      string
	amqpURL  string
	api      string
}

func main() {
	var o options
	flag.IntVar(&o.agencies, "agencies", 5, "agencies")
	flag.IntVar(&o.bets, "bets", 1_000_000, "bets per agency")
	flag.IntVar(&o.runs, "runs", 3, "runs of the pipeline and of the baseline; the report takes the median of each")
	flag.IntVar(&o.batch, "batch", 0, "CLI_BATCH_MAXAMOUNT (0: the agency's default)")
	flag.IntVar(&o.window, "window", 0, "CLI_CONFIRM_WINDOW (0: the agency's default)")
	flag.IntVar(&o.prefetch, "prefetch", 0, "LOTTERY_PREFETCH (0: the lottery's default)")
	flag.IntVar(&o.group, "group", 0, "LOTTERY_GROUP (0: the lottery's default)")
	flag.IntVar(&o.replicas, "replicas", 0, "also run the pipeline with this many lottery replicas (a, b, …) beside one lottery; under 2: not")
	flag.IntVar(&o.many, "many", 1000, "also run this many agencies of 100 bets at once on a private node, for what each costs the broker; 0: not")
	flag.StringVar(&o.bin, "bin", "bin", "where the built agency, lottery and gendata are")
	flag.StringVar(&o.out, "out", "bench-results", "where to write the report, the chart and the workload")
	flag.StringVar(&o.amqpURL, "amqp", envOr("AMQP_URL", "amqp://guest:guest@localhost:5672/"), "broker URL (its vhost is replaced)")
	flag.StringVar(&o.api, "api", envOr("RABBITMQ_API", "http://localhost:15672"), "management API")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprint(os.Stderr, logfmt.Line("bench", logfmt.Fail, map[string]any{"error": err}))
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func run(o options) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	defaults, err := programDefaults(o.bin)
	if err != nil {
		return err
	}
	settle := func(v *int, name string) {
		if *v == 0 {
			*v, _ = strconv.Atoi(defaults[name])
		}
	}
	settle(&o.batch, "CLI_BATCH_MAXAMOUNT")
	settle(&o.window, "CLI_CONFIRM_WINDOW")
	settle(&o.prefetch, "LOTTERY_PREFETCH")
	settle(&o.group, "LOTTERY_GROUP")

	api, err := rabbitapi.For(o.api, o.amqpURL)
	if err != nil {
		return err
	}
	b := &vhosts{api: api, amqpURL: o.amqpURL}
	if o.replicas > envconf.MaxReplicas {
		return fmt.Errorf("-replicas %d: at most %d", o.replicas, envconf.MaxReplicas)
	}
	withReplicas := o
	o.replicas = 0 // everything else runs one lottery
	files, err := generate(o)
	if err != nil {
		return err
	}
	w, err := measure(o, files, "pipeline")
	if err != nil {
		return err
	}
	var r results
	for range max(o.runs, 1) {
		p, err := runPipeline(o, b, w)
		if err != nil {
			return err
		}
		base, err := runBaseline(o, b, p)
		if err != nil {
			return err
		}
		c, err := runCeiling(o, b, w)
		if err != nil {
			return err
		}
		r.pipeline, r.baseline, r.ceiling = append(r.pipeline, p), append(r.baseline, base), append(r.ceiling, c)
	}
	if r.worst, err = runWorst(o, b); err != nil {
		return err
	}
	if r.undecodable, err = runUndecodable(o, b); err != nil {
		return err
	}
	cfiles, err := generateCourseShape(o)
	if err != nil {
		return err
	}
	co := o
	co.agencies = len(cfiles)
	cw, err := measure(co, cfiles, "course-shaped data set")
	if err != nil {
		return err
	}
	if r.course, err = runPipeline(co, b, cw); err != nil {
		return err
	}
	if r.cluster, err = runCluster(o, w); err != nil {
		return err
	}
	if r.tls, err = runTLS(o, w); err != nil {
		return err
	}
	if r.many, err = runMany(o); err != nil {
		return err
	}
	for range max(o.runs, 1) {
		if withReplicas.replicas < 2 {
			break
		}
		p, err := runPipeline(withReplicas, b, w)
		if err != nil {
			return fmt.Errorf("with %d replicas: %w", withReplicas.replicas, err)
		}
		r.replicas = append(r.replicas, p)
	}
	report := renderReport(withReplicas, r)
	fmt.Print(report)
	if err := os.WriteFile(filepath.Join(o.out, "bench.md"), []byte(report), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, "stored.svg"), chart(r.medianPipeline()), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nreport: %s, chart: %s\n", filepath.Join(o.out, "bench.md"), filepath.Join(o.out, "stored.svg"))
	return nil
}

// programDefaults reads the defaults of every setting from the programs' -h.
func programDefaults(bin string) (map[string]string, error) {
	m := map[string]string{}
	for _, prog := range []string{"agency", "lottery"} {
		out, err := exec.Command(filepath.Join(bin, prog), "-h").Output()
		if err != nil {
			return nil, fmt.Errorf("%s -h: %w (run make build)", prog, err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 || !strings.Contains(line, `(default "`) {
				continue
			}
			def := line[strings.LastIndex(line, `(default "`)+len(`(default "`):]
			m[f[0]] = strings.TrimSuffix(def, `")`)
		}
	}
	return m, nil
}

func since(t0, t time.Time) float64 { return t.Sub(t0).Seconds() }

// median is the run in the middle by the given measure (the slower of the
// two middle ones for an even count).
func median[T any](runs []T, by func(T) float64) T {
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b T) int { return cmp.Compare(by(a), by(b)) })
	return sorted[len(sorted)/2]
}
