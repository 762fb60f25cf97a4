package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/internal/rabbitapi"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// certs makes a certificate authority and the deployment's certificates
// for agencies 1…n with tools/certs, in a folder of its own, and returns it.
func certs(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "run", "../tools/certs", "-out", dir, "-agencies", strconv.Itoa(n)).CombinedOutput()
	if err != nil {
		t.Fatalf("tools/certs: %v\n%s", err, out)
	}
	return dir
}

// expired signs, with the authority in dir, a client certificate for user
// that expired an hour ago, and returns its certificate and key files.
func expired(t *testing.T, dir, user string) (string, string) {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: user},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, pair.Leaf, &key.PublicKey, pair.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	certFile, keyFile := filepath.Join(out, user+".pem"), filepath.Join(out, user+"-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// tlsEnv is the TLS settings of the program whose certificate is user's.
func tlsEnv(dir, user string) []string {
	return []string{"AMQP_CA_FILE=" + filepath.Join(dir, "ca.pem"),
		"AMQP_CERT_FILE=" + filepath.Join(dir, user+".pem"), "AMQP_KEY_FILE=" + filepath.Join(dir, user+"-key.pem")}
}

// tlsBroker is the TLS tests' broker, and the folder of the certificates
// (lottery, agencies 1 and 2, and the authority's) it trusts: the RabbitMQ
// 4.x container that make test-rabbitmq4 starts for them (TLS_TEST_CERTS,
// TLS_TEST_PORT, TLS_TEST_API), or else a private node of the local
// RabbitMQ. Each user is made with no password and every permission on the
// vhost "/": it logs in by certificate.
func tlsBroker(t *testing.T, users ...string) (string, int) {
	t.Helper()
	if dir := os.Getenv("TLS_TEST_CERTS"); dir != "" {
		port, err := strconv.Atoi(os.Getenv("TLS_TEST_PORT"))
		if err != nil {
			t.Fatalf("TLS_TEST_CERTS is set, and TLS_TEST_PORT is %q: %v", os.Getenv("TLS_TEST_PORT"), err)
		}
		api, err := rabbitapi.For(os.Getenv("TLS_TEST_API"), "amqp://guest:guest@127.0.0.1/")
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range users {
			if _, err := api.Do(http.MethodPut, "/api/users/"+u, `{"password_hash":"","tags":""}`); err != nil {
				t.Fatal(err)
			}
			if _, err := api.Do(http.MethodPut, "/api/permissions/%2F/"+u, `{"configure":".*","write":".*","read":".*"}`); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("the TLS broker: 127.0.0.1:%d, certificates in %s", port, dir)
		return dir, port
	}
	dir := certs(t, 2)
	node, port := brokertest.StartTLSNode(t, filepath.Join(dir, "ca.pem"), filepath.Join(dir, "broker.pem"), filepath.Join(dir, "broker-key.pem"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, user := range users {
		for _, args := range [][]string{{"add_user", user, "unused"}, {"clear_password", user}, {"set_permissions", "-p", "/", user, ".*", ".*", ".*"}} {
			if _, err := node.Ctl(ctx, args...); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir, port
}

// TestPipelineOverTLS runs the whole pipeline over amqps:// on a private
// node with TLS, every program logging in with its certificate, the
// lottery knowing agencies by the user RabbitMQ checks; then clients the
// broker must refuse, and a program that must refuse the broker. Each
// refusal is one clear line and exit 1, at once.
func TestPipelineOverTLS(t *testing.T) {
	dir, port := tlsBroker(t, "lottery", "agency-1", "agency-2")
	w := &world{t: t, url: "amqps://127.0.0.1:" + strconv.Itoa(port) + "/", dir: t.TempDir()}
	defer w.dump()
	winners := []int{2, 1}
	files := w.gendata(2000, winners...)
	lot := w.startLottery(2, append(tlsEnv(dir, "lottery"), "LOTTERY_IDENTITY=user")...)
	var agencies []*proc
	for i, f := range files {
		id := strconv.Itoa(i + 1)
		agencies = append(agencies, w.start("agency-"+id, "agency", append(tlsEnv(dir, "agency-"+id), "CLI_ID="+id, "CLI_DATA_FILE="+f)...))
	}
	waitOK(t, agencies)
	stopOK(t, lot)
	check(t, w, files, defaultBatch, winners, filepath.Join(w.lotteryDir(), "bets.csv"))
	w.waitFor("agency-1", time.Second, logfmt.Logged(logfmt.CertificadoPropio).Is(logfmt.InProgress).With("usuario", "agency-1").Has("vence"))

	other := certs(t, 1)
	oldCert, oldKey := expired(t, dir, "agency-1")
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"no certificate", []string{"AMQP_CA_FILE=" + filepath.Join(dir, "ca.pem"), "AMQP_URL=amqps://guest:guest@127.0.0.1:" + strconv.Itoa(port) + "/"}, "certificate"},
		{"another authority's certificate", []string{"AMQP_CA_FILE=" + filepath.Join(dir, "ca.pem"),
			"AMQP_CERT_FILE=" + filepath.Join(other, "agency-1.pem"), "AMQP_KEY_FILE=" + filepath.Join(other, "agency-1-key.pem")}, "certificate"},
		{"an expired certificate", []string{"AMQP_CA_FILE=" + filepath.Join(dir, "ca.pem"), "AMQP_CERT_FILE=" + oldCert, "AMQP_KEY_FILE=" + oldKey}, "certificate"},
		{"the wrong authority for the broker", tlsEnv(other, "agency-1"), "certificate signed by unknown authority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := "refused-" + strings.ReplaceAll(tc.name, " ", "-")
			p := w.start(name, "agency", append([]string{"CLI_ID=1", "CLI_DATA_FILE=" + files[0]}, tc.env...)...)
			if code := p.wait(t, 30*time.Second); code != 1 {
				t.Errorf("exited %d; want 1", code)
			}
			fails := w.find(t, name, logfmt.Failures())
			if refused := logfmt.Logged(logfmt.Agencia).Failing(tc.want, "certificate refused"); len(fails) != 1 || !refused.Matches(fails[0].Event) {
				t.Errorf("fail lines %v; want one with %s", fails, refused)
			}
		})
	}
}
