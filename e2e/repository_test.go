package e2e

import (
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The repository's own files, checked as a whole.

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

// TestNoFileNamesAPackageMirror: scripts that fetch packages take the mirror
// from the host's own configuration; no file names a mirror's host.
func TestNoFileNamesAPackageMirror(t *testing.T) {
	out, err := exec.Command("git", "-C", "..", "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	mirror := regexp.MustCompile(`https?://[^\s"']+/(debian|ubuntu)(/|\s|"|$)|deb\.debian\.org|proxy\.golang\.org|registry\.npmjs\.org|GOPROXY=https?://`)
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if strings.HasSuffix(name, ".sum") || strings.HasSuffix(name, ".zip") {
			continue
		}
		b, err := os.ReadFile("../" + name)
		if err != nil {
			continue // deleted in the work tree
		}
		if m := mirror.Find(b); m != nil {
			t.Errorf("%s names a package mirror: %s", name, m)
		}
	}
}
