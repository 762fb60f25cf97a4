// Package rabbitapi is a small client of RabbitMQ's management HTTP API,
// for the tests and the benchmark: requests as a user, and vhosts made and
// removed for a test or a run.
package rabbitapi

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/loteria-nacional/pipeline/broker"
)

// Client sends requests to the management API at API as the user of an
// AMQP URL.
type Client struct {
	API      string // base URL, as http://localhost:15672
	User     string
	Password string
}

// For is a client of the API at api, as the user that amqpURL names.
func For(api, amqpURL string) (*Client, error) {
	urls := broker.URLs(amqpURL)
	if len(urls) == 0 {
		return nil, fmt.Errorf("AMQP URL %q names no broker", amqpURL)
	}
	u, err := url.Parse(urls[0])
	if err != nil {
		return nil, fmt.Errorf("AMQP URL: %w", err)
	}
	pass, _ := u.User.Password()
	return &Client{API: strings.TrimSuffix(api, "/"), User: u.User.Username(), Password: pass}, nil
}

// Do sends a request with a JSON body and returns the response's body; a
// status of 300 or more is an error that quotes the response.
func (c *Client) Do(method, path, body string) ([]byte, error) {
	req, err := http.NewRequest(method, c.API+path, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.User, c.Password)
	req.Header.Set("Content-Type", "application/json")
	client := http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("management API %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("management API %s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("management API %s %s: %s: %s", method, path, resp.Status, b)
	}
	return b, nil
}

// NewVhost makes the vhost name, with every permission for the client's
// user, and returns amqpURL with that vhost in its path (in each URL's, when
// it lists the nodes of a cluster).
func (c *Client) NewVhost(amqpURL, name string) (string, error) {
	vhost := "/api/vhosts/" + url.PathEscape(name)
	if _, err := c.Do(http.MethodPut, vhost, ""); err != nil {
		return "", err
	}
	perm := "/api/permissions/" + url.PathEscape(name) + "/" + url.PathEscape(c.User)
	if _, err := c.Do(http.MethodPut, perm, `{"configure":".*","write":".*","read":".*"}`); err != nil {
		return "", err
	}
	var urls []string
	for _, raw := range broker.URLs(amqpURL) {
		u, err := url.Parse(raw)
		if err != nil {
			return "", err
		}
		u.Path, u.RawPath = "/"+name, ""
		urls = append(urls, u.String())
	}
	return strings.Join(urls, ","), nil
}

// DeleteVhost removes the vhost name and everything in it.
func (c *Client) DeleteVhost(name string) error {
	_, err := c.Do(http.MethodDelete, "/api/vhosts/"+url.PathEscape(name), "")
	return err
}
