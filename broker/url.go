package broker

import (
	"net/url"
	"strings"
)

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
