package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// envFile is the deployment's .env: KEY=VALUE lines that docker compose
// reads (host ports and passwords) and that people may edit. Every line is
// kept as it was, comments included, unless its value is set anew.
type envFile struct {
	lines []string
}

// setting is a variable of .env with its default.
type setting struct {
	name, value, help string
}

var envLine = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=(.*)$`)

const envHeader = "# This deployment's settings for docker compose: the broker's host ports on\n" +
	"# 127.0.0.1 and, after `make passwords`, the users' passwords. Keep it private.\n"

// readEnvFile reads path; a missing file is an empty one.
func readEnvFile(path string) (envFile, error) {
	var e envFile
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return e, nil
	}
	if err != nil {
		return e, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text != "" && !strings.HasPrefix(text, "#") && !envLine.MatchString(text) {
			return e, fmt.Errorf("%s line %d: want KEY=VALUE, got %q", path, n, text)
		}
		e.lines = append(e.lines, sc.Text())
	}
	return e, sc.Err()
}

// get returns the value of key.
func (e envFile) get(key string) (string, bool) {
	for _, l := range e.lines {
		if g := envLine.FindStringSubmatch(strings.TrimSpace(l)); g != nil && g[1] == key {
			return g[2], true
		}
	}
	return "", false
}

// set gives key a value: its line is rewritten, or one is added.
func (e *envFile) set(key, value string) {
	for i, l := range e.lines {
		if g := envLine.FindStringSubmatch(strings.TrimSpace(l)); g != nil && g[1] == key {
			e.lines[i] = key + "=" + value
			return
		}
	}
	e.add(key + "=" + value)
}

// add appends lines, after the header when e is empty.
func (e *envFile) add(lines ...string) {
	if len(e.lines) == 0 {
		e.lines = strings.Split(strings.TrimSuffix(envHeader, "\n"), "\n")
	}
	e.lines = append(e.lines, lines...)
}

// setDefaults adds each setting that e lacks, with its default and its help
// as a comment, and reports whether it added any.
func (e *envFile) setDefaults(settings []setting) bool {
	added := false
	for _, s := range settings {
		if _, ok := e.get(s.name); !ok {
			e.add("# "+s.help, s.name+"="+s.value)
			added = true
		}
	}
	return added
}

// write writes e to path, readable by its owner only: it holds passwords.
func (e envFile) write(path string) error {
	return os.WriteFile(path, []byte(strings.Join(e.lines, "\n")+"\n"), 0o600)
}
