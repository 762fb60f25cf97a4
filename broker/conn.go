package broker

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
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
	// TLS, for amqps:// URLs: the authority the brokers' certificates are
	// checked against, each URL's against its own host name, and the
	// program's own certificate, with which it logs in (see LoadTLS).
	TLS *tls.Config

	// DialAttempts bounds how many times Dial tries while no broker
	// answers; 0 means no bound: an outage of any length is waited out.
	DialAttempts int

	// The fields below have defaults (see [DefaultConfig]), taken where a
	// field is zero.

	// MaxBackoff caps the wait between attempts, which starts at a quarter
	// of a second and doubles.
	MaxBackoff time.Duration
	// LoginAttempts is how many times in a row Dial lets the broker refuse
	// the login before it gives up: a refusal right at start-up may come
	// from a broker still loading its users; more than that is a setting
	// to fix.
	LoginAttempts int
	// StatusEvery is how often Dial says, while no broker answers, for how
	// long it has been waiting: often enough to see that a program is
	// alive, seldom enough that an outage of hours stays readable.
	StatusEvery time.Duration
	// ConnectTimeout bounds one TCP connect.
	ConnectTimeout time.Duration
	// HandshakeTimeout bounds a connection's AMQP handshake, so that a
	// broker that accepts and never answers is tried again. SIGTERM cuts
	// it short.
	HandshakeTimeout time.Duration
	// Heartbeat is the AMQP heartbeat asked of the broker: a connection
	// whose peer went silent is known lost within about twice this.
	Heartbeat time.Duration
}

// DefaultConfig holds the defaults of Config's fields, in one place.
var DefaultConfig = Config{
	MaxBackoff:       5 * time.Second,
	LoginAttempts:    3,
	StatusEvery:      10 * time.Second,
	ConnectTimeout:   10 * time.Second,
	HandshakeTimeout: 30 * time.Second,
	Heartbeat:        10 * time.Second,
}

// withDefaults is c with DefaultConfig's value in each zero field.
func (c Config) withDefaults() Config {
	d := DefaultConfig
	c.MaxBackoff = cmp.Or(c.MaxBackoff, d.MaxBackoff)
	c.LoginAttempts = cmp.Or(c.LoginAttempts, d.LoginAttempts)
	c.StatusEvery = cmp.Or(c.StatusEvery, d.StatusEvery)
	c.ConnectTimeout = cmp.Or(c.ConnectTimeout, d.ConnectTimeout)
	c.HandshakeTimeout = cmp.Or(c.HandshakeTimeout, d.HandshakeTimeout)
	c.Heartbeat = cmp.Or(c.Heartbeat, d.Heartbeat)
	return c
}

// ErrLoginRefused means that the broker refused the user's login (user or
// password) or its access to the vhost: a person must fix a setting, and
// retrying will not help.
var ErrLoginRefused = errors.New("login refused")

// Conn is a connection to one of the brokers a Config lists.
type Conn struct {
	*amqp.Connection
	URL  string // the broker's URL, user and password included
	User string // the broker user it is logged in as: the certificate's, or the URL's
}

// A Dialer connects to the brokers a Config lists, one at a time. Each Dial
// starts with the broker after the one it connected to last, so that a
// program whose connection is lost tries the other nodes of its cluster
// first, and comes round to the lost one in turn.
type Dialer struct {
	cfg  Config
	urls []string
	next int // the broker to try first

	dial func(url string, cfg amqp.Config) (*amqp.Connection, error) // amqp.DialConfig; tests replace it
}

// NewDialer is a Dialer of the brokers cfg lists, with DefaultConfig's
// value for each field cfg leaves zero.
func NewDialer(cfg Config) *Dialer {
	return &Dialer{cfg: cfg.withDefaults(), urls: URLs(cfg.URL), dial: amqp.DialConfig}
}

// Dial connects to the one broker of cfg.URL, or to the first of its list
// that answers: see Dialer.
func Dial(ctx context.Context, cfg Config, log logrus.FieldLogger) (*Conn, error) {
	return NewDialer(cfg).Dial(ctx, log)
}

// Redial is Dial for a connection made again at once after a routine close
// (see [Undecodable]): a connection made at the first attempt is logged at
// debug level, so that a hundred such closes do not make two hundred
// lines; waits and failures are logged as Dial logs them.
func (d *Dialer) Redial(ctx context.Context, log logrus.FieldLogger) (*Conn, error) {
	return d.connect(ctx, log, logrus.DebugLevel)
}

// Dial connects to the brokers in turn, retrying with a growing, capped
// backoff for as long as none answers: the first failure and then one line
// every cfg.StatusEvery are logged as in_progress, saying for how long no
// broker has answered; the connection made names its broker. It gives up
// after cfg.DialAttempts attempts when that is set, after cfg.LoginAttempts
// refused logins in a row ([ErrLoginRefused]), or when ctx ends, at once,
// also in the middle of a handshake.
func (d *Dialer) Dial(ctx context.Context, log logrus.FieldLogger) (*Conn, error) {
	return d.connect(ctx, log, logrus.InfoLevel)
}

// connect is Dial, logging a connection made at the first attempt at level.
func (d *Dialer) connect(ctx context.Context, log logrus.FieldLogger, level logrus.Level) (*Conn, error) {
	if len(d.urls) == 0 {
		return nil, fmt.Errorf("no broker URL in %q", Redact(d.cfg.URL))
	}
	maxWait := d.cfg.MaxBackoff
	wait := min(250*time.Millisecond, maxWait)
	began := time.Now()
	var logged time.Time // when the last wait was logged
	refused := 0
	for attempt := 1; ; attempt++ {
		i := d.next % len(d.urls)
		d.next = i + 1
		target := d.urls[i]
		node := fmt.Sprintf("%d/%d", i+1, len(d.urls))
		conn, err := d.dialOnce(ctx, target)
		if err == nil {
			entry := log.WithFields(logrus.Fields{"url": Redact(target), "nodo": node})
			if attempt > 1 {
				entry, level = entry.WithField("sin_broker", time.Since(began).Round(time.Second).String()), logrus.InfoLevel
			}
			entry.Log(level, logfmt.ConexionBroker)
			user := certificateUser(d.cfg.TLS)
			if user == "" {
				user = User(target)
			}
			return &Conn{Connection: conn, URL: target, User: user}, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if certificateRefused(err) {
			return nil, fmt.Errorf("%w: TLS with the broker at %s: %w", ErrCertificate, Where(target), err)
		}
		if loginRefused(err) {
			refused++
		} else {
			refused = 0
		}
		if refused >= d.cfg.LoginAttempts {
			return nil, fmt.Errorf("%w: the broker at %s refused user %q %d times: %w", ErrLoginRefused, Where(target), User(target), refused, err)
		}
		if d.cfg.DialAttempts > 0 && attempt >= d.cfg.DialAttempts {
			return nil, fmt.Errorf("connect to %s: gave up after %d attempts: %w", Redact(d.cfg.URL), attempt, err)
		}
		if now := time.Now(); logged.IsZero() || now.Sub(logged) >= d.cfg.StatusEvery {
			logged = now
			log.WithFields(logrus.Fields{
				logfmt.ResultKey: logfmt.InProgress,
				"url":            Redact(target),
				"nodo":           node,
				"intentos":       attempt,
				"sin_broker":     now.Sub(began).Round(time.Second).String(),
				"error":          err,
			}).Info(logfmt.ConexionBroker)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, maxWait)
	}
}

// dialOnce makes one attempt at url. When ctx ends, the attempt ends at
// once, whether the TCP connection or the AMQP handshake was under way.
func (d *Dialer) dialOnce(ctx context.Context, url string) (*amqp.Connection, error) {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(d.cfg.Name)
	var watching func() bool // stops the watch of ctx over the handshake
	cfg := amqp.Config{
		Properties: props,
		Heartbeat:  d.cfg.Heartbeat,
		Locale:     "en_US",
		// A copy each time: amqp091-go sets its ServerName from the URL
		// when empty, and every URL is checked against its own host.
		TLSClientConfig: d.cfg.TLS.Clone(),
		Dial: func(network, addr string) (net.Conn, error) {
			nd := net.Dialer{Timeout: d.cfg.ConnectTimeout}
			conn, err := nd.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			watching = context.AfterFunc(ctx, func() { conn.Close() })
			// The handshake must finish in time; amqp091 clears the deadline after it.
			return conn, conn.SetDeadline(time.Now().Add(d.cfg.HandshakeTimeout))
		},
	}
	if ownCertificate(d.cfg.TLS) != nil {
		cfg.SASL = []amqp.Authentication{&amqp.ExternalAuth{}}
	}
	conn, err := d.dial(url, cfg)
	if watching != nil && !watching() {
		// ctx ended during the handshake and closed its socket.
		if err == nil {
			conn.Close()
		}
		return nil, ctx.Err()
	}
	return conn, err
}

// loginRefused reports whether a handshake failed because the broker
// refused the login (access-refused) or the vhost (not-allowed: it does not
// exist, or the user has no access to it).
func loginRefused(err error) bool {
	var ae *amqp.Error
	return errors.As(err, &ae) && (ae.Code == amqp.AccessRefused || ae.Code == amqp.NotAllowed)
}

// Undecodable reports whether err is amqp091-go closing its connection on
// a frame it cannot decode: a message whose header table holds more than
// 8,192 entries or nests deeper than 32 levels, which RabbitMQ accepts from
// any sender allowed to publish. It reports every such close as code 501,
// as it does a lost connection: only the reason's text tells them apart.
// The message comes back with every delivery the connection held unacked.
func Undecodable(err error) bool {
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != amqp.FrameError {
		return false
	}
	for _, e := range []*amqp.Error{amqp.ErrSyntax, amqp.ErrFrame, amqp.ErrFrameTooLarge} {
		if strings.Contains(ae.Reason, e.Reason) {
			return true
		}
	}
	return false
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
