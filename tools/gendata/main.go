// Command gendata writes deterministic sample bets for the agencies:
// one CSV file per agency (agency-1.csv …) with a known number of winning
// bets (number 7574) each, in the course's form (accented and quoted names,
// "\r\n" line ends). The same flags always write the same bytes. A file
// that exists is kept as it is, since it may be a person's own bets, unless
// -replace says otherwise; each line of output says which it did.
//
//	gendata -agencies 5 -bets 20000 -winners 1,2,3,4,5 -out .data
//	gendata -agencies 5 -bets 26936,25518,16014,9238,991 -winners 2,3,3,2,0   # the course's data set's shape
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/loteria-nacional/pipeline/bet"
	"github.com/loteria-nacional/pipeline/logfmt"
)

var (
	firstNames = []string{"Santiago", "Valentina", "José María", "Lucía", "Martín", "Sofía", "Ñandú", "Mateo",
		"Camila", "Agustín", "Florencia", "Joaquín", "Ana, Jr.", "Renée", "Tomás", "Julián"}
	lastNames = []string{"González", "Rodríguez", "Gómez", "Fernández", "López", "Díaz", "Martínez", "Pérez",
		"O'Brien", "García", "Sánchez", "Romero", "Núñez", `Benítez "el Tano"`, "Álvarez", "Peña"}
)

func main() {
	agencies := flag.Int("agencies", 5, "number of agencies")
	bets := flag.String("bets", "20000", "bets per agency, comma-separated (repeats its last value)")
	winners := flag.String("winners", "1,2,3,4,5", "winning bets per agency, comma-separated (repeats its last value)")
	seed := flag.Uint64("seed", 1, "random seed")
	out := flag.String("out", ".data", "output directory")
	replace := flag.Bool("replace", false, "replace files that exist (without it they are kept: they may be a person's own)")
	flag.Parse()
	if err := run(*agencies, *bets, *winners, *seed, *out, *replace); err != nil {
		fmt.Fprint(os.Stderr, logfmt.Line(logfmt.Gendata, logfmt.Fail, map[string]any{"error": err}))
		os.Exit(1)
	}
}

func run(agencies int, betsFlag, winnersFlag string, seed uint64, out string, replace bool) error {
	bets, err := perAgency("-bets", betsFlag)
	if err != nil {
		return err
	}
	wins, err := perAgency("-winners", winnersFlag)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for id := 1; id <= agencies; id++ {
		b, w := bets[min(id, len(bets))-1], wins[min(id, len(wins))-1]
		if w > b {
			return fmt.Errorf("agency %d: %d winners but only %d bets", id, w, b)
		}
		path := filepath.Join(out, fmt.Sprintf("agency-%d.csv", id))
		written, err := writeAgency(path, id, b, w, seed, replace)
		if err != nil {
			return err
		}
		if !written {
			fmt.Print(logfmt.Line(logfmt.Gendata, logfmt.Success, map[string]any{"archivo": path, "estado": "conservado"}))
			continue
		}
		fmt.Print(logfmt.Line(logfmt.Gendata, logfmt.Success, map[string]any{"archivo": path, "estado": "generado", "apuestas": b, "ganadores": w}))
	}
	return nil
}

// perAgency reads a flag's comma-separated counts, one per agency.
func perAgency(name, value string) ([]int, error) {
	var counts []int
	for _, s := range strings.Split(value, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s %q: want non-negative integers", name, value)
		}
		counts = append(counts, n)
	}
	return counts, nil
}

// writeAgency writes agency id's file at path, unless one is there and
// replace is false; it reports whether it wrote. A file is written under a
// temporary name and moved into place (renamed, or linked where none may be
// replaced), so that none is ever left half written, and one that appears
// meanwhile is not replaced either.
func writeAgency(path string, id, bets, winners int, seed uint64, replace bool) (bool, error) {
	if _, err := os.Lstat(path); err == nil && !replace {
		return false, nil
	}
	tmp := path + ".gendata"
	if err := writeBets(tmp, id, bets, winners, seed); err != nil {
		os.Remove(tmp)
		return false, err
	}
	if replace {
		return true, os.Rename(tmp, path)
	}
	// A link fails where path exists: no file appearing since the check
	// above is replaced.
	err := os.Link(tmp, path)
	os.Remove(tmp)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	return err == nil, err
}

func writeBets(path string, id, bets, winners int, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, uint64(id)))
	// The winning bets sit at winners distinct positions chosen by the seed.
	winAt := map[int]bool{}
	for len(winAt) < winners {
		winAt[rng.IntN(bets)] = true
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	base := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC)
	var row []byte
	for i := range bets {
		number := rng.IntN(bet.MaxNumber + 1)
		if winAt[i] {
			number = bet.WinningNumber
		} else if number == bet.WinningNumber {
			number++
		}
		b := bet.Bet{
			FirstName: firstNames[rng.IntN(len(firstNames))],
			LastName:  lastNames[rng.IntN(len(lastNames))],
			Document:  fmt.Sprintf("%08d", rng.IntN(100_000_000)),
			Birthdate: bet.DateOf(base.AddDate(0, 0, rng.IntN(65*365))),
			Number:    number,
		}
		row = bet.AppendRecord(row[:0], b)
		if _, err := w.Write(row); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
