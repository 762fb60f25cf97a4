package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/loteria-nacional/pipeline/bet"
	"github.com/loteria-nacional/pipeline/broker"
	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// importDefinitions loads definitions.json into the broker with its vhost
// and users renamed to unique names (users are global to the broker),
// removes them when the test ends, and returns the vhost and the prefix
// added to every user name. The programs' users, which have no password
// there (they log in by certificate), get their demo passwords, for the
// test's plain AMQP on the native broker; their permissions are as they
// are.
func importDefinitions(t *testing.T) (vhost, prefix string) {
	t.Helper()
	b, err := os.ReadFile("../definitions.json")
	if err != nil {
		t.Fatal(err)
	}
	var defs map[string][]map[string]any
	if err := json.Unmarshal(b, &defs); err != nil {
		t.Fatal(err)
	}
	n := time.Now().UnixNano()
	vhost = fmt.Sprintf("acl-%d", n)
	prefix = fmt.Sprintf("acl%d-", n)
	var users []string
	for kind, items := range defs {
		for _, it := range items {
			if kind == "vhosts" {
				it["name"] = vhost
			}
			if _, ok := it["vhost"]; ok {
				it["vhost"] = vhost
			}
			if kind == "users" {
				if it["password_hash"] == "" {
					delete(it, "password_hash")
					it["password"] = it["name"].(string) + "-demo"
				}
				it["name"] = prefix + it["name"].(string)
				users = append(users, it["name"].(string))
			}
			if kind == "permissions" {
				it["user"] = prefix + it["user"].(string)
			}
		}
	}
	body, _ := json.Marshal(defs)
	t.Cleanup(func() {
		brokertest.Request(t, http.MethodDelete, "/api/vhosts/"+vhost, "")
		for _, u := range users {
			brokertest.Request(t, http.MethodDelete, "/api/users/"+url.PathEscape(u), "")
		}
	})
	brokertest.Request(t, http.MethodPost, "/api/definitions", string(body))
	return vhost, prefix
}

// userURL is the AMQP URL of a deployment user with its demo password.
func userURL(vhost, prefix, user string) string {
	u := brokertest.BaseURL()
	u.User = url.UserPassword(prefix+user, user+"-demo")
	u.Path = "/" + vhost
	return u.String()
}

func wantCode(t *testing.T, what string, err error, code int) {
	t.Helper()
	var ae *amqp.Error
	if !errors.As(err, &ae) || ae.Code != code {
		t.Errorf("%s = %v; want AMQP error %d", what, err, code)
	}
}

// TestLeastPrivilege imports definitions.json and checks that one agency
// cannot play another's part, while the real programs, in verify mode and
// knowing agencies by user, still run end to end.
func TestLeastPrivilege(t *testing.T) {
	vhost, prefix := importDefinitions(t)
	agency2 := brokertest.Dial(t, userURL(vhost, prefix, "agency-2"))
	try := func(what string, code int, op func(ch *amqp.Channel) error) {
		t.Helper()
		ch, err := agency2.Channel()
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		wantCode(t, what, op(ch), code)
	}
	other := broker.ReplyQueue(1)
	try("agency-2 get from agency.1.winners", amqp.AccessRefused, func(ch *amqp.Channel) error {
		_, _, err := ch.Get(other, false)
		return err
	})
	try("agency-2 consume agency.1.winners", amqp.AccessRefused, func(ch *amqp.Channel) error {
		_, err := ch.Consume(other, "", false, false, false, false, nil)
		return err
	})
	try("agency-2 consume lottery.bets", amqp.AccessRefused, func(ch *amqp.Channel) error {
		_, err := ch.Consume(broker.BetsQueue, "", false, false, false, false, nil)
		return err
	})
	try("agency-2 purge agency.1.winners", amqp.AccessRefused, func(ch *amqp.Channel) error {
		_, err := ch.QueuePurge(other, false)
		return err
	})
	try("agency-2 declare a queue", amqp.AccessRefused, func(ch *amqp.Channel) error {
		_, err := ch.QueueDeclare("agency-2-own", true, false, false, false, nil)
		return err
	})
	try("agency-2 declare an exchange", amqp.AccessRefused, func(ch *amqp.Channel) error {
		return ch.ExchangeDeclare("agency-2-own", "fanout", true, false, false, false, nil)
	})
	try("agency-2 delete its own reply queue", amqp.AccessRefused, func(ch *amqp.Channel) error {
		_, err := ch.QueueDelete(broker.ReplyQueue(2), false, false, false)
		return err
	})
	try("agency-2 bind its queue to agency 1's replies", amqp.AccessRefused, func(ch *amqp.Channel) error {
		return ch.QueueBind(broker.ReplyQueue(2), other, broker.WinnersExchange, false, nil)
	})

	// publish sends msg as agency-2 and waits for its confirm; a refusal
	// closes the channel, and the close carries the broker's reason.
	publish := func(what string, code int, exchange, key string, msg amqp.Publishing) {
		t.Helper()
		ch, err := agency2.Channel()
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		closed := ch.NotifyClose(make(chan *amqp.Error, 1))
		if err := ch.Confirm(false); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key, false, false, msg)
		if err != nil {
			t.Fatal(err)
		}
		acked, err := dc.WaitContext(ctx)
		if code == 0 {
			if err != nil || !acked {
				t.Errorf("%s: acked %v, %v; want it accepted", what, acked, err)
			}
			return
		}
		select {
		case cerr := <-closed:
			wantCode(t, what, cerr, code)
		case <-ctx.Done():
			t.Errorf("%s: acked %v; want the channel closed with %d", what, acked, code)
		}
	}
	publish("agency-2 publish to amq.default", amqp.AccessRefused, "", other, amqp.Publishing{Body: []byte("x")})
	publish("agency-2 publish to the winners exchange", amqp.AccessRefused, broker.WinnersExchange, other, amqp.Publishing{Body: []byte("x")})
	publish("agency-2 publish as agency-1's user", amqp.PreconditionFailed, broker.BetsExchange, broker.BatchKey,
		amqp.Publishing{UserId: prefix + "agency-1", Body: []byte("x")})

	// The lottery, knowing agencies by user, refuses agency-2's claim to be
	// agency 1, and agency 1's own run works in verify mode.
	w := &world{t: t, url: userURL(vhost, prefix, "lottery"), dir: t.TempDir()}
	defer w.dump()
	files := w.gendata(40, 2)
	dataDir := filepath.Join(w.dir, "lottery")
	lot := w.start("lottery", "lottery", "LOTTERY_AGENCIES=1", "LOTTERY_DATA_DIR="+dataDir,
		"TOPOLOGY_MODE=verify", "LOTTERY_IDENTITY=user", "LOTTERY_USER_PATTERN="+prefix+"agency-{id}")
	w.waitFor("lottery", 30*time.Second, logfmt.Logged(logfmt.LotteryIniciado))
	forged := broker.Batch{Agency: 1, Seq: 1, Bets: 1, Fingerprint: "forged", Body: []byte("A,B,1,2000-01-01,7574\r\n")}.Publishing()
	forged.UserId = prefix + "agency-2"
	publish("agency-2 publish a batch claiming agency 1", 0, broker.BetsExchange, broker.BatchKey, forged)
	w.waitFor("lottery", 10*time.Second, logfmt.Logged(logfmt.ApuestaRecibida).Failing("agency-2", "header says 1"))

	// A user that is no agency (here the administrator) cannot store bets.
	admin := brokertest.Dial(t, userURL(vhost, prefix, "admin"))
	ach := brokertest.Channel(t, admin)
	notAgency := broker.Batch{Agency: 1, Seq: 2, Bets: 1, Fingerprint: "forged", Body: []byte("A,B,1,2000-01-01,7574\r\n")}.Publishing()
	notAgency.UserId = prefix + "admin"
	if err := ach.PublishWithContext(context.Background(), broker.BetsExchange, broker.BatchKey, false, false, notAgency); err != nil {
		t.Fatal(err)
	}
	w.waitFor("lottery", 10*time.Second, logfmt.Logged(logfmt.ApuestaRecibida).Failing(`user "`+prefix+`admin" is not an agency`))

	a1 := w.start("agency-1", "agency", "CLI_ID=1", "CLI_DATA_FILE="+files[0], "TOPOLOGY_MODE=verify",
		"AMQP_URL="+userURL(vhost, prefix, "agency-1"))
	if code := a1.wait(t, exitWithin); code != 0 {
		t.Errorf("agency 1 exited %d; want 0", code)
	}
	w.waitFor("agency-1", time.Second, logfmt.Logged(logfmt.ConsultaGanadores).With("cant_ganadores", "2"))
	if code := lot.stop(t, 30*time.Second); code != 0 {
		t.Errorf("lottery exited %d; want 0", code)
	}
	n := 0
	for b, err := range bet.LoadBets(filepath.Join(dataDir, "bets.csv")) {
		if err != nil {
			t.Fatal(err)
		}
		if b.Agency != 1 {
			t.Errorf("stored a bet of agency %d", b.Agency)
		}
		n++
	}
	if n != 40 {
		t.Errorf("bets.csv holds %d bets; want agency 1's 40 and not the forged one", n)
	}
}

// TestVerifyModeNamesWhatIsMissing runs the lottery in verify mode against
// a bare vhost: it must stop with a fail line naming the missing entity.
func TestVerifyModeNamesWhatIsMissing(t *testing.T) {
	w := newWorld(t)
	defer w.dump()
	lot := w.start("lottery", "lottery", "TOPOLOGY_MODE=verify", "LOTTERY_DATA_DIR="+filepath.Join(w.dir, "lottery"))
	if code := lot.wait(t, 30*time.Second); code != 1 {
		t.Errorf("lottery exited %d; want 1", code)
	}
	w.waitFor("lottery", time.Second, logfmt.Logged(logfmt.Lottery).Failing(`exchange "bets"`))
}

// TestRefusedLoginStopsTheProgram runs both programs with a password the
// broker does not take, as after `make passwords` on a stack that still runs
// with the old ones: each gives up after a few refusals with one fail line
// that names the user and the broker, never the password, and exits 1.
func TestRefusedLoginStopsTheProgram(t *testing.T) {
	w := newWorld(t)
	defer w.dump()
	u, err := url.Parse(w.url)
	if err != nil {
		t.Fatal(err)
	}
	const stale = "stale-password-of-the-test"
	u.User = url.UserPassword(u.User.Username(), stale)
	files := w.gendata(10, 0)
	procs := map[string]*proc{
		"lottery":  w.start("lottery", "lottery", "AMQP_URL="+u.String(), "LOTTERY_DATA_DIR="+filepath.Join(w.dir, "lottery")),
		"agency-1": w.start("agency-1", "agency", "AMQP_URL="+u.String(), "CLI_ID=1", "CLI_DATA_FILE="+files[0]),
	}
	for name, p := range procs {
		if code := p.wait(t, 60*time.Second); code != 1 {
			t.Errorf("%s exited %d; want 1", name, code)
		}
		for _, l := range w.linesOf(name) {
			if strings.Contains(l.text, stale) {
				t.Errorf("%s logged its password: %s", name, l.text)
			}
		}
		fails := w.find(t, name, logfmt.Failures())
		refused := logfmt.Failures().Failing(fmt.Sprintf("refused user %q %d times", u.User.Username(), broker.DefaultConfig.LoginAttempts), broker.Where(u.String()))
		if len(fails) != 1 || !refused.Matches(fails[0].Event) {
			t.Errorf("%s fail lines %v; want one with %s", name, fails, refused)
		}
	}
}
