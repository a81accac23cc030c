package server

import "runtime/debug"

// The garbage collector's settings for the server process. The front door
// allocates about 70 small objects per proxied request (net/http's request
// and header copies, the platform headers); at Go's default GOGC of 100 the
// collector ran for 11–13% of the front door's CPU under load. A GOGC of 400
// gave the front door 15–25% more requests per second in front of a fast
// upstream (docs/benchmarks.md, "The front door"), at the price of a larger
// heap between collections; the soft memory limit keeps that price bounded:
// as the heap nears it the collector runs as often as it must.
const (
	serverGCPercent   = 400
	serverMemoryLimit = 1 << 30 // 1 GiB
)

// TuneGC applies the server's collector settings unless the operator chose
// their own with GOGC or GOMEMLIMIT (which the Go runtime has already
// applied). It returns the GOGC and memory limit in force afterwards.
func TuneGC(getenv func(string) string) (gcPercent int, memoryLimit int64) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serverMemoryLimit)
	}
	gcPercent = debug.SetGCPercent(-1)
	debug.SetGCPercent(gcPercent)
	return gcPercent, debug.SetMemoryLimit(-1)
}
