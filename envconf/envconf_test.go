package envconf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var settings = []Setting{
	{Name: "A", Default: "1", Help: "a"},
	{Name: "B", Default: "two", Help: "b"},
	{Name: "C", Default: "3", Help: "c"},
}

func TestLoadPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "conf.env")
	os.WriteFile(file, []byte("# comment\nA=10\nB = \"from file\"\n\n"), 0o644)
	env := map[string]string{FileVar: file, "A": "100"}
	v, err := Load("p", settings, nil, func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"A": "100", "B": "from file", "C": "3"} {
		if got := v.String(name); got != want {
			t.Errorf("%s = %q; want %q (environment, then file, then default)", name, got, want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	none := func(string) string { return "" }
	var out bytes.Buffer
	if _, err := Load("p", settings, []string{"-h"}, none, &out); !errors.Is(err, ErrHelp) || !strings.Contains(out.String(), `B`) || !strings.Contains(out.String(), `"two"`) {
		t.Errorf("-h: err %v, usage %q; want ErrHelp and every setting with its default", err, out.String())
	}
	if _, err := Load("p", settings, []string{"x"}, none, &out); err == nil {
		t.Error("an argument: want an error")
	}
	bad := filepath.Join(t.TempDir(), "bad.env")
	os.WriteFile(bad, []byte("A=1\nno equals sign\n"), 0o644)
	_, err := Load("p", settings, nil, func(k string) string { return map[string]string{FileVar: bad}[k] }, nil)
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad file: %v; want an error naming line 2", err)
	}
	v, _ := Load("p", settings, nil, func(k string) string { return map[string]string{"A": "zero"}[k] }, nil)
	v.Int("A", 1)
	if err := v.Err(); err == nil || !strings.Contains(err.Error(), `A="zero"`) {
		t.Errorf("Int of a non-number: %v; want an error naming the setting", err)
	}
}

// TestLoadCourseYAML reads the course's client config.yaml, as its grading
// tests write it: batch.maxAmount and log.level name settings, the rest is
// not ours, and the environment still wins.
func TestLoadCourseYAML(t *testing.T) {
	withYAML := []Setting{
		{Name: "LOG_LEVEL", Default: "info", YAML: "log.level"},
		{Name: "CLI_BATCH_MAXAMOUNT", Default: "1000", YAML: "batch.maxAmount"},
		{Name: "CLI_CONFIRM_WINDOW", Default: "64"},
	}
	dir := t.TempDir()
	load := func(yaml string, env map[string]string) (*Values, error) {
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		return Load("p", withYAML, nil, func(k string) string {
			if k == FileVar {
				return path
			}
			return env[k]
		}, nil)
	}
	course := "server:\n  address: \"server:12345\"\nloop:\n  amount: 500\n  period: \"150ms\"\nlog:\n  level: \"DEBUG\"\nbatch:\n  maxAmount: 10\n"
	for _, tc := range []struct {
		name string
		yaml string
		env  map[string]string
		want map[string]string
	}{
		{"course file", course, nil, map[string]string{"LOG_LEVEL": "DEBUG", "CLI_BATCH_MAXAMOUNT": "10", "CLI_CONFIRM_WINDOW": "64"}},
		{"environment wins", course, map[string]string{"CLI_BATCH_MAXAMOUNT": "7"}, map[string]string{"CLI_BATCH_MAXAMOUNT": "7", "LOG_LEVEL": "DEBUG"}},
		{"keys missing", "server:\n  address: x\n", nil, map[string]string{"LOG_LEVEL": "info", "CLI_BATCH_MAXAMOUNT": "1000"}},
		{"empty file", "", nil, map[string]string{"CLI_BATCH_MAXAMOUNT": "1000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := load(tc.yaml, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tc.want {
				if got := v.String(name); got != want {
					t.Errorf("%s = %q; want %q", name, got, want)
				}
			}
		})
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"not YAML", "batch:\n  maxAmount: [1\n", "config.yaml: yaml: line"},
		{"a map where a value goes", "batch:\n  maxAmount:\n    a: 1\n", "batch.maxAmount holds map[a:1]: want a plain value for CLI_BATCH_MAXAMOUNT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := load(tc.yaml, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load = %v; want an error with %q", err, tc.want)
			}
		})
	}
	v, err := load("batch:\n  maxAmount: ten\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	v.Int("CLI_BATCH_MAXAMOUNT", 1)
	if err := v.Err(); err == nil || !strings.Contains(err.Error(), `CLI_BATCH_MAXAMOUNT="ten" from config file `) || !strings.Contains(err.Error(), "(batch.maxAmount)") {
		t.Errorf("a bad number in config.yaml: %v; want an error naming the setting, the file and the key", err)
	}
}

// TestBrokerTLSSettings: the TLS settings are refused with the settings'
// names when they cannot work: a URL that is not amqps://, a certificate
// without its key, a file that is not there.
func TestBrokerTLSSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"an amqp:// URL", map[string]string{"AMQP_URL": "amqps://a/,amqp://b/", "AMQP_CA_FILE": "/dev/null"}, "amqp://b/ is not an amqps:// URL"},
		{"a certificate without its key", map[string]string{"AMQP_URL": "amqps://a/", "AMQP_CERT_FILE": "agency-1.pem"}, "AMQP_KEY_FILE=\"\""},
		{"no such authority", map[string]string{"AMQP_URL": "amqps://a/", "AMQP_CA_FILE": "/nowhere/ca.pem"}, "/nowhere/ca.pem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Load("p", Shared(), nil, func(k string) string { return tc.env[k] }, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := Broker(v, "p"); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Broker = %v; want an error naming %q", err, tc.want)
			}
		})
	}
	v, err := Load("p", Shared(), nil, func(string) string { return "" }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := Broker(v, "p"); err != nil || cfg.TLS != nil {
		t.Errorf("Broker with no TLS setting = %+v, %v; want plain AMQP", cfg, err)
	}
}
