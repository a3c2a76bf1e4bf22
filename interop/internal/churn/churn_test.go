package churn

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRunSamplesBothWorlds(t *testing.T) {
	cfg := Config{Connected: 5, Cycles: 40, Rate: 400, Grace: 50 * time.Millisecond, SampleEvery: 10,
		Protocols: WideProtocols, ProtocolLen: WideProtocolLen}
	for _, w := range Worlds {
		t.Run(w.Name, func(t *testing.T) {
			samples, err := Run(w, cfg)
			require.NoError(t, err)
			require.Len(t, samples, 5, "cycle 0, then every 10 cycles")
			for i, s := range samples {
				assert.Equal(t, 10*i, s.Cycle)
				if i > 0 {
					assert.GreaterOrEqual(t, s.CPU, samples[i-1].CPU, "CPU time only grows")
					assert.Greater(t, s.Elapsed, samples[i-1].Elapsed)
				}
			}
			assert.Positive(t, samples[0].Heap, "five hostile peers take room")
		})
	}
}
