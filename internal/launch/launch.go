// Package launch starts the project's programs for the tests and the
// benchmark, and hands on every line they print as they print it.
package launch

import (
	"bufio"
	"io"
	"os/exec"
	"time"
)

// Process is a started program.
type Process struct {
	Cmd *exec.Cmd
	// Done is closed once the program has exited and every line it printed
	// has been handed on; Err is then what cmd.Wait returned.
	Done chan struct{}
	Err  error
}

// Start starts cmd and calls onLine with each line it prints on its
// standard output, and on its standard error unless cmd has a Stderr of its
// own, with the time the line was read, one line at a time, in order.
func Start(cmd *exec.Cmd, onLine func(line string, at time.Time)) (*Process, error) {
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if cmd.Stderr == nil {
		cmd.Stderr = cmd.Stdout
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{Cmd: cmd, Done: make(chan struct{})}
	go func() {
		defer close(p.Done)
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			onLine(sc.Text(), time.Now())
		}
		io.Copy(io.Discard, out) // past a line too long to scan: the program must not block on a full pipe
		p.Err = cmd.Wait()
	}()
	return p, nil
}

// Exited reports whether p has exited, without waiting.
func (p *Process) Exited() bool {
	select {
	case <-p.Done:
		return true
	default:
		return false
	}
}
