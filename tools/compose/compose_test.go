package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/envconf"
	"github.com/loteria-nacional/pipeline/internal/capacity"
)

var root, _ = filepath.Abs("../..")

// generate runs the generator as make compose does, in a folder of its own
// that stands for the repository's root, and returns that folder.
func generate(t *testing.T, o options) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	if o.agencyConfig == "" {
		o.agencyConfig = "config/agency.env"
	}
	if o.env == "" {
		o.env = ".env"
	}
	if err := run(o); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCommittedFilesAreTheGeneratorsOutput(t *testing.T) {
	for _, tc := range []struct {
		o     options
		files []string
		make  string
	}{
		{options{agencies: 5}, []string{"docker-compose.yaml", "definitions.json"}, "make compose AGENCIES=5"},
		{options{agencies: 5, cluster: true}, []string{"docker-compose.cluster.yaml", "definitions.json"}, "make compose CLUSTER=1 AGENCIES=5"},
		{options{agencies: 5, replicas: 2}, []string{"docker-compose.replicas.yaml", "definitions.replicas.json"}, "make compose REPLICAS=2 AGENCIES=5"},
	} {
		dir := generate(t, tc.o)
		for _, name := range tc.files {
			want, _ := os.ReadFile(filepath.Join(dir, name))
			got, err := os.ReadFile(filepath.Join(root, name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from what `%s` writes: run it and commit", name, tc.make)
			}
		}
	}
}

func TestGeneratorIsDeterministic(t *testing.T) {
	a, b := generate(t, options{agencies: 3}), generate(t, options{agencies: 3})
	for _, name := range []string{"docker-compose.yaml", "definitions.json"} {
		x, _ := os.ReadFile(filepath.Join(a, name))
		y, _ := os.ReadFile(filepath.Join(b, name))
		if !bytes.Equal(x, y) {
			t.Errorf("two runs wrote different %s", name)
		}
	}
	c := loadCompose(t, filepath.Join(a, "docker-compose.yaml"))
	if _, ok := c.Services["agency3"]; !ok || len(c.Services) != 6 {
		t.Errorf("compose for 3 agencies has services %v; want tls-keys, rabbitmq, lottery, agency1-3", keys(c.Services))
	}
	if got := c.Services["lottery"].Environment["LOTTERY_AGENCIES"]; got != "3" {
		t.Errorf("LOTTERY_AGENCIES = %q; want 3", got)
	}
}

func TestNewPasswordsGoToEnvAndDefinitions(t *testing.T) {
	dir := generate(t, options{agencies: 2, newPasswords: true})
	env, err := readEnvFile(filepath.Join(dir, ".env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"ADMIN_PASSWORD", "ERLANG_COOKIE"} {
		if p, _ := env.get(v); len(p) < 24 {
			t.Errorf(".env sets %s to %q; want a new random one", v, p)
		}
	}
	pw, _ := env.get("ADMIN_PASSWORD")
	defs, _ := os.ReadFile(filepath.Join(dir, "definitions.json"))
	if want := passwordHash("admin", pw); !strings.Contains(string(defs), want) {
		t.Errorf("definitions.json lacks the hash of admin's new password")
	}
	if strings.Contains(string(defs), passwordHash("admin", "admin-demo")) {
		t.Errorf("definitions.json still holds admin's demo password hash")
	}
	if info, _ := os.Stat(filepath.Join(dir, ".env")); info.Mode().Perm() != 0o600 {
		t.Errorf(".env mode = %v; want 0600", info.Mode().Perm())
	}
}

// TestNewPasswordsKeepTheRestOfEnv: make passwords rewrites the password
// lines of .env and nothing else, however often it runs.
func TestNewPasswordsKeepTheRestOfEnv(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	mine := "# my ports\nAMQP_PORT=5673\nMY_OWN=kept\nADMIN_PASSWORD=old\n"
	if err := os.WriteFile(".env", []byte(mine), 0o600); err != nil {
		t.Fatal(err)
	}
	o := options{agencies: 1, compose: "docker-compose.yaml", agencyConfig: "config/agency.env", env: ".env", newPasswords: true}
	for range 2 {
		if err := run(o); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(".env")
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if strings.Join(lines[:3], "\n") != "# my ports\nAMQP_PORT=5673\nMY_OWN=kept" {
		t.Errorf(".env begins %q; want the lines it had kept as they were", lines[:3])
	}
	counts := map[string]int{}
	for _, l := range lines {
		if k, _, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			counts[k]++
		}
	}
	for _, k := range []string{"AMQP_PORT", "MANAGEMENT_PORT", "ADMIN_PASSWORD", "ERLANG_COOKIE", "MY_OWN"} {
		if counts[k] != 1 {
			t.Errorf(".env sets %s %d times; want once:\n%s", k, counts[k], b)
		}
	}
	if strings.Contains(string(b), "ADMIN_PASSWORD=old") {
		t.Error("make passwords left the old admin password")
	}
}

func TestEnvGetsTheHostPorts(t *testing.T) {
	dir := generate(t, options{agencies: 1})
	env, err := readEnvFile(filepath.Join(dir, ".env"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range hostPorts {
		if v, _ := env.get(p.name); v != p.value {
			t.Errorf(".env sets %s=%q; want the default %q", p.name, v, p.value)
		}
	}
	if _, ok := env.get("ADMIN_PASSWORD"); ok {
		t.Error(".env got passwords without make passwords")
	}
}

// TestProgramsHaveNoPassword: with TLS, every program logs in by its
// certificate; no password opens its user, and .env names none, however
// often make passwords runs. The people's admin keeps one.
func TestProgramsHaveNoPassword(t *testing.T) {
	for _, o := range []options{{agencies: 2, newPasswords: true}, {agencies: 2, replicas: 2, newPasswords: true}} {
		dir := generate(t, o)
		var defs definitions
		if err := json.Unmarshal(fileBytes(t, filepath.Join(dir, o.definitionsPath())), &defs); err != nil {
			t.Fatal(err)
		}
		for _, u := range defs.Users {
			if program := u.Name != "admin"; program != (u.PasswordHash == "") {
				t.Errorf("%s: user %s has password hash %q; want none for a program, one for admin", o.definitionsPath(), u.Name, u.PasswordHash)
			}
		}
		env := string(fileBytes(t, filepath.Join(dir, ".env")))
		if m := regexp.MustCompile(`(?m)^(LOTTERY|AGENCY)[A-Z0-9_]*_PASSWORD=`).FindString(env); m != "" {
			t.Errorf(".env sets %s…; want no program password", m)
		}
	}
}

// TestGradingFile: the course's generar-compose.sh OUT N writes OUT and its
// own definitions beside it, never the committed pair, and its agencies
// read the course's client/config.yaml.
func TestGradingFile(t *testing.T) {
	dir := generate(t, options{agencies: 3, compose: "docker-compose-dev.yaml", agencyConfig: "client/config.yaml", course: true})
	for _, committed := range []string{"docker-compose.yaml", "definitions.json"} {
		if _, err := os.Stat(filepath.Join(dir, committed)); err == nil {
			t.Errorf("the grading file's generation wrote %s", committed)
		}
	}
	c := loadCompose(t, filepath.Join(dir, "docker-compose-dev.yaml"))
	if len(c.Services) != 5 {
		t.Errorf("services %v; want rabbitmq, lottery and 3 agencies", keys(c.Services))
	}
	// Plain AMQP in a network of its own: no host port, no other project's.
	if c.Name != "lottery-course" {
		t.Errorf("project %q; want lottery-course, apart from the deployments'", c.Name)
	}
	for name, s := range c.Services {
		if len(s.Ports) > 0 {
			t.Errorf("%s publishes %q; want no host port", name, s.Ports)
		}
	}
	if url := c.Services["agency2"].Environment["AMQP_URL"]; url != "amqp://agency-2:agency-2-demo@rabbitmq:5672/lottery" {
		t.Errorf("agency2's AMQP_URL %q; want plain AMQP with its demo password", url)
	}
	var defs definitions
	if err := json.Unmarshal(fileBytes(t, filepath.Join(dir, "docker-compose-dev.definitions.json")), &defs); err != nil {
		t.Fatal(err)
	}
	for _, u := range defs.Users {
		if u.PasswordHash != passwordHash(u.Name, demoPassword(u.Name)) {
			t.Errorf("the course's definitions: %s has not its demo password", u.Name)
		}
	}
	if src := c.Services["rabbitmq"].Volumes[0].Source; src != "./docker-compose-dev.definitions.json" {
		t.Errorf("the broker loads %s; want ./docker-compose-dev.definitions.json", src)
	}
	if _, err := os.Stat(filepath.Join(dir, "docker-compose-dev.definitions.json")); err != nil {
		t.Error(err)
	}
	a := c.Services["agency2"]
	if a.Environment["CONFIG_FILE"] != "/config/config.yaml" || a.Volumes[0].Source != "./client/config.yaml" || a.Volumes[0].Target != "/config/config.yaml" {
		t.Errorf("agency2 reads CONFIG_FILE %q mounted from %+v; want the course's ./client/config.yaml", a.Environment["CONFIG_FILE"], a.Volumes[0])
	}
}

// TestComposeFileElsewhere: a compose file outside the repository's root
// names the repository's files from its own folder.
func TestComposeFileElsewhere(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir("deploy", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := run(options{agencies: 1, compose: "deploy/x.yml", agencyConfig: "config/agency.env", env: ".env"}); err != nil {
		t.Fatal(err)
	}
	c := loadCompose(t, "deploy/x.yml")
	l := c.Services["lottery"]
	if l.Build.Context != ".." || l.Volumes[0].Source != "../config/lottery.env" {
		t.Errorf("lottery builds from %q and mounts %q; want .. and ../config/lottery.env", l.Build.Context, l.Volumes[0].Source)
	}
	if src := c.Services["rabbitmq"].Volumes[0].Source; src != "./x.definitions.json" {
		t.Errorf("the broker loads %s; want ./x.definitions.json", src)
	}
}

type composeFile struct {
	Name     string             `yaml:"name"`
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

type service struct {
	Image       string `yaml:"image"`
	Hostname    string `yaml:"hostname"`
	User        string `yaml:"user"`
	Build       struct{ Context, Dockerfile string }
	Environment map[string]string `yaml:"environment"`
	Volumes     []mount           `yaml:"volumes"`
	Ports       []string          `yaml:"ports"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	StopGracePeriod string `yaml:"stop_grace_period"`
	Ulimits         map[string]struct {
		Soft string `yaml:"soft"`
		Hard string `yaml:"hard"`
	} `yaml:"ulimits"`
}

// mount is a volume in compose's long syntax.
type mount struct {
	Type     string `yaml:"type"`
	Source   string `yaml:"source"`
	Target   string `yaml:"target"`
	ReadOnly bool   `yaml:"read_only"`
	Bind     struct {
		CreateHostPath *bool `yaml:"create_host_path"`
	} `yaml:"bind"`
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
	e, err := readEnvFile(path) // the same KEY=VALUE syntax
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range e.lines {
		if g := envLine.FindStringSubmatch(strings.TrimSpace(l)); g != nil {
			m[g[1]] = g[2]
		}
	}
	return m
}

func TestComposeFile(t *testing.T) {
	programs := map[string]map[string]bool{"lottery": settingsOf(t, "lottery"), "agency": settingsOf(t, "agency")}
	for _, tc := range []struct {
		file string
		// ports are the host ports each broker node publishes.
		ports map[string][]string
		// dependency is what the programs wait for, and on what condition.
		dependency, condition string
	}{
		{"docker-compose.yaml", map[string][]string{
			"rabbitmq": {"127.0.0.1:${AMQP_PORT:-5671}:5671", "127.0.0.1:${MANAGEMENT_PORT:-15671}:15671"},
		}, "rabbitmq", "service_healthy"},
		{"docker-compose.cluster.yaml", map[string][]string{
			"rabbitmq-1": {"127.0.0.1:${AMQP_PORT:-5671}:5671", "127.0.0.1:${MANAGEMENT_PORT:-15671}:15671"},
			"rabbitmq-2": {"127.0.0.1:${AMQP_PORT_2:-5681}:5671", "127.0.0.1:${MANAGEMENT_PORT_2:-15681}:15671"},
			"rabbitmq-3": {"127.0.0.1:${AMQP_PORT_3:-5691}:5671", "127.0.0.1:${MANAGEMENT_PORT_3:-15691}:15671"},
		}, "rabbitmq-ready", "service_completed_successfully"},
		{"docker-compose.replicas.yaml", map[string][]string{
			"rabbitmq-1": {"127.0.0.1:${AMQP_PORT:-5671}:5671", "127.0.0.1:${MANAGEMENT_PORT:-15671}:15671"},
			"rabbitmq-2": {"127.0.0.1:${AMQP_PORT_2:-5681}:5671", "127.0.0.1:${MANAGEMENT_PORT_2:-15681}:15671"},
			"rabbitmq-3": {"127.0.0.1:${AMQP_PORT_3:-5691}:5671", "127.0.0.1:${MANAGEMENT_PORT_3:-15691}:15671"},
		}, "rabbitmq-ready", "service_completed_successfully"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			c := loadCompose(t, filepath.Join(root, tc.file))
			var hosts []string
			for name, ports := range tc.ports {
				rmq, ok := c.Services[name]
				if !ok {
					t.Fatalf("no %s service", name)
				}
				checkBroker(t, name, rmq, ports)
				hosts = append(hosts, rmq.Hostname)
			}
			slices.Sort(hosts)
			if len(tc.ports) > 1 {
				checkCluster(t, c, hosts)
			}
			agencies := 0
			var lotteries []string
			for name, s := range c.Services {
				if _, broker := tc.ports[name]; broker || name == "rabbitmq-ready" || name == "tls-keys" {
					continue
				}
				program := "lottery"
				if strings.HasPrefix(name, "agency") {
					program = "agency"
					agencies++
				} else {
					lotteries = append(lotteries, name)
				}
				checkProgram(t, name, program, s, programs[program])
				if s.DependsOn[tc.dependency].Condition != tc.condition {
					t.Errorf("%s does not wait for %s to be %s", name, tc.dependency, tc.condition)
				}
				checkBrokerURLs(t, name, s.Environment["AMQP_URL"], hosts)
			}
			checkTLS(t, c, slices.Collect(maps.Keys(tc.ports)))
			for name, s := range c.Services {
				for _, v := range s.Volumes {
					checkMount(t, name, v, c)
				}
			}
			checkLotteries(t, c, lotteries, agencies)
		})
	}
}

// checkLotteries checks the lottery services: one named lottery, or
// replicas lottery-a, lottery-b, … that every program knows by the same
// LOTTERY_REPLICAS, each with its own user and volume.
func checkLotteries(t *testing.T, c composeFile, lotteries []string, agencies int) {
	t.Helper()
	slices.Sort(lotteries)
	replicas := c.Services[lotteries[0]].Environment["LOTTERY_REPLICAS"]
	want := []string{"lottery"}
	if replicas != "" {
		want = want[:0]
		for _, r := range strings.Split(replicas, ",") {
			want = append(want, "lottery-"+r)
		}
	}
	if !slices.Equal(lotteries, want) {
		t.Errorf("lottery services %v; want %v (LOTTERY_REPLICAS %q)", lotteries, want, replicas)
	}
	for name, s := range c.Services {
		if _, ok := s.Environment["CLI_ID"]; ok && s.Environment["LOTTERY_REPLICAS"] != replicas {
			t.Errorf("%s: LOTTERY_REPLICAS %q; the lotteries' is %q", name, s.Environment["LOTTERY_REPLICAS"], replicas)
		}
	}
	for _, name := range lotteries {
		s := c.Services[name]
		if got := s.Environment["LOTTERY_AGENCIES"]; got != strconv.Itoa(agencies) {
			t.Errorf("%s: LOTTERY_AGENCIES = %q; the file has %d agency services", name, got, agencies)
		}
		if s.Environment["LOTTERY_IDENTITY"] != "user" {
			t.Errorf("%s does not know agencies by their validated user", name)
		}
		if r := strings.TrimPrefix(name, "lottery-"); replicas != "" && s.Environment["LOTTERY_REPLICA"] != r {
			t.Errorf("%s: LOTTERY_REPLICA %q; want %q", name, s.Environment["LOTTERY_REPLICA"], r)
		}
		if cert := s.Environment["AMQP_CERT_FILE"]; cert != "/tls/"+name+"/cert.pem" {
			t.Errorf("%s does not log in as its own user %s: its certificate is %q", name, name, cert)
		}
		if v := s.Volumes[len(s.Volumes)-1]; v.Type != "volume" || v.Source != name+"-data" || v.Target != "/data" {
			t.Errorf("%s keeps its data in %+v; want its own volume %s-data", name, v, name)
		}
	}
}

// checkBroker checks a broker node's service.
func checkBroker(t *testing.T, name string, rmq service, ports []string) {
	t.Helper()
	if !regexp.MustCompile(`^rabbitmq:4\.[0-9.]+-management$`).MatchString(rmq.Image) {
		t.Errorf("%s image %q: want the official management image pinned to a 4.x tag", name, rmq.Image)
	}
	if rmq.Hostname == "" {
		t.Errorf("%s has no fixed hostname", name)
	}
	if rmq.Healthcheck == nil || !strings.Contains(strings.Join(rmq.Healthcheck.Test, " "), "rabbitmq-diagnostics") {
		t.Errorf("%s healthcheck does not use rabbitmq-diagnostics", name)
	}
	if f, want := rmq.Ulimits["nofile"], fmt.Sprintf("${BROKER_FILES:-%d}", capacity.Wanted); f.Soft != want || f.Hard != want {
		t.Errorf("%s's open files: %+v; want %s, for thousands of agencies", name, f, want)
	}
	if !slices.Equal(rmq.Ports, ports) {
		t.Errorf("%s publishes %q; want %q: host ports set in .env, on 127.0.0.1 only", name, rmq.Ports, ports)
	}
	conf := ""
	for _, v := range rmq.Volumes {
		if v.Target == "/etc/rabbitmq/conf.d/90-lottery.conf" {
			conf = v.Source
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, conf)); conf == "" || err != nil ||
		!strings.Contains(string(b), "load_definitions = /etc/rabbitmq/definitions.json") {
		t.Errorf("%s mounts no conf.d fragment that loads /etc/rabbitmq/definitions.json (%q: %v)", name, conf, err)
	} else if want := fmt.Sprintf("max_message_size = %d\n", broker.MaxMessageBytes); !strings.Contains(string(b), want) {
		t.Errorf("%s does not set %q, the protocol's limit", conf, want)
	}
}

// checkCluster checks what makes the nodes one cluster ready for the
// programs: one Erlang cookie, the fixed list of peers, a volume each, and
// rabbitmq-ready waiting for them all and every queue.
func checkCluster(t *testing.T, c composeFile, hosts []string) {
	t.Helper()
	cookies, volumes := map[string]bool{}, map[string]bool{}
	var peers []string
	for _, h := range hosts {
		rmq := c.Services[h]
		cookies[rmq.Environment["RABBITMQ_ERLANG_COOKIE"]] = true
		peers = append(peers, "rabbit@"+h)
		for _, v := range rmq.Volumes {
			switch {
			case v.Type == "volume" && v.Source != "tls":
				volumes[v.Source] = true
			case v.Target == "/etc/rabbitmq/conf.d/91-cluster.conf":
				b, err := os.ReadFile(filepath.Join(root, v.Source))
				if err != nil || !strings.Contains(string(b), "cluster_formation.peer_discovery_backend = classic_config") {
					t.Errorf("%s: %s does not find the peers from a fixed list: %v", h, v.Source, err)
				}
				for _, h := range hosts {
					if !strings.Contains(string(b), "= rabbit@"+h+"\n") {
						t.Errorf("%s: %s does not list rabbit@%s", h, v.Source, h)
					}
				}
			}
		}
	}
	if len(cookies) != 1 || cookies[""] {
		t.Errorf("the nodes' Erlang cookies: %v; want one, the same for all", keys(cookies))
	}
	if len(volumes) != len(hosts) {
		t.Errorf("the nodes' volumes: %v; want one each", keys(volumes))
	}
	ready := c.Services["rabbitmq-ready"]
	for _, h := range hosts {
		if ready.DependsOn[h].Condition != "service_healthy" {
			t.Errorf("rabbitmq-ready does not wait for %s to be healthy", h)
		}
	}
	if got, want := ready.Environment["NODES"], strings.Join(peers, " "); got != want {
		t.Errorf("rabbitmq-ready NODES = %q; want %q", got, want)
	}
	var queues []string
	replicas, err := envconf.ParseReplicas(c.Services["agency1"].Environment["LOTTERY_REPLICAS"])
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range broker.ForFirst(5, replicas...).Queues {
		queues = append(queues, q.Name)
	}
	if got, want := strings.Fields(ready.Environment["QUEUES"]), queues; !slices.Equal(got, want) {
		t.Errorf("rabbitmq-ready QUEUES = %q; want the topology's %q", got, want)
	}
	if !cookies[ready.Environment["RABBITMQ_ERLANG_COOKIE"]] {
		t.Error("rabbitmq-ready has not the nodes' Erlang cookie")
	}
}

// checkBrokerURLs checks that a program's AMQP_URL names every broker node,
// one complete amqps URL each, with no user.
func checkBrokerURLs(t *testing.T, name, raw string, hosts []string) {
	t.Helper()
	var got []string
	for _, u := range broker.URLs(raw) {
		m := regexp.MustCompile(`^amqps://([^:/@]+):5671/lottery$`).FindStringSubmatch(u)
		if m == nil {
			t.Errorf("%s: AMQP_URL holds %q; want amqps://host:5671/lottery, with no user: the certificate names it", name, u)
			continue
		}
		got = append(got, m[1])
	}
	slices.Sort(got)
	if !slices.Equal(got, hosts) {
		t.Errorf("%s: AMQP_URL names hosts %q; want every broker node %q", name, got, hosts)
	}
}

// checkProgram checks the lottery's or an agency's service.
func checkProgram(t *testing.T, name, program string, s service, settings map[string]bool) {
	t.Helper()
	if len(s.Ports) > 0 {
		t.Errorf("%s publishes ports %q; only the broker does", name, s.Ports)
	}
	if program == "agency" {
		// One image for every agency, built once: the same build and image.
		if s.Image != "lottery-agency:latest" || s.Build.Context != "." || s.Build.Dockerfile != "agency/Dockerfile" {
			t.Errorf("%s: image %q built from %+v; want lottery-agency:latest from agency/Dockerfile, as every agency", name, s.Image, s.Build)
		}
		if got := s.Environment["CLI_ID"]; got != strings.TrimPrefix(name, "agency") {
			t.Errorf("%s: CLI_ID = %q", name, got)
		}
	}
	checkDockerfile(t, name, s.Build.Dockerfile)
	for k := range s.Environment {
		if !settings[k] {
			t.Errorf("%s sets %s, which %s does not read", name, k, program)
		}
	}
	if s.Environment["TOPOLOGY_MODE"] != "verify" {
		t.Errorf("%s: TOPOLOGY_MODE = %q; want verify: definitions.json owns the topology", name, s.Environment["TOPOLOGY_MODE"])
	}
	file := filepath.Join(root, "config", program+".env")
	for k := range settingsInFile(t, file) {
		if !settings[k] {
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

// checkMount checks a volume: a named volume is declared; a bind-mounted
// file exists in the repository or is made by make data, is read-only, and
// is never created by docker when it is missing.
func checkMount(t *testing.T, svc string, v mount, c composeFile) {
	t.Helper()
	switch v.Type {
	case "volume":
		if _, ok := c.Volumes[v.Source]; !ok {
			t.Errorf("%s mounts volume %q, which is not declared", svc, v.Source)
		}
		return
	case "bind":
	default:
		t.Errorf("%s mounts %+v: want type bind or volume", svc, v)
		return
	}
	if !v.ReadOnly {
		t.Errorf("%s mounts %s writable; want read_only", svc, v.Source)
	}
	if v.Bind.CreateHostPath == nil || *v.Bind.CreateHostPath {
		t.Errorf("%s mounts %s without create_host_path: false: docker would make a missing file a directory", svc, v.Source)
	}
	if strings.HasPrefix(v.Source, "./.certs/") {
		if !regexp.MustCompile(`^\./\.certs/(ca|broker|lottery(-[a-i])?|agency-\d+)(-key)?\.pem$`).MatchString(v.Source) || v.Source == "./.certs/ca-key.pem" {
			t.Errorf("%s mounts %s, which make certs does not make or must not leave the host", svc, v.Source)
		}
		return
	}
	if strings.HasPrefix(v.Source, "./.data/") {
		if !regexp.MustCompile(`^\./\.data/agency-\d+\.csv$`).MatchString(v.Source) {
			t.Errorf("%s mounts %s, which make data does not make", svc, v.Source)
		}
		return
	}
	if _, err := os.Stat(filepath.Join(root, v.Source)); err != nil {
		t.Errorf("%s mounts %s: %v", svc, v.Source, err)
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

// TestReplicaUsersReadOnlyTheirOwnQueues: each replica's user may read its
// own two queues and nothing else, and declares nothing.
func TestReplicaUsersReadOnlyTheirOwnQueues(t *testing.T) {
	d := newDeployment(2, []string{"a", "b"}, true)
	queues := []string{"lottery.a.bets", "lottery.a.requests", "lottery.b.bets", "lottery.b.requests", "lottery.bets", "agency.1.winners", "dead-letter"}
	for _, r := range []string{"a", "b"} {
		i := slices.IndexFunc(d.users, func(u user) bool { return u.name == "lottery-"+r })
		if i < 0 {
			t.Fatalf("no user lottery-%s among %v", r, d.users)
		}
		u := d.users[i]
		read := regexp.MustCompile(u.read)
		for _, q := range queues {
			if want := strings.HasPrefix(q, "lottery."+r+"."); read.MatchString(q) != want {
				t.Errorf("lottery-%s may read %s: %v; want %v", r, q, !want, want)
			}
		}
		if u.configure != "^$" {
			t.Errorf("lottery-%s may configure %q; want nothing", r, u.configure)
		}
	}
	if slices.ContainsFunc(d.users, func(u user) bool { return u.name == "lottery" }) {
		t.Error("a deployment with replicas has the one lottery's user too")
	}
}

// TestImagePinnedWhereTheDeliveryLimitCountsReturns: the lottery's bound on
// what one undecodable message costs rests on a quorum queue counting a
// delivery that a closed connection returns, which RabbitMQ does up to
// 4.2; from 4.3 only failed deliveries count, and such a message would
// come back for ever. The pin stays within, unless a replacement guards it.
func TestImagePinnedWhereTheDeliveryLimitCountsReturns(t *testing.T) {
	var major, minor int
	if _, err := fmt.Sscanf(RabbitMQImage, "rabbitmq:%d.%d", &major, &minor); err != nil {
		t.Fatalf("RabbitMQImage %q: %v", RabbitMQImage, err)
	}
	if major != 3 && !(major == 4 && minor <= 2) {
		t.Errorf("RabbitMQImage is %s; from 4.3 a returned delivery no longer counts towards the delivery limit, which the lottery's bound on an undecodable message rests on (see docs/design.md)", RabbitMQImage)
	}
}

// checkTLS checks how the keys reach their processes: tls-keys installs,
// from .certs/, a certificate and key for every broker node and program,
// each key owned by the user its service runs as, one user per agency; the
// authority's key never enters a container; every broker node and program
// mounts the volume tls read-only and names its own files.
func checkTLS(t *testing.T, c composeFile, brokers []string) {
	t.Helper()
	keysTo := map[string]string{} // identity: the user that reads its key
	for _, pair := range strings.Fields(c.Services["tls-keys"].Environment["IDENTITIES"]) {
		name, owner, _ := strings.Cut(pair, ":")
		keysTo[name] = owner
	}
	mounted := map[string]bool{}
	for _, v := range c.Services["tls-keys"].Volumes {
		mounted[v.Source] = true
	}
	for name := range keysTo {
		for _, f := range []string{name + ".pem", name + "-key.pem"} {
			if !mounted["./.certs/"+f] {
				t.Errorf("tls-keys does not mount .certs/%s", f)
			}
		}
	}
	if keysTo["broker"] != "rabbitmq" {
		t.Errorf("the broker's key goes to %q; want the user rabbitmq, that the broker runs as", keysTo["broker"])
	}
	for _, b := range brokers {
		if c.Services[b].DependsOn["tls-keys"].Condition != "service_completed_successfully" {
			t.Errorf("%s does not wait for tls-keys to finish", b)
		}
	}
	owners := map[string]string{}
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			if v.Source == "./.certs/ca-key.pem" {
				t.Errorf("%s mounts the authority's key", name)
			}
		}
		cert, ok := s.Environment["AMQP_CERT_FILE"]
		if !ok {
			continue
		}
		identity := strings.TrimSuffix(strings.TrimPrefix(cert, "/tls/"), "/cert.pem")
		uid := strings.Split(s.User, ":")[0]
		if uid == "" {
			uid = strconv.Itoa(ProgramUID) // the image's USER
		}
		if keysTo[identity] != uid || s.Environment["AMQP_KEY_FILE"] != "/tls/"+identity+"/key.pem" || s.Environment["AMQP_CA_FILE"] != "/tls/ca.pem" {
			t.Errorf("%s runs as %s with certificate %s, key %s, authority %s; its key goes to %q",
				name, uid, cert, s.Environment["AMQP_KEY_FILE"], s.Environment["AMQP_CA_FILE"], keysTo[identity])
		}
		if other, taken := owners[uid]; taken && strings.HasPrefix(name, "agency") {
			t.Errorf("%s and %s both run as %s: one could read the other's key", name, other, uid)
		}
		owners[uid] = name
		if !slices.Contains(s.Volumes, mount{Type: "volume", Source: "tls", Target: "/tls", ReadOnly: true}) {
			t.Errorf("%s does not mount the volume tls read-only at /tls", name)
		}
	}
}

func fileBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestThousandAgencies: the generator writes a deployment of 1,000
// agencies whole: a service, a user with its permissions, a reply queue and
// a certificate to install for each.
func TestThousandAgencies(t *testing.T) {
	const n = 1000
	dir := generate(t, options{agencies: n})
	c := loadCompose(t, filepath.Join(dir, "docker-compose.yaml"))
	agencies := 0
	for name := range c.Services {
		if strings.HasPrefix(name, "agency") {
			agencies++
		}
	}
	if agencies != n || c.Services["lottery"].Environment["LOTTERY_AGENCIES"] != strconv.Itoa(n) {
		t.Errorf("%d agency services, LOTTERY_AGENCIES %q; want %d", agencies, c.Services["lottery"].Environment["LOTTERY_AGENCIES"], n)
	}
	if ids := strings.Fields(c.Services["tls-keys"].Environment["IDENTITIES"]); len(ids) != n+2 {
		t.Errorf("tls-keys installs %d identities; want the broker's, the lottery's and %d agencies'", len(ids), n)
	}
	var defs definitions
	if err := json.Unmarshal(fileBytes(t, filepath.Join(dir, "definitions.json")), &defs); err != nil {
		t.Fatal(err)
	}
	replies := 0
	for _, q := range defs.Queues {
		if strings.HasSuffix(q.Name, ".winners") {
			replies++
		}
	}
	if len(defs.Users) != n+2 || len(defs.Permissions) != n+2 || replies != n {
		t.Errorf("definitions.json: %d users, %d permissions, %d reply queues; want %d, %d, %d", len(defs.Users), len(defs.Permissions), replies, n+2, n+2, n)
	}
}
