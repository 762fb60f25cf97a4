// Package envconf reads the programs' settings. Both programs use one scheme:
// each setting has a name, a default and a help text; its value comes from
// the environment, or else from an optional config file of KEY=VALUE lines
// named by CONFIG_FILE, or else from its default. The environment wins, so a
// deployment can mount one file and still override a setting per container.
package envconf

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// FileVar names the optional config file.
const FileVar = "CONFIG_FILE"

// Setting is one configuration entry.
type Setting struct {
	Name    string
	Default string
	Help    string
}

// Shared lists the settings both programs read, first in their -h.
func Shared() []Setting {
	return []Setting{
		{Name: "AMQP_URL", Default: "amqp://guest:guest@localhost:5672/", Help: "broker URL; a vhost in its path is used"},
		{Name: "LOG_LEVEL", Default: "info", Help: "debug, info, warn or error"},
		{Name: "TOPOLOGY_MODE", Default: "declare", Help: "declare the topology, or verify it passively (definitions.json owns it)"},
	}
}

// Values holds the resolved settings.
type Values struct {
	m    map[string]string
	errs []error
}

// ErrHelp is returned by Load when the arguments ask for help.
var ErrHelp = errors.New("help requested")

// Load resolves settings from args (only -h and --help are accepted),
// getenv and the config file. On -h it writes the list of settings to w and
// returns ErrHelp.
func Load(program string, settings []Setting, args []string, getenv func(string) string, w io.Writer) (*Values, error) {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			Usage(w, program, settings)
			return nil, ErrHelp
		}
		return nil, fmt.Errorf("unexpected argument %q: %s is configured by environment (see -h)", a, program)
	}
	file := map[string]string{}
	if path := getenv(FileVar); path != "" {
		var err error
		if file, err = readFile(path); err != nil {
			return nil, err
		}
	}
	v := &Values{m: map[string]string{}}
	for _, s := range settings {
		val, ok := getenv(s.Name), true
		if val == "" {
			val, ok = file[s.Name]
		}
		if !ok || val == "" {
			val = s.Default
		}
		v.m[s.Name] = val
	}
	return v, nil
}

// Usage writes every setting with its default.
func Usage(w io.Writer, program string, settings []Setting) {
	fmt.Fprintf(w, "Usage: %s\n\nSettings, from the environment or the file named by %s (KEY=VALUE lines):\n", program, FileVar)
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
		v.errs = append(v.errs, fmt.Errorf("setting %s=%q: want an integer >= %d", name, v.m[name], min))
	}
	return n
}

// Err reports every bad value met so far.
func (v *Values) Err() error { return errors.Join(v.errs...) }

func readFile(path string) (map[string]string, error) {
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
