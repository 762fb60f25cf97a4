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
