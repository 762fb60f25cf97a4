package service

import (
	"fmt"
	"strconv"
	"strings"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/loteria-nacional/pipeline/broker"
)

// identity says how the lottery knows which agency sent a message. It never
// trusts an agency number written inside a message by itself:
//
//   - by user (LOTTERY_IDENTITY=user, the compose deployment): agencies set
//     the AMQP user-id property, which RabbitMQ checks against the
//     connection's user, and the user maps to an agency through a pattern
//     such as "agency-{id}". A message whose user maps to no agency, or
//     whose agency header names another agency, is refused.
//   - by header (LOTTERY_IDENTITY=header, the demo and a plain local broker
//     where every program is guest): the agency header.
type identity struct {
	byUser         bool
	prefix, suffix string // of the user pattern, around "{id}"
}

func parseIdentity(mode, pattern string) (identity, error) {
	switch mode {
	case "header":
		return identity{}, nil
	case "user":
		prefix, suffix, ok := strings.Cut(pattern, "{id}")
		if !ok {
			return identity{}, fmt.Errorf("setting LOTTERY_USER_PATTERN=%q: want a pattern with {id}, such as agency-{id}", pattern)
		}
		return identity{byUser: true, prefix: prefix, suffix: suffix}, nil
	}
	return identity{}, fmt.Errorf("setting LOTTERY_IDENTITY=%q: want header or user", mode)
}

// sender returns the agency that sent d.
func (id identity) sender(d amqp.Delivery) (int, error) {
	header, headerErr := broker.HeaderInt(d.Headers, broker.HeaderAgency)
	if !id.byUser {
		return header, headerErr
	}
	agency, ok := id.agencyOf(d.UserId)
	if !ok {
		return 0, fmt.Errorf("user %q is not an agency (user-id must match %s{id}%s)", d.UserId, id.prefix, id.suffix)
	}
	if headerErr == nil && header != agency {
		return 0, fmt.Errorf("user %q is agency %d but the agency header says %d", d.UserId, agency, header)
	}
	return agency, nil
}

func (id identity) agencyOf(user string) (int, bool) {
	digits, ok := strings.CutPrefix(user, id.prefix)
	if !ok {
		return 0, false
	}
	if digits, ok = strings.CutSuffix(digits, id.suffix); !ok {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n < 1 || strconv.Itoa(n) != digits {
		return 0, false
	}
	return n, true
}

func identityName(id identity) string {
	if id.byUser {
		return "user " + id.prefix + "{id}" + id.suffix
	}
	return "header"
}
