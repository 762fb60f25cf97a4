package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus/hooks/test"
	"go.uber.org/goleak"

	"github.com/loteria-nacional/pipeline/envconf"
	"github.com/loteria-nacional/pipeline/internal/await"
	"github.com/loteria-nacional/pipeline/logfmt"
	"github.com/loteria-nacional/pipeline/lottery/service"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunRefusesBadSettings: run with a bad setting or argument stops at
// once with one error that names it, before it touches its data directory.
func TestRunRefusesBadSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"no agencies", nil, map[string]string{"LOTTERY_AGENCIES": "0"}, `setting LOTTERY_AGENCIES="0" from the environment: want an integer >= 1`},
		{"a prefetch that is no number", nil, map[string]string{"LOTTERY_PREFETCH": "many"}, `LOTTERY_PREFETCH="many"`},
		{"an unknown identity", nil, map[string]string{"LOTTERY_IDENTITY": "trust"}, `LOTTERY_IDENTITY="trust": want header or user`},
		{"a user pattern without {id}", nil, map[string]string{"LOTTERY_IDENTITY": "user", "LOTTERY_USER_PATTERN": "agency"}, "want a pattern with {id}"},
		{"an unknown topology mode", nil, map[string]string{"TOPOLOGY_MODE": "guess"}, `setting TOPOLOGY_MODE: topology mode "guess"`},
		{"a replica name with a dash", nil, map[string]string{"LOTTERY_REPLICAS": "a,lottery-b", "LOTTERY_REPLICA": "a"}, `replica 2 is "lottery-b"`},
		{"a replica without the list", nil, map[string]string{"LOTTERY_REPLICA": "a"}, `LOTTERY_REPLICA is "a" but LOTTERY_REPLICAS is empty`},
		{"replicas without this one's name", nil, map[string]string{"LOTTERY_REPLICAS": "a,b"}, `LOTTERY_REPLICA is "", which is not one of LOTTERY_REPLICAS "a,b"`},
		{"a replica not listed", nil, map[string]string{"LOTTERY_REPLICAS": "a,b", "LOTTERY_REPLICA": "c"}, `LOTTERY_REPLICA is "c", which is not one of`},
		{"an argument", []string{"data"}, nil, `unexpected argument "data"`},
		{"an unknown way to end on an error", nil, map[string]string{"LOTTERY_ON_ERROR": "retry"}, `LOTTERY_ON_ERROR is "retry": want exit or wait`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			env := map[string]string{"LOTTERY_DATA_DIR": dir}
			maps.Copy(env, tc.env)
			err := run(context.Background(), tc.args, func(k string) string { return env[k] }, io.Discard, logfmt.Discard())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run = %v; want an error containing %q", err, tc.want)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("after refusing its settings the lottery made %s (%v)", dir, err)
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
	for _, s := range service.Settings() {
		if !strings.Contains(out.String(), s.Name+" ") || !strings.Contains(out.String(), fmt.Sprintf("%q", s.Default)) {
			t.Errorf("-h does not list %s with its default %q:\n%s", s.Name, s.Default, out.String())
		}
	}
}

// TestRunWaitsForAPersonOnError: with LOTTERY_ON_ERROR=wait, an error a
// restart cannot mend (here a data directory that is a file) is logged,
// and run waits until its context ends instead of returning it.
func TestRunWaitsForAPersonOnError(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"LOTTERY_DATA_DIR": file, "LOTTERY_ON_ERROR": "wait"}
	log, hook := test.NewNullLogger()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, nil, func(k string) string { return env[k] }, io.Discard, log) }()
	await.For(t, time.Minute, func() error {
		select {
		case err := <-done:
			return await.Stop(fmt.Errorf("run = %v before its context ended; want it to wait", err))
		default:
		}
		if n := len(hook.AllEntries()); n < 2 {
			return fmt.Errorf("logged %d lines; want the fail line and the wait", n)
		}
		return nil
	})
	cancel()
	if err := <-done; !errors.Is(err, errWaited) {
		t.Errorf("run = %v; want errWaited", err)
	}
	var got []string
	for _, e := range hook.AllEntries() {
		got = append(got, e.Message+"/"+e.Level.String())
	}
	if want := []string{logfmt.Lottery + "/error", logfmt.EsperandoIntervencion + "/info"}; !slices.Equal(got, want) {
		t.Errorf("logged %v; want %v", got, want)
	}
}
