package main

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/pstoremigrate/pstoremigrate/interop/internal/churn"
)

// colors of the worlds' lines.
var colors = map[string]color.RGBA{
	churn.Upstream.Name: {R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, // red
	churn.Compat.Name:   {R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
}

// drawPNG draws a column per shape, each with two panels: the heap held
// (MiB) above the store's CPU (percent of one core, between samples), over
// the seconds since the churn started, a line per world.
func drawPNG(w io.Writer, cfg churn.Config, all []churn.Series) error {
	var cols []churn.Shape
	heaps, cpus := map[string]*plot.Plot{}, map[string]*plot.Plot{}
	for _, s := range all {
		if heaps[s.Shape.Name] != nil {
			continue
		}
		cols = append(cols, s.Shape)
		heap, cpu := plot.New(), plot.New()
		heap.Title.Text = fmt.Sprintf("%d protocols of %d B, %.1f KB agent", s.Shape.Protocols, s.Shape.ProtocolLen, float64(churn.HostileAgentLen)/1000)
		heap.Y.Label.Text = "heap held (MiB)"
		cpu.Y.Label.Text = "store CPU (% of a core)"
		cpu.X.Label.Text = fmt.Sprintf("seconds (%d connected, %g new peers/s, grace %v)", cfg.Connected, cfg.Rate, cfg.Grace)
		for _, p := range []*plot.Plot{heap, cpu} {
			p.Add(plotter.NewGrid())
			p.Legend.Top = true
			p.Legend.Left = true
			p.Y.Min = 0
		}
		heaps[s.Shape.Name], cpus[s.Shape.Name] = heap, cpu
	}
	for _, s := range all {
		hxy := make(plotter.XYs, len(s.Samples))
		for i, x := range s.Samples {
			hxy[i] = plotter.XY{X: x.Elapsed.Seconds(), Y: float64(x.Heap) / (1 << 20)}
		}
		var cxy plotter.XYs
		for i := 1; i < len(s.Samples); i++ {
			a, b := s.Samples[i-1], s.Samples[i]
			if dt := (b.Elapsed - a.Elapsed).Seconds(); dt > 0 {
				cxy = append(cxy, plotter.XY{X: b.Elapsed.Seconds(), Y: 100 * (b.CPU - a.CPU).Seconds() / dt})
			}
		}
		for _, part := range []struct {
			p   *plot.Plot
			xys plotter.XYs
		}{{heaps[s.Shape.Name], hxy}, {cpus[s.Shape.Name], cxy}} {
			if len(part.xys) == 0 {
				continue
			}
			l, err := plotter.NewLine(part.xys)
			if err != nil {
				return fmt.Errorf("plotting %s/%s: %w", s.Shape.Name, s.World, err)
			}
			l.Color = colors[s.World]
			l.Width = vg.Points(2)
			part.p.Add(l)
			part.p.Legend.Add(s.World, l)
		}
	}
	plots := [][]*plot.Plot{make([]*plot.Plot, len(cols)), make([]*plot.Plot, len(cols))}
	for i, c := range cols {
		plots[0][i], plots[1][i] = heaps[c.Name], cpus[c.Name]
	}
	img := vgimg.New(vg.Points(float64(420*len(cols))), vg.Points(520))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: len(cols), PadX: vg.Points(18), PadY: vg.Points(12),
		PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12)}
	canvases := plot.Align(plots, tiles, dc)
	for r := range plots {
		for c := range plots[r] {
			plots[r][c].Draw(canvases[r][c])
		}
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("encoding the picture: %w", err)
	}
	return nil
}
