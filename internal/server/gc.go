package server

import (
	"os"
	"runtime/debug"
)

// DefaultGCPercent is the garbage collector target (GOGC) trellis server
// runs with when the environment sets none.
//
// The control plane's live heap is small (about 35 KiB per connected
// proxy) and a push allocates in a burst: every proxy's response is
// marshalled for its stream. At Go's default of 100 a push to a thousand
// proxies ran into a collection every third push, and its mark assists
// lengthened that push's tail by a third. At 250 collections are rarer and
// the heap between them peaks at about 3.5 times the live heap, still
// under 0.15 MiB per proxy. GOGC in the environment takes precedence, and
// GOMEMLIMIT caps the heap as for any Go program.
const DefaultGCPercent = 250

// TuneGC applies DefaultGCPercent unless GOGC is set, and returns the
// percent in effect (-1: collection off).
func TuneGC() int {
	if _, set := os.LookupEnv("GOGC"); set {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	debug.SetGCPercent(DefaultGCPercent)
	return DefaultGCPercent
}
