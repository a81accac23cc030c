package testwatch

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestReportNamesTheRunningTest: the report ends with the names of the
// tests running, here this one, whose goroutine waits in Report.
func TestReportNamesTheRunningTest(t *testing.T) {
	var b strings.Builder
	Report(&b, time.Minute)
	out := b.String()
	last := out[strings.LastIndex(strings.TrimRight(out, "\n"), "\n")+1:]
	if !strings.Contains(last, "still running after 1m0s: TestReportNamesTheRunningTest") {
		t.Fatalf("the last line is %q; want this test named", last)
	}
	if !strings.Contains(out, "testwatch_test.go") {
		t.Fatalf("no stack of this test's goroutine in %q", out)
	}
}

// TestReportNamesSubtests: a subtest's goroutine is named for the function
// that runs it.
func TestReportNamesSubtests(t *testing.T) {
	t.Run("sub", func(t *testing.T) {
		var b strings.Builder
		Report(&b, time.Minute)
		if !strings.Contains(b.String(), "TestReportNamesSubtests.func1") {
			t.Fatalf("no subtest named in %q", b.String()[max(0, b.Len()-500):])
		}
	})
}

// TestWatchAfter: the watchdog fires before go test's own timeout, and
// not at all without one (-timeout 0).
func TestWatchAfter(t *testing.T) {
	f := flag.Lookup("test.timeout")
	timeout, _ := time.ParseDuration(f.Value.String())
	switch d := watchAfter(); {
	case timeout <= 0 && d != 0:
		t.Fatalf("watchAfter = %v without a timeout, want none", d)
	case timeout > 0 && (d <= 0 || d >= timeout):
		t.Fatalf("watchAfter = %v under a %v timeout", d, timeout)
	}
}

func TestMain(m *testing.M) { Main(m) }

// TestHangs blocks, when the watchdog test runs this binary to see it
// end a hung test; otherwise it is skipped.
func TestHangs(t *testing.T) {
	if os.Getenv("TESTWATCH_HANG") == "" {
		t.Skip("run by TestWatchdogEndsAHungBinary")
	}
	select {}
}

// TestWatchdogEndsAHungBinary: a binary whose test hangs ends before go
// test's timeout, with exit status 1 and the hung test named last.
func TestWatchdogEndsAHungBinary(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run", "^TestHangs$", "-test.timeout", "3s")
	cmd.Env = append(os.Environ(), "TESTWATCH_HANG=1")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v; output %s", err, out)
	}
	text := strings.TrimRight(string(out), "\n")
	if strings.Contains(text, "panic: test timed out") {
		t.Fatalf("go test's timeout fired first: %s", text)
	}
	if last := text[strings.LastIndex(text, "\n")+1:]; !strings.HasSuffix(last, "still running after 2.7s: TestHangs") {
		t.Fatalf("last line %q", last)
	}
}
