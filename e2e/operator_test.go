package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loteria-nacional/pipeline/internal/brokertest"
	"github.com/loteria-nacional/pipeline/internal/logtest"
	"github.com/loteria-nacional/pipeline/internal/repotest"
	"github.com/loteria-nacional/pipeline/logfmt"
)

// The operator's own files: what make and the scripts must never overwrite,
// each tried in a copy of the repository.

// repoCopy is a copy of the repository, with git's index, for make and the
// scripts to run in.
func repoCopy(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	repotest.Copy(t, "..", dir)
	runIn(t, dir, nil, "git", "init", "-q")
	runIn(t, dir, nil, "git", "add", "-A")
	return dir
}

// runIn runs a command in dir with env added and returns its output; it
// fails the test if the command fails.
func runIn(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := commandIn(dir, env, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func commandIn(dir string, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return cmd
}

// demoVhost is a vhost of the test's own for the demo, deleted at the end.
func demoVhost(t *testing.T) string {
	name := fmt.Sprintf("demo-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	t.Cleanup(func() { brokertest.Request(t, http.MethodDelete, "/api/vhosts/"+name, "") })
	return name
}

// TestOperatorFilesSurvive: a person's own agency file in .data is kept
// byte for byte by make data and make demo, which generate only the files
// that are missing and say which they kept; make new-data replaces them.
func TestOperatorFilesSurvive(t *testing.T) {
	dir := repoCopy(t)
	mine := []byte("Mía,Propia,12345678,1990-01-01,7574\r\nOtra,Persona,87654321,1985-05-05,1\r\n")
	path := filepath.Join(dir, ".data", "agency-1.csv")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, mine, 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"AGENCIES=2", "BETS=300", "WINNERS=1", "DEMO_VHOST=" + demoVhost(t)}
	out := runIn(t, dir, env, "make", "data")
	kept := logfmt.Logged(logfmt.Gendata).With("archivo", ".data/agency-1.csv").With("estado", "conservado")
	made := logfmt.Logged(logfmt.Gendata).With("archivo", ".data/agency-2.csv").With("estado", "generado")
	if !logtest.Says(t, out, "", kept) || !logtest.Says(t, out, "", made) {
		t.Errorf("make data said:\n%s\nwant agency-1.csv kept and agency-2.csv generated", out)
	}
	out = runIn(t, dir, env, "make", "demo")
	if got, _ := os.ReadFile(path); !bytes.Equal(got, mine) {
		t.Fatalf("after make data and make demo, agency-1.csv holds %q; want the person's %q", got, mine)
	}
	if !logtest.Says(t, out, "agency-1", logfmt.Logged(logfmt.ConsultaGanadores).Is(logfmt.Success).With("cant_ganadores", "1")) {
		t.Errorf("make demo said:\n%s\nwant agency 1's one winner, from the person's file", out)
	}
	runIn(t, dir, env, "make", "new-data")
	if got, _ := os.ReadFile(path); bytes.Equal(got, mine) {
		t.Error("make new-data kept the person's agency-1.csv; want it replaced, as it says")
	}
}

// TestGenerarComposeNeverWritesCommittedFiles: each spelling of a committed
// file's path given to generar-compose.sh, a link to one included, is
// refused with a clear error and changes nothing; the course's own output
// is written.
func TestGenerarComposeNeverWritesCommittedFiles(t *testing.T) {
	dir := repoCopy(t)
	for _, link := range [][2]string{{"link.yaml", "docker-compose.yaml"}, {"dev.definitions.json", "definitions.json"}} {
		if err := os.Symlink(link[1], filepath.Join(dir, link[0])); err != nil {
			t.Fatal(err)
		}
	}
	committed := map[string][]byte{}
	for _, name := range []string{"docker-compose.yaml", "definitions.json", "docker-compose.replicas.yaml", "definitions.replicas.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		committed[name] = b
	}
	for _, out := range []string{
		"docker-compose.yaml", "./docker-compose.yaml", filepath.Join(dir, "docker-compose.yaml"),
		"agency/../docker-compose.yaml", "nowhere/../docker-compose.yaml", "link.yaml",
		"docker-compose.replicas.yaml", "dev.yaml", // dev.definitions.json leads to definitions.json
	} {
		cmd := commandIn(dir, nil, "sh", "generar-compose.sh", out, "2")
		b, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(b), "a committed file") {
			t.Errorf("generar-compose.sh %s 2: %v\n%s\nwant it refused, naming the committed file", out, err, b)
		}
	}
	for name, want := range committed {
		if got, _ := os.ReadFile(filepath.Join(dir, name)); !bytes.Equal(got, want) {
			t.Errorf("%s changed", name)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "dev.yaml")); err == nil {
		t.Error("dev.yaml written though its definitions were refused")
	}
	runIn(t, dir, nil, "sh", "generar-compose.sh", "docker-compose-dev.yaml", "2")
	for _, name := range []string{"docker-compose-dev.yaml", "docker-compose-dev.definitions.json"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("the course's own output: %v", err)
		}
	}
}

// TestDemoEndsWhenTheLotteryFails: a demo whose lottery cannot start ends
// at once, non-zero, with the lottery's error, its agencies stopped.
func TestDemoEndsWhenTheLotteryFails(t *testing.T) {
	dir := repoCopy(t)
	w := &world{t: t, dir: dir}
	files := w.gendata(100, 1)
	if err := os.MkdirAll(filepath.Join(dir, ".data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(files[0], filepath.Join(dir, ".data", "agency-1.csv")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "tools/demo.sh", bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "AGENCIES=1", "DEMO_VHOST="+demoVhost(t), "LOTTERY_PREFETCH=many")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("the demo was still running a minute after its lottery failed:\n%s", out)
	}
	if err == nil || !strings.Contains(string(out), "the lottery exited with status 1") ||
		!logtest.Says(t, string(out), "", logfmt.Logged(logfmt.Lottery).Failing("LOTTERY_PREFETCH")) {
		t.Errorf("demo: %v\n%s\nwant it to fail with the lottery's error", err, out)
	}
}
