package churn

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Shape is one kind of hostile peer: what it advertises.
type Shape struct {
	Name                   string
	Protocols, ProtocolLen int
}

// Shapes are the two kinds of hostile peer the picture shows.
var Shapes = []Shape{
	{"wide", WideProtocols, WideProtocolLen},
	{"long", LongProtocols, LongProtocolLen},
}

// With returns c for peers of shape s.
func (c Config) With(s Shape) Config {
	c.Protocols, c.ProtocolLen = s.Protocols, s.ProtocolLen
	return c
}

// Series is the samples of one run: a world, fed peers of one shape.
type Series struct {
	Shape   Shape
	World   string
	Samples []Sample
}

var csvHeader = []string{"shape", "protocols", "protocol_len", "world", "cycle", "elapsed_s", "heap_bytes", "store_cpu_s"}

// WriteCSV writes one row per sample, under a header row unless noHeader
// (to append to a file that has one): the shape (name, protocols and their
// length), the world, the cycle, the seconds elapsed, the heap held (bytes)
// and the store's CPU time so far (seconds).
func WriteCSV(w io.Writer, all []Series, noHeader bool) error {
	cw := csv.NewWriter(w)
	if !noHeader {
		_ = cw.Write(csvHeader)
	}
	for _, s := range all {
		for _, x := range s.Samples {
			_ = cw.Write([]string{
				s.Shape.Name, strconv.Itoa(s.Shape.Protocols), strconv.Itoa(s.Shape.ProtocolLen), s.World,
				strconv.Itoa(x.Cycle),
				strconv.FormatFloat(x.Elapsed.Seconds(), 'f', 3, 64),
				strconv.FormatInt(x.Heap, 10),
				strconv.FormatFloat(x.CPU.Seconds(), 'f', 6, 64),
			})
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadCSV reads what WriteCSV wrote (several runs appended included), a
// Series per shape and world in the order they first appear.
func ReadCSV(r io.Reader) ([]Series, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(csvHeader)
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("churn: reading samples: %w", err)
	}
	var out []Series
	index := map[string]int{}
	for n, row := range rows {
		if row[0] == csvHeader[0] {
			continue // a header, of the first run or an appended one
		}
		var ints [5]int64
		for i, col := range []int{1, 2, 4, 6} {
			if ints[i], err = strconv.ParseInt(row[col], 10, 64); err != nil {
				return nil, fmt.Errorf("churn: reading samples: row %d, %s: %w", n+1, csvHeader[col], err)
			}
		}
		var fl [2]float64
		for i, col := range []int{5, 7} {
			if fl[i], err = strconv.ParseFloat(row[col], 64); err != nil {
				return nil, fmt.Errorf("churn: reading samples: row %d, %s: %w", n+1, csvHeader[col], err)
			}
		}
		key := row[0] + "/" + row[3]
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, Series{Shape: Shape{Name: row[0], Protocols: int(ints[0]), ProtocolLen: int(ints[1])}, World: row[3]})
		}
		out[i].Samples = append(out[i].Samples, Sample{
			Cycle: int(ints[2]), Elapsed: time.Duration(fl[0] * float64(time.Second)),
			Heap: ints[3], CPU: time.Duration(fl[1] * float64(time.Second)),
		})
	}
	if len(out) == 0 {
		return nil, errors.New("churn: reading samples: no sample")
	}
	return out, nil
}
