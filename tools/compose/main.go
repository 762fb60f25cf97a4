// Command compose writes the docker compose deployment for N agencies: a
// compose file and the broker definitions it loads (the topology, users and
// permissions, from the same broker.ForFirst the programs declare). The same
// input always writes the same bytes. It runs from the repository's root.
//
//	compose -agencies 5                   # docker-compose.yaml and definitions.json
//	compose -agencies 5 -cluster          # docker-compose.cluster.yaml: three broker nodes
//	compose -agencies 5 -replicas 2       # docker-compose.replicas.yaml and definitions.replicas.json:
//	                                      # the cluster, with lottery replicas a and b
//	compose -agencies 5 -new-passwords    # a new admin password and Erlang cookie into .env first
//	compose -agencies 3 -compose dev.yaml -agency-config client/config.yaml -course
//	                                      # dev.yaml and dev.definitions.json (generar-compose.sh)
//
// Every deployment speaks only TLS, with the certificates of make certs, and
// its programs log in by certificate; only the course's file (-course)
// speaks plain AMQP, inside its own compose network with no host port.
//
// It also makes sure that .env, which docker compose reads, names the host
// ports (with their defaults), and with -new-passwords it rewrites only the
// password lines of .env.
package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/envconf"
	"github.com/loteria-nacional/pipeline/logfmt"
)

func main() {
	var o options
	flag.IntVar(&o.agencies, "agencies", 5, "number of agencies")
	flag.StringVar(&o.compose, "compose", "", "the compose file to write (default docker-compose.yaml, or docker-compose.cluster.yaml with -cluster)")
	flag.BoolVar(&o.cluster, "cluster", false, "run the broker as a cluster of three nodes")
	flag.IntVar(&o.replicas, "replicas", 0, "run this many lottery replicas (a, b, …) on the cluster; under 2: one lottery")
	flag.StringVar(&o.definitions, "definitions", "", "the broker definitions to write (default: definitions.json beside docker-compose.yaml, <name>.definitions.json beside any other compose file)")
	flag.StringVar(&o.agencyConfig, "agency-config", "config/agency.env", "the agencies' CONFIG_FILE, from the repository root: KEY=VALUE lines or the course's config.yaml")
	flag.StringVar(&o.env, "env", ".env", "the deployment's settings that docker compose reads: host ports and passwords")
	flag.BoolVar(&o.newPasswords, "new-passwords", false, "write a new random admin password and Erlang cookie into the -env file first")
	flag.BoolVar(&o.course, "course", false, "the course's file: plain AMQP in a network of its own, no host port, programs with demo passwords")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprint(os.Stderr, logfmt.Line("compose", logfmt.Fail, map[string]any{"error": err}))
		os.Exit(1)
	}
}

type options struct {
	agencies     int
	compose      string // the compose file to write
	definitions  string // the definitions to write; empty: beside the compose file
	agencyConfig string // from the repository root
	env          string
	newPasswords bool
	cluster      bool
	replicas     int
	course       bool // plain AMQP, no host port: the file generar-compose.sh writes
}

// The committed compose files: on a single broker node, on the cluster, and
// on the cluster with lottery replicas.
const (
	singleComposeFile   = "docker-compose.yaml"
	clusterComposeFile  = "docker-compose.cluster.yaml"
	replicasComposeFile = "docker-compose.replicas.yaml"
	replicasDefinitions = "definitions.replicas.json"
)

// composePath is the compose file to write.
func (o options) composePath() string {
	switch {
	case o.compose != "":
		return o.compose
	case o.replicas >= 2:
		return replicasComposeFile
	case o.cluster:
		return clusterComposeFile
	}
	return singleComposeFile
}

// definitionsPath is where the definitions go: definitions.json beside a
// committed compose file (both load the same), else named after the compose
// file, so that a generated file never overwrites the committed one.
func (o options) definitionsPath() string {
	if o.definitions != "" {
		return o.definitions
	}
	dir, name := filepath.Split(o.composePath())
	switch name {
	case singleComposeFile, clusterComposeFile:
		return filepath.Join(dir, "definitions.json")
	case replicasComposeFile:
		return filepath.Join(dir, replicasDefinitions)
	}
	return filepath.Join(dir, strings.TrimSuffix(strings.TrimSuffix(name, ".yaml"), ".yml")+".definitions.json")
}

func run(o options) error {
	if o.agencies < 1 {
		return fmt.Errorf("-agencies %d: want at least 1", o.agencies)
	}
	if o.replicas == 1 || o.replicas > envconf.MaxReplicas {
		return fmt.Errorf("-replicas %d: want 2 to %d (or none, for one lottery)", o.replicas, envconf.MaxReplicas)
	}
	replicas := envconf.ReplicaNames(o.replicas)
	o.cluster = o.cluster || len(replicas) > 0 // replicas run on the cluster
	if o.course && o.cluster {
		return fmt.Errorf("-course runs one broker node: not with -cluster or -replicas")
	}
	d := newDeployment(o.agencies, replicas, !o.course)
	env, err := readEnvFile(o.env)
	if err != nil {
		return err
	}
	var ports []setting // the course's file publishes none
	switch {
	case o.cluster:
		ports = slices.Concat(hostPorts, clusterHostPorts)
	case !o.course:
		ports = hostPorts
	}
	changed := env.setDefaults(ports)
	if o.newPasswords {
		if err := d.newPasswords(&env); err != nil {
			return err
		}
		changed = true
	}
	if changed {
		if err := env.write(o.env); err != nil {
			return err
		}
	}
	defs, err := d.definitions(env)
	if err != nil {
		return err
	}
	defsPath, composePath := o.definitionsPath(), o.composePath()
	// The compose file names every path relative to its own folder.
	root, err := relative(filepath.Dir(composePath), ".")
	if err != nil {
		return err
	}
	ownDefs, err := relative(filepath.Dir(composePath), defsPath)
	if err != nil {
		return err
	}
	var regenerate string
	switch filepath.Base(composePath) {
	case singleComposeFile:
		regenerate = fmt.Sprintf("make compose AGENCIES=%d", o.agencies)
	case clusterComposeFile:
		regenerate = fmt.Sprintf("make compose CLUSTER=1 AGENCIES=%d", o.agencies)
	case replicasComposeFile:
		regenerate = fmt.Sprintf("make compose REPLICAS=%d AGENCIES=%d", o.replicas, o.agencies)
	default:
		regenerate = fmt.Sprintf("./generar-compose.sh %s %d", filepath.Base(composePath), o.agencies)
	}
	file := d.compose(composeParams{
		Agencies:     o.agencies,
		Root:         root,
		Definitions:  ownDefs,
		AgencyConfig: filepath.ToSlash(o.agencyConfig),
		Regenerate:   regenerate,
		Cluster:      o.cluster,
		Replicas:     replicas,
		TLS:          !o.course,
	})
	if err := os.WriteFile(defsPath, defs, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(composePath, file, 0o644); err != nil {
		return err
	}
	fmt.Print(logfmt.Line("compose", logfmt.Success, map[string]any{"agencias": o.agencies, "archivos": composePath + ", " + defsPath}))
	return nil
}

// relative is path as seen from the folder dir, with forward slashes.
func relative(dir, path string) (string, error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	absPath, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(absDir, absPath)
	if err != nil {
		return "", fmt.Errorf("%s from %s: %w", path, dir, err)
	}
	return filepath.ToSlash(rel), nil
}

// Vhost is the deployment's virtual host.
const Vhost = "lottery"

// hostPorts are the ports the broker publishes on 127.0.0.1, with their
// defaults: the settings docker compose takes from .env.
var hostPorts = []setting{
	{"AMQP_PORT", "5671", "AMQP over TLS, for the programs and tests outside the stack"},
	{"MANAGEMENT_PORT", "15671", "the management UI and HTTP API, over HTTPS"},
}

// clusterHostPorts are the cluster's other two nodes' ports.
var clusterHostPorts = []setting{
	{"AMQP_PORT_2", "5681", "AMQP over TLS of the cluster's second node"},
	{"MANAGEMENT_PORT_2", "15681", "the management UI of the cluster's second node"},
	{"AMQP_PORT_3", "5691", "AMQP over TLS of the cluster's third node"},
	{"MANAGEMENT_PORT_3", "15691", "the management UI of the cluster's third node"},
}

// user is a broker user of the deployment.
type user struct {
	name      string
	envVar    string // its password's variable in .env; "" for a program
	tags      []string
	configure string
	write     string
	read      string
}

type deployment struct {
	agencies int
	replicas []string
	users    []user
	tls      bool // programs log in by certificate, and have no password
}

// newDeployment lists the users: an administrator for the management UI,
// each lottery (the one, or each replica, reading only its own queues), and
// one user per agency, each with least privilege. Regexes are anchored;
// nobody may configure (declare, delete, bind) anything but the
// administrator, and nobody but the administrator may use amq.default.
// With tls, the programs' users have no password: they log in by
// certificate, whose common name names the user.
func newDeployment(agencies int, replicas []string, tls bool) deployment {
	d := deployment{agencies: agencies, replicas: replicas, tls: tls, users: []user{
		{name: "admin", envVar: "ADMIN_PASSWORD", tags: []string{"administrator"}, configure: ".*", write: ".*", read: ".*"},
	}}
	for _, l := range lotteries(replicas) {
		queues := regexp.QuoteMeta(strings.TrimSuffix(broker.BetsQueueOf(l.Replica), ".bets")) + `\.(bets|requests)`
		d.users = append(d.users, user{name: l.User(), tags: []string{}, configure: "^$",
			write: `^(winners|dead-letter)$`, read: "^" + queues + "$"})
	}
	for id := 1; id <= agencies; id++ {
		d.users = append(d.users, user{
			name: fmt.Sprintf("agency-%d", id), tags: []string{},
			configure: "^$", write: `^(bets|requests)$`, read: fmt.Sprintf(`^agency\.%d\.winners$`, id),
		})
	}
	return d
}

// demoPassword is the committed password of a user: for demos only.
func demoPassword(name string) string { return name + "-demo" }

// passwordHash is the user's password_hash in the definitions: of its
// password from .env, else of the demo one; empty for a program that logs
// in by certificate, which no password opens.
func (d deployment) passwordHash(u user, env envFile) string {
	if u.envVar == "" && d.tls {
		return ""
	}
	if p, _ := env.get(u.envVar); p != "" && u.envVar != "" {
		return passwordHash(u.name, p)
	}
	return passwordHash(u.name, demoPassword(u.name))
}

// newPasswords sets a new random password for every user that has one in
// env (the people's), and a new Erlang cookie for the cluster's nodes.
func (d deployment) newPasswords(env *envFile) error {
	vars := []string{"ERLANG_COOKIE"}
	for _, u := range d.users {
		if u.envVar != "" {
			vars = append(vars, u.envVar)
		}
	}
	for _, v := range vars {
		buf := make([]byte, 18)
		if _, err := rand.Read(buf); err != nil {
			return err
		}
		env.set(v, hex.EncodeToString(buf))
	}
	return nil
}

// passwordHash is RabbitMQ's rabbit_password_hashing_sha256 form:
// base64(salt + sha256(salt + password)). The 4-byte salt is derived from
// the user and password, so the same input writes the same file.
func passwordHash(name, password string) string {
	seed := sha256.Sum256([]byte("salt:" + name + ":" + password))
	salt := seed[:4]
	h := sha256.Sum256(append(append([]byte{}, salt...), password...))
	return base64.StdEncoding.EncodeToString(append(append([]byte{}, salt...), h[:]...))
}
