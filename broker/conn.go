package broker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/sirupsen/logrus"

	"github.com/loteria-nacional/pipeline/logfmt"
)

// Config says how to reach the broker.
type Config struct {
	// URL is the broker's URL, amqp://user:pass@host:port/vhost, or the
	// URLs of several nodes of a cluster separated by commas, each complete.
	URL  string
	Name string // connection name shown in the management UI

	// DialAttempts bounds how many times Dial tries before giving up while
	// no broker answers yet; 0 means 30.
	DialAttempts int
	// MaxBackoff caps the wait between attempts; 0 means 5s.
	MaxBackoff time.Duration
}

// URLs are the broker URLs that a Config's URL lists.
func URLs(raw string) []string {
	var urls []string
	for _, u := range strings.Split(raw, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	return urls
}

// Redact returns the URLs of raw with their passwords masked, for logs.
func Redact(raw string) string {
	return eachURL(raw, func(u *url.URL) string { return u.Redacted() })
}

// Where is the URLs of raw without their users and passwords: the brokers
// and vhosts, for messages that name the user apart.
func Where(raw string) string {
	return eachURL(raw, func(u *url.URL) string {
		u.User = nil
		return u.String()
	})
}

func eachURL(raw string, show func(*url.URL) string) string {
	var out []string
	for _, s := range URLs(raw) {
		u, err := url.Parse(s)
		if err != nil {
			out = append(out, "(unparsable URL)")
			continue
		}
		out = append(out, show(u))
	}
	return strings.Join(out, ",")
}

// User is the user name of the first URL in raw ("guest" when it names
// none, as amqp091 assumes). Agencies stamp the user of the URL they are
// connected to into the user-id property of what they publish; RabbitMQ
// refuses a message whose user-id is not the connection's.
func User(raw string) string {
	urls := URLs(raw)
	if len(urls) == 0 {
		return "guest"
	}
	u, err := url.Parse(urls[0])
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

// Conn is a connection to one of the brokers a Config lists.
type Conn struct {
	*amqp.Connection
	URL string // the broker's URL, user and password included
}

// A Dialer connects to the brokers a Config lists, one at a time. Each Dial
// starts with the broker after the one it connected to last, so that a
// program whose connection is lost tries the other nodes of its cluster
// first, and comes round to the lost one in turn.
type Dialer struct {
	cfg  Config
	urls []string
	next int // the broker to try first
}

// NewDialer is a Dialer of the brokers cfg lists.
func NewDialer(cfg Config) *Dialer { return &Dialer{cfg: cfg, urls: URLs(cfg.URL)} }

// Dial connects to the one broker of cfg.URL, or to the first of its list
// that answers: see Dialer.
func Dial(ctx context.Context, cfg Config, log logrus.FieldLogger) (*Conn, error) {
	return NewDialer(cfg).Dial(ctx, log)
}

// Dial connects to the brokers in turn, retrying with a growing, capped
// backoff while none answers; each failed attempt is logged as in_progress,
// and the connection made names its broker. It gives up after
// cfg.DialAttempts attempts, after LoginAttempts refused logins in a row
// ([ErrLoginRefused]), or when ctx ends.
func (d *Dialer) Dial(ctx context.Context, log logrus.FieldLogger) (*Conn, error) {
	if len(d.urls) == 0 {
		return nil, fmt.Errorf("no broker URL in %q", Redact(d.cfg.URL))
	}
	attempts := d.cfg.DialAttempts
	if attempts <= 0 {
		attempts = 30
	}
	maxWait := d.cfg.MaxBackoff
	if maxWait <= 0 {
		maxWait = 5 * time.Second
	}
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(d.cfg.Name)
	acfg := amqp.Config{
		Properties: props,
		Heartbeat:  10 * time.Second,
		Locale:     "en_US",
		Dial: func(network, addr string) (net.Conn, error) {
			nd := net.Dialer{Timeout: 10 * time.Second}
			conn, err := nd.DialContext(ctx, network, addr)
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
		i := d.next % len(d.urls)
		d.next = i + 1
		target := d.urls[i]
		node := fmt.Sprintf("%d/%d", i+1, len(d.urls))
		conn, err := amqp.DialConfig(target, acfg)
		if err == nil {
			log.WithFields(logrus.Fields{"url": Redact(target), "nodo": node}).Info("conexion_broker")
			return &Conn{Connection: conn, URL: target}, nil
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
			return nil, fmt.Errorf("%w: the broker at %s refused user %q %d times: %w", ErrLoginRefused, Where(target), User(target), refused, err)
		}
		if attempt >= attempts {
			return nil, fmt.Errorf("connect to %s: gave up after %d attempts: %w", Redact(d.cfg.URL), attempt, err)
		}
		log.WithFields(logrus.Fields{
			logfmt.ResultKey: logfmt.InProgress,
			"url":            Redact(target),
			"nodo":           node,
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
