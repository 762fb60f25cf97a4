package broker_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus/hooks/test"

	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// authority is a test's certificate authority.
type authority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newAuthority(t *testing.T) authority {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return authority{cert, key}
}

// issue signs a certificate for name (a host, or a client's user) valid
// until notAfter, and writes it and its key into dir as name.pem and
// name-key.pem.
func (a authority) issue(t *testing.T, dir, name string, notAfter time.Time) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter, DNSNames: []string{name},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.DNSNames, tmpl.IPAddresses = nil, []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, &key.PublicKey, a.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// file writes the authority's certificate into dir and returns its path.
func (a authority) file(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "ca-"+a.cert.SerialNumber.String()+".pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// handshakes is the address of a TLS server with cfg that makes the
// handshake with whoever connects, and hangs up; it stops when the test
// ends.
func handshakes(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// TestDialRefusesTheBrokersCertificate: a broker whose certificate comes
// from another authority, or names another host, is no outage: Dial stops
// at the first attempt with ErrCertificate, naming the problem.
func TestDialRefusesTheBrokersCertificate(t *testing.T) {
	dir := t.TempDir()
	ours, theirs := newAuthority(t), newAuthority(t)
	for _, tc := range []struct {
		name   string
		signer authority
		host   string // the name in the broker's certificate
		want   string
	}{
		{"another authority", theirs, "127.0.0.1", "unknown authority"},
		{"another host name", ours, "elsewhere.example", "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			certFile, keyFile := tc.signer.issue(t, dir, tc.host, time.Now().Add(time.Hour))
			pair, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				t.Fatal(err)
			}
			addr := handshakes(t, &tls.Config{Certificates: []tls.Certificate{pair}})
			tlsCfg, err := broker.LoadTLS(ours.file(t, dir), "", "")
			if err != nil {
				t.Fatal(err)
			}
			cfg := broker.Config{URL: "amqps://guest:guest@" + addr + "/", TLS: tlsCfg, MaxBackoff: time.Millisecond}
			_, err = broker.Dial(ctx(t), cfg, logfmt.Discard())
			if !errors.Is(err, broker.ErrCertificate) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Dial = %v; want ErrCertificate naming %q", err, tc.want)
			}
		})
	}
}

// TestDialRefusedCertificate: a broker that refuses the program's own
// certificate is no outage either: ErrCertificate at the first attempt.
func TestDialRefusedCertificate(t *testing.T) {
	dir := t.TempDir()
	ours, theirs := newAuthority(t), newAuthority(t)
	certFile, keyFile := ours.issue(t, dir, "127.0.0.1", time.Now().Add(time.Hour))
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	trusted := x509.NewCertPool()
	trusted.AddCert(theirs.cert) // the broker trusts only the other authority's clients
	addr := handshakes(t, &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: trusted})
	clientCert, clientKey := ours.issue(t, dir, "agency-1", time.Now().Add(time.Hour))
	tlsCfg, err := broker.LoadTLS(ours.file(t, dir), clientCert, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := broker.Config{URL: "amqps://" + addr + "/", TLS: tlsCfg, MaxBackoff: time.Millisecond}
	if _, err := broker.Dial(ctx(t), cfg, logfmt.Discard()); !errors.Is(err, broker.ErrCertificate) {
		t.Errorf("Dial with a certificate the broker refuses = %v; want ErrCertificate", err)
	}
}

// TestLogCertificate: a program's own certificate is logged at start with
// its expiry, and a warning within 30 days of it.
func TestLogCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := newAuthority(t)
	for _, tc := range []struct {
		name string
		left time.Duration
		warn bool
	}{
		{"a year left", 365 * 24 * time.Hour, false},
		{"ten days left", 10 * 24 * time.Hour, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			certFile, keyFile := ca.issue(t, dir, "agency-1", time.Now().Add(tc.left))
			tlsCfg, err := broker.LoadTLS("", certFile, keyFile)
			if err != nil {
				t.Fatal(err)
			}
			log, hook := test.NewNullLogger()
			broker.LogCertificate(broker.Config{TLS: tlsCfg}, time.Now(), log)
			e := hook.LastEntry()
			if e == nil || e.Message != logfmt.CertificadoPropio || e.Data["usuario"] != "agency-1" || e.Data["vence"] == nil {
				t.Fatalf("logged %v; want certificado_propio with the user and the expiry", e)
			}
			if _, warned := e.Data["aviso"]; warned != tc.warn {
				t.Errorf("warned: %v (%v); want %v", warned, e.Data, tc.warn)
			}
		})
	}
}
