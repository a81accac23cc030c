package cli

import (
	mrand "math/rand/v2"
	"regexp"
	"testing"

	"github.com/slipway-dev/slipway"
)

// TestDefaultNames checks az webapp up's default names (docs/appservice.md §13):
// app <adjective>-<noun>-<32 hex>, group <user>_rg_<4 digits>, plan
// <user>_asp_<4 digits>, and that they are valid Slipway names.
func TestDefaultNames(t *testing.T) {
	rnd := mrand.NewChaCha8([32]byte{1})
	seen := map[string]bool{}
	appRE := regexp.MustCompile(`^[a-z]+-[a-z]+-[0-9a-f]{32}$`)
	for i := 0; i < 50; i++ {
		n, err := randomAppName(rnd)
		if err != nil {
			t.Fatal(err)
		}
		if !appRE.MatchString(n) {
			t.Fatalf("app name %q is not <adjective>-<noun>-<32 hex>", n)
		}
		if err := slipway.ValidateSiteName(n); err != nil {
			t.Fatalf("app name %q is not a valid site name: %v", n, err)
		}
		seen[n] = true
	}
	if len(seen) != 50 {
		t.Errorf("%d distinct names out of 50", len(seen))
	}
	g, err := defaultGroupName("alice", rnd)
	if err != nil || !regexp.MustCompile(`^alice_rg_\d{4}$`).MatchString(g) {
		t.Errorf("group name %q, %v", g, err)
	}
	if err := (slipway.ResourceGroup{Name: g}).Validate(); err != nil {
		t.Error(err)
	}
	p, err := defaultPlanName("alice", rnd)
	if err != nil || !regexp.MustCompile(`^alice_asp_\d{4}$`).MatchString(p) {
		t.Errorf("plan name %q, %v", p, err)
	}
	if err := (slipway.Plan{Name: p}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestDefaultUser(t *testing.T) {
	tests := []struct{ user, want string }{
		{"alice", "alice"},
		{"bob@example.com", "bob"},
		{"", "slipway"},
		{"weird user!", "weirduser"},
		{"!!!", "slipway"},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			got := defaultUser(func(k string) string {
				if k == "USER" {
					return tt.user
				}
				return ""
			})
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
