package bet

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"runtime"
	"strings"
	"sync"
)

// LoadBets streams the bets stored in the file at path, in order. It never
// holds the whole file in memory. A missing file holds no bets. The strings
// of a bet share memory with its neighbours: clone one to keep it long.
//
// Like the course's load_bets, it reads back what StoreBets wrote, from bets
// that Parse had accepted, so it does not check the characters of the names
// again (control characters, UTF-8): it checks each row's CSV syntax and
// fields, the agency, the document, the birthdate, the number, and that no
// name is empty, and says on which line a row is wrong.
//
// It reads the file in chunks of whole rows and parses them on as many
// goroutines as Go may run at once (GOMAXPROCS), and hands the bets on in the
// file's order; a few chunks are in flight at a time. Stopping the loop early
// stops the goroutines before LoadBets returns.
func LoadBets(path string) iter.Seq2[Bet, error] { return LoadBetsExcept(path, nil) }

// Span is the bytes [Start, End) of a file.
type Span struct{ Start, End int64 }

// LoadBetsExcept is LoadBets over the file at path without the bytes of
// skip, spans of whole rows in the file's order that do not overlap: the
// rows of batches a draw must not count. An error's line counts the rows
// read, not the ones skipped.
func LoadBetsExcept(path string, skip []Span) iter.Seq2[Bet, error] {
	return func(yield func(Bet, error) bool) {
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) {
			return
		}
		if err != nil {
			yield(Bet{}, fmt.Errorf("load bets: %w", err))
			return
		}
		defer f.Close()
		var src io.Reader = f
		if len(skip) > 0 {
			src = &skipping{f: f, skip: skip}
		}

		workers := runtime.GOMAXPROCS(0)
		jobs := make(chan loadJob)
		pending := make(chan chan parsedChunk, 2*workers) // in the file's order
		free := make(chan []Bet, 3*workers)               // bet slices to use again
		stop := make(chan struct{})
		var wg sync.WaitGroup
		defer wg.Wait()
		defer close(stop)
		wg.Add(1 + workers)
		go func() {
			defer wg.Done()
			splitChunks(&Reader{src: src, fields: 1 + Fields, line: 1}, jobs, pending, stop)
		}()
		for range workers {
			go func() {
				defer wg.Done()
				for j := range jobs {
					j.out <- j.parse(free)
				}
			}()
		}
		for out := range pending {
			c := <-out
			for _, b := range c.bets {
				if !yield(b, nil) {
					return
				}
			}
			if c.err != nil {
				yield(Bet{}, fmt.Errorf("load bets from %s: %w", path, c.err))
				return
			}
			select {
			case free <- c.bets:
			default:
			}
		}
	}
}

// loadJob is a chunk of whole rows of the stored form, the line it starts
// on, and where its bets go.
type loadJob struct {
	chunk string
	line  int
	out   chan<- parsedChunk
}

// parsedChunk is a chunk's bets, and the error that ended it early.
type parsedChunk struct {
	bets []Bet
	err  error
}

// splitChunks cuts r's input into chunks of whole rows, queues a place for
// each chunk's bets on pending, in order, and hands the chunk to a worker.
// It closes both channels when the input ends, fails, or stop is closed.
func splitChunks(r *Reader, jobs chan<- loadJob, pending chan<- chan parsedChunk, stop <-chan struct{}) {
	defer close(jobs)
	defer close(pending)
	for {
		err := r.nextChunk()
		if err == io.EOF {
			return
		}
		out := make(chan parsedChunk, 1) // a worker never waits to deliver
		select {
		case pending <- out:
		case <-stop:
			return
		}
		if err != nil {
			out <- parsedChunk{err: err}
			return
		}
		select {
		case jobs <- loadJob{r.chunk, r.line, out}:
		case <-stop:
			return
		}
		// Every line break, in a quoted field or not, is a line to Read.
		r.line += strings.Count(r.chunk, "\n")
	}
}

// parse reads the chunk's bets into a slice from free, or a new one.
func (j loadJob) parse(free chan []Bet) parsedChunk {
	var bets []Bet
	select {
	case bets = <-free:
		bets = bets[:0]
	default:
	}
	r := &Reader{chunk: j.chunk, line: j.line, eof: true, fields: 1 + Fields}
	bets, err := r.ReadAll(bets)
	return parsedChunk{bets, err}
}

// skipping reads a file from its start, passing over the spans of skip.
type skipping struct {
	f    *os.File
	pos  int64
	skip []Span
}

func (s *skipping) Read(p []byte) (int, error) {
	for len(s.skip) > 0 && s.pos >= s.skip[0].Start {
		s.pos = max(s.pos, s.skip[0].End)
		s.skip = s.skip[1:]
	}
	if len(s.skip) > 0 && s.skip[0].Start-s.pos < int64(len(p)) {
		p = p[:s.skip[0].Start-s.pos]
	}
	n, err := s.f.ReadAt(p, s.pos)
	s.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil // the next Read says EOF
	}
	return n, err
}
