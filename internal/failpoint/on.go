//go:build failpoints

package failpoint

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/loteria-nacional/pipeline/logfmt"
)

// armed maps each armed failpoint to the hit that stops the process. It is
// package state on purpose, and only in failpoint builds: a failpoint must be
// reachable from any depth without threading test hooks through the code.
var armed = sync.OnceValue(func() *points { return parse(os.Getenv(Env)) })

type points struct {
	mu   sync.Mutex
	stop map[string]int // name → the hit that stops the process
	hits map[string]int
}

func parse(spec string) *points {
	p := &points{stop: map[string]int{}, hits: map[string]int{}}
	for _, item := range strings.Split(spec, ",") {
		name, n, ok := strings.Cut(strings.TrimSpace(item), "@")
		if name == "" {
			continue
		}
		at := 1
		if ok {
			if v, err := strconv.Atoi(n); err == nil && v > 0 {
				at = v
			}
		}
		p.stop[name] = at
	}
	return p
}

// Hit stops the process with SIGKILL if the failpoint name is armed for this
// hit, after running the before actions.
func Hit(name string, before ...func()) {
	p := armed()
	p.mu.Lock()
	defer p.mu.Unlock()
	at, ok := p.stop[name]
	if !ok {
		return
	}
	p.hits[name]++
	if p.hits[name] != at {
		return
	}
	os.Stdout.WriteString(logfmt.Line(logfmt.Failpoint, logfmt.InProgress, map[string]any{"name": name, "hit": at}))
	for _, f := range before {
		f()
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}
