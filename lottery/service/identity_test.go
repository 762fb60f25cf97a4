package service

import (
	"strings"
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"
)

func TestIdentity(t *testing.T) {
	byUser, err := parseIdentity("user", "agency-{id}")
	if err != nil {
		t.Fatal(err)
	}
	byHeader, _ := parseIdentity("header", "")
	tests := []struct {
		name    string
		id      identity
		user    string
		header  any
		want    int
		wantErr string
	}{
		{"header", byHeader, "", int32(3), 3, ""},
		{"header ignores user", byHeader, "agency-1", int32(3), 3, ""},
		{"header missing", byHeader, "agency-1", nil, 0, `"agency" missing`},
		{"user", byUser, "agency-2", int32(2), 2, ""},
		{"user without header", byUser, "agency-12", nil, 12, ""},
		{"user and other header", byUser, "agency-2", int32(1), 0, "header says 1"},
		{"not an agency", byUser, "lottery", int32(1), 0, `user "lottery" is not an agency`},
		{"no user", byUser, "", int32(1), 0, `user "" is not an agency`},
		{"leading zero", byUser, "agency-02", int32(2), 0, "is not an agency"},
		{"zero", byUser, "agency-0", nil, 0, "is not an agency"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := amqp.Table{}
			if tc.header != nil {
				h["agency"] = tc.header
			}
			got, err := tc.id.sender(amqp.Delivery{UserId: tc.user, Headers: h})
			if tc.wantErr == "" && (err != nil || got != tc.want) {
				t.Errorf("sender(user %q) = %d, %v; want %d", tc.user, got, err, tc.want)
			}
			if tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("sender(user %q) = %d, %v; want error containing %q", tc.user, got, err, tc.wantErr)
			}
		})
	}
	if _, err := parseIdentity("user", "agency"); err == nil {
		t.Error(`parseIdentity("user", "agency") = nil error; want one: no {id}`)
	}
	if _, err := parseIdentity("token", ""); err == nil {
		t.Error(`parseIdentity("token") = nil error; want one`)
	}
}
