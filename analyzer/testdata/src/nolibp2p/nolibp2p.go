// Package nolibp2p does not depend on go-libp2p: the analyzer returns at
// once, even though the method names match.
package nolibp2p

type book struct{}

func (book) GetProtocols(string) ([]string, error) { return nil, nil }
func (book) RecordLatency(string, int)             {}

func use(b book) {
	_, _ = b.GetProtocols("p")
	b.RecordLatency("p", 1)
}
