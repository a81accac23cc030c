package frontdoor

import (
	"testing"

	"github.com/slipway-dev/slipway/internal/testwatch"
)

// TestMain runs the tests with testwatch's watchdog, which names a hung
// test at the end of the output.
func TestMain(m *testing.M) { testwatch.Main(m) }
