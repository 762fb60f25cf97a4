package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/loteria-nacional/pipeline/agency/agent"
	"github.com/loteria-nacional/pipeline/envconf"
	"github.com/loteria-nacional/pipeline/logfmt"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunRefusesBadSettings: run with a bad setting or argument stops at
// once with one error that names it, before it reads a file or dials.
func TestRunRefusesBadSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no agency number", nil, map[string]string{}, "setting CLI_ID is required"},
		{"a number that is no number", nil, map[string]string{"CLI_ID": "one"}, `setting CLI_ID="one"`},
		{"a batch size over the limit", nil, map[string]string{"CLI_ID": "1", "CLI_BATCH_MAXAMOUNT": "20000"}, `CLI_BATCH_MAXAMOUNT="20000" from the environment: want an integer from 1 to 10000`},
		{"an unknown topology mode", nil, map[string]string{"CLI_ID": "1", "TOPOLOGY_MODE": "guess"}, `setting TOPOLOGY_MODE: topology mode "guess"`},
		{"a replica named twice", nil, map[string]string{"CLI_ID": "1", "LOTTERY_REPLICAS": "a,a"}, `LOTTERY_REPLICAS "a,a": "a" twice`},
		{"an unknown log level", nil, map[string]string{"CLI_ID": "1", "LOG_LEVEL": "loud"}, `LOG_LEVEL="loud"`},
		{"an argument", []string{"file.csv"}, map[string]string{"CLI_ID": "1"}, `unexpected argument "file.csv"`},
		{"a file that is not there", nil, map[string]string{"CLI_ID": "1", "CLI_DATA_FILE": "/nonexistent/agency.csv"}, "/nonexistent/agency.csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, io.Discard, logfmt.Discard())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run = %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestRunHelpListsEverySetting: -h prints every setting with its default.
func TestRunHelpListsEverySetting(t *testing.T) {
	var out strings.Builder
	err := run(context.Background(), []string{"-h"}, func(string) string { return "" }, &out, logfmt.Discard())
	if !errors.Is(err, envconf.ErrHelp) {
		t.Fatalf("run -h = %v; want envconf.ErrHelp", err)
	}
	for _, s := range agent.Settings() {
		if !strings.Contains(out.String(), s.Name) {
			t.Errorf("-h does not list %s:\n%s", s.Name, out.String())
		}
	}
}
