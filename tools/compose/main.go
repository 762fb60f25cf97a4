// Command compose writes the docker compose deployment for N agencies:
// docker-compose.yaml and definitions.json (the broker's topology, users
// and permissions, from the same broker.ForAgencies the programs declare).
// The same input always writes the same bytes.
//
//	compose -agencies 5               # demo passwords, or those in .env
//	compose -agencies 5 -new-passwords  # new random passwords into .env first
package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

func main() {
	agencies := flag.Int("agencies", 5, "number of agencies")
	out := flag.String("out", ".", "where to write docker-compose.yaml and definitions.json")
	envPath := flag.String("env", ".env", "file of passwords (KEY=VALUE) that compose also reads")
	newPasswords := flag.Bool("new-passwords", false, "write new random passwords into the -env file first")
	flag.Parse()
	if err := run(*agencies, *out, *envPath, *newPasswords); err != nil {
		fmt.Fprintln(os.Stderr, "action: compose | result: fail | error:", err)
		os.Exit(1)
	}
}

func run(agencies int, out, envPath string, newPasswords bool) error {
	if agencies < 1 {
		return fmt.Errorf("-agencies %d: want at least 1", agencies)
	}
	d := newDeployment(agencies)
	if newPasswords {
		if err := writePasswords(envPath, d); err != nil {
			return err
		}
	}
	passwords, err := readPasswords(envPath)
	if err != nil {
		return err
	}
	defs, err := d.definitions(passwords)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "definitions.json"), defs, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "docker-compose.yaml"), d.compose(), 0o644); err != nil {
		return err
	}
	fmt.Printf("action: compose | result: success | agencias: %d | archivos: docker-compose.yaml, definitions.json\n", agencies)
	return nil
}

// Vhost is the deployment's virtual host.
const Vhost = "lottery"

// user is a broker user of the deployment.
type user struct {
	name      string
	envVar    string // its password's variable in .env
	tags      []string
	configure string
	write     string
	read      string
}

type deployment struct {
	agencies int
	users    []user
}

// newDeployment lists the users: an administrator for the management UI,
// the lottery, and one user per agency, each with least privilege. Regexes
// are anchored; nobody may configure (declare, delete, bind) anything but
// the administrator, and nobody but the administrator may use amq.default.
func newDeployment(agencies int) deployment {
	d := deployment{agencies: agencies, users: []user{
		{name: "admin", envVar: "ADMIN_PASSWORD", tags: []string{"administrator"}, configure: ".*", write: ".*", read: ".*"},
		{name: "lottery", envVar: "LOTTERY_PASSWORD", tags: []string{}, configure: "^$",
			write: `^(winners|dead-letter)$`, read: `^lottery\.(bets|requests)$`},
	}}
	for id := 1; id <= agencies; id++ {
		d.users = append(d.users, user{
			name: fmt.Sprintf("agency-%d", id), envVar: fmt.Sprintf("AGENCY_%d_PASSWORD", id), tags: []string{},
			configure: "^$", write: `^(bets|requests)$`, read: fmt.Sprintf(`^agency\.%d\.winners$`, id),
		})
	}
	return d
}

// demoPassword is the committed password of a user: for demos only.
func demoPassword(name string) string { return name + "-demo" }

// password is the user's password: from .env, else the demo one.
func (u user) password(passwords map[string]string) string {
	if p := passwords[u.envVar]; p != "" {
		return p
	}
	return demoPassword(u.name)
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

var envLine = regexp.MustCompile(`^([A-Z0-9_]+)=(.*)$`)

func readPasswords(path string) (map[string]string, error) {
	m := map[string]string{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		g := envLine.FindStringSubmatch(text)
		if g == nil {
			return nil, fmt.Errorf("%s line %d: want KEY=VALUE", path, line)
		}
		m[g[1]] = g[2]
	}
	return m, sc.Err()
}

func writePasswords(path string, d deployment) error {
	var b strings.Builder
	b.WriteString("# Broker passwords for this deployment, made by `make passwords`. Keep this file private.\n")
	for _, u := range d.users {
		buf := make([]byte, 18)
		if _, err := rand.Read(buf); err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s=%s\n", u.envVar, hex.EncodeToString(buf))
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}
