package broker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"

	"github.com/loteria-nacional/pipeline/logfmt"
)

// LoadTLS is the TLS configuration of a program that trusts the brokers'
// certificates signed by the authority in caFile (none: the system's
// authorities) and, given certFile and keyFile, shows its own certificate
// and logs in with it (EXTERNAL): its broker user is then the
// certificate's common name, and its URLs carry no password.
func LoadTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read the brokers' authority: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", caFile)
		}
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("a client certificate needs both its certificate and its key")
	}
	if certFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("load the client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// ownCertificate is the client certificate a TLS configuration shows, or
// nil when it shows none.
func ownCertificate(cfg *tls.Config) *x509.Certificate {
	if cfg == nil || len(cfg.Certificates) == 0 {
		return nil
	}
	return cfg.Certificates[0].Leaf // parsed by tls.LoadX509KeyPair
}

// certificateUser is the broker user of a program that logs in with its
// certificate, and "" for one that logs in with a password.
func certificateUser(cfg *tls.Config) string {
	if c := ownCertificate(cfg); c != nil {
		return c.Subject.CommonName
	}
	return ""
}

// ExpiresSoon is how close to its end a program's own certificate is
// reported with a warning.
const ExpiresSoon = 30 * 24 * time.Hour

// LogCertificate logs, at start, the program's own certificate's user and
// expiry, with a warning when it ends within ExpiresSoon.
func LogCertificate(cfg Config, now time.Time, log logrus.FieldLogger) {
	c := ownCertificate(cfg.TLS)
	if c == nil {
		return
	}
	fields := logrus.Fields{logfmt.ResultKey: logfmt.InProgress, "usuario": c.Subject.CommonName, "vence": c.NotAfter.UTC().Format(time.DateOnly)}
	if c.NotAfter.Sub(now) < ExpiresSoon {
		fields["aviso"] = fmt.Sprintf("vence en %d dias: renovarlo (make certs)", int(c.NotAfter.Sub(now).Hours()/24))
	}
	log.WithFields(fields).Info(logfmt.CertificadoPropio)
}

// ErrCertificate means that a TLS handshake failed on a certificate: the
// broker's (an unknown authority, another host name, expired) or the
// program's, refused by the broker. A person must fix it: it is no outage,
// and retrying will not help.
var ErrCertificate = errors.New("certificate refused")

// certificateRefused reports whether err is a TLS handshake's refusal of a
// certificate, by this program or by the broker. The broker's refusal may
// come as a TLS alert during the handshake or, with TLS 1.3, on the first
// read after it, which amqp091-go reports as code 501 with the alert's text.
func certificateRefused(err error) bool {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		op       *net.OpError
		ae       *amqp.Error
	)
	switch {
	case errors.As(err, &unknown), errors.As(err, &hostname), errors.As(err, &invalid), errors.As(err, &verify):
		return true
	case errors.As(err, &op) && op.Op == "remote error":
		return true // an alert from the broker: it refused this program's certificate
	case errors.As(err, &ae) && strings.Contains(ae.Reason, "remote error: tls:"):
		return true
	}
	return false
}
