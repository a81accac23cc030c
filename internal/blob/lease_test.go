package blob

import (
	"net/http"
	"testing"
	"time"
)

// TestBreakLeaseTime: Break Lease reports the seconds left in the break
// period rounded to the nearest second (as Azurite), so a lease whose break
// reports 0 seconds is still breaking, for under half a second, and a break
// of an already broken lease reports 0. (Azurite's live "breakLease" case
// relies on it: after a break that reports 0 it reads "breaking" once more,
// then "broken" half a second later.)
func TestBreakLeaseTime(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	breaking := func(left time.Duration) leaseInfo {
		return leaseInfo{ID: "id", State: "breaking", BreakUntil: now.Add(left).UnixNano()}
	}
	for _, tc := range []struct {
		name      string
		lease     leaseInfo
		period    string
		wantTime  string
		wantState string
	}{
		{"fixed lease, shorter period", leaseInfo{ID: "id", State: "leased", Duration: 15, Expires: now.Add(15 * time.Second).UnixNano()}, "3", "3", "breaking"},
		{"breaking, 2.4 s left", breaking(2400 * time.Millisecond), "3", "2", "breaking"},
		{"breaking, 1.6 s left", breaking(1600 * time.Millisecond), "3", "2", "breaking"},
		{"breaking, 0.6 s left", breaking(600 * time.Millisecond), "3", "1", "breaking"},
		{"breaking, 0.4 s left", breaking(400 * time.Millisecond), "3", "0", "breaking"},
		{"break period over", breaking(-time.Millisecond), "3", "0", "broken"},
		{"infinite lease, period 0", leaseInfo{ID: "id", State: "leased", Duration: -1}, "0", "0", "broken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			h.Set("x-ms-lease-action", "break")
			h.Set("x-ms-lease-break-period", tc.period)
			got, status, out, err := leaseAction(tc.lease, h, now)
			if err != nil || status != http.StatusAccepted {
				t.Fatalf("break: status %d, %v", status, err)
			}
			if out["x-ms-lease-time"] != tc.wantTime || got.effective(now).State != tc.wantState {
				t.Errorf("break: x-ms-lease-time %q, state %q; want %q, %q", out["x-ms-lease-time"], got.effective(now).State, tc.wantTime, tc.wantState)
			}
		})
	}
}
