package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

const root = "../.."

func generate(t *testing.T, agencies int) string {
	t.Helper()
	dir := t.TempDir()
	if err := run(agencies, dir, filepath.Join(dir, "no.env"), false); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCommittedFilesAreTheGeneratorsOutput(t *testing.T) {
	dir := generate(t, 5)
	for _, name := range []string{"docker-compose.yaml", "definitions.json"} {
		want, _ := os.ReadFile(filepath.Join(dir, name))
		got, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what `make compose AGENCIES=5` writes: run it and commit", name)
		}
	}
}

func TestGeneratorIsDeterministic(t *testing.T) {
	a, b := generate(t, 3), generate(t, 3)
	for _, name := range []string{"docker-compose.yaml", "definitions.json"} {
		x, _ := os.ReadFile(filepath.Join(a, name))
		y, _ := os.ReadFile(filepath.Join(b, name))
		if !bytes.Equal(x, y) {
			t.Errorf("two runs wrote different %s", name)
		}
	}
	c := loadCompose(t, filepath.Join(a, "docker-compose.yaml"))
	if _, ok := c.Services["agency3"]; !ok || len(c.Services) != 5 {
		t.Errorf("compose for 3 agencies has services %v; want rabbitmq, lottery, agency1-3", keys(c.Services))
	}
	if got := c.Services["lottery"].Environment["LOTTERY_AGENCIES"]; got != "3" {
		t.Errorf("LOTTERY_AGENCIES = %q; want 3", got)
	}
}

func TestNewPasswordsGoToEnvAndDefinitions(t *testing.T) {
	dir := t.TempDir()
	env := filepath.Join(dir, ".env")
	if err := run(2, dir, env, true); err != nil {
		t.Fatal(err)
	}
	pw, err := readPasswords(env)
	if err != nil || len(pw) != 4 {
		t.Fatalf("passwords = %v, %v; want admin, lottery and 2 agencies", pw, err)
	}
	defs, _ := os.ReadFile(filepath.Join(dir, "definitions.json"))
	if want := passwordHash("agency-2", pw["AGENCY_2_PASSWORD"]); !strings.Contains(string(defs), want) {
		t.Errorf("definitions.json lacks the hash of agency-2's new password")
	}
	if strings.Contains(string(defs), passwordHash("agency-2", "agency-2-demo")) {
		t.Errorf("definitions.json still holds agency-2's demo password hash")
	}
	if info, _ := os.Stat(env); info.Mode().Perm() != 0o600 {
		t.Errorf(".env mode = %v; want 0600", info.Mode().Perm())
	}
}

type composeFile struct {
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

type service struct {
	Image       string `yaml:"image"`
	Hostname    string `yaml:"hostname"`
	Build       struct{ Context, Dockerfile string }
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	StopGracePeriod string `yaml:"stop_grace_period"`
}

func loadCompose(t *testing.T, path string) composeFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return c
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// settingsOf lists the settings a program accepts, from its own -h.
func settingsOf(t *testing.T, program string) map[string]bool {
	t.Helper()
	cmd := exec.Command("go", "run", "./"+program, "-h")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s -h: %v\n%s", program, err, out)
	}
	m := map[string]bool{"CONFIG_FILE": true}
	for _, g := range regexp.MustCompile(`(?m)^  ([A-Z_]+) `).FindAllStringSubmatch(string(out), -1) {
		m[g[1]] = true
	}
	if len(m) < 5 {
		t.Fatalf("%s -h listed only %v", program, m)
	}
	return m
}

// settingsInFile reads a KEY=VALUE config file.
func settingsInFile(t *testing.T, path string) map[string]string {
	t.Helper()
	m, err := readPasswords(path) // same KEY=VALUE syntax
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestComposeFile(t *testing.T) {
	c := loadCompose(t, filepath.Join(root, "docker-compose.yaml"))
	programs := map[string]map[string]bool{"lottery": settingsOf(t, "lottery"), "agency": settingsOf(t, "agency")}

	rmq, ok := c.Services["rabbitmq"]
	if !ok {
		t.Fatal("no rabbitmq service")
	}
	if !regexp.MustCompile(`^rabbitmq:4\.[0-9.]+-management$`).MatchString(rmq.Image) {
		t.Errorf("rabbitmq image %q: want the official management image pinned to a 4.x tag", rmq.Image)
	}
	if rmq.Hostname == "" {
		t.Error("rabbitmq has no fixed hostname")
	}
	if rmq.Healthcheck == nil || !strings.Contains(strings.Join(rmq.Healthcheck.Test, " "), "rabbitmq-diagnostics") {
		t.Error("rabbitmq healthcheck does not use rabbitmq-diagnostics")
	}
	conf := ""
	for _, v := range rmq.Volumes {
		if strings.Contains(v, "/etc/rabbitmq/conf.d/") {
			conf = strings.SplitN(v, ":", 2)[0]
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, conf)); conf == "" || err != nil ||
		!strings.Contains(string(b), "load_definitions = /etc/rabbitmq/definitions.json") {
		t.Errorf("rabbitmq mounts no conf.d fragment that loads /etc/rabbitmq/definitions.json (%q: %v)", conf, err)
	}

	agencies := 0
	for name, s := range c.Services {
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes port %q beyond 127.0.0.1", name, p)
			}
		}
		for _, v := range s.Volumes {
			checkMount(t, name, v, c)
		}
		if name == "rabbitmq" {
			continue
		}
		program := "lottery"
		if strings.HasPrefix(name, "agency") {
			program = "agency"
			agencies++
			if got := s.Environment["CLI_ID"]; got != strings.TrimPrefix(name, "agency") {
				t.Errorf("%s: CLI_ID = %q", name, got)
			}
		}
		if s.DependsOn["rabbitmq"].Condition != "service_healthy" {
			t.Errorf("%s does not wait for rabbitmq to be healthy", name)
		}
		checkDockerfile(t, name, s.Build.Dockerfile)
		for k := range s.Environment {
			if !programs[program][k] {
				t.Errorf("%s sets %s, which %s does not read", name, k, program)
			}
		}
		if s.Environment["TOPOLOGY_MODE"] != "verify" {
			t.Errorf("%s: TOPOLOGY_MODE = %q; want verify: definitions.json owns the topology", name, s.Environment["TOPOLOGY_MODE"])
		}
		file := filepath.Join(root, "config", program+".env")
		for k := range settingsInFile(t, file) {
			if !programs[program][k] {
				t.Errorf("%s sets %s, which %s does not read", file, k, program)
			}
		}
		grace, err := time.ParseDuration(s.StopGracePeriod)
		if err != nil {
			t.Errorf("%s: stop_grace_period %q: %v", name, s.StopGracePeriod, err)
		}
		if program == "lottery" {
			drain, _ := strconv.Atoi(settingsInFile(t, file)["LOTTERY_DRAIN_SECONDS"])
			if drain == 0 || grace <= time.Duration(drain)*time.Second {
				t.Errorf("lottery stop_grace_period %s is not above its drain deadline of %ds", grace, drain)
			}
		}
	}
	if got := c.Services["lottery"].Environment["LOTTERY_AGENCIES"]; got != strconv.Itoa(agencies) {
		t.Errorf("LOTTERY_AGENCIES = %q; the file has %d agency services", got, agencies)
	}
	if c.Services["lottery"].Environment["LOTTERY_IDENTITY"] != "user" {
		t.Error("the lottery does not know agencies by their validated user")
	}
}

// checkMount checks a volume: a named volume is declared; a bind-mounted
// file exists in the repository or is made by `make data`; agency data is
// read-only.
func checkMount(t *testing.T, svc, v string, c composeFile) {
	t.Helper()
	parts := strings.Split(v, ":")
	src := parts[0]
	if !strings.HasPrefix(src, ".") {
		if _, ok := c.Volumes[src]; !ok {
			t.Errorf("%s mounts volume %q, which is not declared", svc, src)
		}
		return
	}
	if strings.HasPrefix(src, "./.data/") {
		if !regexp.MustCompile(`^\./\.data/agency-\d+\.csv$`).MatchString(src) {
			t.Errorf("%s mounts %s, which `make data` does not make", svc, src)
		}
		if parts[len(parts)-1] != "ro" {
			t.Errorf("%s mounts its data %s writable; want :ro", svc, src)
		}
		return
	}
	if _, err := os.Stat(filepath.Join(root, src)); err != nil {
		t.Errorf("%s mounts %s: %v", svc, src, err)
	}
}

func checkDockerfile(t *testing.T, svc, path string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, path))
	if err != nil {
		t.Errorf("%s: dockerfile: %v", svc, err)
		return
	}
	s := string(b)
	if len(regexp.MustCompile(`(?m)^FROM `).FindAllString(s, -1)) < 2 {
		t.Errorf("%s: %s is not multi-stage", svc, path)
	}
	if !regexp.MustCompile(`(?m)^USER (\d+|nonroot)`).MatchString(s) || strings.Contains(s, "USER root") || strings.Contains(s, "USER 0") {
		t.Errorf("%s: %s does not run as a non-root user", svc, path)
	}
	if !regexp.MustCompile(`(?m)^ENTRYPOINT \[`).MatchString(s) {
		t.Errorf("%s: %s has no exec-form ENTRYPOINT", svc, path)
	}
	if !strings.Contains(s, "CGO_ENABLED=0") {
		t.Errorf("%s: %s does not build a static binary", svc, path)
	}
}

// TestDockerignoreNamesEveryPackageTheImagesBuild: the build context holds
// only the folders .dockerignore names, so each package the programs import
// must be named there, or the images would not build.
func TestDockerignoreNamesEveryPackageTheImagesBuild(t *testing.T) {
	root, _ := filepath.Abs(root)
	b, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if dir, ok := strings.CutSuffix(strings.TrimPrefix(line, "!"), "/*.go"); ok && strings.HasPrefix(line, "!") {
			named[dir] = true
		}
	}
	list := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", "./agency", "./lottery")
	list.Dir = root
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dir := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue // a module's package, which go mod download fetches
		}
		if !named[filepath.ToSlash(rel)] {
			t.Errorf("the programs import %s, which .dockerignore leaves out of the build context: add !%s/*.go", rel, filepath.ToSlash(rel))
		}
	}
}
