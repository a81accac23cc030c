// Package testwatch names a test binary's hung tests where a reader of its
// output looks last: at the end. When go test's -timeout fires it panics
// with the running tests' names first and every goroutine's stack after
// them, so a log cut to its last lines (a CI summary) shows only the
// stacks of goroutines that tell nothing, and never which test hung.
//
// Main runs the tests with a watchdog that fires a little before that
// timeout: it prints every goroutine's stack, then, last, the stacks of
// the goroutines running a test and the tests' names, and exits 1.
package testwatch

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Main runs m with the watchdog and exits with its code. Call it from
// TestMain in place of os.Exit(m.Run()).
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is m.Run() with the watchdog, for a TestMain with work of its own
// to do after the tests.
func Run(m *testing.M) int {
	flag.Parse()
	if d := watchAfter(); d > 0 {
		t := time.AfterFunc(d, func() {
			Report(os.Stderr, d)
			os.Exit(1)
		})
		defer t.Stop()
	}
	return m.Run()
}

// watchAfter is when the watchdog fires: a minute before go test's
// -timeout (or at 90% of a timeout under 10 minutes); 0 with no timeout.
func watchAfter() time.Duration {
	f := flag.Lookup("test.timeout")
	if f == nil {
		return 0
	}
	timeout, err := time.ParseDuration(f.Value.String())
	if err != nil || timeout <= 0 {
		return 0
	}
	if timeout < 10*time.Minute {
		return timeout * 9 / 10
	}
	return timeout - time.Minute
}

// testName is the test a goroutine runs, "" if none: the function
// testing.tRunner called, without its package ("TestX", "TestX.func1").
func testName(g string) string {
	lines := strings.Split(g, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "testing.tRunner(") || i < 2 {
			continue
		}
		fn := lines[i-2]
		fn = fn[strings.LastIndex(fn, "/")+1:]
		if j := strings.Index(fn, "("); j >= 0 {
			fn = fn[:j]
		}
		if j := strings.Index(fn, "."); j >= 0 {
			fn = fn[j+1:]
		}
		if strings.HasPrefix(fn, "Test") || strings.HasPrefix(fn, "Benchmark") || strings.HasPrefix(fn, "Fuzz") {
			return fn
		}
	}
	return ""
}

// Report writes every goroutine's stack, then the stacks of those that
// run a test, then the names of the tests they run.
func Report(w io.Writer, after time.Duration) {
	buf := make([]byte, 64<<20)
	buf = buf[:runtime.Stack(buf, true)]
	all := string(buf)
	fmt.Fprintf(w, "\ntestwatch: tests still running after %v; every goroutine:\n\n%s\n", after, all)
	var names, stacks []string
	for _, g := range strings.Split(all, "\n\n") {
		if name := testName(g); name != "" {
			names = append(names, name)
			stacks = append(stacks, g)
		}
	}
	fmt.Fprintf(w, "\ntestwatch: the goroutines running a test:\n\n%s\n", strings.Join(stacks, "\n\n"))
	fmt.Fprintf(w, "\ntestwatch: still running after %v: %s\n", after, strings.Join(names, ", "))
}
