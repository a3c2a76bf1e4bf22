package main

import (
	"bytes"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/pstoremigrate/pstoremigrate/interop/internal/churn"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A short run of every world and shape gives a picture with a line of each
// world's colour in it, and a CSV the picture can be drawn from again.
func TestDrawsBothWorlds(t *testing.T) {
	cfg := churn.Config{Connected: 5, Cycles: 60, Rate: 600, Grace: 50 * time.Millisecond, SampleEvery: 10}
	all, err := runAll(cfg, io.Discard)
	require.NoError(t, err)
	require.Len(t, all, len(churn.Shapes)*len(churn.Worlds))

	dir := t.TempDir()
	pngPath, csvPath := filepath.Join(dir, "churn.png"), filepath.Join(dir, "churn.csv")
	require.NoError(t, writeFile(pngPath, func(w io.Writer) error { return drawPNG(w, cfg, all) }))
	require.NoError(t, writeFile(csvPath, func(w io.Writer) error { return churn.WriteCSV(w, all, false) }))

	raw, err := os.ReadFile(pngPath)
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(raw))
	require.NoError(t, err, "a valid PNG")
	b := img.Bounds()
	assert.Greater(t, b.Dx(), b.Dy(), "a column per shape, side by side")
	seen := map[string]int{}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			for name, c := range colors {
				if near(img.At(x, y), c) {
					seen[name]++
				}
			}
		}
	}
	for _, w := range churn.Worlds {
		// Every panel has a 2-point line of the world's colour, and its
		// legend's sample: hundreds of pixels.
		assert.Greater(t, seen[w.Name], 200, "pixels of %s's colour", w.Name)
	}

	again, err := readFile(csvPath)
	require.NoError(t, err)
	require.Len(t, again, len(all))
	for i := range all {
		assert.Equal(t, all[i].Shape, again[i].Shape)
		assert.Equal(t, all[i].World, again[i].World)
		require.Len(t, again[i].Samples, len(all[i].Samples))
		assert.Equal(t, all[i].Samples[1].Heap, again[i].Samples[1].Heap)
		assert.Equal(t, all[i].Samples[1].Cycle, again[i].Samples[1].Cycle)
	}
}

func TestReportsWhatItCannotRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.csv")
	require.NoError(t, os.WriteFile(path, []byte("shape,protocols,protocol_len,world,cycle,elapsed_s,heap_bytes,store_cpu_s\nwide,1024,40,compat,ten,1,2,3\n"), 0o600))
	_, err := readFile(path)
	require.ErrorContains(t, err, "row 2, cycle")

	// A failed write leaves the previous file, and no temporary one.
	out := filepath.Join(t.TempDir(), "churn.png")
	require.NoError(t, os.WriteFile(out, []byte("previous"), 0o600))
	require.Error(t, writeFile(out, func(io.Writer) error { return assert.AnError }))
	got, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "previous", string(got))
	_, err = os.Stat(out + ".tmp")
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// near tells whether a pixel is c, give or take antialiasing.
func near(px color.Color, c color.RGBA) bool {
	r, g, b, _ := px.RGBA()
	d := func(a uint32, b uint8) int { return int(a>>8) - int(b) }
	abs := func(x int) int { return max(x, -x) }
	return abs(d(r, c.R))+abs(d(g, c.G))+abs(d(b, c.B)) <= 24
}
