package agent

import (
	"fmt"
	"io"
	"time"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/envconf"
)

// Settings lists every setting with its default, for loading and for -h.
func Settings() []envconf.Setting {
	return append(envconf.Shared(), []envconf.Setting{
		{Name: "CLI_ID", Default: "", Help: "this agency's number, 1…N (required)"},
		{Name: "CLI_DATA_FILE", Default: defaultDataFile, Help: "the agency's CSV of bets"},
		{Name: "CLI_BATCH_MAXAMOUNT", Default: "1000", Help: "bets per batch, 1 to 10000 (the course's batch.maxAmount)", YAML: "batch.maxAmount"},
		{Name: "CLI_CONFIRM_WINDOW", Default: "64", Help: "batches published and not yet confirmed at once"},
		{Name: "CLI_WINNERS_TIMEOUT_SECONDS", Default: "0", Help: "give up waiting for the winners after this long; 0 waits until stopped"},
	}...)
}

const defaultDataFile = ".data/agency-{CLI_ID}.csv"

// Config is the agency's settings, read by Load.
type Config struct {
	broker         broker.Config
	logLevel       string
	id             int
	dataFile       string
	batchSize      int
	window         int
	winnersTimeout time.Duration
	topology       broker.Mode
	replicas       []string // the lottery's replicas; none: one lottery
}

// LogLevel is the LOG_LEVEL setting.
func (c Config) LogLevel() string { return c.logLevel }

// Load reads the settings from the environment (getenv) and a config file,
// as envconf does; -h among args prints them to stdout, and Load returns
// envconf.ErrHelp. An error names the setting that is wrong.
func Load(args []string, getenv func(string) string, stdout io.Writer) (Config, error) {
	v, err := envconf.Load("agency", Settings(), args, getenv, stdout)
	if err != nil {
		return Config{}, err
	}
	if v.String("CLI_ID") == "" {
		return Config{}, fmt.Errorf("setting CLI_ID is required: the agency's number, 1…N")
	}
	c := Config{
		logLevel:       v.String("LOG_LEVEL"),
		id:             v.Int("CLI_ID", 1),
		dataFile:       v.String("CLI_DATA_FILE"),
		batchSize:      v.IntIn("CLI_BATCH_MAXAMOUNT", 1, broker.MaxBatchBets),
		window:         v.Int("CLI_CONFIRM_WINDOW", 1),
		winnersTimeout: time.Duration(v.Int("CLI_WINNERS_TIMEOUT_SECONDS", 0)) * time.Second,
	}
	if c.dataFile == defaultDataFile {
		c.dataFile = fmt.Sprintf(".data/agency-%d.csv", c.id)
	}
	c.broker, err = envconf.Broker(v, fmt.Sprintf("agency-%d", c.id))
	if err == nil {
		if c.topology, err = broker.ParseMode(v.String("TOPOLOGY_MODE")); err != nil {
			err = fmt.Errorf("setting TOPOLOGY_MODE: %w", err)
		}
	}
	if err == nil {
		c.replicas, err = envconf.ParseReplicas(v.String("LOTTERY_REPLICAS"))
	}
	if err == nil {
		err = v.Err()
	}
	return c, err
}
