package broker

import amqp "github.com/rabbitmq/amqp091-go"

// SetDial replaces how d makes one attempt: tests make brokers that fail.
func SetDial(d *Dialer, dial func(url string, cfg amqp.Config) (*amqp.Connection, error)) {
	d.dial = dial
}
