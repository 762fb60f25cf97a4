package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigFromCourseYAML: an agency given the course's client config.yaml
// as CONFIG_FILE takes its batch size and log level from it.
func TestConfigFromCourseYAML(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	course := "server:\n  address: \"server:12345\"\nloop:\n  amount: 5\n  period: \"5s\"\nlog:\n  level: \"DEBUG\"\nbatch:\n  maxAmount: 99\n"
	if err := os.WriteFile(path, []byte(course), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CONFIG_FILE": path, "CLI_ID": "3"}
	cfg, err := Load(nil, func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.batchSize != 99 || !strings.EqualFold(cfg.logLevel, "debug") || cfg.id != 3 {
		t.Errorf("config from the course's config.yaml: batch %d, log level %q, id %d; want 99, DEBUG, 3", cfg.batchSize, cfg.logLevel, cfg.id)
	}
}
