package main

import (
	"fmt"
	"io"
	"time"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/envconf"
)

// settings lists every setting with its default, for loading and for -h.
func settings() []envconf.Setting {
	return append(envconf.Shared(), []envconf.Setting{
		{Name: "CLI_ID", Default: "", Help: "this agency's number, 1…N (required)"},
		{Name: "CLI_DATA_FILE", Default: defaultDataFile, Help: "the agency's CSV of bets"},
		{Name: "CLI_BATCH_MAXAMOUNT", Default: "1000", Help: "bets per batch, 1 to 10000 (the course's batch.maxAmount)", YAML: "batch.maxAmount"},
		{Name: "CLI_CONFIRM_WINDOW", Default: "64", Help: "batches published and not yet confirmed at once"},
		{Name: "CLI_WINNERS_TIMEOUT_SECONDS", Default: "0", Help: "give up waiting for the winners after this long; 0 waits until stopped"},
	}...)
}

const defaultDataFile = ".data/agency-{CLI_ID}.csv"

type config struct {
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

func loadConfig(args []string, getenv func(string) string, stdout io.Writer) (config, error) {
	v, err := envconf.Load("agency", settings(), args, getenv, stdout)
	if err != nil {
		return config{}, err
	}
	if v.String("CLI_ID") == "" {
		return config{}, fmt.Errorf("setting CLI_ID is required: the agency's number, 1…N")
	}
	c := config{
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
		c.topology, err = broker.ParseMode(v.String("TOPOLOGY_MODE"))
	}
	if err == nil {
		c.replicas, err = broker.ParseReplicas(v.String("LOTTERY_REPLICAS"))
	}
	if err == nil {
		err = v.Err()
	}
	return c, err
}
