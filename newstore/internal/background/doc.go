// Package background runs the goroutines of the newstore stores (peerdata,
// protocols): the periodic sweep that frees expired entries, and the
// event-bus subscriptions that feed a store. Both stop when the store closes,
// and closing waits for them, so a closed store leaks nothing.
//
// It holds only what the stores do alike; what a sweep frees and what an
// event means stays in each store.
package background
