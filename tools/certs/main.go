// Command certs makes the deployment's certificates with Go's standard
// library: a private certificate authority and, from it, a certificate for
// the broker nodes (valid for the compose service names, localhost and
// 127.0.0.1) and a client certificate for each program identity: lottery
// (or lottery-<r> for each replica) and agency-1 … agency-N, each naming
// its broker user as its common name.
//
//	certs -out .certs -agencies 5
//	certs -out .certs -agencies 5 -replicas a,b
//
// Run again, it renews what expires within 30 days (everything, when the
// authority does) and what the authority did not sign, and keeps the rest.
// Private keys are written readable by their owner only.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/loteria-nacional/pipeline/envconf"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// renewWithin is how close to its expiry a certificate is renewed.
const renewWithin = 30 * 24 * time.Hour

// Lifetimes: the authority outlives what it signs.
const (
	authorityLife = 10 * 365 * 24 * time.Hour
	leafLife      = 2 * 365 * 24 * time.Hour
)

// BrokerNames are the names a broker node's certificate is valid for: the
// compose services of every variant, and this machine.
var BrokerNames = []string{"rabbitmq", "rabbitmq-1", "rabbitmq-2", "rabbitmq-3", "localhost", "127.0.0.1"}

func main() {
	out := flag.String("out", ".certs", "the folder to write the certificates and keys into")
	agencies := flag.Int("agencies", 5, "agencies 1…N, each with a client certificate")
	replicas := flag.String("replicas", "", "the lottery's replicas (a,b,…): a client certificate each instead of one for lottery")
	flag.Parse()
	if err := run(*out, *agencies, *replicas, time.Now()); err != nil {
		fmt.Fprint(os.Stderr, logfmt.Line("certs", logfmt.Fail, map[string]any{"error": err}))
		os.Exit(1)
	}
}

func run(out string, agencies int, replicaList string, now time.Time) error {
	if agencies < 1 {
		return fmt.Errorf("-agencies %d: want 1 or more", agencies)
	}
	replicas, err := envconf.ParseReplicas(replicaList)
	if err != nil {
		return fmt.Errorf("-replicas: %w", err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	ca, renewedCA, err := authority(out, now)
	if err != nil {
		return err
	}
	clients := []string{"lottery"}
	if len(replicas) > 0 {
		clients = clients[:0]
		for _, r := range replicas {
			clients = append(clients, "lottery-"+r)
		}
	}
	for id := 1; id <= agencies; id++ {
		clients = append(clients, fmt.Sprintf("agency-%d", id))
	}
	leaves := []leaf{{name: "broker", server: true}}
	for _, c := range clients {
		leaves = append(leaves, leaf{name: c})
	}
	for _, l := range leaves {
		state, err := l.ensure(out, ca, renewedCA, now)
		if err != nil {
			return err
		}
		said(filepath.Join(out, l.name+".pem"), state)
	}
	return nil
}

// said prints that the certificate at path was kept or made.
func said(path, state string) {
	fmt.Print(logfmt.Line("certs", logfmt.Success, map[string]any{"certificado": path, "estado": state}))
}

// signer is the authority: its certificate and key.
type signer struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// authority loads the authority from out, or makes a new one when there is
// none or it expires within renewWithin; it reports whether it made one.
func authority(out string, now time.Time) (signer, bool, error) {
	certPath, keyPath := filepath.Join(out, "ca.pem"), filepath.Join(out, "ca-key.pem")
	cert, key, err := load(certPath, keyPath)
	if err == nil && cert.IsCA && cert.NotAfter.Sub(now) > renewWithin {
		said(certPath, "conservado")
		return signer{cert, key}, false, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return signer{}, false, err
	}
	tmpl := template(pkix.Name{CommonName: "Lotería Nacional CA", Organization: []string{"Lotería Nacional"}}, now, authorityLife)
	tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return signer{}, false, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return signer{}, false, fmt.Errorf("sign the authority: %w", err)
	}
	if err := save(certPath, keyPath, der, key); err != nil {
		return signer{}, false, err
	}
	cert, _ = x509.ParseCertificate(der) // just made
	said(certPath, "generado")
	return signer{cert, key}, true, nil
}

// leaf is a certificate the authority signs: the broker's, for its names,
// or a program's, for its user.
type leaf struct {
	name   string // file name, and a client's common name: its broker user
	server bool
}

// ensure keeps l's certificate when the authority signed it and it does not
// expire within renewWithin, and makes it otherwise; it says which.
func (l leaf) ensure(out string, ca signer, renewedCA bool, now time.Time) (string, error) {
	certPath, keyPath := filepath.Join(out, l.name+".pem"), filepath.Join(out, l.name+"-key.pem")
	if cert, _, err := load(certPath, keyPath); err == nil && !renewedCA &&
		cert.CheckSignatureFrom(ca.cert) == nil && cert.NotAfter.Sub(now) > renewWithin {
		return "conservado", nil
	}
	tmpl := template(pkix.Name{CommonName: l.name, Organization: []string{"Lotería Nacional"}}, now, leafLife)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	if l.server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		for _, n := range BrokerNames {
			if ip := net.ParseIP(n); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, n)
			}
		}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", l.name, err)
	}
	return "generado", save(certPath, keyPath, der, key)
}

func template(subject pkix.Name, now time.Time, life time.Duration) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // crypto/rand does not fail
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      subject,
		NotBefore:    now.Add(-time.Hour), // clocks differ a little
		NotAfter:     now.Add(life),
	}
}

// load reads a certificate and its key, both PEM.
func load(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return nil, nil, fmt.Errorf("%s or %s holds no PEM block: remove both to make them again", certPath, keyPath)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", certPath, err)
	}
	key, err := x509.ParseECPrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	return cert, key, nil
}

// save writes a certificate (readable by all) and its key (by its owner
// only), each replaced whole.
func save(certPath, keyPath string, der []byte, key *ecdsa.PrivateKey) error {
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := write(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return write(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
}

// write replaces path with data, through a temporary file renamed into
// place, with the given mode whatever the umask.
func write(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	err = errors.Join(err, f.Chmod(mode), f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
