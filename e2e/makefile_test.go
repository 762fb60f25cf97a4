package e2e

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestMakeHelpListsEveryTarget compares make help with the Makefile: every
// target that carries a ## description, digits in its name or not, is
// listed.
func TestMakeHelpListsEveryTarget(t *testing.T) {
	src, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, m := range regexp.MustCompile(`(?m)^([^\s:#=]+):[^=\n]*## `).FindAllStringSubmatch(string(src), -1) {
		want = append(want, m[1])
	}
	out, err := exec.Command("make", "-s", "-C", "..", "help").CombinedOutput()
	if err != nil {
		t.Fatalf("make help: %v\n%s", err, out)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		got = append(got, strings.Fields(l)[0])
	}
	if !slices.Equal(got, want) {
		t.Errorf("make help lists %v; the Makefile describes %v", got, want)
	}
	if !slices.Contains(got, "test-rabbitmq4") {
		t.Errorf("make help lists %v, without test-rabbitmq4", got)
	}
}
