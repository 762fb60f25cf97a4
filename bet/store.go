package bet

import (
	"fmt"
	"io"
	"os"

	"github.com/loteria-nacional/pipeline/internal/failpoint"
)

// Store is the course's bet storage: the file bets.csv, one row per bet,
// "agency,first_name,last_name,document,birthdate,number", written exactly as
// Python's csv.writer with QUOTE_MINIMAL writes it, with no header.
//
// The course's helpers open, append and close the file on every call; Store
// keeps it open, which writes the same bytes, and adds what crash safety
// needs: Sync to make appended rows durable, and Size and Truncate so that
// recovery can cut a torn tail back to the last committed offset.
type Store struct {
	f    *os.File
	buf  []byte
	size int64
}

// OpenStore opens (creating it if needed) the bets file at path for appending.
func OpenStore(path string) (*Store, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open bet store: %w", err)
	}
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("open bet store: %w", err)
	}
	return &Store{f: f, size: size}, nil
}

// StoreBets appends bets to the file, one row each. The rows are in the
// operating system's hands when it returns; call Sync to make them durable.
func (s *Store) StoreBets(bets []Bet) error {
	s.buf = s.buf[:0]
	for _, b := range bets {
		s.buf = appendStored(s.buf, b)
	}
	failpoint.Hit("store/torn", func() { s.f.Write(s.buf[:len(s.buf)/2]) })
	n, err := s.f.Write(s.buf)
	s.size += int64(n)
	if err != nil {
		return fmt.Errorf("store bets: %w", err)
	}
	return nil
}

// Sync makes every row stored so far durable.
func (s *Store) Sync() error {
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("sync bet store: %w", err)
	}
	return nil
}

// Size is the file's end offset: every byte stored so far.
func (s *Store) Size() int64 { return s.size }

// Truncate cuts the file back to size bytes and syncs it; recovery uses it to
// drop rows written after the last commit.
func (s *Store) Truncate(size int64) error {
	if size > s.size {
		return fmt.Errorf("truncate bet store to %d bytes: file holds only %d", size, s.size)
	}
	if err := s.f.Truncate(size); err != nil {
		return fmt.Errorf("truncate bet store: %w", err)
	}
	if _, err := s.f.Seek(size, io.SeekStart); err != nil {
		return fmt.Errorf("truncate bet store: %w", err)
	}
	s.size = size
	return s.Sync()
}

// Close closes the file.
func (s *Store) Close() error { return s.f.Close() }
