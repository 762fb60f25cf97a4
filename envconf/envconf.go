// Package envconf reads the programs' settings. Both programs use one scheme:
// each setting has a name, a default and a help text; its value comes from
// the environment, or else from an optional config file named by
// CONFIG_FILE, or else from its default. The environment wins, so a
// deployment can mount one file and still override a setting per container.
//
// The config file is KEY=VALUE lines, or, when its name ends in .yaml or
// .yml, the course's config.yaml: there a setting is read from the key its
// YAML field names (batch.maxAmount, log.level), and keys no setting names
// (the course's server address and loop) are ignored.
package envconf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/loteria-nacional/pipeline/broker"
)

// FileVar names the optional config file.
const FileVar = "CONFIG_FILE"

// Setting is one configuration entry.
type Setting struct {
	Name    string
	Default string
	Help    string
	YAML    string // its key in the course's config.yaml, as a dotted path; empty: none
}

// Shared lists the settings both programs read, first in their -h.
func Shared() []Setting {
	return []Setting{
		{Name: "AMQP_URL", Default: "amqp://guest:guest@localhost:5672/", Help: "broker URL; a vhost in its path is used"},
		{Name: "AMQP_CA_FILE", Default: "", Help: "with amqps:// URLs, the authority that signs the brokers' certificates (PEM); empty: the system's"},
		{Name: "AMQP_CERT_FILE", Default: "", Help: "with AMQP_KEY_FILE, this program's certificate (PEM): it logs in with it, as the user its common name names"},
		{Name: "AMQP_KEY_FILE", Default: "", Help: "the key of AMQP_CERT_FILE (PEM)"},
		{Name: "LOG_LEVEL", Default: "info", Help: "debug, info, warn or error", YAML: "log.level"},
		{Name: "TOPOLOGY_MODE", Default: "declare", Help: "declare the topology, or verify it passively (definitions.json owns it)"},
		{Name: "LOTTERY_REPLICAS", Default: "", Help: "the names of every lottery replica, comma-separated, each [a-z0-9]+; empty: one lottery"},
	}
}

// Values holds the resolved settings.
type Values struct {
	m    map[string]string
	from map[string]string // where each value came from, for errors
	errs []error
}

// ErrHelp is returned by Load when the arguments ask for help.
var ErrHelp = errors.New("help requested")

// Load resolves settings from args (only -h and --help are accepted),
// getenv and the config file. On -h it writes the list of settings to w and
// returns ErrHelp.
func Load(program string, settings []Setting, args []string, getenv func(string) string, w io.Writer) (*Values, error) {
	if len(args) > 0 {
		if a := args[0]; a != "-h" && a != "-help" && a != "--help" {
			return nil, fmt.Errorf("unexpected argument %q: %s is configured by environment (see -h)", a, program)
		}
		Usage(w, program, settings)
		return nil, ErrHelp
	}
	path := getenv(FileVar)
	file := map[string]string{} // by setting name
	if path != "" {
		var err error
		if file, err = readFile(path, settings); err != nil {
			return nil, err
		}
	}
	v := &Values{m: map[string]string{}, from: map[string]string{}}
	for _, s := range settings {
		val, from := getenv(s.Name), "the environment"
		if val == "" {
			val, from = file[s.Name], "config file "+path
			if s.YAML != "" && isYAML(path) {
				from += " (" + s.YAML + ")"
			}
		}
		if val == "" {
			val, from = s.Default, "the default"
		}
		v.m[s.Name], v.from[s.Name] = val, from
	}
	return v, nil
}

// Usage writes every setting with its default.
func Usage(w io.Writer, program string, settings []Setting) {
	fmt.Fprintf(w, "Usage: %s\n\nSettings, from the environment or the file named by %s (KEY=VALUE lines, or the course's config.yaml):\n", program, FileVar)
	for _, s := range settings {
		fmt.Fprintf(w, "  %-28s %s (default %q)\n", s.Name, s.Help, s.Default)
	}
}

// String returns a setting's value.
func (v *Values) String(name string) string { return v.m[name] }

// Int returns a setting as an integer of at least min; a bad value is
// recorded and reported by Err.
func (v *Values) Int(name string, min int) int {
	n, err := strconv.Atoi(v.m[name])
	if err != nil || n < min {
		v.errs = append(v.errs, fmt.Errorf("setting %s=%q from %s: want an integer >= %d", name, v.m[name], v.from[name], min))
	}
	return n
}

// IntIn returns a setting as an integer from lo to hi; a bad value is
// recorded and reported by Err.
func (v *Values) IntIn(name string, lo, hi int) int {
	n, err := strconv.Atoi(v.m[name])
	if err != nil || n < lo || n > hi {
		v.errs = append(v.errs, fmt.Errorf("setting %s=%q from %s: want an integer from %d to %d", name, v.m[name], v.from[name], lo, hi))
	}
	return n
}

// Err reports every bad value met so far.
func (v *Values) Err() error { return errors.Join(v.errs...) }

// readFile reads the config file at path: the settings it gives, by name.
func readFile(path string, settings []Setting) (map[string]string, error) {
	if isYAML(path) {
		return readYAML(path, settings)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		k, val, ok := strings.Cut(text, "=")
		if !ok {
			return nil, fmt.Errorf("config file %s line %d: want KEY=VALUE, got %q", path, line, text)
		}
		m[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(val), `"`)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read config file %s: %w", path, err)
	}
	return m, nil
}

func isYAML(path string) bool {
	return strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")
}

// readYAML reads the settings that have a YAML key from a YAML file such as
// the course's config.yaml.
func readYAML(path string, settings []Setting) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	m := map[string]string{}
	for _, s := range settings {
		if s.YAML == "" {
			continue
		}
		switch v := lookup(doc, strings.Split(s.YAML, ".")); v.(type) {
		case nil:
		case string, int, float64, bool:
			m[s.Name] = fmt.Sprint(v)
		default:
			return nil, fmt.Errorf("config file %s: %s holds %v: want a plain value for %s", path, s.YAML, v, s.Name)
		}
	}
	return m, nil
}

// lookup finds the value at a dotted path in nested maps, or nil.
func lookup(doc map[string]any, path []string) any {
	var v any = doc
	for _, key := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	return v
}

// Broker is the connection to the broker that the shared settings
// describe, for a program whose connections are named name: over TLS when
// any of AMQP_CA_FILE, AMQP_CERT_FILE and AMQP_KEY_FILE is set, and then
// every URL of AMQP_URL must be amqps://.
func Broker(v *Values, name string) (broker.Config, error) {
	cfg := broker.Config{URL: v.String("AMQP_URL"), Name: name}
	ca, cert, key := v.String("AMQP_CA_FILE"), v.String("AMQP_CERT_FILE"), v.String("AMQP_KEY_FILE")
	if ca == "" && cert == "" && key == "" {
		return cfg, nil
	}
	for _, u := range broker.URLs(cfg.URL) {
		if !strings.HasPrefix(u, "amqps://") {
			return cfg, fmt.Errorf("setting AMQP_URL: %s is not an amqps:// URL, but AMQP_CA_FILE, AMQP_CERT_FILE or AMQP_KEY_FILE asks for TLS", broker.Redact(u))
		}
	}
	tlsCfg, err := broker.LoadTLS(ca, cert, key)
	if err != nil {
		return cfg, fmt.Errorf("settings AMQP_CA_FILE=%q, AMQP_CERT_FILE=%q, AMQP_KEY_FILE=%q: %w", ca, cert, key, err)
	}
	cfg.TLS = tlsCfg
	return cfg, nil
}
