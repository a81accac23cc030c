package webjobs

import (
	"reflect"
	"strings"
	"testing"
)

// TestSplitArguments: a run's arguments split as .NET's process start
// splits the string Kudu gives it.
func TestSplitArguments(t *testing.T) {
	for in, want := range map[string][]string{
		"":                        nil,
		"   ":                     nil,
		"a b":                     {"a", "b"},
		"  a\t b  ":               {"a", "b"},
		`a "b c" d`:               {"a", "b c", "d"},
		`"a b"c`:                  {"a bc"},
		`""`:                      {""},
		`"say ""hi"""`:            {`say "hi"`},
		`a\b`:                     {`a\b`},
		`a\\"b c"`:                {`a\b c`},
		`a\"b`:                    {`a"b`},
		`a\\\"b`:                  {`a\"b`},
		`'single quotes' are not`: {"'single", "quotes'", "are", "not"},
		"$HOME;rm -rf /":          {"$HOME;rm", "-rf", "/"},
	} {
		if got := SplitArguments(in); !reflect.DeepEqual(got, want) {
			t.Errorf("SplitArguments(%q) = %q, want %q", in, got, want)
		}
	}
	many := strings.Repeat("x ", MaxArguments+10)
	if got := SplitArguments(many); len(got) != MaxArguments || !strings.HasPrefix(got[MaxArguments-1], "x x") {
		t.Errorf("%d arguments: %d, the last %q", MaxArguments+10, len(got), got[len(got)-1])
	}
}
