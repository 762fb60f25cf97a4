package service

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"time"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/envconf"
)

// Settings lists every setting with its default, for loading and for -h.
func Settings() []envconf.Setting {
	return append(envconf.Shared(), []envconf.Setting{
		{Name: "LOTTERY_AGENCIES", Default: "5", Help: "agencies 1…N take part in the draw"},
		{Name: "LOTTERY_REPLICA", Default: "", Help: "with LOTTERY_REPLICAS, which replica this is"},
		{Name: "LOTTERY_DATA_DIR", Default: "data", Help: "where bets.csv and the journal live (each replica its own)"},
		{Name: "LOTTERY_PREFETCH", Default: "32", Help: "unacked bet batches the broker may hand the lottery at once"},
		{Name: "LOTTERY_GROUP", Default: "32", Help: "batches stored and made durable together (group commit)"},
		{Name: "LOTTERY_STATUS_SECONDS", Default: "5", Help: "how often to log what the draw still waits for"},
		{Name: "LOTTERY_DRAIN_SECONDS", Default: "10", Help: "how long in-flight work may take after SIGTERM"},
		{Name: "LOTTERY_IDENTITY", Default: "header", Help: "how to know the sender: header (agency header) or user (validated AMQP user-id)"},
		{Name: "LOTTERY_USER_PATTERN", Default: "agency-{id}", Help: "with LOTTERY_IDENTITY=user, the user name of agency {id}"},
		{Name: "LOTTERY_ON_ERROR", Default: "exit", Help: "after an error a restart cannot mend: exit 1, or wait, for a restart policy that would start it into the same error for ever"},
	}...)
}

// Config is the lottery's settings, read by Load.
type Config struct {
	broker      broker.Config
	logLevel    string
	agencies    int
	dataDir     string
	prefetch    int
	group       int
	statusEvery time.Duration
	drain       time.Duration
	topology    broker.Mode
	identity    identity
	replicas    []string // every replica of the deployment; none: one lottery
	replica     string   // this one, or ""
	waitOnError bool     // LOTTERY_ON_ERROR=wait
	// memoryLimitSet: GOMEMLIMIT is set, and Run leaves Go's memory limit
	// as it says.
	memoryLimitSet bool
}

// LogLevel is the LOG_LEVEL setting.
func (c Config) LogLevel() string { return c.logLevel }

// WaitOnError reports whether, after an error a restart cannot mend, the
// program waits for a person (LOTTERY_ON_ERROR=wait) rather than exit.
func (c Config) WaitOnError() bool { return c.waitOnError }

func (c Config) betsPath() string    { return filepath.Join(c.dataDir, "bets.csv") }
func (c Config) journalPath() string { return filepath.Join(c.dataDir, "journal.jsonl") }

// Load reads the settings from the environment (getenv) and a config file,
// as envconf does; -h among args prints them to stdout, and Load returns
// envconf.ErrHelp. An error names the setting that is wrong.
func Load(args []string, getenv func(string) string, stdout io.Writer) (Config, error) {
	v, err := envconf.Load("lottery", Settings(), args, getenv, stdout)
	if err != nil {
		return Config{}, err
	}
	c := Config{
		memoryLimitSet: getenv("GOMEMLIMIT") != "",
		logLevel:       v.String("LOG_LEVEL"),
		agencies:       v.Int("LOTTERY_AGENCIES", 1),
		dataDir:        v.String("LOTTERY_DATA_DIR"),
		prefetch:       v.Int("LOTTERY_PREFETCH", 1),
		group:          v.Int("LOTTERY_GROUP", 1),
		statusEvery:    time.Duration(v.Int("LOTTERY_STATUS_SECONDS", 1)) * time.Second,
		drain:          time.Duration(v.Int("LOTTERY_DRAIN_SECONDS", 1)) * time.Second,
	}
	c.broker, err = envconf.Broker(v, "lottery")
	if err == nil {
		if c.topology, err = broker.ParseMode(v.String("TOPOLOGY_MODE")); err != nil {
			err = fmt.Errorf("setting TOPOLOGY_MODE: %w", err)
		}
	}
	if err == nil {
		c.identity, err = parseIdentity(v.String("LOTTERY_IDENTITY"), v.String("LOTTERY_USER_PATTERN"))
	}
	if err == nil {
		c.replicas, c.replica, err = parseReplicas(v.String("LOTTERY_REPLICAS"), v.String("LOTTERY_REPLICA"))
	}
	if err == nil {
		c.waitOnError, err = parseOnError(v.String("LOTTERY_ON_ERROR"))
	}
	if err == nil {
		err = v.Err()
	}
	return c, err
}

// parseOnError reads LOTTERY_ON_ERROR: whether to wait after an error.
func parseOnError(s string) (bool, error) {
	switch s {
	case "exit":
		return false, nil
	case "wait":
		return true, nil
	}
	return false, fmt.Errorf("LOTTERY_ON_ERROR is %q: want exit or wait", s)
}

// parseReplicas checks that LOTTERY_REPLICA names one of LOTTERY_REPLICAS,
// or that both are unset.
func parseReplicas(list, replica string) ([]string, string, error) {
	replicas, err := envconf.ParseReplicas(list)
	switch {
	case err != nil:
		return nil, "", err
	case replicas == nil && replica != "":
		return nil, "", fmt.Errorf("LOTTERY_REPLICA is %q but LOTTERY_REPLICAS is empty: list every replica of the deployment, or unset both for one lottery", replica)
	case replicas != nil && !slices.Contains(replicas, replica):
		return nil, "", fmt.Errorf("LOTTERY_REPLICA is %q, which is not one of LOTTERY_REPLICAS %q: name this replica", replica, list)
	}
	return replicas, replica, nil
}
