package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"

	"github.com/loteria-nacional/pipeline/logfmt"
)

// Config says how to reach the broker.
type Config struct {
	URL  string // amqp://user:pass@host:port/vhost
	Name string // connection name shown in the management UI

	// DialAttempts bounds how many times Dial tries before giving up while
	// the broker does not answer yet; 0 means 30.
	DialAttempts int
	// MaxBackoff caps the wait between attempts; 0 means 5s.
	MaxBackoff time.Duration
}

// Redact returns rawURL with any password masked, for logs.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// User is the user name in rawURL ("guest" when it names none, as amqp091
// assumes). Agencies stamp it into the user-id property of what they
// publish; RabbitMQ refuses a message whose user-id is not the connection's.
func User(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil || u.User.Username() == "" {
		return "guest"
	}
	return u.User.Username()
}

// LoginAttempts is how many times in a row Dial lets the broker refuse the
// login before it gives up: a refusal right at start-up may come from a
// broker still loading its users; more than that is a setting to fix.
const LoginAttempts = 3

// ErrLoginRefused means that the broker refused the user's login (user or
// password) or its access to the vhost: a person must fix a setting, and
// retrying will not help.
var ErrLoginRefused = errors.New("login refused")

// Where is rawURL without its user and password: the broker and vhost, for
// messages that name the user apart.
func Where(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	return u.String()
}

// Dial connects to the broker, retrying with a growing, capped backoff while
// it does not answer; each failed attempt is logged as in_progress. It gives
// up after cfg.DialAttempts attempts, after LoginAttempts refused logins in a
// row ([ErrLoginRefused]), or when ctx ends.
func Dial(ctx context.Context, cfg Config, log logrus.FieldLogger) (*amqp.Connection, error) {
	attempts := cfg.DialAttempts
	if attempts <= 0 {
		attempts = 30
	}
	maxWait := cfg.MaxBackoff
	if maxWait <= 0 {
		maxWait = 5 * time.Second
	}
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(cfg.Name)
	acfg := amqp.Config{
		Properties: props,
		Heartbeat:  10 * time.Second,
		Locale:     "en_US",
		Dial: func(network, addr string) (net.Conn, error) {
			d := net.Dialer{Timeout: 10 * time.Second}
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			// The handshake must finish in time; amqp091 clears the deadline after it.
			return conn, conn.SetDeadline(time.Now().Add(30 * time.Second))
		},
	}
	wait := 250 * time.Millisecond
	refused := 0
	for attempt := 1; ; attempt++ {
		conn, err := amqp.DialConfig(cfg.URL, acfg)
		if err == nil {
			log.WithField("url", Redact(cfg.URL)).Info("conexion_broker")
			return conn, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if loginRefused(err) {
			refused++
		} else {
			refused = 0
		}
		if refused >= LoginAttempts {
			return nil, fmt.Errorf("%w: the broker at %s refused user %q %d times: %w", ErrLoginRefused, Where(cfg.URL), User(cfg.URL), refused, err)
		}
		if attempt >= attempts {
			return nil, fmt.Errorf("connect to %s: gave up after %d attempts: %w", Redact(cfg.URL), attempt, err)
		}
		log.WithFields(logrus.Fields{
			logfmt.ResultKey: logfmt.InProgress,
			"url":            Redact(cfg.URL),
			"intento":        attempt,
			"error":          err,
		}).Info("conexion_broker")
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, maxWait)
	}
}

// loginRefused reports whether a handshake failed because the broker
// refused the login (access-refused) or the vhost (not-allowed: it does not
// exist, or the user has no access to it).
func loginRefused(err error) bool {
	var ae *amqp.Error
	return errors.As(err, &ae) && (ae.Code == amqp.AccessRefused || ae.Code == amqp.NotAllowed)
}

// ErrConnectionLost marks an error that came with the connection or a
// channel going away: the cure is to reconnect and resume.
var ErrConnectionLost = errors.New("connection to the broker lost")

// MarkLost wraps err in ErrConnectionLost when conn is closed or err is
// [Lost]. Call it before closing conn on purpose.
func MarkLost(conn *amqp.Connection, err error) error {
	if err == nil || errors.Is(err, ErrConnectionLost) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if conn.IsClosed() || Lost(err) {
		return fmt.Errorf("%w: %w", ErrConnectionLost, err)
	}
	return err
}

// Lost reports whether err means that the connection or a channel went away
// (closed by the broker, reset, a publish left unconfirmed) rather than that
// the broker refused an operation. Reconnecting is the cure for the first;
// the second (access refused, not found) needs a person.
func Lost(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ae *amqp.Error
	if errors.As(err, &ae) {
		switch ae.Code {
		case amqp.ConnectionForced, amqp.ChannelError, amqp.FrameError, amqp.InternalError, amqp.UnexpectedFrame, amqp.ResourceError:
			return true
		}
		return false
	}
	var oe *net.OpError // not net.Error: a syscall.Errno from a full disk is one too
	return errors.As(err, &oe) ||
		errors.Is(err, ErrNacked) || errors.Is(err, ErrClosed) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
