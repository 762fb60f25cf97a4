package main

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM block", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCertsMakesWhatTheDeploymentNeeds: the authority signs a broker
// certificate valid for every broker name and a client certificate for
// each program, whose common name is its user; keys are its owner's only.
func TestCertsMakesWhatTheDeploymentNeeds(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	if err := run(dir, 2, "a,b", now); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(readCert(t, filepath.Join(dir, "ca.pem")))
	broker := readCert(t, filepath.Join(dir, "broker.pem"))
	for _, name := range BrokerNames {
		if _, err := broker.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("the broker's certificate for %s: %v", name, err)
		}
	}
	if _, err := broker.Verify(x509.VerifyOptions{DNSName: "elsewhere.example", Roots: roots}); err == nil {
		t.Error("the broker's certificate is valid for elsewhere.example")
	}
	for _, user := range []string{"lottery-a", "lottery-b", "agency-1", "agency-2"} {
		c := readCert(t, filepath.Join(dir, user+".pem"))
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s's client certificate: %v", user, err)
		}
		if c.Subject.CommonName != user {
			t.Errorf("%s's certificate names %q", user, c.Subject.CommonName)
		}
		info, err := os.Stat(filepath.Join(dir, user+"-key.pem"))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s's key: %v, mode %v; want 0600", user, err, info.Mode().Perm())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "lottery.pem")); err == nil {
		t.Error("with replicas, a certificate for a lottery that does not run")
	}
}

// TestCertsRenewsWhatExpiresSoon: run again, the tool keeps what is good,
// renews what expires within 30 days, and everything when the authority
// itself does.
func TestCertsRenewsWhatExpiresSoon(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	if err := run(dir, 1, "", now); err != nil {
		t.Fatal(err)
	}
	files := func() map[string][]byte {
		m := map[string][]byte{}
		for _, n := range []string{"ca.pem", "broker.pem", "lottery.pem", "agency-1.pem"} {
			b, _ := os.ReadFile(filepath.Join(dir, n))
			m[n] = b
		}
		return m
	}
	before := files()
	if err := run(dir, 1, "", now.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for n, b := range files() {
		if !bytes.Equal(b, before[n]) {
			t.Errorf("%s renewed a day later; want it kept", n)
		}
	}
	// Two years less 20 days on, the leaves expire within 30 days.
	if err := run(dir, 1, "", now.Add(leafLife-20*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	after := files()
	for n, b := range after {
		if renewed := !bytes.Equal(b, before[n]); renewed != (n != "ca.pem") {
			t.Errorf("%s renewed: %v; want every leaf renewed and the authority kept", n, renewed)
		}
	}
	// Near the authority's end, everything is made again.
	if err := run(dir, 1, "", now.Add(authorityLife-20*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for n, b := range files() {
		if bytes.Equal(b, after[n]) {
			t.Errorf("%s kept when the authority expires soon; want everything renewed", n)
		}
	}
}
